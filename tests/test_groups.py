"""Local groups: their content files, `!groups`, joining and leaving their invite lists, and
their organizers' messages to members."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.content import ContentError
from bot.wiring import load_content
from flows.groups.content import GroupsContent
from tests.harness import CONTENT


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(CONTENT, root)
    return root


def _problems(root: Path) -> list[str]:
    with pytest.raises(ContentError) as err:
        load_content(root)
    return [str(p) for p in err.value.problems]


def test_the_demo_groups_load_with_region_channels_contacts_partners_and_rhythm() -> None:
    groups = load_content(CONTENT).of(GroupsContent).groups
    assert set(groups) >= {"berlin", "lagos"}
    berlin = groups["berlin"]
    assert berlin.region == "de"
    assert berlin.channels["irc"] == "#lumen-berlin"
    assert "irc:amara" in berlin.contacts
    assert berlin.partners[0].url.startswith("https://")
    assert "Tuesday" in berlin.rhythm


def test_content_check_names_the_file_and_key_of_each_bad_group(content_copy: Path) -> None:
    groups = content_copy / "groups"
    (groups / "moon.toml").write_text(
        'name = "Moon"\nregion = "moon"\nrhythm = "never"\ncontacts = ["irc:ana"]\n')
    (groups / "bad.toml").write_text(
        'name = "Bad"\nregion = "de"\nrhythm = "weekly"\ncontacts = ["ana"]\n'
        'channels = { fax = "123" }\n'
        '[[partners]]\nname = "Uni"\nurl = "ftp://uni.example.org"\n')
    (groups / "empty.toml").write_text('name = "No one"\nregion = "de"\nrhythm = "weekly"\n'
                                       'contacts = []\n')
    (groups / "Not An Id.toml").write_text('name = "x"\n')
    problems = _problems(content_copy)
    assert "content/groups/moon.toml: region: unknown region 'moon' (see regions.toml)" \
        in problems
    assert any(p.startswith("content/groups/bad.toml: contacts: 'ana' is not \"network:id\"")
               for p in problems), problems
    assert any(p.startswith("content/groups/bad.toml: channels.fax") for p in problems), problems
    assert "content/groups/bad.toml: partners[0].url: must start with https:// (or http://)" \
        in problems
    assert any(p.startswith("content/groups/empty.toml: contacts:") for p in problems), problems
    assert any(p.startswith("content/groups/Not An Id.toml: (file): the file name is the group")
               for p in problems), problems
