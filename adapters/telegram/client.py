"""Telegram through python-telegram-bot 22, run inside Wayfinder's own event loop.

The Application is driven by hand (initialize, start, updater), in polling mode or, by config,
webhook mode with a secret token checked on every request. People are their numeric user id,
never their username. Choices become inline keyboards; a pressed button arrives as the
choice's number, and its callback answer and the choice marked in the message go out through
the outbox once its turn is committed. In groups, `/start` answers with a deep link into a
private chat, since a bot cannot write to someone first.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import html
import logging
import os
import time
from collections import deque
from collections.abc import Awaitable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from adapters.telegram import lean_telegram  # noqa: F401  (before anything loads telegram)

# isort: split
import httpx
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.request import HTTPXRequest

from adapters.telegram.config import TelegramConfig
from adapters.telegram.render import render
from adapters.telegram.translate import (
    TELEGRAM,
    GroupStart,
    Pressed,
    relayed_reason,
    translate,
)
from bot.i18n import SOURCE, normalize, translator
from bot.inbound import InboundProcessor
from bot.model import (
    Capabilities,
    CommandMenu,
    Outbound,
    Press,
    Rate,
    Receipt,
    RoomRef,
)
from bot.ports import (
    InboundSink,
    Outcome,
    PartSent,
    PermanentSendError,
    TransientSendError,
    UnknownDeliveryError,
    send_every_part,
)

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger(__name__)

T = TypeVar("T")
ALLOWED_UPDATES = ["message", "callback_query"]
FAILED_WAIT_MAX_SECONDS = 5.0  # before fetching an update that was not committed again
MAX_TRACKED_CHATS = 10_000
SLOW_UPDATE_SECONDS = 0.5  # how long a batch may hold the next getUpdates; slower ones go on
# While only slow updates are left, getUpdates would return them again at once: poll again
# this often (or when one finishes), so a new message waits at most this long behind them.
HELD_REPOLL_SECONDS = 2.0
GROUP_REPLIES_MAX = 200  # group /start answers waiting on their group's minute limit


@dataclass
class ChatLimiter:
    """Telegram's per-chat limits: about one message a second in a chat, 20 a minute in a
    group. Each chat waits on its own; other chats go on."""

    per_second: float
    group_per_minute: int
    _last: dict[int, float] = field(default_factory=dict)
    _group: dict[int, deque[float]] = field(default_factory=dict)
    _locks: dict[int, asyncio.Lock] = field(default_factory=dict)

    async def wait(self, chat_id: int) -> None:
        lock = self._locks.setdefault(chat_id, asyncio.Lock())
        async with lock:
            now = time.monotonic()
            delay = self._last.get(chat_id, -1e9) + 1 / self.per_second - now
            if chat_id < 0:  # groups and supergroups have negative ids
                window = self._group.setdefault(chat_id, deque())
                while window and window[0] <= now - 60:
                    window.popleft()
                if len(window) >= self.group_per_minute:
                    delay = max(delay, window[0] + 60 - now)
            if delay > 0:
                await asyncio.sleep(delay)
            stamp = time.monotonic()
            self._last[chat_id] = stamp
            if chat_id < 0:
                self._group[chat_id].append(stamp)
        if len(self._last) > MAX_TRACKED_CHATS:
            self._forget_quiet_chats(time.monotonic() - 60)

    def _forget_quiet_chats(self, before: float) -> None:
        """Chats silent for a minute owe no waiting: drop them, so memory stays bounded."""
        for chat_id in [c for c, at in self._last.items() if at < before]:
            lock = self._locks.get(chat_id)
            if lock is not None and lock.locked():
                continue
            self._last.pop(chat_id, None)
            self._group.pop(chat_id, None)
            self._locks.pop(chat_id, None)


def _retry_seconds(exc: RetryAfter) -> float:
    value: Any = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def private_route(username: str) -> str:
    """Capabilities.reach_privately: the bot's private chat, by its t.me link."""
    return (f"open https://t.me/{username} (tap Start if asked) and send: {{line}}"
            if username else "")


