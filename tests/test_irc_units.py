"""IRC's pure parts: cleaning, byte-exact splitting, rendering, the fair queue, the roster."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

import pytest
from irc.client import Event

from adapters.irc.client import IrcAdapter
from adapters.irc.config import IrcConfig
from adapters.irc.link import IrcLink
from adapters.irc.queue import Job, LineQueue
from adapters.irc.render import (
    NICK_MAX,
    LineBudget,
    casefold,
    clean,
    fixed_width,
    render_lines,
    render_pages,
    split_bytes,
)
from adapters.irc.roster import Roster
from bot.model import Choice, ExternalId, Identity, Inbound, Network, Outbound, RoomRef
from bot.ports import Outcome, PermanentSendError, TransientSendError

ROOM = RoomRef(Network("irc"), "#c", "#c")


@pytest.mark.parametrize(("raw", "cleaned"), [
    ("a\r\nb", "a b"),
    ("a\nb\rc", "a b c"),
    ("nul\0here", "nulhere"),
    ("\x01VERSION\x01", "VERSION"),
    ("\x02bold\x02 \x0304,12red\x03 \x1ditalic\x1d", "bold red italic"),
    ("tab\tx", "tab x"),
    ("ünï 日本 🙂", "ünï 日本 🙂"),
])
def test_clean_leaves_one_safe_line(raw: str, cleaned: str) -> None:
    assert clean(raw) == cleaned


def test_formatting_passes_only_when_configured() -> None:
    assert clean("\x02bold\x02\x01", formatting=True) == "\x02bold\x02"


def test_split_never_cuts_a_character_and_fits_the_limit() -> None:
    rng = random.Random(3)
    alphabet = ["a", " ", "é", "日", "🙂", "👩‍💻"]
    for _ in range(500):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 400)))
        limit = rng.randint(4, 120)
        pieces = split_bytes(text, limit)
        assert all(len(p.encode()) <= limit for p in pieces)
        assert "".join(pieces).replace(" ", "") == text.replace(" ", "")


def test_a_line_budget_counts_the_prefix_the_server_adds() -> None:
    budget = LineBudget("wayfinder", user_len=9, host_len=20)
    prefix = ":wayfinder!" + "u" * 9 + "@" + "h" * 20 + " PRIVMSG #chan :"
    assert budget.text_bytes("#chan") == 512 - len(prefix) - 2


def test_choices_are_one_compact_line_numbered_as_the_core_counts() -> None:
    msg = Outbound(ROOM, "Pick one", (Choice("a", "Apples"), Choice("b", "Pears")))
    assert render_lines(msg, 400, 10) == ["Pick one",
                                          "Answer with !1 Apples · !2 Pears, or the word."]
    invite = Outbound(ROOM, "Come?", (Choice("!rsvp ev yes", "Yes"), Choice("x", "Later")))
    assert render_lines(invite, 400, 10) == [
        "Come?", "Answer with !2 Later, or the word. · Yes: !rsvp ev yes"]


def test_a_long_message_is_paged_with_its_choices_on_every_page() -> None:
    long = Outbound(ROOM, "\n".join(f"line {n}" for n in range(30)),
                    (Choice("a", "Apples"), Choice("b", "Pears")))
    pages = render_pages(long, 400, 5)
    assert pages[0] == ["line 0", "line 1", "line 2", "(27 more lines: type !more)",
                        "Answer with !1 Apples · !2 Pears, or the word."]
    assert all(len(page) <= 5 for page in pages)
    assert all(page[-1] == "Answer with !1 Apples · !2 Pears, or the word." for page in pages)
    body = [line for page in pages for line in page if line.startswith("line ")]
    assert body == [f"line {n}" for n in range(30)]  # every line, once, in order
    assert "more lines" not in " ".join(pages[-1])


def test_pages_break_between_paragraphs_where_one_fits() -> None:
    cards = "\n\n".join("\n".join(f"card {c} line {n}" for n in range(4)) for c in range(3))
    pages = render_pages(Outbound(ROOM, "Heading\n\n" + cards), 400, 7)
    assert pages[0][:5] == ["Heading", "card 0 line 0", "card 0 line 1", "card 0 line 2",
                            "card 0 line 3"]
    assert pages[0][5].endswith("type !more)")
    assert pages[1][0] == "card 1 line 0"  # a card is not cut where a page could hold it
    assert [len(p) for p in pages] == [6, 5, 4]


def test_a_short_message_is_one_page() -> None:
    assert render_pages(Outbound(ROOM, "one\ntwo"), 400, 3) == [["one", "two"]]


def test_casefold_uses_the_rfc1459_mapping() -> None:
    assert casefold("Nick[]\\~") == "nick{}|^"


async def test_channels_and_private_chats_take_turns() -> None:
    queue = LineQueue()
    loop = asyncio.get_running_loop()
    queue.add(Job("#busy", [f"c{n}" for n in range(4)], loop.create_future()))
    queue.add(Job("ana", ["a1", "a2"], loop.create_future()))
    queue.add(Job("bob", ["b1"], loop.create_future()))
    queue.control("JOIN #x")
    order = []
    while len(queue):
        line, job = queue.peek()
        order.append(line)
        queue.written(job)
    assert order == ["JOIN #x", "c0", "a1", "c1", "b1", "c2", "a2", "c3"]


async def test_a_job_that_reports_its_lines_holds_until_resumed_and_others_go_on() -> None:
    queue = LineQueue()
    loop = asyncio.get_running_loop()
    reported = Job("#c", ["r1", "r2", "r3"], loop.create_future(), progress=asyncio.Event())
    queue.add(reported)
    queue.add(Job("ana", ["a1", "a2"], loop.create_future()))
    order = []
    for _ in range(3):
        line, job = queue.peek()
        order.append(line)
        queue.written(job)
    assert order == ["r1", "a1", "a2"]  # r2 waits until r1's count is kept
    assert reported.held
    assert reported.progress is not None
    assert reported.progress.is_set()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(queue.wait(), 0.05)  # nothing may go: no busy loop
    queue.resume(reported)
    await asyncio.wait_for(queue.wait(), 1)
    assert queue.peek() == ("r2", reported)
    queue.written(reported)
    queue.resume(reported)
    queue.written(reported)
    assert reported.done.done()
    assert not reported.held  # the last line never holds


def test_roster_trusts_an_account_only_while_a_channel_is_shared() -> None:
    roster = Roster()
    roster.joined("Ana", "#c", "ana", known=True)
    assert roster.account("ana") == (True, "ana")
    assert roster.nick_for("ANA") == "Ana"
    roster.renamed("Ana", "ana_away")
    assert roster.account("ana_away") == (True, "ana")
    assert roster.nick_for("ana") == "ana_away"
    roster.account_changed("ana_away", None)  # logged out
    assert roster.account("ana_away") == (True, None)
    roster.parted("ana_away", "#c")
    assert roster.account("ana_away") == (False, None)  # nothing shared: nothing trusted


@pytest.mark.parametrize("target", [
    RoomRef(Network("irc"), "#chan\r\nQUIT :x"),
    RoomRef(Network("irc"), "#a,#b"),
    RoomRef(Network("irc"), "nick:ev il"),
    RoomRef(Network("irc"), "nick:bob\0"),
    RoomRef(Network("irc"), "nick:#chan"),
    RoomRef(Network("irc"), "somewhere"),
    Identity(Network("irc"), ExternalId("bob\r\nKILL x"), False),
])
def test_a_target_that_could_smuggle_a_command_is_refused(target: RoomRef | Identity) -> None:
    adapter = IrcAdapter(IrcConfig())
    with pytest.raises(PermanentSendError):
        adapter.target_of(target)


def test_safe_targets_pass() -> None:
    adapter = IrcAdapter(IrcConfig())
    assert adapter.target_of(RoomRef(Network("irc"), "#lumen-docs")) == "#lumen-docs"
    assert adapter.target_of(Identity(Network("irc"), ExternalId("bob"), False)) == "bob"
    assert adapter.target_of(Identity(Network("irc"), ExternalId("~bob"), False)) == "bob"
    assert adapter.target_of(RoomRef(Network("irc"), "nick:bob", direct=True)) == "bob"


async def test_an_odd_line_is_logged_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    from irc.client import Event

    adapter = IrcAdapter(IrcConfig())
    link = object.__new__(IrcLink)  # only its identity matters to the handlers here
    link.real_nickname = "wayfinder"
    adapter.link = link
    adapter._on_event(link, Event("join", None, None, []))  # no source: malformed
    assert "could not handle join" in caplog.text


class Gate:
    """A token bucket that lets a line go only when told to."""

    def __init__(self) -> None:
        self.tokens: asyncio.Queue[None] = asyncio.Queue()

    async def acquire(self) -> None:
        await self.tokens.get()

    async def close(self) -> None:
        return None


class WrittenLines:
    is_open = True

    def __init__(self) -> None:
        self.lines: list[str] = []

    def send_line(self, line: str) -> None:
        self.lines.append(line)


def gated(link: WrittenLines) -> tuple[IrcAdapter, Gate]:
    """An IRC adapter online and ready, writing to `link`, whose lines go out only when the
    gate is given a token."""
    adapter, gate = IrcAdapter(IrcConfig()), Gate()
    adapter.bucket = gate  # type: ignore[assignment]
    adapter.link = link  # type: ignore[assignment]
    adapter.online.set()
    adapter.ready.set()
    return adapter, gate


async def test_a_send_cancelled_while_its_line_waits_for_a_token_writes_nothing_more() -> None:
    wire = WrittenLines()
    adapter, gate = gated(wire)
    writer = asyncio.create_task(adapter._write_loop())
    counts: list[int] = []

    async def part_sent(count: int) -> None:
        counts.append(count)

    send = asyncio.create_task(adapter.send_parts(Outbound(ROOM, "one\ntwo"), "k", 0, part_sent))
    await asyncio.sleep(0.01)  # the writer took "one" and waits for a token
    send.cancel()  # the process stops meanwhile
    with pytest.raises(asyncio.CancelledError):
        await send
    gate.tokens.put_nowait(None)
    later = asyncio.create_task(adapter.send(Outbound(ROOM, "later"), "k2"))
    gate.tokens.put_nowait(None)
    await asyncio.wait_for(later, 1)
    assert wire.lines == ["PRIVMSG #c :later"]  # the writer lives on; nothing of the first
    assert counts == []
    writer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await writer


async def test_a_protocol_line_cleared_by_a_new_link_while_waiting_for_a_token_is_not_sent(
        ) -> None:
    """The writer peeked a protocol line and waited for a token; a new session cleared the
    protocol lines meanwhile. It sent the stale line on the new link, then `written(None)`
    popped the next session's unwritten line, or raised IndexError and killed the writer."""
    wire = WrittenLines()
    adapter, gate = gated(wire)
    adapter.queue.control("JOIN #old")
    writer = asyncio.create_task(adapter._write_loop())
    await asyncio.sleep(0.01)  # the writer took "JOIN #old" and waits for a token
    adapter.queue.clear_control()  # a new session starts
    gate.tokens.put_nowait(None)
    await asyncio.sleep(0.01)
    assert wire.lines == []
    assert not writer.done()  # no IndexError from an empty queue
    adapter.queue.control("JOIN #new")  # the new session's own line is written, once
    adapter.queue.control("WHO #new")
    gate.tokens.put_nowait(None)
    gate.tokens.put_nowait(None)
    await asyncio.sleep(0.01)
    assert wire.lines == ["JOIN #new", "WHO #new"]
    assert len(adapter.queue) == 0
    assert not writer.done()
    writer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await writer


