"""Login links and session cookies: random nonces, signed with the store's dashboard key
(itsdangerous), so a token is checked before the store is asked; only the SHA-256 of a
nonce is stored, so what the store holds does not log anyone in."""

from __future__ import annotations

import hashlib
import secrets

LOGIN_SALT = "wayfinder.dashboard.login"
SESSION_SALT = "wayfinder.dashboard.session"


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def nonce_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def sign(key: str, salt: str, nonce: str) -> str:
    # itsdangerous is imported by the first link or cookie, not by an idle bot.
    from itsdangerous import URLSafeTimedSerializer

    return URLSafeTimedSerializer(key, salt=salt).dumps(nonce)


def unsign(key: str, salt: str, token: str, max_age: int) -> str | None:
    """The nonce in a token this key signed less than `max_age` seconds ago; None for
    anything else (forged, altered, expired, not a token at all)."""
    from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

    try:
        nonce = URLSafeTimedSerializer(key, salt=salt).loads(token[:400], max_age=max_age)
    except (BadSignature, SignatureExpired):
        return None
    return nonce if isinstance(nonce, str) and 16 <= len(nonce) <= 64 else None
