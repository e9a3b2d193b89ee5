"""Cross-signing the bot's own device, by hand: matrix-nio 0.26 has no cross-signing (its
issue #229 is open), so the bot speaks the client-server API itself with nio's access token.

The bot's master and self-signing keys are Ed25519 seeds from the environment (32 bytes,
base64). At each start the bot asks the homeserver for its own keys and does only what is
missing: it publishes the two public keys (the self-signing key signed by the master key),
then signs its device's keys with the self-signing key. Clients that trust the bot's master
key (on first use, as Element does for other people) then see its device as verified by its
owner instead of as an unverified session. There is no user-signing key: the bot verifies
nobody else.

Replacing master keys that are already published needs the account's password
(user-interactive auth); the first upload does not, on Synapse 1.97 and later (MSC3967).
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

log = logging.getLogger(__name__)


class CrossSigningError(Exception):
    pass


def unpadded(data: bytes) -> str:
    return base64.b64encode(data).decode().rstrip("=")


def seed_key(seed: str, what: str) -> Ed25519PrivateKey:
    """An Ed25519 key from its 32-byte seed in (unpadded) base64."""
    try:
        raw = base64.b64decode(seed.strip() + "=" * (-len(seed.strip()) % 4), validate=True)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise CrossSigningError(f"the {what} is not 32 bytes in base64 (make one with: python "
                                "-c 'import os,base64; print(base64.b64encode(os.urandom(32))"
                                ".decode())')")
    return Ed25519PrivateKey.from_private_bytes(raw)


def public(key: Ed25519PrivateKey) -> str:
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    return unpadded(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


def canonical(value: dict[str, Any]) -> bytes:
    """Matrix's canonical JSON of a signed object (without signatures and unsigned)."""
    bare = {k: v for k, v in value.items() if k not in ("signatures", "unsigned")}
    return json.dumps(bare, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode()


def signed(value: dict[str, Any], user_id: str, key: Ed25519PrivateKey) -> dict[str, Any]:
    signature = unpadded(key.sign(canonical(value)))
    signatures = dict(value.get("signatures") or {})
    signatures[user_id] = {**signatures.get(user_id, {}), f"ed25519:{public(key)}": signature}
    return {**{k: v for k, v in value.items() if k != "unsigned"}, "signatures": signatures}


class CrossSigner:
    def __init__(self, homeserver: str, user_id: str, device_id: str, access_token: str,
                 master_seed: str, self_signing_seed: str, password: str = "") -> None:
        self.url = homeserver.rstrip("/") + "/_matrix/client/v3"
        self.user_id = user_id
        self.device_id = device_id
        self.headers = {"Authorization": f"Bearer {access_token}"}
        self.master = seed_key(master_seed, "cross-signing master key")
        self.self_signing = seed_key(self_signing_seed, "cross-signing self-signing key")
        self.password = password

    async def run(self) -> list[str]:
        """Publish what is missing; returns what was done, in words ([] when nothing was)."""
        done: list[str] = []
        async with aiohttp.ClientSession(headers=self.headers) as http:
            keys = await self._query(http)
            if self._public(keys, "master_keys") != public(self.master) or \
                    self._public(keys, "self_signing_keys") != public(self.self_signing):
                await self._publish(http)
                done.append(f"published the master key {public(self.master)}")
                keys = await self._query(http)
            device = keys.get("device_keys", {}).get(self.user_id, {}).get(self.device_id)
            if not isinstance(device, dict):
                raise CrossSigningError(f"the homeserver has no keys of device {self.device_id}")
            ssk_id = f"ed25519:{public(self.self_signing)}"
            if ssk_id not in device.get("signatures", {}).get(self.user_id, {}):
                await self._post(http, "/keys/signatures/upload", {self.user_id: {
                    self.device_id: signed(device, self.user_id, self.self_signing)}})
                done.append(f"signed device {self.device_id}")
        return done

    def _public(self, keys: dict[str, Any], kind: str) -> str:
        found = keys.get(kind, {}).get(self.user_id, {}).get("keys", {})
        return next(iter(found.values()), "") if isinstance(found, dict) else ""

    async def _query(self, http: aiohttp.ClientSession) -> dict[str, Any]:
        return await self._post(http, "/keys/query", {"device_keys": {self.user_id: []}})

    async def _publish(self, http: aiohttp.ClientSession) -> None:
        mpub, spub = public(self.master), public(self.self_signing)
        master = {"user_id": self.user_id, "usage": ["master"], "keys": {f"ed25519:{mpub}": mpub}}
        ssk = signed({"user_id": self.user_id, "usage": ["self_signing"],
                      "keys": {f"ed25519:{spub}": spub}}, self.user_id, self.master)
        body: dict[str, Any] = {"master_key": master, "self_signing_key": ssk}
        async with http.post(self.url + "/keys/device_signing/upload", json=body) as answer:
            if answer.status == 200:
                return
            challenge = await answer.json(content_type=None)
        if answer.status != 401 or not self.password:
            raise CrossSigningError(
                f"the homeserver refused the cross-signing keys ({answer.status}: "
                f"{challenge.get('error', challenge)}); replacing keys it has already needs "
                "the account's password (log in with password_env, not an access token)")
        body["auth"] = {"type": "m.login.password", "session": challenge.get("session"),
                        "identifier": {"type": "m.id.user", "user": self.user_id},
                        "password": self.password}
        await self._post(http, "/keys/device_signing/upload", body)

    async def _post(self, http: aiohttp.ClientSession, path: str,
                    body: dict[str, Any]) -> dict[str, Any]:
        async with http.post(self.url + path, json=body) as answer:
            data = await answer.json(content_type=None)
            if answer.status != 200 or not isinstance(data, dict) or data.get("failures"):
                raise CrossSigningError(f"{path}: {answer.status} {data}")
            return data
