"""A Telegram Bot API stand-in (aiohttp on 127.0.0.1) that python-telegram-bot talks to over
real HTTP. Tests play people with `user_says` and `press`, read what the bot sent in `sent`,
and inject the failures Telegram produces: 429 with retry_after, 400 for unparseable entities,
5xx, and a read timeout after the message was recorded."""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_USER = {"id": 424242, "is_bot": True, "first_name": "Wayfinder",
            "username": "wayfinder_test_bot", "can_join_groups": True,
            "can_read_all_group_messages": False, "supports_inline_queries": False}
ARRIVED = "__arrived__"
JSON_FIELDS = {"reply_markup", "entities", "commands", "allowed_updates", "link_preview_options",
               "reply_parameters", "caption_entities"}
ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
                "tg-spoiler", "span", "blockquote", "tg-emoji"}
_TAG = re.compile(r"</?([a-zA-Z][a-zA-Z0-9-]*)(\s[^<>]*)?>")
_ENTITY = re.compile(r"&(lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")


class EntityError(ValueError):
    pass


def parse_html(text: str) -> str:
    """What a person sees, as Telegram parses HTML mode; EntityError where Telegram refuses."""
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == "<":
            match = _TAG.match(text, pos)
            if match is None or match.group(1).lower() not in ALLOWED_TAGS:
                raise EntityError(f"can't parse entities: unsupported start tag at byte {pos}")
            name = match.group(1).lower()
            if match.group(0).startswith("</"):
                if not stack or stack.pop() != name:
                    raise EntityError(f"can't parse entities: unexpected end tag at {pos}")
            else:
                stack.append(name)
            pos = match.end()
        elif char == "&":
            match = _ENTITY.match(text, pos)
            if match is None:
                raise EntityError(f"can't parse entities: unsupported entity at {pos}")
            out.append(html.unescape(match.group(0)))
            pos = match.end()
        elif char == ">":
            raise EntityError(f"can't parse entities: unexpected '>' at {pos}")
        else:
            out.append(char)
            pos += 1
    if stack:
        raise EntityError("can't parse entities: unclosed tag")
    return "".join(out)


@dataclass
class Sent:
    method: str
    chat_id: int
    text: str  # as the person sees it
    params: dict[str, Any]
    message_id: int
    at: float

    @property
    def buttons(self) -> list[dict[str, Any]]:
        markup = self.params.get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]


@dataclass
class Fault:
    kind: str  # "429", "502", "timeout", "400"; "pass": answered as usual (a fault later on)
    retry_after: int = 1
    seconds: float = 0.0
    description: str = "Bad Request: query is too old and response timeout expired or query " \
                       "ID is invalid"  # a "400"'s


