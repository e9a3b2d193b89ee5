"""A real Synapse on 127.0.0.1 for the Matrix tests, from its own venv (.venv-synapse, made by
scripts/ensure-synapse), with the tested config template (tests/servers/homeserver.yaml.in:
no federation, SQLite, relaxed rate limits unless `default_limits`). Users are registered with
the shared-secret admin API. A Synapse that cannot start fails the test with what is missing.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from tests.serverkit import free_port, render

ROOT = Path(__file__).resolve().parent.parent
SYNAPSE_PYTHON = ROOT / ".venv-synapse" / "bin" / "python"
SHARED_SECRET = "test-shared-secret"
INSTALL_HINT = "run scripts/ensure-synapse (scripts/test and .ci/run do)"
RELAXED_LIMITS_START = "# --- relaxed rate limits"


@dataclass
class Synapse:
    base: Path
    port: int
    default_limits: bool = False
    proc: asyncio.subprocess.Process | None = field(default=None)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _prepare(self) -> Path:
        conf = self.base / "homeserver.yaml"
        render("homeserver.yaml.in", conf, PORT=self.port, DIR=self.base)
        render("log.yaml.in", self.base / "log.yaml", DIR=self.base)
        if self.default_limits:  # Synapse's own rate limits, for the 429 tests
            text = conf.read_text()
            conf.write_text(text[:text.index(RELAXED_LIMITS_START)])
        return conf

    async def start(self) -> None:
        if not SYNAPSE_PYTHON.exists():
            pytest.fail(f"Synapse's venv is missing ({SYNAPSE_PYTHON}); {INSTALL_HINT}")
        conf = await asyncio.to_thread(self._prepare)
        if not (self.base / "localhost.signing.key").exists():
            keys = await asyncio.create_subprocess_exec(
                str(SYNAPSE_PYTHON), "-m", "synapse.app.homeserver", "-c", str(conf),
                "--generate-keys", stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            _out, err = await keys.communicate()
            if keys.returncode != 0:
                pytest.fail(f"Synapse could not generate keys: {err.decode()[-500:]}")
        self.proc = await asyncio.create_subprocess_exec(
            str(SYNAPSE_PYTHON), "-m", "synapse.app.homeserver", "-c", str(conf),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.proc.returncode is not None:
                    pytest.fail(f"Synapse exited with {self.proc.returncode}; see "
                                f"{self.base / 'homeserver.log'}")
                try:
                    async with http.get(f"{self.url}/_matrix/client/versions") as answer:
                        if answer.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)
        pytest.fail(f"Synapse did not answer on {self.url} within 30 s")

    async def stop(self) -> None:
        """SIGTERM (Synapse stops in well under a second); the data stays for a restart."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 10)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        self.proc = None

    async def remove(self) -> None:
        await self.stop()
        await asyncio.to_thread(shutil.rmtree, self.base, True)

    async def register(self, user: str, password: str, admin: bool = False) -> str:
        """A new account through the shared-secret admin API; returns its mxid."""
        url = f"{self.url}/_synapse/admin/v1/register"
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as answer:
                nonce = (await answer.json())["nonce"]
            mac = hmac.new(SHARED_SECRET.encode(), digestmod=hashlib.sha1)
            mac.update(b"\x00".join(part.encode() for part in (
                nonce, user, password, "admin" if admin else "notadmin")))
            body = {"nonce": nonce, "username": user, "password": password, "admin": admin,
                    "mac": mac.hexdigest()}
            async with http.post(url, json=body) as answer:
                if answer.status != 200:
                    pytest.fail(f"could not register {user}: {await answer.text()}")
                return str((await answer.json())["user_id"])


async def start_synapse(default_limits: bool = False) -> Synapse:
    base = Path(tempfile.mkdtemp(prefix="wayfinder-synapse-"))
    os.chmod(base, 0o755)
    server = Synapse(base, free_port(), default_limits)
    try:
        await server.start()
    except BaseException:
        await server.remove()
        raise
    return server

