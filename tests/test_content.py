"""Content validation: every problem at once, each with file, key and reason."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.content import ContentError, ContentFolder, ContentPart, Strict, load_folder
from bot.wiring import load_content
from flows.events.content import EventsContent
from flows.path.content import PathContent
from tests.harness import CONTENT, content_copy_in, content_problems


def test_bundled_demo_content_is_valid_and_rich_enough() -> None:
    loaded = load_content(CONTENT)
    content = loaded.of(PathContent)
    assert len(content.projects) >= 4
    assert len({lang for p in content.projects.values() for lang in p.languages}) >= 4
    for project in content.projects.values():
        workshop = content.workshop_of(project)
        assert workshop is not None
        assert 4 <= len(workshop.steps) <= 8, project.id
        assert len(project.tasks) >= 3, project.id
    assert loaded.of(EventsContent).regions["de"].parent == "europe"


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    return content_copy_in(tmp_path)


_problems = content_problems


def test_all_problems_are_reported_with_file_key_and_reason(broken: Path) -> None:
    project = broken / "projects" / "pagebot.toml"
    text = project.read_text()
    text = text.replace('workshop = "pagebot-get-started"', 'workshop = "no-such-workshop"')
    text = text.replace('"irc:tomasz"', '"tomasz"')
    text = text.replace('id = "pagebot-type-hints"', 'id = "lingo-plural-docs"')
    project.write_text(text)
    workshop = broken / "workshops" / "mapview-get-started.toml"
    workshop.write_text(workshop.read_text().replace(
        'pattern = "^https://code', 'pattern = "([unclosed'))
    problems = _problems(broken)
    assert "content/projects/pagebot.toml: mentors: 'tomasz' is not \"network:id\" (the " \
           "network's name in lower case, a colon, the person's id there; no spaces)" in problems
    assert any(p.startswith("content/workshops/mapview-get-started.toml: steps[5].checkpoint."
                            "pattern: bad regular expression") for p in problems), problems


def test_cross_references_are_checked(broken: Path) -> None:
    project = broken / "projects" / "pagebot.toml"
    text = project.read_text().replace('workshop = "pagebot-get-started"',
                                       'workshop = "no-such-workshop"')
    project.write_text(text.replace('id = "pagebot-type-hints"', 'id = "lingo-plural-docs"'))
    problems = _problems(broken)
    assert "content/projects/pagebot.toml: workshop: unknown workshop id 'no-such-workshop'" \
           in problems
    assert any("tasks[1].id: duplicate task id 'lingo-plural-docs'" in p for p in problems)


def test_wrong_types_unknown_keys_and_bad_toml(broken: Path) -> None:
    (broken / "projects" / "lingo.toml").write_text('name = 3\nsummary = "x"\ncolour = "red"\n')
    (broken / "projects" / "handbook.toml").write_text('name = "unclosed\n')
    problems = _problems(broken)
    assert "content/projects/lingo.toml: name: Input should be a valid string" in problems
    assert "content/projects/lingo.toml: colour: unknown key" in problems
    assert any(p.startswith("content/projects/handbook.toml: (file): not valid TOML")
               for p in problems)


def test_missing_folder_and_missing_files(tmp_path: Path) -> None:
    assert _problems(tmp_path / "nowhere") == [f"{tmp_path / 'nowhere'}: (file): content "
                                                "folder not found"]
    (tmp_path / "empty").mkdir()
    assert _problems(tmp_path / "empty") == ["empty/projects: (file): no project files (*.toml)"]


def test_bad_checkpoint_kind_and_region_parent(broken: Path) -> None:
    workshop = broken / "workshops" / "handbook-get-started.toml"
    workshop.write_text(workshop.read_text().replace('{ kind = "confirm" }',
                                                     '{ kind = "quiz" }', 1))
    regions = broken / "regions.toml"
    regions.write_text(regions.read_text().replace('parent = "europe"', 'parent = "atlantis"', 1))
    problems = _problems(broken)
    assert any(p.startswith("content/workshops/handbook-get-started.toml: steps[0].checkpoint")
               for p in problems), problems
    assert "content/regions.toml: regions[1].parent: unknown region 'atlantis'" in problems


def test_mentor_profiles_are_checked(broken: Path) -> None:
    (broken / "mentors.toml").write_text('''
[[mentors]]
identities = ["irc:ana"]
timezone = "Mars/Olympus"

[[mentors]]
identities = ["irc:bo"]
preferred = "matrix"

[[mentors]]
identities = ["irc:cy", "irc:ana"]
hours = "9 to 5"
''')
    problems = _problems(broken)
    assert any(p.startswith("content/mentors.toml: mentors[0]: unknown time zone 'Mars/Olympus'")
               for p in problems), problems
    assert any("mentors[1]: preferred network 'matrix' is not one of" in p for p in problems)
    assert any("mentors[2]: '9 to 5' is not like" in p for p in problems)


def test_duplicate_mentor_identities_are_named(broken: Path) -> None:
    (broken / "mentors.toml").write_text('[[mentors]]\nidentities = ["irc:ana"]\n'
                                         '[[mentors]]\nidentities = ["irc:cy", "irc:ana"]\n')
    assert "content/mentors.toml: mentors[1].identities: 'irc:ana' is also in mentors[0]" in \
        _problems(broken)


# -- the core loader: parts declared by features ------------------------------------------
class _Greeting(Strict):
    text: str


@dataclass(frozen=True)
class _Greetings:
    by_name: dict[str, _Greeting]


@dataclass(frozen=True)
class _Banner:
    lines: tuple[str, ...]


def _load_greetings(folder: ContentFolder) -> _Greetings:
    found = {}
    for path in folder.files("greetings/*.toml"):
        data = folder.read(path)
        model = folder.validate(_Greeting, data, path) if data is not None else None
        if model is not None:
            found[path.stem] = model
    return _Greetings(found)


def _load_banner(folder: ContentFolder) -> _Banner:
    path = folder.root / "banner.toml"
    data = folder.read(path) or {}
    lines = tuple(str(line) for line in data.get("lines", ()))
    if not lines:
        folder.problem(folder.rel(path), "lines", "needs at least one line")
    return _Banner(lines)


GREETINGS = ContentPart(_Greetings, ("greetings/*.toml",), _load_greetings,
                        lambda g: f"{len(g.by_name)} greetings")
BANNER = ContentPart(_Banner, ("banner.toml",), _load_banner)


def test_every_parts_problems_are_reported_together(tmp_path: Path) -> None:
    root = tmp_path / "site"
    (root / "greetings").mkdir(parents=True)
    (root / "greetings" / "hi.toml").write_text('text = 3\ncolour = "red"\n')
    (root / "banner.toml").write_text("lines = []\n")
    with pytest.raises(ContentError) as err:
        load_folder(root, [GREETINGS, BANNER])
    assert [str(p) for p in err.value.problems] == [
        "site/greetings/hi.toml: text: Input should be a valid string",
        "site/greetings/hi.toml: colour: unknown key",
        "site/banner.toml: lines: needs at least one line"]


def test_each_feature_reads_its_own_typed_part(tmp_path: Path) -> None:
    root = tmp_path / "site"
    (root / "greetings").mkdir(parents=True)
    (root / "greetings" / "hi.toml").write_text('text = "Hello"\n')
    (root / "banner.toml").write_text('lines = ["Welcome"]\n')
    content = load_folder(root, [GREETINGS, BANNER])
    assert content.of(_Greetings).by_name["hi"].text == "Hello"
    assert content.of(_Banner).lines == ("Welcome",)
    assert content.describe([GREETINGS, BANNER]) == "1 greetings"
    with pytest.raises(LookupError, match="_Banner"):
        load_folder(root, [GREETINGS]).of(_Banner)


def test_the_features_declare_the_content_folder_between_them() -> None:
    from bot.wiring import CONTENT_PARTS, describe_content

    owned = {glob for part in CONTENT_PARTS for glob in part.files}
    assert owned == {"projects/*.toml", "workshops/*.toml", "aliases.toml", "mentors.toml",
                     "regions.toml", "events/*.toml", "groups/*.toml", "mentor-guide.toml",
                     "community.toml", "*.png", "*.jpg", "*.jpeg",  # certificates' issuer
                     "stages.toml"}
    assert describe_content(load_content(CONTENT)).startswith("4 projects, 4 workshops, ")


def test_an_event_in_an_unknown_region_is_named_by_the_events_part(broken: Path) -> None:
    (broken / "events" / "moon-meetup.toml").write_text(
        'title = "Moon"\nstarts = 2030-01-01T18:00:00\ntimezone = "UTC"\n'
        'regions = ["moon"]\n')
    assert "content/events/moon-meetup.toml: regions[0]: unknown region 'moon' " \
           "(see regions.toml)" in _problems(broken)


def test_room_ids_must_look_like_the_networks_ids_and_belong_to_one_project(
        broken: Path) -> None:
    """A Telegram group without a username is known only by its chat id: content maps it to
    its project with `room_ids`, checked like the rest."""
    loaded = load_content(broken).of(PathContent)
    assert loaded.projects["mapview"].room_ids == {"telegram": "-1002000000042"}
    assert loaded.project_for_room("telegram", "Mapview folks", "-1002000000042") is \
        loaded.projects["mapview"]
    assert loaded.project_for_room("telegram", "-1002000000042") is loaded.projects["mapview"]
    assert loaded.project_for_room("telegram", "Mapview folks", "-1002000000043") is None
    lingo = broken / "projects" / "lingo.toml"
    lingo.write_text(lingo.read_text().replace(
        "mentors =", 'room_ids = { telegram = "lumen_lingo", matrix = "#lingo:lumen.test" }\n'
        "mentors =", 1))
    pagebot = broken / "projects" / "pagebot.toml"
    pagebot.write_text(pagebot.read_text().replace(
        "mentors =", "room_ids = { telegram = -1002000000042 }\nmentors =", 1))
    problems = _problems(broken)
    assert any(p.startswith("content/projects/lingo.toml: room_ids: telegram = "
                            "'lumen_lingo' is not a room id (telegram: a group's chat id, a "
                            "negative number") for p in problems), problems
    assert "content/projects/pagebot.toml: room_ids.telegram: -1002000000042 is already " \
           "mapview's room" in problems


def test_texts_shown_with_choices_are_kept_within_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """A content version words each workshop step once per language (PathContent.shown), and
    keeps at most SHOWN_KEPT of them, the oldest dropped first."""
    from bot.i18n import translator
    from flows.path import workshop

    monkeypatch.setattr(workshop, "SHOWN_KEPT", 3)
    content = load_content(CONTENT).of(PathContent)
    steps = next(iter(content.workshops.values()))
    tr = translator("es")
    first = workshop._step_text(content, steps, 0, tr)
    assert workshop._step_text(content, steps, 0, tr) is first  # worded once
    for index in range(len(steps.steps)):
        for locale in ("en", "es", "pt_BR"):
            workshop._step_text(content, steps, index, translator(locale))
    assert len(content.shown) == 3