async def test_a_line_cancelled_at_shutdown_is_logged_as_not_handled_not_taken_for_success(
        caplog: pytest.LogCaptureFixture) -> None:
    """A line whose handling was cancelled at shutdown passed silently, as if handled: IRC
    never sends it again, so it was lost without a word in the log."""
    adapter = IrcAdapter(IrcConfig())
    sender = Identity(Network("irc"), ExternalId("ana"), True)
    inbound = Inbound(Network("irc"), "irc:42", ROOM, sender, "!status", False,
                      datetime.now(UTC))
    cancelled: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
    cancelled.cancel()
    adapter._handled(inbound, cancelled)
    assert "the line irc:42 from irc:ana was not handled: shutting down" in caplog.text
    done: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
    done.set_result(Outcome.COMMITTED)
    caplog.clear()
    adapter._handled(inbound, done)
    assert caplog.text == ""


def test_a_resumed_message_could_drop_or_repeat_words_after_a_nick_change() -> None:
    """Regression: send_parts rendered at the width of the current nick, user and host, and
    resumed at line N: after a restart under the alternative nick, line N was other text."""
    words = " ".join(f"word{n}" for n in range(400))
    msg = Outbound(RoomRef(Network("irc"), "#general", "#general"), words)
    short, long = IrcAdapter(IrcConfig(nick="wf")), IrcAdapter(IrcConfig(nick="w" * NICK_MAX))
    for target in ("#general", "ana", "someone_with_a_long_nick"):
        parts = short.lines(msg, target)
        assert len(parts) > 3
        assert parts == long.lines(msg, target)
        assert " ".join(parts) == words  # nothing dropped, nothing repeated
        worst = LineBudget("n" * NICK_MAX)  # with the longest user and host
        room = target if target.startswith("#") else "n" * NICK_MAX
        assert all(len(p.encode()) <= worst.text_bytes(room) for p in parts)
    assert fixed_width("ana") == fixed_width("someone_with_a_long_nick")


