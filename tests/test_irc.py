"""The IRC adapter against real servers: InspIRCd + Anope (SASL, accounts) and ngIRCd (plain)."""

from __future__ import annotations

import asyncio
import logging
import random
import signal
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.irc.client import IrcAdapter
from adapters.irc.config import IrcConfig
from adapters.irc.render import (
    DEFAULT_HOST_LEN,
    DEFAULT_USER_LEN,
    NICK_MAX,
    fixed_width,
    render_lines,
)
from adapters.irc.translate import NO_ACCOUNTS, NOT_LOGGED_IN
from bot.app import App
from bot.model import (
    Choice,
    ExternalId,
    FileRef,
    Identity,
    Network,
    Outbound,
    PersonId,
    RoomRef,
    outbound_to_json,
)
from bot.ports import AdapterFatalError, OutboxItem, Outcome, UnitOfWork
from tests.harness import FakeClock, make_config
from tests.ircservers import Client, IrcServer, WireTap, self_signed_tls, start_server

BOT = "wayfinder"
BOT_PASSWORD = "bot-secret-pw"
CHANNEL = "#lumen-docs"  # the Handbook project's channel in the demo content


def irc_config(port: int, **overrides: object) -> IrcConfig:
    values: dict[str, object] = {"enabled": True, "host": "127.0.0.1", "port": port,
                                 "tls": False, "nick": BOT, "channels": [CHANNEL],
                                 "burst": 50, "lines_per_second": 200.0,
                                 "reconnect_max_seconds": 2.0, **overrides}
    return IrcConfig.model_validate(values)


class IrcBot:
    """The app with the IRC adapter running, as `wayfinder run` would have it."""

    def __init__(self, db_url: str, config: IrcConfig, password: str = "",
                 clock: FakeClock | None = None, **sections: dict[str, object]) -> None:
        self.adapter = IrcAdapter(config, password)
        self.app = App(make_config(db_url, **sections), [self.adapter],
                       clock=clock or FakeClock())

    async def __aenter__(self) -> IrcBot:
        await self.app.start(tick=False)
        self.task = asyncio.create_task(self.app.serve())
        waiter = asyncio.create_task(self.adapter.ready.wait())
        done, _ = await asyncio.wait({waiter, self.task}, timeout=20,
                                     return_when=asyncio.FIRST_COMPLETED)
        if self.task in done:
            waiter.cancel()
            await self.task  # raises what stopped it
        assert waiter in done, "the bot did not register and join within 20 s"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.app.stop()
        await self.task
        await self.app.close()


@pytest.fixture
async def services() -> AsyncIterator[IrcServer]:
    server = await start_server("inspircd", services=True)
    yield server
    await server.stop()


@pytest.fixture
async def plain() -> AsyncIterator[IrcServer]:
    server = await start_server("ngircd")
    yield server
    await server.stop()


async def person(port: int, nick: str, password: str | None = None,
                 caps: tuple[str, ...] = ()) -> Client:
    """A connected client; with a password, registered with NickServ (and so logged in)."""
    client = Client(nick)
    await client.connect(port, caps=caps)
    if password is not None:
        await client.register_account(password)
    return client


async def choose_pagebot(client: Client) -> None:
    """Answer the three questions (automation, scripting, python) and pick Pagebot from the
    suggestions."""
    client.say(BOT, "automation, 5")
    assert "What are you good at" in await client.reply(BOT)
    client.say(BOT, "I like scripting")
    assert "Which programming languages" in await client.reply(BOT)
    client.say(BOT, "!4")
    assert "These projects fit you best:" in await client.reply(BOT)
    client.say(BOT, "pagebot")
    assert "Great choice: Pagebot." in await client.reply(BOT)


class LogSeen(logging.Handler):
    """Sets `event` when a log record contains `text`."""

    def __init__(self, text: str) -> None:
        super().__init__(logging.WARNING)
        self.text = text
        self.event = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.event.set()


async def refuse_everything(_inbound: object) -> Outcome:
    raise AssertionError("nothing may arrive here")


