"""Features declare their commands once; the core builds one table, checks roles, dispatches
sub-commands, and generates !help and the command menu from the declarations."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from adapters.memory import MemoryAdapter
from bot import commands_table
from bot.app import command_menu
from bot.commands_table import END, START, current, table
from bot.config import Config
from bot.engine import greeting
from bot.feature import (
    Catalog,
    Command,
    CommandClashError,
    Feature,
    FeatureService,
    ServiceContext,
    menu,
)
from bot.flow import Transition, Turn
from bot.i18n import ENGLISH
from bot.model import Capabilities, Identity, Network, RoomRef
from bot.records import Audit, Record
from bot.roles import ContentRole
from bot.wiring import FEATURES, load_config, network_adapters
from tests.harness import Harness, make_config


async def _noop(turn: Turn) -> Transition:
    return None


def test_two_features_claiming_one_word_stop_the_start_naming_both() -> None:
    one = Feature("mentoring", commands=(Command("back", _noop),))
    two = Feature("core", commands=(Command("back", _noop),))
    with pytest.raises(CommandClashError) as err:
        Catalog([one, two])
    assert "!back" in str(err.value)
    assert "mentoring" in str(err.value)
    assert "core" in str(err.value)


def test_an_alias_may_not_take_another_commands_word() -> None:
    path = Feature("path", commands=(Command("resume", _noop, aliases=("continue",)),))
    tasks = Feature("tasks", commands=(Command("continue", _noop),))
    with pytest.raises(CommandClashError, match=r"!continue .*path \(!resume\).*tasks"):
        Catalog([path, tasks])


def test_two_sub_commands_of_one_command_may_not_share_a_word() -> None:
    event = Command("event", _noop, sub={"list": Command("list", _noop, aliases=("ls",)),
                                         "ls": Command("ls", _noop)})
    with pytest.raises(CommandClashError, match="!event ls"):
        Catalog([Feature("events", commands=(event,))])


class _NoWizards:
    def holds(self, identity_key: str) -> bool:
        return False


def test_an_unknown_role_is_refused_when_the_table_is_built() -> None:
    spell = Command("spell", _noop, role="wizard")
    with pytest.raises(CommandClashError, match="magic: !spell needs an unknown role 'wizard'"):
        Catalog([Feature("magic", commands=(spell,))])
    nested = Command("book", _noop, sub={"spell": spell})
    with pytest.raises(CommandClashError, match="unknown role 'wizard'"):
        Catalog([Feature("magic", commands=(nested,))])
    granted = Feature("magic", commands=(spell,),
                      roles={"wizard": ContentRole(lambda c: _NoWizards())})
    assert Catalog([granted]).roles == ["wizard", "organizer", "admin"]


def test_the_features_of_the_bot_build_one_table_without_clashes() -> None:
    catalog = Catalog(FEATURES)
    assert catalog.get("continue") is catalog.get("resume")
    back = catalog.get("back")
    assert back is not None
    assert back.role is None
    available = catalog.get("available")
    assert available is not None
    assert available.role == "mentor"


def test_the_menu_lists_everyones_commands_only() -> None:
    entries = dict(menu(FEATURES))
    assert {"start", "status", "help", "task", "stuck", "link"} <= set(entries)
    assert not {"claim", "mentors", "event", "broadcast", "mentor", "back"} & set(entries)
    for name, text in entries.items():
        assert name.isalnum()
        assert name.islower()
        assert 3 <= len(text) <= 256
        assert text[0].isupper()
    # In each language a network's menu offers, within Telegram's limits too.
    menus = command_menu()
    assert {"en", "es", "pt_BR"} <= set(menus.languages)
    for language, commands in menus.languages.items():
        assert [name for name, _ in commands] == list(entries)
        for name, text in commands:
            assert 3 <= len(text) <= 256, (language, name)
            assert text[0].isupper(), (language, name)
    assert dict(menus.languages["es"])["link"] != entries["link"]


ORGANIZER = "org"


def _config(url: str) -> Config:
    return make_config(url, roles={"organizers": [f"memory:{ORGANIZER}"],
                                   "admins": [f"memory:{ORGANIZER}"]})


async def test_an_unknown_sub_command_is_answered_with_the_valid_ones(sqlite_url: str) -> None:
    async with Harness(_config(sqlite_url)) as h:
        reply = await h.say(ORGANIZER, "!event frobnicate now")
        assert reply == ("!event has no sub-command 'frobnicate'. You can use: !event list, "
                         "!event new, !event status, !event export. Type !help for more.")
        reply = await h.say(ORGANIZER, "!mentor retire lingo irc:kim")
        assert "!mentor has no sub-command 'retire'. You can use: !mentor add, !mentor " \
               "remove." in reply
        assert (await h.say(ORGANIZER, "!event")).startswith("Events:\n  berlin-hack-evening")
        assert (await h.say(ORGANIZER, "!EVENT LIST")).startswith("Events:\n  berlin-hack-evening")


async def test_a_command_with_free_arguments_takes_a_word_that_is_no_sub_command(
        sqlite_url: str) -> None:
    async with Harness(_config(sqlite_url)) as h:
        reply = await h.say(ORGANIZER, "!broadcast nosuchevent")
        assert reply.startswith("I don't know the event 'nosuchevent'.")
        assert "Nothing to cancel." in await h.say(ORGANIZER, "!broadcast cancel")


async def test_sub_commands_need_the_commands_role(sqlite_url: str) -> None:
    async with Harness(_config(sqlite_url)) as h:
        assert await h.say("mallory", "!event frobnicate") == \
            "Sorry, !event is for organizers only."
        assert await h.say("mallory", "!mentor add lingo irc:kim") == \
            "Sorry, !mentor is for admins only."


async def test_help_lists_only_what_the_persons_roles_allow(sqlite_url: str) -> None:
    async with Harness(_config(sqlite_url)) as h:
        newcomer = await h.say("nia", "!help")
        assert "  !stuck [what's wrong]: ask a mentor for help" in newcomer
        assert "For organizers" not in newcomer
        assert "!event " not in newcomer
        assert "For mentors" not in newcomer
        assert "!back" not in newcomer
        organizer = await h.say(ORGANIZER, "!help")
        assert "For organizers:\n  !mentors: load and availability of every mentor" in organizer
        assert "  !event new ID | TITLE |" in organizer
        assert "  !broadcast confirm: send the invite you previewed" in organizer
        assert "For admins:\n  !revoke CODE REASON: revoke a certificate" in organizer
        assert "\n  !mentor add PROJECT network:id:" in organizer
        assert "For mentors" not in organizer


async def test_help_in_a_shared_room_listed_private_commands_as_if_answered_there(
        sqlite_url: str) -> None:
    """Regression: !help in a channel listed !status and !link beside the others, and each
    was then refused there."""
    async with Harness(_config(sqlite_url)) as h:
        shared = await h.say(ORGANIZER, "!help", room="#general", direct=False)
        public, _, private = shared.partition("\nOnly in a private chat with me:\n")
        for word in ("status", "link", "stuck"):
            assert f"  !{word}" in private
        assert "!status" not in public.partition("For organizers:")[0]
        assert "  !help" in public
        assert "  !start" in public
        assert "  !event export EVENT: " in shared
        export = next(line for line in shared.splitlines() if "!event export" in line)
        assert export.endswith("(in a private chat with me)")  # a private sub-command
        direct = await h.say(ORGANIZER, "!help")
        assert "private chat" not in direct
        assert "  !status" in direct.partition("For organizers:")[0]


README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_command_table_is_the_declarations() -> None:
    text = README.read_text(encoding="utf-8")
    assert current(text) == table()
    for command in ("!start", "!available", "!event new ID", "!broadcast confirm",
                    "!mentor add PROJECT network:id", "!skip"):
        assert f"| `{command}" in table()


def test_the_table_generator_checks_and_rewrites_a_file(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    stale = tmp_path / "README.md"
    stale.write_text(f"# Bot\n\n{START}\n| old |\n{END}\n\nMore.\n", encoding="utf-8")
    assert commands_table.main(["--check", str(stale)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert commands_table.main(["--write", str(stale)]) == 0
    assert commands_table.main(["--check", str(stale)]) == 0
    written = stale.read_text(encoding="utf-8")
    assert written.startswith(f"# Bot\n\n{START}\n| Command |")
    assert written.endswith(f"{END}\n\nMore.\n")
    with pytest.raises(ValueError, match="markers"):
        current("no table here")


def test_wayfinder_run_hands_the_menu_to_the_telegram_adapter(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TG_TOKEN", "123:abc")
    path = tmp_path / "wayfinder.toml"
    path.write_text('[adapters.telegram]\nenabled = true\ntoken_env = "TG_TOKEN"\n',
                    encoding="utf-8")
    (adapter,) = network_adapters(load_config(path), menu=command_menu)
    assert adapter.menu == command_menu()  # type: ignore[attr-defined]


def _said_to(h: Harness, who: str, network: str = "memory", after: int = 0) -> list[str]:
    """What the bot sent to `who` in their private chat (to their identity), since `after`."""
    return [s.text for s in h.adapters[network].sent[after:]
            if isinstance(s.msg.to, Identity) and s.msg.to.external_id == who]


NOTE = "I've answered your !{} in a private message, so that others can't see it."


async def test_a_private_command_asked_in_a_shared_room_is_answered_privately(
        sqlite_url: str) -> None:
    """Regression: a !link code said in a shared channel could be redeemed by anyone there.
    Then it was refused there; now it is answered in the person's private chat."""
    async with Harness(_config(sqlite_url)) as h:
        before = len(h.adapters["memory"].sent)
        reply = await h.say("lea", "!link", room="#general", direct=False)
        assert reply == NOTE.format("link")
        (code,) = _said_to(h, "lea", after=before)
        assert "Your link code is" in code
        before = len(h.adapters["memory"].sent)
        assert await h.say("lea", "!status", room="#general", direct=False) == \
            NOTE.format("status")  # a person's path is theirs
        assert "Your path:" in _said_to(h, "lea", after=before)[0]