def test_roster_a_tag_outside_shared_channels_is_trusted_briefly_then_only_if_followed() -> None:
    now = [0.0]
    roster = Roster(clock=lambda: now[0])
    roster.seen_with_tag("Ana", "ana")  # a private message, no channel shared, no MONITOR
    assert roster.nick_for("ana") == "Ana"  # the answer to that message finds her
    now[0] += 31
    assert roster.nick_for("ana") is None  # later, the nick may be anybody's
    assert roster.last_nick("ana") == "Ana"  # where to look again: a hint, not proof
    roster.monitored("Ana")  # MONITOR + Ana: the server reports when the nick changes hands
    roster.who_reply("Ana", "ana")
    assert roster.nick_for("ana") == "Ana"
    roster.offline("Ana")  # RPL_MONOFFLINE: she quit
    assert roster.nick_for("ana") is None
    roster.who_reply("Ana", None)  # somebody took the nick without logging in
    assert roster.nick_for("ana") is None
    assert roster.account("Ana") == (True, None)


def test_roster_a_followed_nick_stays_trusted_after_the_last_shared_channel() -> None:
    roster = Roster()
    roster.joined("ana", "#c", "ana", known=True)
    roster.monitored("ana")
    roster.online("ana")  # RPL_MONONLINE
    roster.parted("ana", "#c")
    assert roster.nick_for("ana") == "ana"  # MONITOR still tells us when she goes
    roster.unmonitored("ana")
    assert roster.nick_for("ana") is None