async def tapped(server: IrcServer) -> tuple[WireTap, Client]:
    """A wire tap in front of the server, and a person in the channel watching."""
    tap = WireTap(server.port)
    await tap.start()
    watcher = await person(server.port, "watcher")
    await watcher.join(CHANNEL)
    return tap, watcher


async def test_sasl_bot_guides_a_registered_person_by_private_message(
        services: IrcServer, sqlite_url: str) -> None:
    setup = await person(services.port, BOT, BOT_PASSWORD)  # the bot's own account
    await setup.close()
    ana = await person(services.port, "ana", "ana-pw-123")
    await ana.join(CHANNEL)
    config = irc_config(services.port, sasl_account=BOT)
    async with IrcBot(sqlite_url, config, BOT_PASSWORD) as bot:
        assert bot.adapter.link is not None
        assert bot.adapter.link.account == BOT
        assert {"account-tag", "extended-join", "account-notify", "message-tags",
                "server-time", "echo-message", "batch"} <= bot.adapter.link.enabled_caps
        # The server advertises BOT=B (botmode): the bot marks itself, and WHOIS says so.
        assert bot.adapter.link.isupport.get("BOT") == "B"
        ana.send(f"WHOIS {BOT}")
        await ana.expect(lambda ln: ln.command == "335" and ln.params[1] == BOT)
        assert bot.adapter.bot_mode
        ana.say(CHANNEL, "!start")
        first = await ana.reply(BOT)  # in a private message, not in the channel
        assert "Welcome to Handbook!" in first  # the channel's project comes first
        assert "!2 Show me other projects" in first
        assert "Answer with !1 " in first
        ana.say(BOT, "!2")
        assert "What are you interested in?" in await ana.reply(BOT)
        await choose_pagebot(ana)
        store = bot.app.store
        verified = Identity(Network("irc"), ExternalId("ana"), True)
        state = await store.load_state(await store.person_for(verified))
        assert state is not None
        assert state.data["path"]["project"] == "pagebot"
    await ana.close()


async def test_roles_need_the_services_account_not_the_nick(
        services: IrcServer, sqlite_url: str) -> None:
    setup = await person(services.port, BOT, BOT_PASSWORD)
    await setup.close()
    org = await person(services.port, "orga", "orga-pw-123")
    await org.close()  # the organizer's account exists; they are offline
    other = await person(services.port, "mallory", "mallory-pw-1")
    config = irc_config(services.port, sasl_account=BOT)
    async with IrcBot(sqlite_url, config, BOT_PASSWORD,
                      roles={"organizers": ["irc:orga"]}) as bot:
        impostor = await person(services.port, "orga")  # the nick, not logged in
        impostor.say(BOT, "!event list")
        refused = await impostor.reply(BOT)
        assert "for organizers only" in refused
        assert NOT_LOGGED_IN in refused
        other.say(BOT, "!event list")  # logged in, but as somebody else
        refused = await other.reply(BOT)
        assert "for organizers only" in refused
        assert "NickServ" not in refused
        await impostor.close()
        real = Client("orga_")
        await real.connect(services.port, caps=(), sasl=("orga", "orga-pw-123"))
        real.say(BOT, "!event list")
        assert "berlin-hack-evening" in await real.reply(BOT)
        await real.close()
        assert bot.adapter.sessions == 1
    await other.close()


async def test_a_refused_sasl_login_is_fatal_and_says_why(
        services: IrcServer, sqlite_url: str) -> None:
    setup = await person(services.port, BOT, BOT_PASSWORD)
    await setup.close()
    bot = IrcBot(sqlite_url, irc_config(services.port, sasl_account=BOT), "wrong-password")
    with pytest.raises(AdapterFatalError) as failure:
        async with asyncio.timeout(20), bot:
            pass
    await bot.app.close()
    message = str(failure.value)
    assert "SASL login as 'wayfinder'" in message
    assert "adapters.irc.sasl_account" in message
    assert bot.adapter.sessions == 0  # never ran unauthenticated


