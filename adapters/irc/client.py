"""IRC through jaraco `irc`'s asyncio connection, run the way a careful network citizen would.

People are their services account when the network proves one (account tag, extended-join,
account-notify, WHOX), else their nick, unverified (its own id space, `~nick`): fine for a
newcomer's own path, never for a role. A reply meant for an account goes only to a nick the
roster knows is logged in to it now (followed with MONITOR outside shared channels); while the
account is not online the reply is held, up to `account_hold_seconds`, then refused for good
(a dead letter saying why). It never goes to whoever holds the nick now.
`!start` in a channel continues in a private message (or, by config, in the channel).
Every line leaves through one token bucket per connection, channels and private chats taking
turns; the link is watched with PING and rebuilt with backoff, and queued lines wait for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections import OrderedDict
from functools import partial

from adapters.irc import lean_schedule  # noqa: F401  (before irc.client loads tempora)

# isort: split

from irc.client import Event, NickMask
from irc.client_aio import AioReactor

from adapters.irc.config import IrcConfig
from adapters.irc.link import IrcLink, SaslFailedError
from adapters.irc.queue import Job, LineQueue, is_channel
from adapters.irc.render import MORE, casefold, clean, fixed_width, render_pages
from adapters.irc.roster import Roster
from adapters.irc.translate import (
    ACCOUNT_CAPS,
    ACCOUNT_ROOM,
    IRC,
    NICK_ROOM,
    UNVERIFIED,
    dm_room,
    inbound_from_message,
    is_person,
    nick_of_unverified,
    relayed_reason,
    tag,
)
from bot.inbound import InboundProcessor
from bot.model import (
    Capabilities,
    Identity,
    Inbound,
    Outbound,
    Rate,
    Receipt,
    RoomRef,
)
from bot.ports import (
    AdapterFatalError,
    InboundSink,
    Outcome,
    PartSent,
    PermanentSendError,
    SendError,
    TransientSendError,
)
from bot.ratelimit import TokenBucket
from bot.router import parse

log = logging.getLogger(__name__)

JOIN_WAIT_SECONDS = 5.0
# To a person whose private line could not be handled (the store is down): IRC never sends
# the line again, so they are asked to.
TRY_AGAIN = "Sorry, I could not handle that just now. Please try again in a moment."
MONITOR_MAX = 100  # nicks followed with MONITOR at most (the server may allow fewer)
WHO_ACCOUNT = "43"  # the WHOX token of "which account is this nick logged in to"
SEEK_SECONDS = 5.0  # a held reply looks for its account again at least this often
# A MONITOR entry untouched this long may make room for another; entries that held replies
# keep touching are never pushed out, so many accounts away never churn the list.
MONITOR_STALE_SECONDS = 2 * SEEK_SECONDS
ASK_AGAIN_SECONDS = 60.0  # a held reply asks WHOX about the same nick at most this often
ASKS_PER_SEEK = 10  # and all held replies together ask at most this many per SEEK_SECONDS
# The rest of a long message waits this long for `!more`, for this many conversations at most.
PAGES_KEEP_SECONDS = 3600.0
PAGES_KEEP_MAX = 10_000
PRESENCE_WAIT_SECONDS = 3.0  # how long "is X online?" waits for the server's answer
ISON_BYTES = 400  # nicks asked about in one ISON line (servers without MONITOR)
RECENT_SECONDS = 120.0  # a nick that wrote to us this recently needs no ISON before a reply
NICK_POLL_SECONDS = 30.0  # a reply held for a nick asks ISON this often (all held at once)


class AccountMovedError(Exception):
    """The nick a reply was queued for no longer belongs to the account it is meant for."""


def _plain_word(target: str) -> bool:
    """A target that cannot smuggle anything onto the line: no spaces, commas or controls."""
    return bool(target) and clean(target) == target and not any(c in target for c in " ,:")


async def _first_of(*events: asyncio.Event) -> None:
    waiters = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()


class IrcAdapter:
    network = IRC

    def __init__(self, config: IrcConfig, sasl_password: str = "") -> None:
        self.config = config
        self.sasl = (config.sasl_account, sasl_password) if config.sasl_account else None
        self.capabilities = Capabilities(buttons=False, html=False, max_len=400,
                                         command_prefixes=("!",),
                                         reach_privately=f"type /msg {config.nick} {{line}}",
                                         presence=self.presence)
        self.bucket = TokenBucket(Rate(config.lines_per_second, config.burst))
        self.queue = LineQueue()
        self.roster = Roster()
        self.link: IrcLink | None = None
        self.online = asyncio.Event()  # registered: protocol lines may go out
        self.ready = asyncio.Event()  # registered and joined: messages may go out
        self.offline = asyncio.Event()  # a session ended; cleared when the next is ready
        self.sessions = 0  # successful registrations, for tests and logs
        self._inbound: InboundProcessor | None = None
        self._resume: asyncio.Task[None] | None = None  # reading paused until the sink has room
        self.pauses = 0  # how often a full sink paused reading, for tests and logs
        self._joined: set[str] = set()
        self._all_joined = asyncio.Event()
        self._ping_sent: float | None = None
        self._counter = 0
        # This connection's MONITOR list (casefolded nick -> nick), oldest use first, and
        # the monitored nicks the server says are online.
        self._monitoring: OrderedDict[str, tuple[str, float]] = OrderedDict()  # (nick, touched)
        self._asked: dict[str, float] = {}  # nick -> when a held reply last asked WHOX
        self._asks: tuple[float, int] = (0.0, 0)  # (this seek window's start, asks in it)
        # Held replies wait here for their account (casefolded) to show itself.
        self._waiting: dict[str, asyncio.Event] = {}
        self.roster.on_account = self._account_seen
        # Nicks asked about with ISON (casefolded -> the waiters), asked together in one line.
        self._ison: dict[str, list[asyncio.Future[bool | None]]] = {}
        self._ison_flush: asyncio.TimerHandle | None = None
        self._recent: OrderedDict[str, float] = OrderedDict()  # nick -> when it last wrote
        self._mon_offline: set[str] = set()  # monitored nicks the server said nobody holds
        self.nick_poll_seconds = NICK_POLL_SECONDS  # tests make it shorter
        self.bot_mode = False  # the server confirmed our bot mode (+B) this session
        # The pages of long messages not yet shown, by conversation: (pages, when sent).
        self._pages: OrderedDict[str, tuple[list[list[str]], float]] = OrderedDict()
        self.held = 0  # replies waiting for their account to be online, for tests and logs

    # -- the connection's life -----------------------------------------------------------
    @property
    def connected(self) -> bool:
        """Whether messages may go out now (/healthz, the connected gauge)."""
        return self.ready.is_set()

    async def run(self, sink: InboundSink) -> None:
        """Connect, and reconnect with backoff until cancelled. A refused SASL login ends it."""
        # The core's processor keeps each sender in order and bounds the work; a plain sink
        # (tests) gets one of its own.
        own = not isinstance(sink, InboundProcessor)
        processor = sink if isinstance(sink, InboundProcessor) else InboundProcessor(sink)
        self._inbound = processor
        writer = asyncio.create_task(self._write_loop(), name="irc-writer")
        writer.add_done_callback(self._writer_ended)
        failures = 0
        try:
            while True:
                sessions = self.sessions
                try:
                    await self._session()
                except SaslFailedError as exc:
                    raise AdapterFatalError(
                        f"irc: SASL login as {self.config.sasl_account!r} on "
                        f"{self.config.host}:{self.config.port} failed: {exc}. Check "
                        "adapters.irc.sasl_account and the password in "
                        f"${self.config.sasl_password_env}.") from None
                except (OSError, ConnectionError, TimeoutError) as exc:
                    failures += 1  # services still linking back off too: no reconnect flood
                    log.warning("irc: %s:%d: %s", self.config.host, self.config.port,
                                exc or type(exc).__name__)
                if self.sessions > sessions:
                    failures = 1  # it was up: the first retry comes quickly
                failures = max(failures, 1)
                delay = min(self.config.reconnect_max_seconds, 2.0 ** (failures - 1))
                await asyncio.sleep(delay * random.uniform(0.5, 1.0))
        finally:
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer
            await self.bucket.close()
            if self.link is not None:
                self.link.close()
            if own:
                await processor.close(0)

    @staticmethod
    def _writer_ended(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("irc: the line writer failed", exc_info=task.exception())

    async def _session(self) -> None:
        """One connection, from connect to its end (the link dropped or went silent)."""
        config = self.config
        self.ready.clear()
        self.online.clear()
        self.roster.clear()
        self._monitoring.clear()
        self._asked.clear()
        self._recent.clear()
        self._mon_offline.clear()
        self._answer_ison(None)  # a new link: what was asked on the old one is not answered
        self.queue.clear_control()
        self._joined.clear()
        self._all_joined.clear()
        self._ping_sent = None
        self.bot_mode = False
        link = IrcLink(AioReactor(loop=asyncio.get_running_loop()), self._on_event)
        self.link = link
        nicks = [config.nick, config.alt_nick or f"{config.nick[:29]}_"]
        try:
            async with asyncio.timeout(config.connect_timeout_seconds):
                await link.open(config.host, config.port, tls=config.tls,
                                tls_verify=config.tls_verify, nicks=nicks,
                                username=config.username, realname=config.realname,
                                sasl=self.sasl)
                await link.registered
            self.sessions += 1
            self.online.set()
            log.info("irc: registered on %s:%d as %s (account %s; caps: %s)", config.host,
                     config.port, link.real_nickname, link.account or "none",
                     " ".join(sorted(link.enabled_caps)) or "none")
            self._announce_bot(link)
            for channel in config.channels:
                self.queue.control(f"JOIN {channel}")
            if config.channels:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(JOIN_WAIT_SECONDS):
                        await self._all_joined.wait()
            self.ready.set()
            self.offline.clear()
            await self._watch(link)
        finally:
            self.ready.clear()
            self.online.clear()
            self.offline.set()
            link.close()
            if self._resume is not None:
                self._resume.cancel()
                self._resume = None

    def _announce_bot(self, link: IrcLink) -> None:
        """Where the server has a bot mode (ISUPPORT BOT=<letter>, e.g. InspIRCd's botmode
        module), set it: clients then show the bot as one and WHOIS says so."""
        letter = link.isupport.get("BOT", "")
        if len(letter) == 1 and letter.isalpha():
            self.queue.control(f"MODE {link.real_nickname} +{letter}")

    def _on_umode(self, link: IrcLink, event: Event) -> None:
        """Our own user modes as the server confirms them (only the bot mode matters)."""
        letter = link.isupport.get("BOT", "")
        if not letter or not self._is_me(link, str(event.target or "")):
            return
        adding = True
        for char in "".join(str(a) for a in event.arguments[:1]):
            if char in "+-":
                adding = char == "+"
            elif char == letter:
                self.bot_mode = adding

    async def _watch(self, link: IrcLink) -> None:
        """Until the link ends: PING after silence, give up when no answer comes in time,
        and try to take back the main nick now and then."""
        config = self.config
        last_regain = time.monotonic()
        while link.is_open:
            await asyncio.sleep(min(1.0, config.pong_timeout_seconds / 4))
            now = time.monotonic()
            if self._resume is not None:  # not reading: the server's lines wait for us
                link.last_data, self._ping_sent = now, None
                continue
            silent = now - link.last_data
            if self._ping_sent is not None and link.last_data > self._ping_sent:
                self._ping_sent = None
            if self._ping_sent is not None and now - self._ping_sent > config.pong_timeout_seconds:
                raise ConnectionError(f"no answer to PING for {config.pong_timeout_seconds:.0f} s")
            if self._ping_sent is None and silent > config.ping_interval_seconds:
                self._ping_sent = now
                link.send_line(f"PING :wayfinder-{int(now)}")
            if casefold(link.real_nickname) != casefold(config.nick) and \
                    now - last_regain > config.regain_nick_seconds:
                last_regain = now
                self.queue.control(f"NICK {config.nick}")
        raise ConnectionError(link.closed_because or "the server closed the connection")

    async def _write_loop(self) -> None:
        """Every line leaves here, one bucket token each, when a registered link is up."""
        while True:
            await self.queue.wait()
            line, job = self.queue.peek()
            generation = self.queue.control_generation
            if job is None and not self.online.is_set():
                await self.online.wait()
                continue
            if job is not None and not self.ready.is_set():
                # Messages wait for the channels to be joined, but the JOINs that make us
                # ready are protocol lines queued after them: wake for either.
                await _first_of(self.ready, self.queue.has_control)
                continue
            await self.bucket.acquire()
            link = self.link
            if link is None or not link.is_open:
                continue  # the line waits for the next link
            if job is not None and not self.queue.holds(job):
                continue  # its send was cancelled while the line waited for a token
            if job is not None and job.account is not None and not self._still_theirs(job):
                self.queue.cancel(job)  # the nick changed hands: never to whoever has it now
                if not job.done.done():
                    job.done.set_exception(AccountMovedError(job.account))
                if job.progress is not None:
                    job.progress.set()
                continue
            if job is None and self.queue.control_generation != generation:
                continue  # a new link cleared the protocol lines while this one waited
            try:
                link.send_line(f"PRIVMSG {job.target} :{line}" if job else line)
            except ConnectionError:
                continue
            except ValueError:  # unreachable by construction; never let it stop the writer
                log.exception("irc: dropped an unsafe line")
            self.queue.written(job)

    def _account_seen(self, account: str) -> None:
        """The roster trusts a nick for `account` now: its held replies may go."""
        waiting = self._waiting.pop(casefold(account), None)
        if waiting is not None:
            waiting.set()

    def _still_theirs(self, job: Job) -> bool:
        assert job.account is not None
        nick = self.roster.nick_for(job.account)
        return nick is not None and casefold(nick) == casefold(job.target)

    # -- inbound -------------------------------------------------------------------------
    def _on_event(self, link: IrcLink, event: Event) -> None:
        if link is not self.link:
            return
        handler = getattr(self, f"_on_{event.type}", None)
        if handler is not None:
            try:
                handler(link, event)
            except Exception:  # one odd line must not take the connection down with it
                log.exception("irc: could not handle %s from %s", event.type, event.source)

    # -- following accounts outside shared channels (MONITOR + WHOX) ------------------------
    def _monitor_limit(self, link: IrcLink) -> int:
        value = link.isupport.get("MONITOR")
        if value is None:
            return 0
        return min(int(value), MONITOR_MAX) if value.isdigit() else MONITOR_MAX

    def _ask_account(self, link: IrcLink, nick: str) -> None:
        if "WHOX" in link.isupport:
            self.queue.control(f"WHO {nick} %tna,{WHO_ACCOUNT}")

    def _follow(self, nick: str) -> None:
        """Put `nick` on the MONITOR list, so the server says when it quits or changes
        hands; its account is asked when it is online. A full list makes room only from an
        entry nobody touched for `MONITOR_STALE_SECONDS`; otherwise the nick is not followed
        (then a reply for its account waits until the account shows itself)."""
        link = self.link
        if link is None or not self.online.is_set() or not _plain_word(nick) or \
                is_channel(nick) or self._is_me(link, nick):
            return
        key, now = casefold(nick), time.monotonic()
        if key in self._monitoring:
            self._monitoring[key] = (self._monitoring[key][0], now)
            self._monitoring.move_to_end(key)
            return
        limit = self._monitor_limit(link)
        if not limit:
            return
        if len(self._monitoring) >= limit:
            old_key, (old, touched) = next(iter(self._monitoring.items()))
            if now - touched < MONITOR_STALE_SECONDS:
                return
            del self._monitoring[old_key]
            self.roster.unmonitored(old)
            self._mon_offline.discard(old_key)
            self.queue.control(f"MONITOR - {old}")
        self._monitoring[key] = (nick, now)
        self.roster.monitored(nick)
        self.queue.control(f"MONITOR + {nick}")

    def _may_ask(self, nick: str) -> bool:
        """A held reply's WHOX question, within its budget (never a flood of WHO lines)."""
        now, key = time.monotonic(), casefold(nick)
        if now - self._asked.get(key, -ASK_AGAIN_SECONDS) < ASK_AGAIN_SECONDS:
            return False
        start, count = self._asks
        if now - start >= SEEK_SECONDS:
            start, count = now, 0
        if count >= ASKS_PER_SEEK:
            return False
        self._asks = (start, count + 1)
        if len(self._asked) >= 10_000:
            self._asked = {k: t for k, t in self._asked.items() if now - t < ASK_AGAIN_SECONDS}
        self._asked[key] = now
        return True

    def _seek(self, account: str) -> None:
        """Look for `account` where it may be: the nick it last used, and its own name."""
        link = self.link
        if link is None or not self.online.is_set():
            return
        seen: set[str] = set()
        for nick in (self.roster.last_nick(account), account):
            if nick is None or casefold(nick) in seen:
                continue
            seen.add(casefold(nick))
            key = casefold(nick)
            self._follow(nick)
            if key not in self._monitoring:
                # Not followed (no MONITOR here, or its list is full): ask now and then.
                if _plain_word(nick) and not is_channel(nick) and self._may_ask(nick):
                    self._ask_account(link, nick)
            elif self.roster.is_online(nick) and not self.roster.account(nick)[0] and \
                    self._may_ask(nick):
                self._ask_account(link, nick)

    def _on_730(self, link: IrcLink, event: Event) -> None:
        """RPL_MONONLINE: monitored nicks are online (maybe somebody else): ask who they are."""
        for item in str(event.arguments[-1] if event.arguments else "").split(","):
            nick = item.split("!", 1)[0]
            if nick and casefold(nick) in self._monitoring:
                self._mon_offline.discard(casefold(nick))
                self.roster.online(nick)
                self._ask_account(link, nick)

    def _on_731(self, link: IrcLink, event: Event) -> None:
        """RPL_MONOFFLINE: the nick quit or was given up: its account is not there now."""
        for item in str(event.arguments[-1] if event.arguments else "").split(","):
            nick = item.split("!", 1)[0]
            if nick:
                self.roster.offline(nick)
                if casefold(nick) in self._monitoring:
                    self._mon_offline.add(casefold(nick))

    def _on_734(self, link: IrcLink, event: Event) -> None:
        """ERR_MONLISTFULL: these nicks are not followed after all."""
        args = [str(a) for a in event.arguments]
        for nick in (args[1] if len(args) > 1 else "").split(","):
            if nick:
                self._monitoring.pop(casefold(nick), None)
                self.roster.unmonitored(nick)

    def _is_me(self, link: IrcLink, nick: str) -> bool:
        return casefold(nick) == casefold(link.real_nickname)

    def _on_join(self, link: IrcLink, event: Event) -> None:
        source = NickMask(event.source)
        channel = str(event.target)
        if self._is_me(link, source.nick):
            self._joined.add(casefold(channel))
            if "WHOX" in link.isupport:
                self.queue.control(f"WHO {channel} %tcnfa,42")
            if all(casefold(c) in self._joined for c in self.config.channels):
                self._all_joined.set()
            return
        if "extended-join" in link.enabled_caps and event.arguments:
            account = str(event.arguments[0])
            self.roster.joined(source.nick, channel, None if account == "*" else account,
                               known=True)
        else:
            self.roster.joined(source.nick, channel)

    def _on_whospcrpl(self, link: IrcLink, event: Event) -> None:
        # 354 me 42 #channel nick flags account  (WHO #channel %tcnfa,42)
        # 354 me 43 nick account                 (WHO nick %tna,43)
        args = [str(a) for a in event.arguments]
        if len(args) >= 3 and args[0] == WHO_ACCOUNT:
            _token, nick, account = args[:3]
            if not self._is_me(link, nick):
                self.roster.who_reply(nick, None if account == "0" else account)
            return
        if len(args) >= 5 and args[0] == "42":
            _token, channel, nick, _flags, account = args[:5]
            if not self._is_me(link, nick):
                self.roster.joined(nick, channel, None if account == "0" else account,
                                   known=True)

    def _on_account(self, link: IrcLink, event: Event) -> None:
        account = str(event.target or "*")
        self.roster.account_changed(NickMask(event.source).nick,
                                    None if account == "*" else account)

    def _on_nick(self, link: IrcLink, event: Event) -> None:
        old, new = NickMask(event.source).nick, str(event.target)
        self.roster.renamed(old, new)

    def _on_part(self, link: IrcLink, event: Event) -> None:
        nick = NickMask(event.source).nick
        if self._is_me(link, nick):
            self._joined.discard(casefold(str(event.target)))
            self.roster.left_channel(str(event.target))
        else:
            self.roster.parted(nick, str(event.target))

    def _on_kick(self, link: IrcLink, event: Event) -> None:
        victim = str(event.arguments[0]) if event.arguments else ""
        if self._is_me(link, victim):
            self._joined.discard(casefold(str(event.target)))
            self.roster.left_channel(str(event.target))
            if casefold(str(event.target)) in {casefold(c) for c in self.config.channels}:
                self.queue.control(f"JOIN {event.target}")
        else:
            self.roster.parted(victim, str(event.target))

    def _on_nosuchnick(self, link: IrcLink, event: Event) -> None:
        """401: a nick we wrote to is not there; whatever we believed about it is stale."""
        nick = str(event.arguments[0]) if event.arguments else ""
        if nick and not is_channel(nick):
            log.warning("irc: a line to %s was not delivered: the server has no such nick", nick)
            self.roster.gone(nick)

    def _on_quit(self, link: IrcLink, event: Event) -> None:
        self.roster.gone(NickMask(event.source).nick)
        self._recent.pop(casefold(NickMask(event.source).nick), None)

    def _on_ison(self, link: IrcLink, event: Event) -> None:
        """303 RPL_ISON: which of the nicks asked about are online now."""
        online = {casefold(n) for a in event.arguments for n in str(a).split()}
        for key in list(self._ison):
            for waiter in self._ison.pop(key):
                if not waiter.done():
                    waiter.set_result(key in online)

    def _wrote(self, nick: str) -> None:
        self._recent[casefold(nick)] = time.monotonic()
        self._recent.move_to_end(casefold(nick))
        while len(self._recent) > PAGES_KEEP_MAX:
            self._recent.popitem(last=False)

    # -- presence: is a person there to read a message now? -------------------------------
    async def presence(self, identity: Identity) -> bool | None:
        """True: logged in to the account (or holding the nick) now; False: not online, so a
        message waits for them (held up to `account_hold_seconds`); None: no link to ask on.
        Asks the server when the roster does not know (MONITOR and WHOX, or ISON), waiting
        at most PRESENCE_WAIT_SECONDS."""
        link = self.link
        if link is None or not self.ready.is_set():
            return None
        if not identity.verified:
            return await self._nick_present(nick_of_unverified(identity.external_id))
        account = str(identity.external_id)
        if account.startswith(UNVERIFIED):
            return False
        if self.roster.nick_for(account) is not None:
            return True
        if not self._proves_logins(link):
            return False  # nobody is online as an account here
        seen = self._waiting.setdefault(casefold(account), asyncio.Event())
        self._seek(account)
        # The nicks the account may use; once the server says of each that nobody holds it
        # (RPL_MONOFFLINE), the answer is in without waiting out the time.
        nicks = {casefold(n) for n in (self.roster.last_nick(account), account) if n}
        deadline = time.monotonic() + PRESENCE_WAIT_SECONDS
        while self.roster.nick_for(account) is None:
            if all(k in self._monitoring and k in self._mon_offline for k in nicks):
                return False
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(remaining, 0.05)):
                    await seen.wait()
        return True

    @staticmethod
    def _proves_logins(link: IrcLink) -> bool:
        """Whether this server can tell us who is logged in to which account."""
        return bool(ACCOUNT_CAPS & link.enabled_caps) or "WHOX" in link.isupport

    async def _nick_present(self, nick: str) -> bool | None:
        """Whether somebody holds `nick` now: it wrote to us lately or shares a channel,
        else the server is asked with ISON (one line for every nick asked meanwhile)."""
        key = casefold(nick)
        wrote = self._recent.get(key)
        if self.roster.present(nick) or (wrote is not None and
                                         time.monotonic() - wrote < RECENT_SECONDS):
            return True
        if not _plain_word(nick) or is_channel(nick) or not self.online.is_set():
            return None
        waiter: asyncio.Future[bool | None] = asyncio.get_running_loop().create_future()
        self._ison.setdefault(key, []).append(waiter)
        if self._ison_flush is None:
            self._ison_flush = asyncio.get_running_loop().call_later(0.05, self._send_ison)
        try:
            async with asyncio.timeout(PRESENCE_WAIT_SECONDS):
                return await waiter
        except TimeoutError:
            return None
        finally:
            waiters = self._ison.get(key)
            if waiters is not None and waiter in waiters:
                waiters.remove(waiter)
                if not waiters:
                    del self._ison[key]

    def _send_ison(self) -> None:
        """One ISON line per ISON_BYTES of nicks asked about (the 303 answers them all)."""
        self._ison_flush = None
        line: list[str] = []
        for key in self._ison:
            if sum(len(n) + 1 for n in line) + len(key) > ISON_BYTES:
                self.queue.control("ISON " + " ".join(line))
                line = []
            line.append(key)
        if line:
            self.queue.control("ISON " + " ".join(line))

    def _answer_ison(self, online: bool | None) -> None:
        """Settle every ISON question still open (None: it will not be answered)."""
        for waiters in self._ison.values():
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(online)
        self._ison.clear()

    def _on_pubmsg(self, link: IrcLink, event: Event) -> None:
        self._message(link, event, channel=str(event.target))

    def _on_privmsg(self, link: IrcLink, event: Event) -> None:
        self._message(link, event, channel=None)

    def _message(self, link: IrcLink, event: Event, channel: str | None) -> None:
        nick = NickMask(event.source).nick
        if not is_person(nick, link.real_nickname):
            return  # our own echo, or a server
        account = self._account(link, event, nick)
        text = str(event.arguments[0]) if event.arguments else ""
        relayed = relayed_reason(nick, account, text, channel, self.config.ignore_senders)
        if relayed:  # a bridged channel: the person was answered where they typed, if at all
            log.info("irc: not taking a line in %s: %s", channel or "a private message", relayed)
            return
        self._wrote(nick)
        self._counter += 1
        inbound = inbound_from_message(
            event, me=link.real_nickname, caps=link.enabled_caps,
            conversation=self.config.conversation, roster_account=account,
            unique=f"{time.time_ns()}-{self._counter}")
        if inbound is not None and not self._page_asked(link, inbound, nick):
            self._deliver(link, inbound)

    # -- paging long messages ------------------------------------------------------------
    @staticmethod
    def _conversation(to: RoomRef | Identity) -> str:
        """The key of the conversation a message goes to, as an inbound line names it."""
        room = dm_room(to) if isinstance(to, Identity) else to
        return casefold(room.id) if is_channel(room.id) else room.id

    def _page_asked(self, link: IrcLink, inbound: Inbound, nick: str) -> bool:
        """`!more` where a long message has pages left: the next page, and the line goes no
        further. Only then: without pages pending, `!more` is the core's (a step's "more
        options"), so the word is never claimed twice. Any other line to the bot from that
        conversation means the person moved on: what was left of the message is dropped."""
        key = self._conversation(inbound.room)
        pending = self._pages.get(key)
        if pending is None:
            return False
        pages, sent = pending
        parsed = parse(inbound.text, self.capabilities.command_prefixes, link.real_nickname)
        if time.monotonic() - sent > PAGES_KEEP_SECONDS:
            del self._pages[key]
            return False
        if parsed.command != MORE or parsed.args:
            if parsed.is_command or inbound.direct:
                del self._pages[key]
            return False
        page = pages.pop(0)
        if not pages:
            del self._pages[key]
        target = inbound.room.id if is_channel(inbound.room.id) else nick
        self.queue.add(Job(target, page, asyncio.get_running_loop().create_future()))
        return True

    def _keep_pages(self, to: RoomRef | Identity, pages: list[list[str]]) -> None:
        """A long message's later pages replace what was left of an earlier one; a short
        message leaves them (it may be the next part of the same answer)."""
        if not pages:
            return
        key = self._conversation(to)
        self._pages.pop(key, None)
        self._pages[key] = (pages, time.monotonic())
        while len(self._pages) > PAGES_KEEP_MAX:
            self._pages.popitem(last=False)

    def _deliver(self, link: IrcLink, inbound: Inbound) -> None:
        """Hand over without blocking the read callback (no task per line: the processor
        keeps each sender in order and bounds the work). When its queue is full, stop
        reading the socket until it has room: a flood waits in the kernel and the server."""
        processor = self._inbound
        if processor is None:
            return
        processor.submit(inbound).add_done_callback(partial(self._handled, inbound))
        transport = link.transport
        if processor.full and self._resume is None and transport is not None:
            transport.pause_reading()
            self.pauses += 1
            self._resume = asyncio.create_task(self._resume_reading(link, processor),
                                               name="irc-resume")

    def _handled(self, inbound: Inbound, outcome: asyncio.Future[Outcome]) -> None:
        """A line that failed (not committed) is logged, since IRC never sends it again; a
        private one is answered with a request to try again (never in a channel)."""
        if outcome.cancelled():  # shutting down: not handled, and IRC never sends it again
            log.warning("irc: the line %s from %s was not handled: shutting down",
                        inbound.event_id, inbound.sender.key)
            return
        if outcome.result() is not Outcome.FAILED:
            return
        log.warning("irc: the line %s from %s could not be handled and is lost (IRC does not "
                    "send it again)", inbound.event_id, inbound.sender.key)
        if not inbound.direct:
            return
        try:
            target = self.target_of(inbound.room)
        except SendError:
            return
        if not is_channel(target):
            self.queue.add(Job(target, [TRY_AGAIN], asyncio.get_running_loop().create_future()))

    async def _resume_reading(self, link: IrcLink, processor: InboundProcessor) -> None:
        try:
            await processor.wait_for_room()
        finally:
            if self._resume is asyncio.current_task():
                self._resume = None
        transport = link.transport
        if transport is not None and not transport.is_closing():
            link.last_data = time.monotonic()
            transport.resume_reading()

    def _account(self, link: IrcLink, event: Event, nick: str) -> str | None:
        """The nick's account as far as this connection knows; the account tag on a line
        also teaches the roster."""
        if "account-tag" in link.enabled_caps:
            account = tag(event, "account")
            self.roster.seen_with_tag(nick, account)
            if account is not None and not self.roster.watched(nick):
                self._follow(nick)  # from now on the server says when the nick changes hands
            return account
        known, account = self.roster.account(nick)
        return account if known else None

    # -- outbound ------------------------------------------------------------------------
    def target_of(self, to: RoomRef | Identity) -> str:
        """The nick or channel a message goes to now."""
        if isinstance(to, Identity):
            if to.verified:
                return self._nick_of(to.external_id, True)
            return self._nick_of(nick_of_unverified(to.external_id), False)
        if to.id.startswith(ACCOUNT_ROOM):
            return self._nick_of(to.id.removeprefix(ACCOUNT_ROOM), True)
        if to.id.startswith(NICK_ROOM):
            return self._nick_of(nick_of_unverified(to.id.removeprefix(NICK_ROOM)), False)
        if is_channel(to.id) and _plain_word(to.id):
            return to.id
        raise PermanentSendError(f"not an IRC target: {to.id!r}")

    def _nick_of(self, who: str, is_account: bool) -> str:
        if is_account and who.startswith(UNVERIFIED):
            raise PermanentSendError(f"not a services account: {who!r}")
        nick = self.roster.nick_for(who) if is_account else who
        if nick is None:
            raise TransientSendError(f"no one is logged in as {who!r} where the bot can see "
                                     "them", retry_after=None)
        if not is_account and self.roster.account(nick)[1] is not None:
            # Whoever holds the nick now is logged in: an account, not the person without one
            # this reply is for.
            raise TransientSendError(f"the nick {nick!r} is logged in to an account now",
                                     retry_after=None)
        if not _plain_word(nick) or is_channel(nick):
            raise PermanentSendError(f"not a nick: {nick!r}")
        return nick

    @staticmethod
    def account_of(to: RoomRef | Identity) -> str | None:
        """The services account a message is meant for, or None (a channel or a nick)."""
        if isinstance(to, Identity):
            return str(to.external_id) if to.verified else None
        if to.id.startswith(ACCOUNT_ROOM):
            return to.id.removeprefix(ACCOUNT_ROOM)
        return None

    async def _target_for_account(self, to: RoomRef | Identity, account: str) -> str:
        """The nick logged in to `account` now; while there is none, wait (looking for it)
        up to `account_hold_seconds`, then refuse for good. Never the nick's new holder."""
        try:
            return self.target_of(to)
        except TransientSendError:
            pass
        link = self.link
        if link is not None and self.ready.is_set() and not self._proves_logins(link):
            # No account will ever show itself on this server (ngIRCd): holding for a day
            # would only delay the dead letter.
            raise PermanentSendError(
                f"this server cannot say who is logged in to an account, so nothing is sent "
                f"for the account {account!r} (to a nick anybody may hold)")
        hold = self.config.account_hold_seconds
        deadline = time.monotonic() + hold
        self.held += 1
        try:
            while True:
                self._seek(account)
                seen = self._waiting.setdefault(casefold(account), asyncio.Event())
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PermanentSendError(
                        f"the account {account!r} was not online for {hold:g} s; the reply "
                        "is not sent to whoever holds its nick now")
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(min(remaining, SEEK_SECONDS)):
                        await seen.wait()
                try:
                    return self.target_of(to)
                except TransientSendError:
                    continue
        finally:
            self.held -= 1
            self._waiting.pop(casefold(account), None)  # another waiter makes its own

    async def _until_present(self, nick: str) -> None:
        """A reply for a nick without a login goes only while somebody holds the nick: a line
        to an absent nick is lost (401). While nobody does, it waits, asking ISON every
        `nick_poll_seconds` (every held reply at the same moment, so one ISON line asks for
        them all), up to `account_hold_seconds`; then it is refused for good."""
        hold = self.config.account_hold_seconds
        deadline = time.monotonic() + hold
        held = False
        try:
            while await self._nick_present(nick) is False:  # None: nobody answered; try
                if not held:
                    held = True
                    self.held += 1
                    log.info("irc: %s is not online; holding a reply for up to %g s", nick, hold)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise PermanentSendError(
                        f"nobody held the nick {nick!r} for {hold:g} s (a line to an absent "
                        "nick is lost)")
                poll = self.nick_poll_seconds
                await asyncio.sleep(min(remaining, poll - time.monotonic() % poll))
        finally:
            if held:
                self.held -= 1

    async def send(self, msg: Outbound, idempotency_key: str) -> Receipt:
        return await self._send(msg, 0, None)

    async def send_parts(self, msg: Outbound, idempotency_key: str, done: int,
                         part_sent: PartSent) -> Receipt:
        """Send the lines of `msg` from line `done` on, reporting each line written but the
        last before the next goes (IRC has no idempotency key: the count of lines delivered,
        kept by the outbox, is what prevents a repeat after a failure or a restart)."""
        return await self._send(msg, done, part_sent)

    def pages(self, msg: Outbound, target: str) -> list[list[str]]:
        """The pages of `msg` (the first is sent, the rest wait for `!more`), at a width that
        does not depend on this connection (our nick, user and host): line N is the same text
        after a restart or a nick change."""
        return render_pages(msg, fixed_width(target), self.config.max_lines,
                            self.config.formatting)

    def lines(self, msg: Outbound, target: str) -> list[str]:
        """The lines sent for `msg`: its first page."""
        return self.pages(msg, target)[0]

    async def _send(self, msg: Outbound, done: int, part_sent: PartSent | None) -> Receipt:
        account = self.account_of(msg.to)
        while True:
            if account is None:
                target = self.target_of(msg.to)
                if not is_channel(target):
                    await self._until_present(target)
            else:
                target = await self._target_for_account(msg.to, account)
            pages = self.pages(msg, target)
            lines = pages[0][done:]
            if not lines:
                self._keep_pages(msg.to, pages[1:])
                return Receipt()
            job = Job(target, lines, asyncio.get_running_loop().create_future(),
                      progress=asyncio.Event() if part_sent is not None else None,
                      account=account)
            self.queue.add(job)
            try:
                if part_sent is None or job.progress is None:
                    await job.done
                else:
                    while not job.done.done():
                        await job.progress.wait()
                        job.progress.clear()
                        if job.held and not job.done.done():
                            await part_sent(done + job.written)
                            self.queue.resume(job)
                    job.done.result()
            except AccountMovedError:
                log.info("irc: the nick %s no longer belongs to the account %s; holding the "
                         "rest of the reply for the account", target, account)
                done += job.written  # every line written was counted before the next went
                continue
            finally:
                if not job.done.done():
                    self.queue.cancel(job)
            self._keep_pages(msg.to, pages[1:])
            return Receipt()