@dataclass
class BotApi:
    token: str = "424242:TEST-TOKEN"
    host: str = "127.0.0.1"
    port: int = 0
    updates: list[dict[str, Any]] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    faults: dict[str, list[Fault]] = field(default_factory=dict)
    served_at: dict[int, float] = field(default_factory=dict)  # update id -> first handed out
    answered: list[tuple[str, float]] = field(default_factory=list)  # callback query id, when
    fault_at: list[tuple[str, float]] = field(default_factory=list)
    stall_polls: bool = False
    url: str = ""
    # As Telegram does: a bot may not write first to a user who never started a private chat
    # with it (403). Off by default, as most tests write to made-up chats.
    only_started_chats: bool = False
    started: set[int] = field(default_factory=set)
    # The command menus set (setMyCommands), by language_code ("": the one for anyone), each
    # as [(command, description)].
    menus: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._new_update = asyncio.Event()
        self._new_sent = asyncio.Event()
        self._activity = asyncio.Event()
        self._unstall = asyncio.Event()
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._runner: web.AppRunner | None = None

    # -- the test side ---------------------------------------------------------------------------
    def _push(self, update: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        self.updates.append({"update_id": update_id, **update})
        self._new_update.set()
        return update_id

    def user_says(self, text: str, user_id: int = 1001, chat_id: int | None = None,
                  chat_type: str = "private", first_name: str = "Ada", username: str = "",
                  chat_username: str = "", forwarded: bool = False,
                  sender_chat: int | None = None) -> int:
        user = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        chat: dict[str, Any] = {"id": chat_id if chat_id is not None else user_id,
                                "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = first_name
            self.started.add(user_id)
        else:
            chat["title"] = "Project group"
        if chat_username:
            chat["username"] = chat_username
        message: dict[str, Any] = {"message_id": next(self._message_ids),
                                   "date": int(time.time()), "chat": chat, "from": user,
                                   "text": text}
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0,
                                    "length": len(text.split()[0])}]
        if forwarded:
            message["forward_origin"] = {"type": "user", "date": int(time.time()),
                                         "sender_user": {"id": 77, "is_bot": False,
                                                         "first_name": "Someone"}}
        if sender_chat is not None:
            message["sender_chat"] = {"id": sender_chat, "type": "channel", "title": "News"}
        return self._push({"message": message})

    def press(self, sent: Sent, data: str, user_id: int = 1001, first_name: str = "Ada") -> int:
        """`user_id` presses a button of the message `sent`, in the chat it went to (a group
        where its id is negative, as Telegram's are)."""
        chat: dict[str, Any] = {"id": sent.chat_id, "type": "private", "first_name": first_name}
        if sent.chat_id < 0:
            chat = {"id": sent.chat_id, "type": "supergroup", "title": "Project group"}
        message = {"message_id": sent.message_id, "date": int(time.time()), "chat": chat,
                   "from": BOT_USER, "text": sent.text,
                   "reply_markup": sent.params.get("reply_markup")}
        query = {"id": str(next(self._message_ids)), "chat_instance": "1", "data": data,
                 "from": {"id": user_id, "is_bot": False, "first_name": first_name},
                 "message": message}
        return self._push({"callback_query": query})

    def inject(self, method: str, *faults: Fault) -> None:
        self.faults.setdefault(method.lower(), []).extend(faults)

    async def wait_sent(self, count: int, within: float = 10.0) -> list[Sent]:
        async with asyncio.timeout(within):
            while len(self.sent) < count:
                self._new_sent.clear()
                await self._new_sent.wait()
        return self.sent

    async def wait_until(self, done: Callable[[], bool], within: float) -> None:
        """Wait until `done()` holds, checking after each request the bot makes."""
        async with asyncio.timeout(within):
            while not done():
                self._activity.clear()
                await self._activity.wait()

    def to_chat(self, chat_id: int) -> list[Sent]:
        return [s for s in self.sent if s.chat_id == chat_id]

    # -- the server --------------------------------------------------------------------------------
    async def start(self) -> BotApi:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.url = f"http://{self.host}:{self.port}"
        return self

    def stall(self, on: bool) -> None:
        self.stall_polls = on
        if not on:
            self._unstall.set()

    async def stop(self) -> None:
        self._new_update.set()
        self._unstall.set()
        if self._runner is not None:
            await self._runner.cleanup()

    @staticmethod
    async def _params(request: web.Request) -> dict[str, Any]:
        if request.content_type == "application/json":
            data: dict[str, Any] = await request.json()
            return data
        params: dict[str, Any] = dict(request.query)
        if request.can_read_body:
            for key, value in (await request.post()).items():
                params[key] = value if isinstance(value, str) else getattr(value, "filename", "")
                if not isinstance(value, str) and hasattr(value, "file"):
                    params[f"{key}:bytes"] = value.file.read()  # what was uploaded
        # Objects arrive JSON-encoded in form fields; text is text, even when it looks like JSON.
        return {k: json.loads(v) if k in JSON_FIELDS and isinstance(v, str) else v
                for k, v in params.items()}

    async def _dispatch(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401,
                                      "description": "Unauthorized"}, status=401)
        arrived = time.perf_counter()  # the bot's request is here; what follows is ours
        method = request.match_info["method"].lower()
        params = await self._params(request)
        params[ARRIVED] = arrived
        self.calls.append((method, {k: v for k, v in params.items() if k != ARRIVED}))
        self._activity.set()
        faults = self.faults.get(method)
        fault = faults.pop(0) if faults else None
        if fault is not None:
            self.fault_at.append((fault.kind, time.perf_counter()))
        if fault is not None and fault.kind == "429":
            return web.json_response({"ok": False, "error_code": 429,
                                      "description": f"Too Many Requests: retry after "
                                                     f"{fault.retry_after}",
                                      "parameters": {"retry_after": fault.retry_after}},
                                     status=429)
        if fault is not None and fault.kind == "400":
            return web.json_response({"ok": False, "error_code": 400,
                                      "description": fault.description}, status=400)
        if fault is not None and fault.kind == "502":
            return web.json_response({"ok": False, "error_code": 502,
                                      "description": "Bad Gateway"}, status=502)
        chat = params.get("chat_id")
        if (self.only_started_chats and method.startswith("send") and chat is not None
                and int(chat) > 0 and int(chat) not in self.started):
            return web.json_response({"ok": False, "error_code": 403, "description":
                                      "Forbidden: bot can't initiate conversation with a user"},
                                     status=403)
        handler = getattr(self, f"api_{method}", None)
        if handler is None:
            return web.json_response({"ok": False, "error_code": 404,
                                      "description": f"Not Found: {method}"}, status=404)
        try:
            result = await handler(params)
        except EntityError as exc:
            return web.json_response({"ok": False, "error_code": 400,
                                      "description": f"Bad Request: {exc}"}, status=400)
        if fault is not None and fault.kind == "timeout":
            await asyncio.sleep(fault.seconds)  # recorded, but the answer comes too late
        return web.json_response({"ok": True, "result": result})

    # -- methods ---------------------------------------------------------------------------------
    async def api_getme(self, p: dict[str, Any]) -> dict[str, Any]:
        return BOT_USER

    async def api_deletewebhook(self, p: dict[str, Any]) -> bool:
        return True

    async def api_setwebhook(self, p: dict[str, Any]) -> bool:
        return True

    async def api_setmycommands(self, p: dict[str, Any]) -> bool:
        # As Telegram checks them: a language is two lowercase letters (ISO 639-1) or none; a
        # command is 1-32 of a-z, 0-9 and _; a description 1-256 characters (the Bot API
        # documents 1-256; we keep 3-256 as older versions did).
        language = str(p.get("language_code") or "")
        if language and not (len(language) == 2 and language.isalpha()
                             and language.islower()):
            raise EntityError(f"invalid language_code {language!r}")
        commands = [(str(c["command"]), str(c["description"])) for c in p["commands"]]
        for command, description in commands:
            if not (1 <= len(command) <= 32 and all(ch.isascii() and (ch.isalnum() or ch == "_")
                                                    and not ch.isupper() for ch in command)):
                raise EntityError(f"BOT_COMMAND_INVALID {command!r}")
            if not 3 <= len(description) <= 256:
                raise EntityError(f"command description {description!r} must be 3-256 long")
        self.menus[language] = commands
        return True

    async def api_answercallbackquery(self, p: dict[str, Any]) -> bool:
        self.answered.append((str(p["callback_query_id"]), float(p.pop(ARRIVED))))
        return True

    async def api_getupdates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(p.get("offset") or 0)
        limit = int(p.get("limit") or 100)
        timeout = float(p.get("timeout") or 0)
        if self.stall_polls:  # hang like a dead connection, until unstalled or stopped
            self._unstall.clear()
            await self._unstall.wait()
            return []
        self.updates = [u for u in self.updates if u["update_id"] >= offset]
        if not self.updates and timeout > 0:
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), timeout)
        batch = self.updates[:limit]
        now = time.perf_counter()
        for update in batch:
            self.served_at.setdefault(update["update_id"], now)
        return batch

    def _record(self, method: str, p: dict[str, Any], text: str) -> Sent:
        sent = Sent(method, int(p["chat_id"]), text, p, next(self._message_ids),
                    float(p.pop(ARRIVED)))
        self.sent.append(sent)
        self._new_sent.set()
        return sent

    async def api_sendmessage(self, p: dict[str, Any]) -> dict[str, Any]:
        raw = str(p["text"])
        text = parse_html(raw) if p.get("parse_mode") == "HTML" else raw
        sent = self._record("sendMessage", p, text)
        message = {"message_id": sent.message_id, "date": int(time.time()), "from": BOT_USER,
                   "chat": {"id": sent.chat_id, "type": "private" if sent.chat_id > 0
                            else "supergroup", "title": "Project group"}, "text": text}
        if p.get("reply_markup"):
            message["reply_markup"] = p["reply_markup"]
        return message

    async def api_editmessagetext(self, p: dict[str, Any]) -> dict[str, Any]:
        raw = str(p["text"])
        text = parse_html(raw) if p.get("parse_mode") == "HTML" else raw
        sent = self._record("editMessageText", p, text)
        return {"message_id": int(p.get("message_id", sent.message_id)),
                "date": int(time.time()), "from": BOT_USER,
                "chat": {"id": sent.chat_id, "type": "private"}, "text": text}

    async def api_senddocument(self, p: dict[str, Any]) -> dict[str, Any]:
        sent = self._record("sendDocument", p, str(p.get("caption", "")))
        return {"message_id": sent.message_id, "date": int(time.time()), "from": BOT_USER,
                "chat": {"id": sent.chat_id, "type": "private"},
                "document": {"file_id": "f1", "file_unique_id": "u1"}}