async def test_plain_server_serves_newcomers_and_fails_closed(
        plain: IrcServer, sqlite_url: str) -> None:
    bob = await person(plain.port, "bob")
    await bob.join(CHANNEL)
    async with IrcBot(sqlite_url, irc_config(plain.port),
                      roles={"organizers": ["irc:bob"]}) as bot:
        bob.say(CHANNEL, f"{BOT}: start")
        assert "Welcome to Handbook!" in await bob.reply(BOT)
        bob.say(BOT, "!event list")
        refused = await bob.reply(BOT)
        assert "for organizers only" in refused
        assert NO_ACCOUNTS in refused
        bob.send(f"PRIVMSG {BOT} :\x01VERSION\x01")  # CTCP is ignored
        bob.say(BOT, "!status")
        status = await bob.reply(BOT)
        assert "VERSION" not in status
        assert bot.adapter.link is not None
        assert bot.adapter.link.account is None
        # No BOT in its ISUPPORT: no bot mode asked for (the line would be refused)
        assert "BOT" not in bot.adapter.link.isupport
        assert not bot.adapter.bot_mode
    await bob.close()


async def test_a_long_reply_is_paged_on_more_with_its_choices_on_every_page(
        plain: IrcServer, sqlite_url: str) -> None:
    """The three project cards do not fit IRC's ten lines: each page ends with how much is
    left and the choices; !more shows the next page while one is left, and only then is
    !more the path's own (more suggestions)."""
    eve = await person(plain.port, "eve")
    async with IrcBot(sqlite_url, irc_config(plain.port)):
        eve.say(BOT, "!start")
        await eve.reply(BOT)
        eve.say(BOT, "automation")
        await eve.reply(BOT)
        eve.say(BOT, "scripting")
        await eve.reply(BOT)
        eve.say(BOT, "python")
        first = (await eve.reply(BOT)).split("\n")
        choices = "Answer with !1 Pagebot · !2 Handbook · !3 Lingo, or the word."
        assert first[0] == "These projects fit you best:"
        assert first[1].startswith("* Pagebot:")
        assert len(first) <= 10
        assert first[-2:] == ["(11 more lines: type !more)", choices]
        eve.say(BOT, "!more")
        second = (await eve.reply(BOT)).split("\n")
        assert second[0].startswith("* Handbook:")
        assert second[-2:] == ["(6 more lines: type !more)", choices]
        eve.say(BOT, "!more")
        third = (await eve.reply(BOT)).split("\n")
        assert third[0].startswith("* Lingo:")  # the third card, lost before paging
        assert "!more for other suggestions" in third[-2]
        assert third[-1] == choices
        eve.say(BOT, "!more")  # no page left: the path's !more, the next suggestions
        more = (await eve.reply(BOT)).split("\n")
        assert more[0].startswith("Here are more projects (4 to ")
        assert more[-1].startswith("Answer with !1 ")
        eve.say(BOT, "!more")  # every project seen: the best matches again, paged again
        again = (await eve.reply(BOT)).split("\n")
        assert again[-2:] == ["(11 more lines: type !more)", choices]
        # A line to the bot that is not !more drops what was left of that message, so the
        # next !more is the path's again.
        eve.say(BOT, "hmm")
        assert "I didn't find that project" in await eve.reply(BOT)
        eve.say(BOT, "!more")
        assert (await eve.reply(BOT)).startswith("Here are more projects (4 to ")
    await eve.close()


async def test_channel_mode_answers_in_the_channel(plain: IrcServer, sqlite_url: str) -> None:
    cy = await person(plain.port, "cy")
    await cy.join(CHANNEL)
    async with IrcBot(sqlite_url, irc_config(plain.port, conversation="channel")):
        cy.say(CHANNEL, "!start")
        line = await cy.expect(lambda ln: ln.command == "PRIVMSG" and ln.nick == BOT)
        assert line.params[0] == CHANNEL
    await cy.close()