class FakeLink(WrittenLines):
    """Just enough of a registered link on a server with MONITOR and WHOX."""

    def __init__(self) -> None:
        super().__init__()
        self.real_nickname = "wayfinder"
        self.isupport = {"MONITOR": "30", "WHOX": ""}
        self.enabled_caps = {"account-tag", "account-notify", "extended-join"}


def running_adapter(**config: object) -> tuple[IrcAdapter, FakeLink, asyncio.Task[None]]:
    adapter = IrcAdapter(IrcConfig.model_validate({"burst": 100, "lines_per_second": 1000.0,
                                                   **config}))
    link = FakeLink()
    adapter.link = link  # type: ignore[assignment]
    adapter.online.set()
    adapter.ready.set()
    return adapter, link, asyncio.create_task(adapter._write_loop())


def event(kind: str, *args: str, source: str = "irc.test") -> Event:
    return Event(kind, source, "wayfinder", list(args))


def heard(adapter: IrcAdapter, line: Event) -> None:
    """The adapter's link read `line`."""
    adapter._on_event(adapter.link, line)  # type: ignore[arg-type]


ANA = RoomRef(Network("irc"), "account:ana", direct=True)


async def test_a_reply_for_an_account_that_is_away_is_held_then_a_dead_letter_with_its_reason(
        ) -> None:
    adapter, link, writer = running_adapter(account_hold_seconds=0.3)
    adapter.roster.seen_with_tag("ana", "ana")  # she wrote to us once, then went away
    adapter.roster.offline("ana")
    with pytest.raises(PermanentSendError) as refused:
        await asyncio.wait_for(adapter.send(Outbound(ANA, "your next step"), "k"), 2)
    assert "'ana' was not online for 0.3 s" in str(refused.value)
    assert "not sent to whoever holds its nick" in str(refused.value)
    assert "MONITOR + ana" in link.lines  # it looked for her
    assert not any(line.startswith("PRIVMSG") for line in link.lines)
    writer.cancel()
    await asyncio.gather(writer, return_exceptions=True)


