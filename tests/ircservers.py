"""Real IRC servers on 127.0.0.1 for the adapter tests: InspIRCd with Anope services (accounts,
SASL, IRCv3) and ngIRCd (plain), started and stopped by fixtures; a raw-line test client; and
a recording TCP proxy that captures exactly what the bot writes to the wire.

The configs are the tested templates from the realservers guide (tests/servers/*.in). A server
that cannot start fails the test with what is missing; nothing is skipped.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import shutil
import ssl
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.serverkit import free_port, render

INSTALL_HINT = "install it with: apt-get install -y inspircd anope ngircd (.ci/run does)"
# InspIRCd's own defaults for flood control: no threshold, commandrate or fakelag overrides.
DEFAULT_FLOOD_CLASS = ('<connect name="main" allow="*" timeout="60" pingfreq="120" '
                       'localmax="1000" globalmax="1000" resolvehostnames="no" useident="no">')


def need(binary: str) -> str:
    path = shutil.which(binary) or (f"/usr/sbin/{binary}" if Path(f"/usr/sbin/{binary}").exists()
                                    else None)
    if path is None:
        pytest.fail(f"{binary} is not installed; {INSTALL_HINT}")
    return path


async def wait_port(port: int, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while True:
        try:
            _r, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail(f"{what} did not listen on 127.0.0.1:{port} within {within:.0f} s")
            await asyncio.sleep(0.02)


@dataclass
class IrcServer:
    """One server process (and, for InspIRCd, Anope), restartable on the same port."""

    kind: str  # "inspircd" or "ngircd"
    base: Path
    port: int
    services: bool = False
    default_flood: bool = False
    link_port: int = 0
    procs: list[asyncio.subprocess.Process] = field(default_factory=list)

    async def start(self) -> None:
        """Start the processes; files are prepared off the loop, processes spawned on it."""
        if self.kind == "ngircd":
            conf = await asyncio.to_thread(self._prepare_ngircd)
            await self._spawn(need("ngircd"), "-n", "-f", str(conf))
            await wait_port(self.port, 10, "ngIRCd")
            return
        conf = await asyncio.to_thread(self._prepare_inspircd)
        await self._spawn(need("inspircd"), "--config", str(conf), "--nofork", "--runasroot")
        await wait_port(self.port, 15, "InspIRCd")
        if self.services:
            conf_dir, data, logs = await asyncio.to_thread(self._prepare_anope)
            await self._spawn("setpriv", "--reuid=irc", "--regid=irc", "--clear-groups",
                              need("anope"), "--nofork", f"--confdir={conf_dir}",
                              f"--dbdir={data}", f"--logdir={logs}",
                              "--modulesdir=/usr/lib/anope",
                              "--localedir=/usr/share/anope/locale")
            await self._wait_for_services(logs)

    async def _spawn(self, *argv: str) -> None:
        self.procs.append(await asyncio.create_subprocess_exec(
            *argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def _prepare_ngircd(self) -> Path:
        conf = self.base / "ngircd.conf"
        render("ngircd.conf.in", conf, CLIENT_PORT=self.port)
        os.chmod(conf, 0o644)  # ngIRCd reads it again after dropping to user irc
        return conf

    def _prepare_inspircd(self) -> Path:
        run = self.base / "ircd"
        run.mkdir(exist_ok=True)
        self.link_port = self.link_port or free_port()
        conf = run / "inspircd.conf"
        render("inspircd.conf.in", conf, RUNDIR=run, CLIENT_PORT=self.port,
               LINK_PORT=self.link_port)
        if self.default_flood:
            text = conf.read_text()
            start = text.index("<connect name=")
            end = text.index(">", text.index('resolvehostnames="no"')) + 1
            conf.write_text(text[:start] + DEFAULT_FLOOD_CLASS + text[end:])
        return conf

    def _prepare_anope(self) -> tuple[Path, Path, Path]:
        conf, data, logs = self.base / "anope", self.base / "anope-data", self.base / "anope-logs"
        for folder in (conf, data / "backups", logs):
            folder.mkdir(parents=True, exist_ok=True)
        render("anope-services.conf.in", conf / "services.conf", LINK_PORT=self.link_port,
               DATADIR=data)
        motd = Path("/etc/anope/services.motd")
        if not motd.exists():
            pytest.fail(f"{motd} is missing; {INSTALL_HINT}")
        for path in (self.base, conf, conf / "services.conf"):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        subprocess.run(["chown", "-R", "irc:irc", str(data), str(logs)], check=True)
        return conf, data, logs

    async def _wait_for_services(self, logs: Path) -> None:
        def synced() -> bool:
            return any("is done syncing" in log.read_text(errors="replace")
                       for log in logs.glob("services.log*"))

        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if await asyncio.to_thread(synced):
                return
            if self.procs[-1].returncode is not None:
                pytest.fail(f"Anope exited with {self.procs[-1].returncode}; see {logs}")
            await asyncio.sleep(0.05)
        pytest.fail(f"Anope did not link to InspIRCd within 20 s; see {logs}")

    async def stop(self) -> None:
        """Kill the processes and remove their folder."""
        await self.kill()
        await asyncio.to_thread(shutil.rmtree, self.base, True)

    async def kill(self) -> None:
        """kill -9 every process: the server vanishes without a goodbye."""
        for proc in self.procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        self.procs.clear()


async def start_server(kind: str, services: bool = False,
                       default_flood: bool = False) -> IrcServer:
    # Not under pytest's tmp_path: Anope runs as user irc, and that folder is 0700 to root.
    base = Path(tempfile.mkdtemp(prefix=f"wayfinder-{kind}-"))
    os.chmod(base, 0o755)
    server = IrcServer(kind, base, free_port(), services, default_flood)
    try:
        await server.start()
    except BaseException:
        await server.stop()
        raise
    return server


@dataclass
class Line:
    tags: dict[str, str]
    source: str
    command: str
    params: list[str]

    @property
    def nick(self) -> str:
        return self.source.split("!", 1)[0]


def parse_line(raw: str) -> Line:
    tags: dict[str, str] = {}
    if raw.startswith("@"):
        head, raw = raw[1:].split(" ", 1)
        for item in head.split(";"):
            key, _, value = item.partition("=")
            tags[key] = value
    source = ""
    if raw.startswith(":"):
        source, raw = raw[1:].split(" ", 1)
    trailing = None
    if " :" in raw:
        raw, trailing = raw.split(" :", 1)
    parts = raw.split()
    params = parts[1:] + ([trailing] if trailing is not None else [])
    return Line(tags, source, parts[0].upper(), params)


class Client:
    """A person on IRC, speaking raw lines (so the test sees exactly what arrives)."""

    def __init__(self, nick: str) -> None:
        self.nick = nick
        self.lines: asyncio.Queue[Line] = asyncio.Queue()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None

    async def connect(self, port: int, *, caps: tuple[str, ...] = (),
                      sasl: tuple[str, str] | None = None) -> None:
        self._reader, self._writer = await asyncio.open_connection("127.0.0.1", port)
        self._task = asyncio.create_task(self._read())
        if caps or sasl:
            wanted = [*caps, *(["sasl"] if sasl else [])]
            self.send(f"CAP REQ :{' '.join(wanted)}")
        self.send(f"NICK {self.nick}")
        user = "".join(c for c in self.nick if c.isalnum())[:10] or "person"  # "ana[m]" too
        self.send(f"USER {user} 0 * :test person")
        if sasl:
            await self.expect(lambda ln: ln.command == "CAP" and "ACK" in ln.params, 10)
            self.send("AUTHENTICATE PLAIN")
            await self.expect(lambda ln: ln.command == "AUTHENTICATE", 10)
            token = base64.b64encode(f"{sasl[0]}\0{sasl[0]}\0{sasl[1]}".encode()).decode()
            self.send(f"AUTHENTICATE {token}")
            await self.expect(lambda ln: ln.command == "903", 10)
        if caps or sasl:
            self.send("CAP END")
        await self.expect(lambda ln: ln.command == "001", 15)

    async def _read(self) -> None:
        assert self._reader is not None
        while True:
            raw = await self._reader.readline()
            if not raw:
                return
            line = parse_line(raw.decode(errors="replace").rstrip("\r\n"))
            if line.command == "PING":
                self.send(f"PONG :{line.params[-1]}")
                continue
            await self.lines.put(line)

    def send(self, line: str) -> None:
        assert self._writer is not None
        self._writer.write(line.encode() + b"\r\n")

    def say(self, target: str, text: str) -> None:
        self.send(f"PRIVMSG {target} :{text}")

    async def expect(self, match: Callable[[Line], bool], within: float = 10) -> Line:
        async with asyncio.timeout(within):
            while True:
                line = await self.lines.get()
                if match(line):
                    return line

    async def from_bot(self, bot: str, within: float = 10) -> str:
        """The text of the next private message from the bot."""
        line = await self.expect(lambda ln: ln.command == "PRIVMSG" and ln.nick == bot and
                                 ln.params[0] == self.nick, within)
        return line.params[-1]

    async def reply(self, bot: str, quiet: float = 0.3, within: float = 10) -> str:
        """Every line of the bot's next answer (until it is quiet for `quiet` seconds)."""
        lines = [await self.from_bot(bot, within)]
        while True:
            try:
                lines.append(await self.from_bot(bot, quiet))
            except TimeoutError:
                return "\n".join(lines)

    async def register_account(self, password: str) -> None:
        self.say("NickServ", f"REGISTER {password} {self.nick}@example.test")
        await self.expect(lambda ln: ln.command == "900" or (
            ln.command == "NOTICE" and "registered" in ln.params[-1].lower()), 10)

    async def join(self, channel: str) -> None:
        self.send(f"JOIN {channel}")
        await self.expect(lambda ln: ln.command == "366" and ln.params[1].lower() ==
                          channel.lower(), 10)

    async def close(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(OSError):
                self.send("QUIT :bye")
                await self._writer.drain()
            self._writer.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await self._task


def self_signed_tls(folder: Path) -> ssl.SSLContext:
    """A server TLS context with a throwaway self-signed certificate for 127.0.0.1."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


class WireTap:
    """A TCP proxy between the bot and a server that records every line the bot writes.
    Closing `gate` makes it refuse the bot (as a down server would) until it opens again.
    With `cut_after_privmsgs`, it drops the link once, when it has passed on that many
    PRIVMSG lines in all, and closes the gate."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.sent: list[str] = []
        self._privmsgs = 0
        self._recorded = asyncio.Condition()
        self.gate = asyncio.Event()
        self.gate.set()
        self.cut_after_privmsgs: int | None = None
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.StreamWriter] = set()

    async def start(self, tls: ssl.SSLContext | None = None) -> None:
        """Listen on a free port; with `tls`, the bot's side is TLS (the server's stays plain)."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=tls)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.gate.is_set():
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1",
                                                                 self.upstream_port)
        except OSError:
            writer.close()
            return
        self._conns |= {writer, up_writer}

        async def pump_up() -> None:
            while line := await reader.readline():
                self.sent.append(line.decode(errors="replace"))
                self._privmsgs += line.startswith(b"PRIVMSG ")
                up_writer.write(line)
                async with self._recorded:
                    self._recorded.notify_all()
                if self._privmsgs == self.cut_after_privmsgs:
                    self.cut_after_privmsgs = None  # once
                    self.gate.clear()
                    await up_writer.drain()
                    writer.close()
                    break
            up_writer.close()

        async def pump_down() -> None:
            while data := await up_reader.read(65536):
                writer.write(data)
            writer.close()

        with contextlib.suppress(OSError, ConnectionError):
            await asyncio.gather(pump_up(), pump_down())
        writer.close()
        up_writer.close()
        self._conns -= {writer, up_writer}

    async def close(self) -> None:
        for conn in list(self._conns):
            conn.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def privmsgs(self) -> list[str]:
        return [line for line in self.sent if line.startswith("PRIVMSG ")]

    async def until_privmsgs(self, count: int, within: float = 10) -> None:
        """Wait for the tap to have read `count` PRIVMSG lines: a send that returned has
        written its line, which may still be on its way through the proxy."""
        try:
            async with asyncio.timeout(within), self._recorded:
                await self._recorded.wait_for(lambda: self._privmsgs >= count)
        except TimeoutError:
            raise AssertionError(f"the tap read {self._privmsgs} PRIVMSG lines in {within} s, "
                                 f"not {count}") from None