async def test_a_private_answer_asked_in_a_channel_goes_by_private_message(
        plain: IrcServer, sqlite_url: str) -> None:
    """Regression: in channel mode `!link` posted its one-time code to the channel, where
    anyone could redeem it. The code goes by private message; the channel hears only that."""
    cy = await person(plain.port, "cy")
    await cy.join(CHANNEL)
    async with IrcBot(sqlite_url, irc_config(plain.port, conversation="channel")):
        cy.say(CHANNEL, "!link")
        seen = [await cy.expect(lambda ln: ln.command == "PRIVMSG" and ln.nick == BOT)
                for _ in range(2)]
        in_channel = [ln.params[1] for ln in seen if ln.params[0] == CHANNEL]
        privately = [ln.params[1] for ln in seen if ln.params[0] == "cy"]
        assert in_channel == ["I've answered your !link in a private message, so that "
                              "others can't see it."]
        assert len(privately) == 1
        assert "Your link code is" in privately[0]
    await cy.close()


async def test_kill_the_server_five_times_and_every_queued_reply_arrives_once(
        plain: IrcServer, sqlite_url: str) -> None:
    tap, watcher = await tapped(plain)
    config = irc_config(tap.port)
    async with IrcBot(sqlite_url, config) as bot:
        adapter = bot.adapter
        room = RoomRef(Network("irc"), CHANNEL, CHANNEL)
        expected: list[str] = []
        rejoin_seconds: list[float] = []
        for round_ in range(5):
            await plain.kill()
            tap.gate.clear()
            await watcher.close()
            await asyncio.wait_for(adapter.offline.wait(), 5)  # the bot noticed
            sends = [asyncio.create_task(adapter.send(Outbound(room, f"queued {round_}-{n}"),
                                                      f"k{round_}-{n}")) for n in range(5)]
            expected += [f"queued {round_}-{n}" for n in range(5)]
            await asyncio.sleep(0.5)
            assert not any(task.done() for task in sends)  # waiting, not lost
            await plain.start()
            started = time.monotonic()
            watcher = await person(plain.port, "watcher")
            await watcher.join(CHANNEL)
            tap.gate.set()
            await asyncio.wait_for(asyncio.gather(*sends), 10)
            await asyncio.wait_for(adapter.ready.wait(), 5)
            rejoin_seconds.append(time.monotonic() - started)
            got = [(await watcher.expect(lambda ln: ln.command == "PRIVMSG" and
                                         ln.nick == BOT, 5)).params[-1] for _ in range(5)]
            assert sorted(got) == sorted(expected[-5:])
        assert max(rejoin_seconds) < 5.0, rejoin_seconds
        assert adapter.sessions == 6
        written = [line.split(" :", 1)[1].rstrip("\r\n") for line in tap.privmsgs()]
        assert sorted(written) == sorted(expected)  # each exactly once on the wire
    await watcher.close()
    await tap.close()


async def test_a_reply_cut_off_after_line_two_is_completed_after_a_restart_without_repeats(
        plain: IrcServer, sqlite_url: str) -> None:
    tap, watcher = await tapped(plain)
    config = irc_config(tap.port, burst=2, lines_per_second=2.0)  # line 3 goes 0.5 s later
    lines = [f"line {n} of a long reply" for n in range(1, 6)]
    message = Outbound(RoomRef(Network("irc"), CHANNEL, CHANNEL), "\n".join(lines))
    assert render_lines(message, 400, config.max_lines) == lines
    async with IrcBot(sqlite_url, config, outbox={"shutdown_flush_seconds": 0.5}) as bot:
        store = bot.app.store
        tap.cut_after_privmsgs = len(tap.privmsgs()) + 2  # the link drops after line 2
        result = await store.commit(UnitOfWork(PersonId(0), outbox=[
            OutboxItem("long:1", Network("irc"), outbound_to_json(message))]))
        bot.app.dispatcher.enqueue(result.outbox)
        await asyncio.wait_for(bot.adapter.offline.wait(), 5)
        for _ in range(100):  # the count of lines written is kept before the next goes
            parts = [row.parts_sent for row in await store.pending_page(0, 10, ["irc"], 10**6)]
            if parts == [2]:
                break
            await asyncio.sleep(0.05)
        assert parts == [2]
    # The process stopped while the rest waited for the link; the next one sends only that.
    tap.gate.set()
    async with IrcBot(sqlite_url, config):
        got = [(await watcher.expect(lambda ln: ln.command == "PRIVMSG" and
                                     ln.nick == BOT, 10)).params[-1] for _ in lines]
        assert got == lines
        with pytest.raises(TimeoutError):  # and nothing more
            await watcher.expect(lambda ln: ln.command == "PRIVMSG", 1.0)
    written = [line.split(" :", 1)[1].rstrip("\r\n") for line in tap.privmsgs()]
    assert written == lines  # each line exactly once on the wire
    await watcher.close()
    await tap.close()