async def test_a_private_answer_never_goes_to_a_thread_of_a_shared_room(sqlite_url: str) -> None:
    """Regression: in Matrix's thread mode a thread the bot talks in counts as direct (words
    there are meant for it), and !link posted its code in a thread everyone in the room reads."""
    async with Harness(_config(sqlite_url)) as h:
        said = h.inbound("lea", "!link", room="!shared:example.org|thread:$root")
        thread = replace(said, room=replace(said.room, direct=False))
        assert thread.direct
        assert not thread.room.direct
        (reply,) = await h.send(thread)
        assert reply.msg.text == NOTE.format("link")
        assert "Your link code is" in _said_to(h, "lea")[0]


async def test_a_private_command_in_a_channel_is_answered_when_the_reply_goes_privately(
        sqlite_url: str) -> None:
    """Regression: on IRC (conversation = "private") !link typed in a channel was refused,
    although its answer goes to a private message."""
    async with Harness(_config(sqlite_url)) as h:
        said = h.inbound("lea", "!link", room="#general", direct=False)
        channel = replace(said, room=RoomRef(said.network, "dm:lea", "#general", direct=True))
        assert not channel.direct
        assert channel.room.direct
        (reply,) = await h.send(channel)
        assert "Your link code is" in reply.msg.text


async def test_a_private_sub_command_is_answered_privately_from_a_shared_room(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Regression: only the top-level command's `private` was checked, so a private
    sub-command of a public command answered in the room."""
    async def secret(turn: Turn) -> Transition:
        turn.say("the secret")
        return None

    async def usage(turn: Turn) -> Transition:
        turn.say("usage")
        return None

    vault = Feature("vault", commands=(Command("vault", usage, summary="a vault", sub={
        "open": Command("open", secret, summary="open it", private=True)}),))
    monkeypatch.setattr("bot.app.FEATURES", (*FEATURES, vault))
    async with Harness(_config(sqlite_url)) as h:
        assert await h.say("lea", "!vault", room="#general", direct=False) == "usage"
        assert await h.say("lea", "!vault open", room="#general", direct=False) == \
            NOTE.format("vault open")
        assert _said_to(h, "lea") == ["the secret"]
        assert await h.say("lea", "!vault open") == "the secret"


async def test_a_refused_private_command_did_not_say_how_to_reach_the_bot(
        sqlite_url: str) -> None:
    """Regression: `!stuck my tests fail` in a channel was refused with "please send it to me
    directly": no way named, the words dropped, and `!help me, ...` called "!stuck"."""
    irc = MemoryAdapter(Network("irc"), Capabilities(reach_privately="type /msg wf {line}",
                                                     dm_first_contact=False))
    quiet = MemoryAdapter(capabilities=Capabilities(dm_first_contact=False))
    async with Harness(_config(sqlite_url), adapters=[irc, quiet]) as h:
        assert await h.say("ana", "!stuck my tests fail", "irc", room="#general",
                           direct=False) == (
            "I answer !stuck only in a private conversation, so that others can't see it. "
            "Please type /msg wf !stuck my tests fail")
        assert await h.say("ana", "!help me, my tests fail", "irc", room="#general",
                           direct=False) == (
            "I answer !help me only in a private conversation, so that others can't see it. "
            "Please type /msg wf !help me, my tests fail")
        reply = await h.say("ana", "wayfinder: stuck my tests fail", "irc", room="#general",
                            direct=False)
        assert reply.endswith("Please type /msg wf !stuck my tests fail")
        assert await h.say("bo", "!stuck my tests fail", room="#general", direct=False) == (
            "I answer !stuck only in a private conversation, so that others can't see it. "
            "Please send me: !stuck my tests fail")  # no route declared: the line alone
        assert _said_to(h, "ana", "irc") == []  # nothing was said to them anywhere
        # Once they have written to the bot privately, it may answer them there.
        await h.say("ana", "!help", "irc")
        before = len(h.adapters["irc"].sent)
        assert await h.say("ana", "!stuck my tests fail", "irc", room="#general",
                           direct=False) == NOTE.format("stuck")
        assert "Tell me which project" in _said_to(h, "ana", "irc", after=before)[0]


def _private(command: Command, prefix: str = "") -> list[str]:
    mine = [f"{prefix}{command.name}"] if command.private else []
    return mine + [w for sub in command.sub.values()
                   for w in _private(sub, f"{prefix}{command.name} ")]


def test_every_answer_about_one_person_or_with_a_code_is_declared_private() -> None:
    declared = {w for e in Catalog(FEATURES).entries for w in _private(e.command)}
    assert declared == {
        "link",  # a link code
        "status",  # a person's path
        "region", "timezone", "invites", "events", "rsvp",  # where someone lives, their answers
        "event export",  # a CSV of identities
        "stuck", "claim", "handback", "resolve", "mentees",  # case codes and case details
        "mentor add", "mentor remove",  # an identity and their project
        "mydata", "forget", "forget confirm", "forget cancel",  # everything about a person
        "person", "me",  # a person's record, one's own metrics
        "certificates", "name",  # one's certificates, their codes
        # One's forge accounts and their verification codes.
        "forge", "forge github", "forge gitlab", "forge gerrit", "forge phabricator",
        "forge verify", "forge remove",
        "dashboard",  # a login link
        "group join", "group leave",  # which local groups someone is on
        "group send", "group confirm", "group cancel",  # a draft to a group's members
        "group status",  # how many are on a group's list
        "pair",  # whether one wants to be introduced to someone
        "checkin", "feedback",  # where one was, and what one thought of it
        "checkin code",  # an event's check-in code: only those there should have it
        "levelup", "approve",  # one's invitation to mentor, and who is approved
    }


async def test_personal_data_was_answered_in_a_shared_room(sqlite_url: str) -> None:
    """Regression: !status, !event export, !mentees and the other answers about one person
    (or with a case code) were posted in the room they were typed in. They go to the person's
    private chat now; the room hears only that they were answered."""
    config = make_config(sqlite_url, roles={"organizers": ["irc:olga"],
                                            "admins": ["irc:olga"]})
    mentor = "@amara:lumen.test"  # a Pagebot mentor in the demo content
    async with Harness(config, networks=("irc", "matrix")) as h:
        await h.script("ana", ["!start", "!skip", "!skip", "!skip", "Pagebot", "done"], "irc")
        for who, network, text, word in [
                ("ana", "irc", "!status", "status"),
                ("ana", "irc", "!stuck git fails", "stuck"),
                ("ana", "irc", "!help me, git fails", "help me"),  # the words typed
                ("ana", "irc", "!region", "region"),
                ("ana", "irc", "!timezone Europe/Berlin", "timezone"),
                ("ana", "irc", "!invites on", "invites"),
                ("ana", "irc", "!events", "events"),
                ("ana", "irc", "!rsvp meetup yes", "rsvp"),
                ("olga", "irc", "!event export meetup", "event export"),
                ("olga", "irc", "!mentor add pagebot irc:ana", "mentor add"),
                (mentor, "matrix", "!mentees", "mentees"),
                (mentor, "matrix", "!claim K7M2Q", "claim"),
                (mentor, "matrix", "!handback K7M2Q", "handback"),
                (mentor, "matrix", "!resolve K7M2Q", "resolve")]:
            before = len(h.adapters[network].sent)
            reply = await h.say(who, text, network, room="#general", direct=False)
            assert reply == NOTE.format(word), text  # and nothing else in the room
            assert _said_to(h, who, network, after=before), text  # the answer, privately
        assert "Your path:" in await h.say("ana", "!status", "irc")


def test_a_step_word_may_not_be_another_features_command() -> None:
    path = Feature("path", words={"release": "give your task back"})
    mentoring = Feature("mentoring", commands=(Command("release", _noop, role="organizer"),))
    for features in ([path, mentoring], [mentoring, path]):
        with pytest.raises(CommandClashError, match=r"the step word !release of path is also "
                                                    r"mentoring's command !release"):
            Catalog(features)
    # A feature's own command for its step word is its answer off the step, as !back is.
    Catalog([Feature("path", commands=(Command("release", _noop),),
                     words={"release": "give your task back"})])
    assert Catalog(FEATURES).get("back") is not None


async def test_a_newcomers_release_was_refused_as_for_mentors_only(sqlite_url: str) -> None:
    """Regression: !release, a newcomer's word at the task step, was also the mentors' command,
    so typed anywhere else it answered "Sorry, !release is for mentors only." and recorded a
    refusal; a mentor hands a case back with !handback now."""
    async with Harness(_config(sqlite_url)) as h:
        assert await h.say("nia", "!release") == ("You have no task reserved at the moment. "
                                                  "Type !task for one.")
        assert await h.running.store.latest_audit_id("refused:release") == 0
        assert await h.say("nia", "!handback K7M2Q") == (
            "Sorry, !handback is for mentors only.")
        await h.script("hal", ["!start", "!skip", "!skip", "!skip", "Handbook",
                               "done", "[Lumen](https://lumen.test)", "done"])
        reply = await h.say("hal", "https://code.lumen.test/handbook/handbook/-/merge_requests/3")
        assert "Your task: Fix the four broken links" in reply
        assert await h.say("hal", "!release now") == (  # a step word takes no arguments
            "Your task is still reserved for you. To give it back, type !release on its own.")
        assert await h.say("hal", "!release") == (
            "Released \"Fix the four broken links on the 'Your first patch' page\": someone "
            "else can take it now. Type !task when you want another.")
        assert await h.say("hal", "!release") == ("You have no task reserved at the moment. "
                                                  "Type !task for one.")


async def test_a_mentors_old_release_code_points_to_handback_not_to_tasks(
        sqlite_url: str) -> None:
    """Regression: a mentor typing the old `!release CODE` was told "You have no task reserved
    at the moment. Type !task for one.", which says nothing about the case."""
    async with Harness(_config(sqlite_url)) as h:
        assert await h.say("nia", "!release K7M2Q") == (
            "To hand a case back, use !handback CODE.")
        assert await h.say("nia", "!release") == ("You have no task reserved at the moment. "
                                                  "Type !task for one.")


async def test_the_bot_does_not_start_when_two_features_claim_one_word(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    greedy = Feature("greedy", commands=(Command("stuck", _noop),))
    monkeypatch.setattr("bot.app.FEATURES", (*FEATURES, greedy))
    harness = Harness(make_config(sqlite_url))
    with pytest.raises(CommandClashError, match=r"!stuck is claimed twice: by mentoring "
                                                r"\(!stuck\) and by greedy \(!stuck\)"):
        await harness.start()
    await harness.stop()


def test_the_core_grants_only_the_configs_roles_and_mentoring_declares_the_mentor() -> None:
    from bot.feature import ROLE_CHECKS

    assert set(ROLE_CHECKS) == {"organizer", "admin"}
    assert Catalog(FEATURES).roles == ["mentor", "group organizer", "organizer", "admin"]
    assert [f.name for f in FEATURES if "mentor" in f.roles] == ["mentoring"]
    assert [f.name for f in FEATURES if "group organizer" in f.roles] == ["groups"]


def test_the_greeting_suggests_what_the_features_declare_and_the_core_names_none() -> None:
    hints = [f.hint for f in FEATURES if f.hint]
    assert hints == ["Type !start to find a project and get started"]  # the path's
    assert greeting(ENGLISH, hints) == ("Hi! I'm Wayfinder. Type !start to find a project and "
                                          "get started, or !help to see what I can do.")
    assert greeting(ENGLISH, []) == "Hi! I'm Wayfinder. Type !help to see what I can do."
    engine = (Path(__file__).resolve().parent.parent / "bot" / "engine.py").read_text()
    assert "!start" not in engine


ENGINE = Path(__file__).resolve().parent.parent / "bot" / "engine.py"
APP = ENGINE.parent / "app.py"


async def test_a_paused_person_is_told_what_the_feature_owning_pause_declares(
        sqlite_url: str) -> None:
    assert [f.paused for f in FEATURES if f.paused] == [  # the path's, not the core's
        "You are paused. Type !resume to continue where you left off"]
    assert "!resume" not in ENGINE.read_text(encoding="utf-8")
    async with Harness(_config(sqlite_url)) as h:
        await h.script("pia", ["!start", "!skip", "!skip", "!skip", "Pagebot", "!pause"])
        assert await h.say("pia", "hello") == (
            "You are paused. Type !resume to continue where you left off, or !help.")


def test_the_readme_says_how_long_due_work_dead_letters_are_kept() -> None:
    from bot.config import FlowsConfig

    text = README.read_text(encoding="utf-8")
    days = int(FlowsConfig().due_dead_letter_days)
    outbox = next(line for line in text.splitlines() if line.startswith("| `wayfinder outbox`"))
    assert f"`[flows] due_dead_letter_days`, {days}" in outbox
    assert "due_dead_letter_days = 30" in (README.parent / "config.example.toml").read_text()


class _Chores(FeatureService):
    """A toy feature's background work: what the app asked of it, in order."""

    def __init__(self, context: ServiceContext) -> None:
        self.context = context
        self.calls: list[str] = []

    async def start(self) -> None:
        self.calls.append("start")

    async def tick(self) -> int:
        self.calls.append("tick")
        self.context.poke()  # as a fan-out tells the dispatcher it queued rows
        return 3

    def after_records(self, records: Sequence[Record]) -> None:
        self.calls.append("records:" + ",".join(type(r).__name__ for r in records))

    async def stop(self) -> None:
        self.calls.append("stop")


class _Broken(FeatureService):
    async def tick(self) -> int:
        raise RuntimeError("disk on fire")

    def after_records(self, records: Sequence[Record]) -> None:
        raise RuntimeError("disk on fire")


async def _chore(turn: Turn) -> Transition:
    turn.record(Audit(turn.sender.key, "chore", "", turn.now))
    turn.say("Noted.")
    return None


async def test_a_features_service_is_started_ticked_kicked_and_stopped_by_the_app(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[_Chores] = []

    def services(context: ServiceContext) -> _Chores:
        built.append(_Chores(context))
        return built[-1]

    chores = Feature("chores", commands=(Command("chore", _chore),), services=services)
    broken = Feature("broken", services=lambda _context: _Broken())
    monkeypatch.setattr("bot.app.FEATURES",  # no edit of bot/app.py
                        (*FEATURES, broken, chores))
    async with Harness(_config(sqlite_url)) as h:
        [service] = built
        assert service.calls == ["start"]
        assert service.context.store is h.running.store
        assert service.context.content() is h.running.engine.content
        assert service.context.clock() == h.clock()
        assert await h.tick() == 3  # the only due work: the toy's, after a broken one's
        assert service.calls == ["start", "tick"]
        assert await h.say("ann", "!chore") == "Noted."  # committed, whatever "broken" does
        assert service.calls[-1].startswith("records:Audit")  # after the commit
    assert service.calls[-1] == "stop"
    assert len(built) == 1
    app = APP.read_text(encoding="utf-8")  # names no feature's background work
    assert "Broadcaster" not in app
    assert "EventsConfig" not in app
    assert [f.name for f in FEATURES if f.defer] == ["events"]  # its quiet hours
