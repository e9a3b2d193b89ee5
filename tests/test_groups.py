"""Local groups: their content files, `!groups`, joining and leaving their invite lists, and
their organizers' messages to members."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import Config
from bot.wiring import load_content
from flows.groups.content import GroupsContent
from tests.harness import CONTENT, Harness, content_copy_in, content_problems, make_config


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    return content_copy_in(tmp_path)


_problems = content_problems


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


def test_a_partner_naming_an_unknown_project_is_a_problem_by_key(content_copy: Path) -> None:
    (content_copy / "groups" / "uni.toml").write_text(
        'name = "Uni"\nregion = "de"\nrhythm = "weekly"\ncontacts = ["irc:ana"]\n'
        '[[partners]]\nname = "Uni"\nurl = "https://uni.example.org"\n'
        'starts = ["pagebot", "nosuch"]\n')
    assert "content/groups/uni.toml: partners[0].starts[1]: unknown project 'nosuch' (no " \
        "projects/nosuch.toml)" in _problems(content_copy)


async def test_partners_near_a_person_appear_on_their_project_suggestions(
        sqlite_url: str) -> None:
    async with Harness(groups_config(sqlite_url)) as h:
        hint = "Students of Example Technical University often start here."
        await h.say("ana", "!region de")  # near Lumen Berlin, whose university starts Pagebot
        await h.script("ana", ["!start", "!skip", "!skip", "!skip"])
        shown = await h.say("ana", "!skip")  # every project, each card as in suggestions
        card = shown.split("* Pagebot:")[1].split("\n\n")[0]
        assert hint in card
        assert hint not in shown.split("* Pagebot:")[0]  # on Pagebot's card only
        await h.say("cy", "!region ng")  # Lagos's partner names no project
        await h.script("cy", ["!start", "!skip", "!skip", "!skip"])
        assert "often start here" not in await h.say("cy", "!skip")
        await h.script("bo", ["!start", "!skip", "!skip", "!skip"])  # no region: no hint
        assert "often start here" not in await h.say("bo", "!skip")


def _with_group(root: Path, contact: str) -> None:
    (root / "groups" / "warsaw.toml").write_text(
        'name = "Lumen Warsaw"\nregion = "pl"\nrhythm = "monthly"\n'
        f'contacts = ["{contact}"]\n')


def groups_config(db_url: str, root: Path = CONTENT) -> Config:
    return make_config(db_url, content={"path": str(root)}, events={"quiet_hours": ""})


def received(h: Harness, who: str) -> list[str]:
    return [s.text for s in h.adapters["memory"].sent
            if getattr(s.msg.to, "external_id", None) == who]


async def test_groups_lists_the_groups_near_the_persons_region(sqlite_url: str) -> None:
    async with Harness(groups_config(sqlite_url)) as h:
        first = await h.say("ana", "!groups")
        assert "Lumen Berlin (berlin)" in first
        assert "!region" in first
        await h.say("ana", "!region de")
        near = await h.say("ana", "!groups")
        assert "Local groups near Germany" in near
        assert "Lumen Berlin (berlin)" in near
        assert "Lagos" not in near
        assert "#lumen-berlin" in near
        assert "https://tu.example.org" in near
        assert "Tuesday" in near
        await h.say("bo", "!region europe")  # a wider region: the groups inside it
        assert "Lumen Berlin" in await h.say("bo", "!groups")
        await h.say("cy", "!region br")
        assert "no local group near Brazil" in await h.say("cy", "!groups")
        assert "Lumen Lagos" in await h.say("cy", "!group lagos")


async def test_joining_and_leaving_a_group_with_friendly_errors(sqlite_url: str) -> None:
    async with Harness(groups_config(sqlite_url)) as h:
        store = h.running.store
        assert "don't know the group 'atlantis'" in await h.say("ana", "!group join atlantis")
        assert "Usage: !group join ID" in await h.say("ana", "!group join")
        assert "not on Lumen Lagos's list" in await h.say("ana", "!group leave lagos")
        assert await store.invite_list_size("group:berlin") == 0
        joined = await h.say("ana", "!group join berlin")
        assert "You joined Lumen Berlin" in joined
        assert "!group leave berlin" in joined
        assert "already on" in await h.say("ana", "!group join BERLIN")
        assert await store.invite_list_size("group:berlin") == 1
        await h.say("ana", "!region de")
        assert "you joined" in await h.say("ana", "!groups")
        assert "You left Lumen Berlin" in await h.say("ana", "!group leave berlin")
        assert await store.invite_list_size("group:berlin") == 0
        # Asked in a channel, the answer (who joined what) goes privately.
        reply = await h.say("ana", "!group join berlin", room="#lobby", direct=False)
        assert "private message" in reply
        assert any("You joined Lumen Berlin" in t for t in received(h, "ana"))


async def test_a_groups_organizer_messages_its_members_through_the_broadcaster(
        db_url: str, content_copy: Path) -> None:
    _with_group(content_copy, "memory:olga")
    async with Harness(groups_config(db_url, content_copy)) as h:
        await h.say("es1", "!language es")
        await h.say("br1", "!language pt_BR")
        for who in ("m1", "m2", "es1", "br1"):
            await h.say(who, "!group join warsaw")
        await h.say("x1", "!group join berlin")
        # Not an organizer of any group, or of this one: refused, nothing kept.
        assert "for group organizers only" in await h.say("m1", "!group send warsaw hi")
        assert "Only Lumen Berlin's organizers" in await h.say("olga", "!group send berlin hi")
        assert "Usage: !group send warsaw TEXT" in await h.say("olga", "!group send warsaw")
        assert "nothing to confirm" in await h.say("olga", "!group confirm")
        preview = await h.say("olga", "!group send warsaw Sprint on Saturday, 10:00!")
        assert "This goes to 4 members of Lumen Warsaw" in preview
        assert "Each member reads the lines around your words in their own language" in preview
        assert not any("Sprint" in t for t in received(h, "m1"))  # nothing sent yet
        assert "Sending" in await h.say("olga", "!group confirm")
        await h.tick()
        for who in ("m1", "m2"):
            got = [t for t in received(h, who) if "Sprint on Saturday" in t]
            assert got == ["From Lumen Warsaw's organizers:\nSprint on Saturday, 10:00!\n(You get "
                           "this because you joined warsaw; !group leave warsaw stops it.)"], who
        # The frame in each member's language, the organizer's words as written.
        assert [t for t in received(h, "es1") if "Sprint" in t] == [
            "De los organizadores de Lumen Warsaw:\nSprint on Saturday, 10:00!\n(Te llega "
            "porque te uniste a warsaw; !group leave warsaw lo detiene.)"]
        assert [t for t in received(h, "br1") if "Sprint" in t] == [
            "Dos organizadores de Lumen Warsaw:\nSprint on Saturday, 10:00!\n(Você recebe isto "
            "porque entrou em warsaw; !group leave warsaw para com isso.)"]
        assert not any("Sprint" in t for t in received(h, "x1"))
        await h.tick()  # once per member, however often the scan runs
        assert len([t for t in received(h, "m1") if "Sprint" in t]) == 1
        status = await h.say("olga", "!group status warsaw")
        assert "Lumen Warsaw: 4 members." in status
        assert "message, done" in status
        assert "delivered 4" in status
        assert "Only Lumen Berlin's organizers" in await h.say("olga", "!group status berlin")
        await h.say("olga", "!group send warsaw second")
        assert "nothing was sent" in await h.say("olga", "!group cancel")


async def test_forget_takes_a_person_off_every_group_list(sqlite_url: str) -> None:
    async with Harness(groups_config(sqlite_url)) as h:
        await h.say("ana", "!group join berlin")
        await h.say("ana", "!group join lagos")
        assert await h.running.store.invite_list_size("group:lagos") == 1
        code = re.search(r"!forget confirm ([A-Z0-9]{4}-[A-Z0-9]{4})",
                         await h.say("ana", "!forget"))
        assert code is not None
        assert "erased everything" in await h.say("ana", f"!forget confirm {code.group(1)}")
        assert await h.running.store.invite_list_size("group:berlin") == 0
        assert await h.running.store.invite_list_size("group:lagos") == 0


async def test_a_portuguese_speaker_joins_a_group_in_portuguese(sqlite_url: str) -> None:
    async with Harness(groups_config(sqlite_url)) as h:
        await h.say("rui", "!language pt_BR")
        await h.say("rui", "!region de")
        listing = await h.say("rui", "!groups")
        assert listing.startswith("Grupos locais perto de "), listing
        assert "Encontros: " in listing
        assert (await h.say("rui", "!group join berlin")).startswith("Você entrou em ")
        assert (await h.say("rui", "!group join berlin")).startswith("Você já está na lista")
        assert await h.say("rui", "!group join atlantis") == (
            "Não conheço o grupo 'atlantis'. !groups mostra os grupos perto de você.")


def test_a_frame_keeps_a_values_translations_and_no_frame_sends_the_text_as_is() -> None:
    """A broadcast row keeps its frame as JSON: a content text's translations survive it; a
    message scheduled before frames were kept (NULL) goes as it was written."""
    from bot.i18n import LocalizedStr, translator
    from flows.events.api import Frame, framed
    from storage.events import _frame, _frame_json

    name = LocalizedStr("Lumen Warsaw", {"en": "Lumen Warsaw", "es": "Lumen Varsovia"})
    frame = _frame(_frame_json(Frame("From {name}'s organizers:", "", (("name", name),))))
    assert framed("Hi", frame, translator("es")) == "De los organizadores de Lumen Varsovia:\nHi"
    assert framed("Hi", frame, translator("en")) == "From Lumen Warsaw's organizers:\nHi"
    assert framed("From X:\nHi", None, translator("es")) == "From X:\nHi"
    assert _frame(None) is None
