"""One IRC connection: jaraco `irc` parses and writes lines; this adds what its asyncio client
lacks: IRCv3 capability negotiation (CAP LS 302 before NICK/USER, so registration waits for
it), SASL PLAIN that fails loudly, PING answers, nick fallback while registering, and the time
the last line arrived (for dead-link detection).

Events go to one callback instead of jaraco's reactor-wide handlers, which would fire for every
connection on the reactor and take a threading lock per line.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import ssl
import time
from collections.abc import Callable
from typing import Any

from adapters.irc import lean_schedule  # noqa: F401  (before irc.client loads tempora)

# isort: split

from irc import connection
from irc.client import Event
from irc.client_aio import AioConnection, AioReactor
from jaraco.stream import buffer

from adapters.irc.translate import message_event

log = logging.getLogger(__name__)

WANTED_CAPS = frozenset({"message-tags", "account-tag", "extended-join", "account-notify",
                         "server-time", "echo-message", "batch", "multi-prefix", "cap-notify",
                         "chghost", "extended-monitor"})


class SaslFailedError(Exception):
    """The server refused the bot's SASL login: running unauthenticated is not an option."""


class ServicesMissingError(ConnectionError):
    """SASL is configured but the server offers none (yet): services may still be linking."""


class IrcLink(AioConnection):  # type: ignore[misc]  # jaraco irc ships no type hints
    buffer_class = buffer.LenientDecodingLineBuffer  # a latin-1 line must not end the link

    def __init__(self, reactor: AioReactor, on_event: Callable[[IrcLink, Event], None]) -> None:
        super().__init__(reactor)
        self.on_event = on_event
        self.enabled_caps: set[str] = set()
        self.offered_caps: dict[str, str] = {}
        self.isupport: dict[str, str] = {}  # 005 tokens, e.g. WHOX, NICKLEN
        self.account: str | None = None
        self.last_data = time.monotonic()
        self.registered: asyncio.Future[None] = reactor.loop.create_future()
        self.transport: asyncio.Transport | None = None  # until connected
        self.closed_because = ""  # the server's ERROR text, e.g. a flood or a ban
        self._sasl: tuple[str, str] | None = None
        self._nicks: list[str] = []

    async def open(self, host: str, port: int, *, tls: bool, tls_verify: bool, nicks: list[str],
                   username: str, realname: str, sasl: tuple[str, str] | None) -> None:
        """Connect and start registering; `registered` resolves on 001 (or fails)."""
        self._sasl = sasl
        self._nicks = list(nicks)
        context: ssl.SSLContext | None = None
        if tls:
            context = ssl.create_default_context()
            if not tls_verify:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
        factory = connection.AioFactory(ssl=context) if context else connection.AioFactory()
        self.buffer = self.buffer_class()
        self.handlers: dict[str, Any] = {}
        self.real_server_name = ""
        self.real_nickname = self._nicks[0]
        self.server, self.port = host, port
        self.server_address = (host, port)
        self.nickname, self.username, self.ircname = self._nicks[0], username, realname
        self.password = None
        self.connect_factory = factory
        protocol = self.protocol_class(self, self.reactor.loop)
        self.transport, self.protocol = await factory(protocol, self.server_address)
        self.connected = True
        self.send_line("CAP LS 302")
        self.send_line(f"NICK {self._nicks[0]}")
        self.send_line(f"USER {username} 0 * :{realname}")

    def send_line(self, line: str) -> None:
        """Write one protocol line now. Callers pass cleaned text; this is the last guard."""
        if any(ch in line for ch in "\r\n\0"):
            raise ValueError(f"refusing to send a line with CR, LF or NUL: {line[:60]!r}")
        if self.transport is None or self.transport.is_closing():
            raise ConnectionError("not connected")
        self.transport.write(line.encode() + b"\r\n")

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()

    @property
    def is_open(self) -> bool:
        return bool(self.connected) and self.transport is not None and \
            not self.transport.is_closing()

    def process_data(self, new_data: bytes) -> None:
        self.last_data = time.monotonic()
        super().process_data(new_data)

    def disconnect(self, message: str = "") -> None:
        # jaraco sends QUIT on a transport that is already gone; just close and report.
        if not getattr(self, "connected", False):
            return
        self.connected = False
        self.close()
        if not self.registered.done():
            self.registered.set_exception(ConnectionError(message or "connection closed"))
        self.on_event(self, Event("disconnect", self.server, "", [message]))

    def _handle_message(self, arguments: list[str], command: str, source: Any,
                        tags: Any) -> None:
        self._handle_event(message_event(arguments, command, source, tags))

    def _handle_event(self, event: Event) -> None:
        kind, args = event.type, event.arguments
        if kind == "ping":
            self.send_line(f"PONG :{event.target}")
            return
        if kind == "cap":
            self._on_cap(args)
        elif kind == "authenticate" and event.target == "+" and self._sasl:
            account, password = self._sasl
            token = base64.b64encode(f"{account}\0{account}\0{password}".encode()).decode()
            for start in range(0, len(token), 400):  # AUTHENTICATE carries 400 bytes a line
                self.send_line(f"AUTHENTICATE {token[start:start + 400]}")
            if len(token) % 400 == 0:
                self.send_line("AUTHENTICATE +")
        elif kind == "featurelist":
            for token in args[:-1]:  # the last argument is "are supported by this server"
                name, _, value = str(token).partition("=")
                self.isupport[name.upper()] = value
        elif kind == "loggedin":
            self.account = args[1] if len(args) > 1 else None
        elif kind == "saslsuccess":
            self.send_line("CAP END")
        elif kind in ("saslfail", "sasltoolong", "saslaborted", "nicklocked"):
            self._fail(SaslFailedError(" ".join(args) or kind))
        elif kind == "welcome":
            if not self.registered.done():
                self.registered.set_result(None)
        elif kind in ("nicknameinuse", "erroneusnickname", "unavailresource") and \
                not self.registered.done():
            self._next_nick()
        elif kind == "error":
            self.closed_because = " ".join(str(a) for a in args) or str(event.target or "")
            if not self.registered.done():
                self._fail(ConnectionError(self.closed_because or "the server closed the link"))
        self.on_event(self, event)

    def _on_cap(self, args: list[Any]) -> None:
        sub = str(args[0]).upper() if args else ""
        if sub == "LS":
            more = len(args) > 2 and args[1] == "*"
            for item in str(args[-1]).split():
                name, _, value = item.partition("=")
                self.offered_caps[name] = value
            if more or self.registered.done():
                return
            wanted = set(WANTED_CAPS)
            if self._sasl:
                if "sasl" not in self.offered_caps:
                    self._fail(ServicesMissingError("the server offers no SASL (are services "
                                               "linked?)"))
                    return
                mechanisms = self.offered_caps["sasl"]
                if mechanisms and "PLAIN" not in mechanisms.upper().split(","):
                    self._fail(SaslFailedError(f"the server's SASL offers {mechanisms}, not PLAIN"))
                    return
                wanted.add("sasl")
            request = sorted(wanted & set(self.offered_caps))
            if request:
                self.send_line("CAP REQ :" + " ".join(request))
            else:
                self.send_line("CAP END")
        elif sub == "NEW":
            for item in str(args[-1]).split():
                name, _, value = item.partition("=")
                self.offered_caps[name] = value
            new = sorted((WANTED_CAPS - self.enabled_caps) & set(self.offered_caps))
            if new:
                self.send_line("CAP REQ :" + " ".join(new))
        elif sub == "DEL":
            for name in str(args[-1]).split():
                self.offered_caps.pop(name, None)
                self.enabled_caps.discard(name)
        elif sub == "ACK":
            self.enabled_caps |= {c.lstrip("-~=") for c in str(args[-1]).split()
                                  if not c.startswith("-")}
            if self.registered.done():
                return
            if self._sasl and "sasl" in self.enabled_caps:
                self.send_line("AUTHENTICATE PLAIN")
            else:
                self.send_line("CAP END")
        elif sub == "NAK":
            if self._sasl and not self.registered.done():
                self._fail(SaslFailedError("the server refused the sasl capability"))
            elif not self.registered.done():
                self.send_line("CAP END")

    def _next_nick(self) -> None:
        tried = self.real_nickname
        index = self._nicks.index(tried) + 1 if tried in self._nicks else len(self._nicks)
        if index >= len(self._nicks):
            self._nicks.append(f"{self._nicks[0][:12]}{len(self._nicks)}")
        self.real_nickname = self._nicks[index]
        self.send_line(f"NICK {self.real_nickname}")

    def _fail(self, error: Exception) -> None:
        if not self.registered.done():
            self.registered.set_exception(error)
        self.close()