HOSTILE_PARTS = ["\r", "\n", "\r\n", "\0", "\x01", "\x01ACTION waves\x01", "\x02bold\x02",
                 "\x0304,05colour\x03", "\x1d", "\x7f", "\u2028", "ünïcödé", "日本語のテキスト",
                 "emoji 👩‍💻🚀", "KICK #x :y", ":nick!u@h PRIVMSG #x :z", " ", "tab\there",
                 "QUIT :bye", "x" * 300, "é" * 200, "🙂" * 150]


def hostile_text(rng: random.Random) -> str:
    return "".join(rng.choice(HOSTILE_PARTS) for _ in range(rng.randint(1, 8)))


async def test_hostile_text_never_reaches_the_wire_unclean(
        plain: IrcServer, sqlite_url: str) -> None:
    tap, watcher = await tapped(plain)
    rng = random.Random(7)
    config = irc_config(tap.port, burst=100, lines_per_second=5000.0, max_lines=50)
    async with IrcBot(sqlite_url, config) as bot:
        room = RoomRef(Network("irc"), CHANNEL, CHANNEL)
        messages = []
        for n in range(1000):
            choices = tuple(Choice(f"c{i}", hostile_text(rng)) for i in range(n % 3))
            file = FileRef(hostile_text(rng), "text/plain", b"x") if n % 10 == 0 else None
            messages.append(Outbound(room, hostile_text(rng) + f" #{n}", choices, file=file))
        before, privmsgs_before = len(tap.sent), len(tap.privmsgs())
        await asyncio.gather(*(bot.adapter.send(m, str(i)) for i, m in enumerate(messages)))
        intended = [line for m in messages for line in render_lines(
            m, fixed_width(CHANNEL), config.max_lines)]
        await tap.until_privmsgs(privmsgs_before + len(intended))
        wire = tap.sent[before:]
        privmsgs = [line for line in wire if line.startswith("PRIVMSG ")]
        assert len(privmsgs) == len(intended)
        for raw in privmsgs:
            assert raw.endswith("\r\n")
            body = raw[:-2]
            assert not any(ch in body for ch in "\r\n\0\x01"), repr(body)
            assert body.startswith(f"PRIVMSG {CHANNEL} :")
            # what the server relays must fit 512 bytes with its prefix
            prefix = f":{'n' * NICK_MAX}!{'u' * DEFAULT_USER_LEN}@{'h' * DEFAULT_HOST_LEN} "
            assert len(prefix.encode() + raw.encode()) <= 512
        assert sorted(p[len(f"PRIVMSG {CHANNEL} :"):-2] for p in privmsgs) == sorted(intended)
        received = [(await watcher.expect(lambda ln: ln.command == "PRIVMSG", 20)).params[-1]
                    for _ in intended]
        assert sorted(received) == sorted(intended)  # the server relayed every line intact
        for line in intended:
            assert line.strip()
            assert not any(ord(ch) < 32 or ord(ch) == 127 for ch in line)
    await watcher.close()
    await tap.close()