def menu_calls(menu: CommandMenu) -> list[tuple[str, list[BotCommand]]]:
    """setMyCommands' calls for the menu, (language_code, commands): first without a
    language, for anyone, then one per offered language for people whose app uses it.
    Telegram names a language by its two letters (ISO 639-1): pt_BR's menu is "pt"'s; a
    code it cannot name is left to the default menu."""
    calls = [("", menu.default)] if menu.default else []
    for code, commands in menu.languages.items():
        language = code.split("_")[0].lower()
        if commands and len(language) == 2 and language.isalpha() and all(
                language != seen for seen, _ in calls):
            calls.append((language, commands))
    return [(language, [BotCommand(name, summary) for name, summary in commands])
            for language, commands in calls]


class TelegramAdapter:
    network = TELEGRAM

    def __init__(self, config: TelegramConfig, token: str, webhook_secret: str = "",
                 menu: CommandMenu | None = None) -> None:
        # PTB 22.2+ warns inside RetryAfter's own constructor unless time periods are opted in
        # to timedelta (python-telegram-bot PR #4750); opt in, and read both forms below.
        os.environ.setdefault("PTB_TIMEDELTA", "true")
        self.config = config
        self.capabilities = Capabilities(
            buttons=True, html=True, max_len=4096, dm_first_contact=False, files=True,
            # Evenly spaced, no burst: no one-second window ever holds more than the rate.
            command_prefixes=("/", "!"), rate=Rate(config.messages_per_second, 1))
        self.limiter = ChatLimiter(config.per_chat_per_second, config.per_group_per_minute)
        self.webhook_secret = webhook_secret
        self.menu = menu or CommandMenu()
        # One TLS context for both connections (httpx's default: certifi's roots), instead of
        # one each: its certificate store is about 0.7 MB resident.
        tls = {"verify": httpx.create_ssl_context()}
        self._poll_request = HTTPXRequest(
            read_timeout=config.poll_timeout_seconds + config.request_timeout_seconds,
            connect_timeout=config.request_timeout_seconds, httpx_kwargs=tls)
        self.last_poll_ok = time.monotonic()
        base = (config.base_url or "https://api.telegram.org").rstrip("/")  # PTB's default
        timeout = config.request_timeout_seconds
        # The Bot alone, not telegram.ext's Application (about 3 MB more, resident): PTB's
        # Updater confirms a batch of updates as soon as it has queued them, so a crash loses
        # what was fetched but not handled. Our own loop confirms only what was committed.
        self.bot = Bot(token, base_url=f"{base}/bot", base_file_url=f"{base}/file/bot",
                       request=HTTPXRequest(connection_pool_size=64, read_timeout=timeout,
                                            write_timeout=timeout, connect_timeout=timeout,
                                            pool_timeout=timeout, httpx_kwargs=tls),
                       get_updates_request=self._poll_request)
        self._ready = asyncio.Event()
        self._sink: InboundSink | None = None
        self.username = ""
        self.polling_restarts = 0
        self._group_replies: set[asyncio.Task[None]] = set()
        self._names: dict[int, str] = {}  # user id -> their name, oldest first

    @property
    def connected(self) -> bool:
        """Whether messages may go out now (/healthz, the connected gauge)."""
        return self._ready.is_set()

    async def run(self, sink: InboundSink) -> None:
        # The core's processor keeps each person in order while a batch is handled at once.
        self._sink = sink if isinstance(sink, InboundProcessor) else InboundProcessor(sink)
        await self.bot.initialize()
        try:
            self.username = self.bot.username
            self.capabilities = replace(self.capabilities, reach_privately=private_route(
                self.username))
            for language, commands in menu_calls(self.menu):
                with contextlib.suppress(NetworkError):
                    await self.bot.set_my_commands(commands, language_code=language or None)
            self._ready.set()
            if self.config.mode == "webhook":
                await self._serve_webhook()
            else:
                await self._watchdog()
        finally:
            self._ready.clear()
            await _cancel_all(self._group_replies)
            await self.bot.shutdown()

    async def _serve_webhook(self) -> None:
        """Receive updates by webhook. Telegram gets its 200 only once the update is handled
        and committed, so it re-sends anything a crash interrupted (PTB's own webhook server
        answers as soon as the update is queued). aiohttp's server is loaded only here."""
        from aiohttp import web

        server = web.Application()
        server.router.add_post("/telegram", self._on_webhook)
        runner = web.AppRunner(server, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, self.config.webhook_listen, self.config.webhook_port).start()
            await self.bot.set_webhook(url=self.config.webhook_url,
                                           secret_token=self.webhook_secret or None,
                                           allowed_updates=ALLOWED_UPDATES)
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()

    async def _on_webhook(self, request: web.Request) -> web.Response:
        from aiohttp import web

        offered = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        if not hmac.compare_digest(offered.encode(), self.webhook_secret.encode()):
            return web.Response(status=403, text="wrong secret token")
        try:
            update = Update.de_json(await request.json(), self.bot)
        except (ValueError, KeyError, TypeError):
            return web.Response(status=400, text="not an update")
        if update is None:
            return web.Response(status=400, text="not an update")
        if not (await self._process(update)).confirmable:
            # Not committed (the store failed): Telegram sends it again.
            return web.Response(status=503, text="not handled yet; send it again")
        return web.Response(text="ok")

    async def _poll(self) -> None:
        """getUpdates, handle each update to its commit, and only then confirm it. An update
        that failed (not committed) is not confirmed: the offset stays at it, and after a
        short wait it is fetched again and handled again (the inbox drops what was already
        committed); the offset never passes an update that is unfinished or failed."""
        # Updates being handled, by id, until confirmed: a slow one does not hold the next
        # getUpdates (which returns it again while unconfirmed; it is not started twice).
        running: dict[int, asyncio.Task[Outcome]] = {}
        try:
            await self._polling(running)
        finally:
            await _cancel_all(set(running.values()))

    async def _polling(self, running: dict[int, asyncio.Task[Outcome]]) -> None:
        offset = 0
        failures = 0
        unhandled = 0
        while True:
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=self.config.poll_timeout_seconds,
                    allowed_updates=ALLOWED_UPDATES)
            except RetryAfter as exc:
                await asyncio.sleep(_retry_seconds(exc))
                continue
            except (TimedOut, NetworkError) as exc:
                failures += 1
                log.warning("getUpdates failed (%s); retrying", exc)
                await asyncio.sleep(min(30.0, 0.5 * 2 ** min(failures, 6)))
                continue
            failures = 0
            self.last_poll_ok = time.monotonic()
            # A batch at once: the core's inbound processor keeps each person in order and
            # bounds the work, so one slow chat does not hold up the others. The batch holds
            # the next getUpdates at most SLOW_UPDATE_SECONDS; slower updates go on meanwhile.
            fresh = [u for u in updates if u.update_id not in running]
            for update in fresh:
                running[update.update_id] = asyncio.create_task(
                    self._process(update), name=f"telegram-update-{update.update_id}")
            # Nothing new beyond what is still being handled: getUpdates would only return
            # that again at once, so wait for one of them, or HELD_REPOLL_SECONDS for others'.
            # Only unfinished ones: a finished update held behind a slow one (not confirmed
            # yet) would end the wait at once, and the loop would poll without pause.
            unfinished = [task for task in running.values() if not task.done()]
            if unfinished:
                await asyncio.wait(unfinished, timeout=SLOW_UPDATE_SECONDS if fresh
                                   else min(HELD_REPOLL_SECONDS,
                                            self.config.poll_timeout_seconds),
                                   return_when=asyncio.ALL_COMPLETED if fresh
                                   else asyncio.FIRST_COMPLETED)
            # Confirm what is finished, in order: never past an unfinished or failed update.
            for update_id in sorted(running):
                task = running[update_id]
                if not task.done():
                    break
                del running[update_id]
                if not task.result().confirmable:  # fetched and handled again
                    unhandled += 1
                    log.warning("telegram: update %d was not committed; fetching it again",
                                update_id)
                    await asyncio.sleep(min(FAILED_WAIT_MAX_SECONDS, 0.25 * 2 ** unhandled))
                    break
                unhandled = 0
                offset = update_id + 1

    async def _watchdog(self) -> None:
        """Poll; restart polling if getUpdates has not succeeded for twice its timeout."""
        limit = 2 * (self.config.poll_timeout_seconds + self.config.request_timeout_seconds)
        poller = asyncio.create_task(self._poll(), name="telegram-poll")
        try:
            while True:
                await asyncio.sleep(1)
                if poller.done() or time.monotonic() - self.last_poll_ok > limit:
                    log.warning("getUpdates has not succeeded for %.0f s: restarting polling",
                                time.monotonic() - self.last_poll_ok)
                    self.polling_restarts += 1
                    poller.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await poller
                    self.last_poll_ok = time.monotonic()
                    poller = asyncio.create_task(self._poll(), name="telegram-poll")
        finally:
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await poller

    # -- inbound --------------------------------------------------------------------------------
    async def _process(self, update: Update) -> Outcome:
        """One update to its outcome. A fault in the adapter's own handling of an update is
        logged and the update confirmed, so it cannot loop; only an update the bot could not
        commit comes back as FAILED."""
        try:
            return await self._on_update(update)
        except Exception:
            log.exception("telegram: could not handle update %d; skipped", update.update_id)
            return Outcome.IGNORED

    def _learn_name(self, update: Update) -> None:
        """The name someone goes by, for mentions of them (kept for the people who spoke
        lately; a mention of anyone else shows "you")."""
        user = update.effective_user
        if user is None or user.is_bot:
            return
        self._names.pop(user.id, None)
        self._names[user.id] = user.full_name
        while len(self._names) > MAX_TRACKED_CHATS:
            del self._names[next(iter(self._names))]

    def _name_of(self, user_id: str) -> str:
        return self._names.get(int(user_id), "")

    async def _on_update(self, update: Update) -> Outcome:
        assert self._sink is not None
        self._learn_name(update)
        relayed = relayed_reason(update, self.config.ignore_senders)
        if relayed:  # a bridged group: the person was answered where they typed, if at all
            log.info("telegram: not taking update %d: %s", update.update_id, relayed)
            return Outcome.IGNORED
        meaning = translate(update, self.username)
        if isinstance(meaning, GroupStart):
            # Answered off the poll path: the group's minute limit may hold it most of a minute.
            if len(self._group_replies) >= GROUP_REPLIES_MAX:
                log.warning("telegram: %d group /start answers waiting; not answering one in "
                            "chat %d", len(self._group_replies), meaning.message.chat.id)
                return Outcome.IGNORED
            task = asyncio.create_task(self._group_start(meaning.message),
                                       name="telegram-group-start")
            self._group_replies.add(task)
            task.add_done_callback(self._group_replies.discard)
            return Outcome.IGNORED  # answered here; nothing for the bot to commit
        if isinstance(meaning, Pressed):
            if meaning.inbound is None:  # nothing to commit: only stop the button's spinner
                await self._answer_now(meaning)
                return Outcome.IGNORED
            # Answered and marked through the outbox, with the committed turn (once: a
            # duplicate was acknowledged the first time; a failed one is fetched again).
            outcome = await self._sink(meaning.inbound)
            if outcome is Outcome.IGNORED:  # nothing committed, so nothing queued to answer it
                await self._answer_now(meaning)
            return outcome
        if meaning is None:
            return Outcome.IGNORED
        return await self._sink(meaning)

    @staticmethod
    async def _answer_now(press: Pressed) -> None:
        with contextlib.suppress(BadRequest, TimedOut, NetworkError):
            await press.query.answer()

    async def _group_start(self, message: Message) -> None:
        """Point the person to a private chat; the payload names the group they came from."""
        chat = message.chat
        # A group without a username by its chat id, which content's room_ids map to a
        # project (a deep link's payload may hold "-"; a username never starts with one).
        payload = chat.username or str(chat.id)
        link = f"https://t.me/{self.username}?start={payload}"
        # In the language of the app of whoever typed /start, where it is one the bot speaks.
        sender = message.from_user
        words = translator(normalize(sender.language_code or "") or SOURCE if sender else SOURCE)
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(words.t("Start in a private chat"),
                                                             url=link)]])
        await self.limiter.wait(chat.id)
        try:
            await message.reply_text(words.t("Hi! I guide newcomers one to one. Tap below to "
                                             "start a private chat with me."),
                                     reply_markup=markup)
        except (TimedOut, NetworkError):
            pass
        except Exception:  # in a task of its own: logged here, never left unretrieved
            log.exception("telegram: could not answer /start in group %d", chat.id)

    # -- outbound --------------------------------------------------------------------------------
    async def send(self, msg: Outbound, idempotency_key: str) -> Receipt:
        return await send_every_part(self, msg, idempotency_key)

    async def send_parts(self, msg: Outbound, idempotency_key: str, done: int,
                         part_sent: PartSent) -> Receipt:
        """Send the parts of `msg` from part `done` on (Telegram has no idempotency key: the
        count of parts delivered, kept by the outbox, is what prevents a repeat)."""
        await self._ready.wait()
        target = msg.to
        chat_id = int(target.id if isinstance(target, RoomRef) else target.external_id)
        receipt = Receipt()
        if msg.press is not None:
            return await self._acknowledge(msg.press, chat_id, done, part_sent)
        if msg.file is not None:
            await self.limiter.wait(chat_id)
            sent_file = await self._call(self.bot.send_document(
                chat_id, InputFile(msg.file.data, filename=msg.file.name),
                caption=html.escape(msg.text[:1000], quote=False), parse_mode=ParseMode.HTML))
            return Receipt(str(sent_file.message_id))
        parts = render(msg, self._name_of)
        for index in range(done, len(parts)):
            part = parts[index]
            markup = None
            if part.buttons:
                markup = InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)]
                                               for label, data in part.buttons])
            await self.limiter.wait(chat_id)
            sent = await self._call(self.bot.send_message(
                chat_id, part.html, parse_mode=ParseMode.HTML, reply_markup=markup))
            receipt = Receipt(str(sent.message_id))
            if index + 1 < len(parts):
                await part_sent(index + 1)
        return receipt

    async def _acknowledge(self, press: Press, chat_id: int, done: int,
                           part_sent: PartSent) -> Receipt:
        """Answer the callback query (part 1), then mark the chosen label in the message that
        offered the choices (part 2). An answer Telegram refuses (the query is too old) is a
        permanent failure, reported once the choice is marked anyway."""
        refused: PermanentSendError | None = None
        if done < 1:
            try:
                await self._call(self.bot.answer_callback_query(press.token))
            except PermanentSendError as exc:
                refused = exc
        if press.message_id and press.label:
            if done < 1:
                await part_sent(1)
            marked = (html.escape(press.text, quote=False) +
                      f"\n\n✓ {html.escape(press.label, quote=False)}")
            with contextlib.suppress(PermanentSendError):  # deleted, or marked already
                await self._call(self.bot.edit_message_text(
                    marked, chat_id=chat_id, message_id=int(press.message_id),
                    parse_mode=ParseMode.HTML))
        if refused is not None:
            raise PermanentSendError(f"answerCallbackQuery: {refused}")
        return Receipt(press.message_id)

    @staticmethod
    async def _call(request: Awaitable[T]) -> T:
        """One Bot API send, its failures in the outbox's terms."""
        try:
            return await request
        except RetryAfter as exc:
            raise TransientSendError(str(exc), retry_after=_retry_seconds(exc)) from exc
        except TimedOut as exc:
            # It may have arrived: a retry could say it twice. Organizers decide.
            raise UnknownDeliveryError(f"timed out, may have been delivered: {exc}") from exc
        except (BadRequest, Forbidden) as exc:
            raise PermanentSendError(exc.message) from exc
        except NetworkError as exc:
            raise TransientSendError(str(exc)) from exc


async def _cancel_all(tasks: set[asyncio.Task[Any]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
