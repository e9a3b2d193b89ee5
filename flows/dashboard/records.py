"""The dashboard's records: one-time login links issued by `!dashboard`, and the web sessions
they open. Only hashes of the link's nonce and of the session id are stored: someone who can
read the store cannot log in with what they read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.model import PersonId
from bot.records import Record


@dataclass(frozen=True)
class LoginLink(Record):
    """A link issued to `identity` (the verified "network:id" that asked): it logs in once,
    before `expires_at`."""

    nonce_hash: str
    person_id: PersonId
    identity: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class UseLoginLink(Record):
    """Fails (stale) unless the link is still unused and unexpired: one login per link."""

    nonce_hash: str
    at: datetime


@dataclass(frozen=True)
class StartSession(Record):
    session_hash: str
    person_id: PersonId
    identity: str
    csrf: str  # the token every form of this session carries
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class EndSession(Record):
    session_hash: str
    at: datetime


@dataclass(frozen=True)
class Session:
    """A live web session: who, as which verified identity, and its forms' CSRF token."""

    person_id: PersonId
    identity: str
    csrf: str
    expires_at: datetime


@dataclass(frozen=True)
class LoginNonce:
    person_id: PersonId
    identity: str
    expires_at: datetime
    used: bool
