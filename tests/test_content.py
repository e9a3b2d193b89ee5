"""Content validation: every problem at once, each with file, key and reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.content import ContentError, load_content
from tests.harness import CONTENT


def test_bundled_demo_content_is_valid_and_rich_enough() -> None:
    content = load_content(CONTENT)
    assert len(content.projects) >= 4
    assert len({lang for p in content.projects.values() for lang in p.languages}) >= 4
    for project in content.projects.values():
        workshop = content.workshop_of(project)
        assert workshop is not None
        assert 4 <= len(workshop.steps) <= 8, project.id
        assert len(project.tasks) >= 3, project.id
    assert content.regions["de"].parent == "europe"


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(CONTENT, root)
    return root


def _problems(root: Path) -> list[str]:
    with pytest.raises(ContentError) as err:
        load_content(root)
    return [str(p) for p in err.value.problems]


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
    assert "content/projects/pagebot.toml: mentors: 'tomasz' is not \"network:id\" " \
           "(the network's name, a colon, the person's id there)" in problems
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