async def test_a_held_reply_goes_once_the_account_is_seen_logged_in_and_not_to_an_impostor(
        ) -> None:
    adapter, link, writer = running_adapter()
    send = asyncio.create_task(adapter.send(Outbound(ANA, "your next step"), "k"))
    await asyncio.sleep(0.05)
    assert link.lines == ["MONITOR + ana"]
    heard(adapter, event("730", "ana!x@h"))  # "ana" is online: who is it?
    await asyncio.sleep(0.05)
    assert link.lines[-1] == "WHO ana %tna,43"
    heard(adapter, event("whospcrpl", "43", "ana", "0"))  # not logged in: not her
    await asyncio.sleep(0.05)
    assert not send.done()
    heard(adapter, event("731", "ana"))
    heard(adapter, event("730", "ana!ana@h"))
    heard(adapter, event("whospcrpl", "43", "ana", "ana"))  # she is back
    await asyncio.wait_for(send, 2)
    assert link.lines[-1] == "PRIVMSG ana :your next step"
    assert sum(line.startswith("PRIVMSG") for line in link.lines) == 1
    writer.cancel()
    await asyncio.gather(writer, return_exceptions=True)


async def test_the_rest_of_a_reply_waits_when_the_nick_changes_hands_mid_message() -> None:
    link = FakeLink()
    adapter, gate = gated(link)
    writer = asyncio.create_task(adapter._write_loop())
    adapter.roster.joined("ana", "#c", "ana", known=True)
    counts: list[int] = []

    async def part_sent(count: int) -> None:
        counts.append(count)

    send = asyncio.create_task(adapter.send_parts(Outbound(ANA, "one\ntwo\nthree"), "k", 0,
                                                  part_sent))
    gate.tokens.put_nowait(None)
    await asyncio.sleep(0.02)
    assert link.lines == ["PRIVMSG ana :one"]
    heard(adapter, event("quit", "bye", source="ana!a@h"))  # she quits ...
    heard(adapter, event("join", source="ana!imp@h"))  # ... somebody takes the nick
    for _ in range(3):
        gate.tokens.put_nowait(None)
    await asyncio.sleep(0.05)
    assert not any(line.startswith("PRIVMSG ana :two") for line in link.lines)
    assert not send.done()
    heard(adapter, event("join", "ana", "x", source="ana_!ana@h"))  # extended-join
    for _ in range(3):
        gate.tokens.put_nowait(None)
    await asyncio.wait_for(send, 2)
    assert [line for line in link.lines if line.startswith("PRIVMSG")] == [
        "PRIVMSG ana :one", "PRIVMSG ana_ :two", "PRIVMSG ana_ :three"]
    assert counts == [1, 2]
    writer.cancel()
    await asyncio.gather(writer, return_exceptions=True)