@pytest.mark.slow(seconds=200)
async def test_a_burst_of_200_replies_under_default_flood_limits(sqlite_url: str) -> None:
    server = await start_server("inspircd", default_flood=True)
    try:
        watcher = await person(server.port, "watcher")
        await watcher.join(CHANNEL)
        config = irc_config(server.port, burst=4, lines_per_second=1.0)  # Libera's defaults
        async with IrcBot(sqlite_url, config) as bot:
            room = RoomRef(Network("irc"), CHANNEL, CHANNEL)
            started = time.monotonic()
            sends = [asyncio.create_task(bot.adapter.send(Outbound(room, f"reply {n}"),
                                                          str(n))) for n in range(200)]
            got = [(await watcher.expect(lambda ln: ln.command == "PRIVMSG" and
                                         ln.nick == BOT, 30)).params[-1] for _ in range(200)]
            took = time.monotonic() - started
            await asyncio.gather(*sends)
            assert got == [f"reply {n}" for n in range(200)]  # in order, none lost
            assert bot.adapter.sessions == 1  # never disconnected for flooding
            # The bot's own pace is 4 at once, then one a second: 196 s. The server added
            # no lag of its own beyond a little scheduling slack.
            assert 190 < took < 196 + 8, took
        await watcher.close()
    finally:
        await server.stop()


async def test_a_silent_link_is_pinged_dropped_and_rebuilt(plain: IrcServer,
                                                           sqlite_url: str) -> None:
    config = irc_config(plain.port, ping_interval_seconds=1.0, pong_timeout_seconds=1.0,
                        connect_timeout_seconds=3.0)
    async with IrcBot(sqlite_url, config) as bot:
        server = plain.procs[0]
        server.send_signal(signal.SIGSTOP)  # the link stays open but nothing answers
        try:
            stopped = time.monotonic()
            await asyncio.wait_for(bot.adapter.offline.wait(), 6)
            assert time.monotonic() - stopped < 4.5  # 1 s of silence, then 1 s for a PONG
        finally:
            server.send_signal(signal.SIGCONT)
        await asyncio.wait_for(bot.adapter.ready.wait(), 15)
        assert bot.adapter.sessions == 2


async def test_a_taken_nick_falls_back_and_is_regained(plain: IrcServer,
                                                       sqlite_url: str) -> None:
    squatter = await person(plain.port, BOT)
    config = irc_config(plain.port, regain_nick_seconds=1.0)
    async with IrcBot(sqlite_url, config) as bot:
        link = bot.adapter.link
        assert link is not None
        assert link.real_nickname == f"{BOT}_"
        dee = await person(plain.port, "dee")
        dee.say(f"{BOT}_", "!status")  # the bot answers under its fallback nick
        assert "1. Find your project" in await dee.reply(f"{BOT}_")
        await dee.join(CHANNEL)  # to see the bot change its nick
        await squatter.close()
        renamed = await dee.expect(lambda ln: ln.command == "NICK", 5)
        assert (renamed.nick, renamed.params[-1]) == (f"{BOT}_", BOT)
        assert link.real_nickname == BOT
        dee.say(BOT, "!status")
        assert "1. Find your project" in await dee.reply(BOT)
        await dee.close()


async def test_tls_links_are_encrypted_end_to_end_of_the_bots_side(
        plain: IrcServer, sqlite_url: str, tmp_path: Path) -> None:
    context = await asyncio.to_thread(self_signed_tls, tmp_path)
    tap = WireTap(plain.port)
    await tap.start(tls=context)
    eve = await person(plain.port, "eve")
    config = irc_config(tap.port, tls=True, tls_verify=False)  # a self-signed test certificate
    async with IrcBot(sqlite_url, config) as bot:
        eve.say(BOT, "!status")
        assert "1. Find your project" in await eve.reply(BOT)
        assert bot.adapter.sessions == 1
    assert any(line.startswith("PRIVMSG eve :") for line in tap.sent)  # it went through TLS
    strict = IrcAdapter(irc_config(tap.port, tls=True))  # verifying: a self-signed cert fails
    running = asyncio.create_task(strict.run(refuse_everything))
    seen = LogSeen("CERTIFICATE_VERIFY_FAILED")
    logging.getLogger("adapters.irc").addHandler(seen)
    try:
        await asyncio.wait_for(seen.event.wait(), 5)
    finally:
        logging.getLogger("adapters.irc").removeHandler(seen)
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    assert strict.sessions == 0
    await eve.close()
    await tap.close()


