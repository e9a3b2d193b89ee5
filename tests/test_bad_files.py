"""Hand-written files that are not what they claim: each is one clear problem naming the file
(and the key where there is one), and the content or config in use stays as it was."""

from __future__ import annotations

import logging
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.content import ContentError
from bot.patterns import PatternError, compiled, matches
from bot.tomlfile import MAX_DEPTH, MAX_FILE_BYTES, MAX_TEXT_CHARS
from bot.wiring import ConfigError, load_config, load_content
from flows.events.content import EventsContent
from tests.harness import CONTENT, Harness, make_config
from tests.test_events import EVENT_LINE, ORGANIZER, events_config


@pytest.fixture
def content(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(CONTENT, root)
    return root


def _only_problem(root: Path) -> str:
    """The one problem reported about a file (others may follow from it: content elsewhere
    that refers to a project whose file could not be read)."""
    with pytest.raises(ContentError) as err:
        load_content(root)
    first = err.value.problems[0]
    assert [p for p in err.value.problems if p.file == first.file] == [first], \
        err.value.problems
    return str(first)


def test_a_content_file_that_is_not_utf8_is_named(content: Path) -> None:
    project = content / "projects" / "lingo.toml"
    project.write_bytes(project.read_text(encoding="utf-8").encode("utf-16"))
    problem = _only_problem(content)
    assert problem.startswith("content/projects/lingo.toml: (file): not UTF-8 text (line 1)")


def test_a_latin1_accent_in_a_content_file_is_named_with_its_line(content: Path) -> None:
    project = content / "projects" / "lingo.toml"
    project.write_bytes(project.read_bytes() + b'\n# caf\xe9\n')
    lines = project.read_bytes().count(b"\n")
    assert f"not UTF-8 text (line {lines})" in _only_problem(content)


def test_a_content_file_nested_too_deeply_is_refused(content: Path) -> None:
    deep = "[" * 5000 + "]" * 5000
    (content / "projects" / "lingo.toml").write_text(f"x = {deep}\n", encoding="utf-8")
    assert f"nested more than {MAX_DEPTH} levels deep" in _only_problem(content)
    (content / "projects" / "lingo.toml").write_text(
        "x = " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n", encoding="utf-8")
    assert f"nested more than {MAX_DEPTH} levels deep" in _only_problem(content)


def test_a_fifty_megabyte_project_file_is_refused_not_sent(content: Path) -> None:
    project = content / "projects" / "lingo.toml"
    with project.open("a", encoding="utf-8") as handle:
        handle.write('\n# padding\nextra = "' + "x" * (50 * 1024 * 1024) + '"\n')
    problem = _only_problem(content)
    assert f"larger than {MAX_FILE_BYTES // 1024} KiB" in problem


def test_a_value_too_long_to_send_is_named_by_key(content: Path) -> None:
    project = content / "projects" / "lingo.toml"
    text = project.read_text(encoding="utf-8")
    project.write_text(text.replace('summary = "', 'summary = "' + "long " * MAX_TEXT_CHARS, 1),
                       encoding="utf-8")
    problem = _only_problem(content)
    assert "content/projects/lingo.toml: summary: " in problem
    assert f"at most {MAX_TEXT_CHARS:,} fit" in problem


@pytest.mark.parametrize(("raw", "problem"), [
    ("[storage]\nurl = 'caf\xe9'\n".encode("latin-1"), "not UTF-8 text (line 2)"),
    (b"a = " + b"[" * 3000 + b"]" * 3000, f"nested more than {MAX_DEPTH} levels deep"),
    (b"#" * (MAX_FILE_BYTES + 1), "larger than"),
])
def test_a_config_file_that_cannot_be_used_is_named(tmp_path: Path, raw: bytes,
                                                    problem: str) -> None:
    path = tmp_path / "wayfinder.toml"
    path.write_bytes(raw)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value).startswith(f"{path}: ")
    assert problem in str(err.value)


HOSTILE_PATTERN = "^(https://\\\\S+|(a|aa)+)$"  # as written in TOML: backtracks on "aaa…a!"


def test_a_pattern_that_backtracks_gives_up_instead_of_blocking(
        caplog: pytest.LogCaptureFixture) -> None:
    pattern = HOSTILE_PATTERN.replace("\\\\", "\\")
    assert matches(pattern, "https://code.lumen.test/x")
    with caplog.at_level(logging.WARNING, logger="bot.patterns"):
        assert not matches(pattern, "a" * 80 + "!")
    assert "counted as not matching (simplify it in the content)" in caplog.text
    with pytest.raises(PatternError, match="bad regular expression"):
        compiled("([unclosed")


async def test_a_hostile_answer_to_a_backtracking_checkpoint_is_just_wrong(
        content: Path, sqlite_url: str) -> None:
    workshop = content / "workshops" / "handbook-get-started.toml"
    text = workshop.read_text(encoding="utf-8")
    start = text.index('pattern = "^https://code')
    end = text.index('", prompt', start)
    workshop.write_text(text[:start] + f'pattern = "{HOSTILE_PATTERN}' + text[end:],
                        encoding="utf-8")
    load_content(content)  # still valid content: the example matches
    config = make_config(sqlite_url, content={"path": str(content)})
    async with Harness(config) as bot:
        await bot.script("ana", ["!start", "!skip", "!skip", "!skip", "Handbook", "done",
                                 "[Lumen](https://lumen.test)", "done"])
        reply = await bot.say("ana", "a" * 80 + "!")
        assert reply.startswith("That isn't a web address")  # refused, not passed, and fast
        reply = await bot.say("ana", "https://code.lumen.test/handbook/handbook/-/merge_requests/7")
        assert "Congratulations" in reply


def test_a_region_code_given_twice_is_a_content_error(content: Path) -> None:
    """Regression: a second `de` silently replaced Germany, and Europe-wide invites stopped
    reaching German members."""
    regions = content / "regions.toml"
    regions.write_text(regions.read_text(encoding="utf-8") +
                       '\n[[regions]]\ncode = "de"\nname = "Delaware"\n', encoding="utf-8")
    problem = _only_problem(content)
    assert "content/regions.toml: regions[" in problem
    assert "'de' is already regions[1] (Germany); each code once" in problem


def test_regions_that_contain_each_other_are_a_content_error(content: Path) -> None:
    regions = content / "regions.toml"
    text = regions.read_text(encoding="utf-8")
    regions.write_text(text.replace('name = "Europe"\n', 'name = "Europe"\nparent = "de"\n', 1),
                       encoding="utf-8")
    with pytest.raises(ContentError) as err:
        load_content(content)
    problems = [str(p) for p in err.value.problems]
    assert "content/regions.toml: regions[0].parent: the parents go round in a circle: " \
           "europe -> de -> europe" in problems


@pytest.mark.parametrize(("starts", "problem"), [
    ("2027-03-28T02:30:00", "2027-03-28 02:30 does not exist in Europe/Berlin: the clocks skip"),
    ("2027-10-31T02:30:00", "2027-10-31 02:30 happens twice in Europe/Berlin (the clocks go "
                            "back); write which one with its offset: 2027-10-31T02:30+02:00 or "
                            "2027-10-31T02:30+01:00"),
    ("2027-01-20", "2027-01-20 is a date without a time; write when it starts"),
    ("2027-01-20T18:00:00+05:00", "the offset +0500 is not Europe/Berlin's at that time "
                                  "(+01:00)"),
])
def test_an_event_time_that_is_not_one_moment_is_refused(content: Path, starts: str,
                                                         problem: str) -> None:
    event = content / "events" / "berlin-hack-evening.toml"
    lines = [f"starts = {starts}" if line.startswith("starts =") else line
             for line in event.read_text(encoding="utf-8").splitlines()]
    event.write_text("\n".join(lines) + "\n", encoding="utf-8")
    found = _only_problem(content)
    assert found.startswith("content/events/berlin-hack-evening.toml: ")
    assert problem in found


def test_an_event_time_with_the_right_offset_is_that_moment(content: Path) -> None:
    event = content / "events" / "berlin-hack-evening.toml"
    lines = ["starts = 2027-10-31T02:30:00+01:00" if line.startswith("starts =") else line
             for line in event.read_text(encoding="utf-8").splitlines()]
    event.write_text("\n".join(lines) + "\n", encoding="utf-8")
    loaded = load_content(content).of(EventsContent).events["berlin-hack-evening"]
    assert loaded.starts_at == datetime(2027, 10, 31, 1, 30, tzinfo=UTC)  # the second 02:30


async def test_event_new_at_a_time_the_clocks_skip_says_so(sqlite_url: str) -> None:
    async with Harness(events_config(sqlite_url)) as bot:
        reply = await bot.say(ORGANIZER, EVENT_LINE.replace("2026-12-10 18:30", "2027-03-28 02:30"))
        assert "2027-03-28 02:30 does not exist in Europe/Berlin: the clocks skip" in reply
        reply = await bot.say(ORGANIZER, EVENT_LINE.replace("2026-12-10 18:30", "2027-01-20"))
        assert "2027-01-20 is a date without a time" in reply
        assert "meetup" not in await bot.say(ORGANIZER, "!event list")