async def test_many_accounts_away_never_churn_the_monitor_list_or_flood_who(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import adapters.irc.client as client

    monkeypatch.setattr(client, "SEEK_SECONDS", 0.02)
    monkeypatch.setattr(client, "MONITOR_STALE_SECONDS", 0.2)
    adapter, link, writer = running_adapter(account_hold_seconds=0.5)
    link.isupport["MONITOR"] = "2"  # room to look for two accounts at once
    sends = [asyncio.create_task(adapter.send(Outbound(
        RoomRef(Network("irc"), f"account:away{n}", direct=True), "hi"), f"k{n}"))
        for n in range(6)]
    results = await asyncio.wait_for(asyncio.gather(*sends, return_exceptions=True), 3)
    assert all(isinstance(r, PermanentSendError) for r in results)  # dead letters, each
    # The list holds two, kept by their held replies: no MONITOR - / + churn every round.
    assert [line for line in link.lines if line.startswith("MONITOR")] == [
        "MONITOR + away0", "MONITOR + away1"]
    # The others are asked about by WHOX, once each within a minute, not every round.
    assert sorted(line for line in link.lines if line.startswith("WHO ")) == [
        f"WHO away{n} %tna,43" for n in range(2, 6)]
    writer.cancel()
    await asyncio.gather(writer, return_exceptions=True)


def test_a_reply_for_a_nick_without_login_is_not_given_to_an_account_holding_it() -> None:
    adapter = IrcAdapter(IrcConfig())
    newcomer = Identity(Network("irc"), ExternalId("~ana"), False)
    assert adapter.target_of(newcomer) == "ana"
    adapter.roster.joined("ana", "#c", "ana", known=True)  # the nick is the account's again
    with pytest.raises(TransientSendError):
        adapter.target_of(newcomer)
    with pytest.raises(TransientSendError):
        adapter.target_of(RoomRef(Network("irc"), "nick:ana", direct=True))


async def test_a_login_reported_before_the_nick_is_online_is_not_trusted_yet() -> None:
    """Seen on InspIRCd with extended-monitor: ana's SASL login (ACCOUNT) was reported while
    she was still registering; the held reply went to "ana" at once and the server answered
    401 No such nick: lost. The reply waits for RPL_MONONLINE and WHOX."""
    adapter, link, writer = running_adapter()
    send = asyncio.create_task(adapter.send(Outbound(ANA, "your next step"), "k"))
    await asyncio.sleep(0.05)
    heard(adapter, Event("account", "ana!ana@h", "ana", []))  # ACCOUNT ana, registering
    await asyncio.sleep(0.05)
    assert not send.done()
    assert not any(line.startswith("PRIVMSG") for line in link.lines)
    heard(adapter, event("730", "ana"))
    heard(adapter, event("whospcrpl", "43", "ana", "ana"))
    await asyncio.wait_for(send, 2)
    assert link.lines[-1] == "PRIVMSG ana :your next step"
    writer.cancel()
    await asyncio.gather(writer, return_exceptions=True)


def test_no_such_nick_drops_what_was_believed_about_it() -> None:
    adapter, link = IrcAdapter(IrcConfig()), FakeLink()
    adapter.link = link  # type: ignore[assignment]
    adapter.roster.joined("ana", "#c", "ana", known=True)
    heard(adapter, event("nosuchnick", "ana", "No such nick"))
    assert adapter.roster.nick_for("ana") is None  # the next reply waits for her


def test_prose_wrapped_in_a_content_file_reads_as_one_line_on_irc() -> None:
    """Content files wrap prose at ~90 characters; on IRC each line is a message, and a
    sentence broken in two ("... as if you" / "knew nothing.") reads badly."""
    text = ("Open https://handbook.lumen.test and read the first chapter, as if you\n"
            "knew nothing. Note every sentence that made you stop and think.\n"
            "Checkpoint: tell me when you're done.\n"
            "Install these first, before anything else in this workshop, as follows\n"
            "- Linux: apt install git\n"
            "- macOS: brew install git\n"
            "* Pagebot: a project card whose next line is indented, not prose wrapped\n"
            "  Docs: https://docs.lumen.test/pagebot/")
    assert render_pages(Outbound(ROOM, text), 400, 20) == [[
        "Open https://handbook.lumen.test and read the first chapter, as if you knew nothing. "
        "Note every sentence that made you stop and think.",
        "Checkpoint: tell me when you're done.",
        "Install these first, before anything else in this workshop, as follows",
        "- Linux: apt install git",
        "- macOS: brew install git",
        "* Pagebot: a project card whose next line is indented, not prose wrapped",
        "  Docs: https://docs.lumen.test/pagebot/"]]