async def test_a_nick_is_not_an_account_an_impostor_gets_nothing_of_hers(
        services: IrcServer, sqlite_url: str) -> None:
    """Seen on InspIRCd + Anope: ana, logged in by SASL, walked part of the path in private
    messages and quit; whoever took the nick "ana" without logging in got her !status, could
    !link her record to their own Telegram, and received what was meant for her."""
    setup = await person(services.port, BOT, BOT_PASSWORD)
    await setup.close()
    registered = await person(services.port, "ana", "ana-pw-123")
    await registered.close()
    config = irc_config(services.port, sasl_account=BOT, account_hold_seconds=8.0)
    async with IrcBot(sqlite_url, config, BOT_PASSWORD) as bot:
        link = bot.adapter.link
        assert link is not None
        assert "MONITOR" in link.isupport
        assert "WHOX" in link.isupport
        ana = Client("ana")
        await ana.connect(services.port, sasl=("ana", "ana-pw-123"))  # no shared channel
        ana.say(BOT, "!start")
        assert "What are you interested in?" in await ana.reply(BOT)
        await choose_pagebot(ana)
        ana.say(BOT, "!status")
        assert "Pagebot" in await ana.reply(BOT)
        store = bot.app.store
        hers = await store.person_for(Identity(Network("irc"), ExternalId("ana"), True))
        await ana.close()
        for _ in range(100):  # the server tells the bot (MONITOR) that the nick is free
            if bot.adapter.roster.nick_for("ana") is None:
                break
            await asyncio.sleep(0.05)
        assert bot.adapter.roster.nick_for("ana") is None

        impostor = await person(services.port, "ana")  # the nick, not logged in
        impostor.say(BOT, "!status")
        status = await impostor.reply(BOT)
        assert "Pagebot" not in status  # nothing of hers: a newcomer
        assert "[>] 1. Find your project" in status  # where a newcomer starts
        impostor.say(BOT, "!link")
        linked = await impostor.reply(BOT)
        assert "Your link code is" in linked
        code = linked.split("Your link code is ", 1)[1].split(".", 1)[0]
        theirs = await store.person_for(Identity(Network("irc"), ExternalId("~ana"), False))
        issued = await store.link_code(code)
        assert issued is not None
        assert issued.person_id == theirs != hers  # the code would link their own record
        assert {i.key for i in await store.identities(hers)} == {"irc:ana"}

        # A reply for her account while she is away: held, never given to the nick's holder.
        dispatcher = bot.app.dispatcher
        for key, account, text in (("held:1", "ana", "A mentor answered you, ana."),
                                   ("held:2", "ghost", "Nobody will read this.")):
            message = Outbound(RoomRef(Network("irc"), f"account:{account}", direct=True), text)
            result = await store.commit(UnitOfWork(hers, outbox=[
                OutboxItem(key, Network("irc"), outbound_to_json(message))]))
            dispatcher.enqueue(result.outbox)
        with pytest.raises(TimeoutError):
            await impostor.from_bot(BOT, within=2.0)
        assert bot.adapter.held == 2
        await impostor.close()

        back = Client("ana")
        await back.connect(services.port, sasl=("ana", "ana-pw-123"))
        assert await back.from_bot(BOT, within=8.0) == "A mentor answered you, ana."
        for _ in range(200):  # the other account never came: a dead letter saying why
            dead = await store.dead_letters()
            if dead:
                break
            await asyncio.sleep(0.05)
        assert len(dead) == 1
        assert dead[0].body["text"] == "Nobody will read this."
        assert "'ghost' was not online for 8 s" in dead[0].last_error
        assert "not sent to whoever holds its nick" in dead[0].last_error
        await back.close()


async def test_a_reply_for_a_nick_that_is_not_online_waits_for_it_then_is_a_dead_letter(
        plain: IrcServer, sqlite_url: str) -> None:
    """ngIRCd has no MONITOR and no accounts: a line to an absent nick is simply lost (401).
    A reply for a nick nobody holds waits, asking ISON (one line for every reply held), and
    goes once the nick is back; one whose nick never comes is a dead letter saying why."""
    tap, watcher = await tapped(plain)
    config = irc_config(tap.port, account_hold_seconds=4.0)
    async with IrcBot(sqlite_url, config) as bot:
        bot.adapter.nick_poll_seconds = 0.3
        link = bot.adapter.link
        assert link is not None
        assert "MONITOR" not in link.isupport
        store, dispatcher = bot.app.store, bot.app.dispatcher
        assert await bot.adapter.presence(
            Identity(Network("irc"), ExternalId("~zed"), False)) is False
        for key, room, text in (("away:1", "nick:zed", "Your reminder, zed."),
                                ("away:2", "nick:nobody", "Nobody will read this."),
                                ("away:3", "account:tomasz", "A case for Tomasz.")):
            who = await store.person_for(Identity(Network("irc"), ExternalId(f"~{key}"), False))
            message = Outbound(RoomRef(Network("irc"), room, direct=True), text)
            result = await store.commit(UnitOfWork(who, outbox=[
                OutboxItem(key, Network("irc"), outbound_to_json(message))]))
            dispatcher.enqueue(result.outbox)
        for _ in range(100):
            if bot.adapter.held == 2:
                break
            await asyncio.sleep(0.05)
        assert bot.adapter.held == 2
        zed = await person(plain.port, "zed")
        assert await zed.from_bot(BOT, within=4.0) == "Your reminder, zed."
        assert await bot.adapter.presence(
            Identity(Network("irc"), ExternalId("~zed"), False)) is True
        for _ in range(200):
            dead = await store.dead_letters()
            if len(dead) == 2:
                break
            await asyncio.sleep(0.05)
        reasons = {d.body["text"]: d.last_error for d in dead}
        assert "nobody held the nick 'nobody' for 4 s" in reasons["Nobody will read this."]
        # No account can log in here: a message for one is refused at once, not held a day
        assert "cannot say who is logged in to an account" in reasons["A case for Tomasz."]
        assert await bot.adapter.presence(
            Identity(Network("irc"), ExternalId("tomasz"), True)) is False
        # Bounded: the held replies asked together, one ISON line per poll for both nicks.
        isons = [line.split(" ", 1)[1].split() for line in tap.sent if line.startswith("ISON ")]
        assert ["nobody", "zed"] in [sorted(nicks) for nicks in isons]
        assert len(isons) <= 4.0 / 0.3 + 4, isons
    await zed.close()
    await watcher.close()
    await tap.close()


async def test_a_mentor_who_is_offline_gets_the_case_when_back_and_the_newcomer_is_told(
        services: IrcServer, sqlite_url: str) -> None:
    """Seen: a newcomer was told "I've asked Tomasz" while Tomasz was not online, and the
    ping was dropped. Now the bot asks the server (MONITOR, WHOX) whether his account is
    online, tells the newcomer he is not, holds the ping, and delivers it when he logs in."""
    setup = await person(services.port, BOT, BOT_PASSWORD)
    await setup.close()
    tomasz = await person(services.port, "tomasz", "tomasz-pw-1")
    await tomasz.close()  # registered, then gone
    ana = await person(services.port, "ana", "ana-pw-123")
    monday_2000_warsaw = datetime(2026, 11, 2, 19, 0, tzinfo=UTC)  # Tomasz's hours, not Amara's
    config = irc_config(services.port, sasl_account=BOT)
    async with IrcBot(sqlite_url, config, BOT_PASSWORD, clock=FakeClock(monday_2000_warsaw)) as bot:
        for line in ("!start", "!skip", "!skip", "!skip", "Pagebot", "done"):
            ana.say(BOT, line)
            await ana.reply(BOT)
        ana.say(BOT, "!stuck git clone says permission denied")
        told = await ana.reply(BOT, within=10)
        assert "I've asked Tomasz (a Pagebot mentor) to help you" in told
        assert "but they're not online right now" in told
        assert bot.adapter.held == 1  # the ping waits for his account
        back = Client("tomasz")
        await back.connect(services.port, sasl=("tomasz", "tomasz-pw-1"))
        ping = await back.reply(BOT, within=10)
        assert "ana needs help with Pagebot (case " in ping
        assert "Since: asked just now, at Mon 02 Nov 19:00 UTC (you were offline)" in ping
        assert "Claim case" in ping
        await back.close()
    await ana.close()
