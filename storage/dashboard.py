"""The dashboard's tables: its signing key (made when the table is created), the one-time
login links `!dashboard` issues and the web sessions they open, each stored as a hash."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Field

from bot.model import PersonId
from bot.records import Record
from flows.dashboard.records import (
    EndSession,
    LoginLink,
    LoginNonce,
    Session,
    StartSession,
    UseLoginLink,
)
from storage.queries import Queries
from storage.records import Expiring, Personal, RecordSql, bind, by_person, expect_one
from storage.tables import Table, _when


class DashboardKeyRow(Table, table=True):
    """The key login links and session cookies are signed with: one row, written by the
    migration that creates the table, so every process of one store signs alike."""

    __tablename__ = "dashboard_key"
    name: str = Field(primary_key=True, max_length=32)
    secret: str = Field(max_length=128)


class LoginLinkRow(Table, table=True):
    __tablename__ = "dashboard_login"
    nonce_hash: str = Field(primary_key=True, max_length=64)
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    identity: str = Field(max_length=300)
    created_at: datetime = _when()
    expires_at: datetime = _when()
    used_at: datetime | None = _when(nullable=True)


class SessionRow(Table, table=True):
    __tablename__ = "dashboard_session"
    session_hash: str = Field(primary_key=True, max_length=64)
    person_id: int = Field(foreign_key="person.id", index=True, ondelete="CASCADE")
    identity: str = Field(max_length=300)
    csrf: str = Field(max_length=64)
    created_at: datetime = _when()
    expires_at: datetime = _when()
    ended_at: datetime | None = _when(nullable=True)


key_t = DashboardKeyRow.__table__  # type: ignore[attr-defined]
login_t = LoginLinkRow.__table__  # type: ignore[attr-defined]
session_t = SessionRow.__table__  # type: ignore[attr-defined]


class DashboardQueries(Queries):
    _dashboard_key: str | None = None

    async def dashboard_key(self) -> str:
        """The signing key (it never changes while the store is open: read once)."""
        if self._dashboard_key is None:
            row = await self._one(sa.select(key_t.c.secret).where(key_t.c.name == "signing"))
            if row is None:
                raise LookupError("the store has no dashboard key: run `wayfinder db upgrade`")
            self._dashboard_key = str(row[0])
        return self._dashboard_key

    async def login_links_since(self, person_id: PersonId, since: datetime) -> int:
        stmt = sa.select(sa.func.count()).select_from(login_t).where(
            login_t.c.person_id == person_id, login_t.c.created_at >= since)
        return int((await self._one(stmt))[0])

    async def login_nonce(self, nonce_hash: str) -> LoginNonce | None:
        row = await self._one(sa.select(login_t).where(login_t.c.nonce_hash == nonce_hash))
        if row is None:
            return None
        return LoginNonce(PersonId(row.person_id), row.identity, row.expires_at,
                          row.used_at is not None)

    async def web_session(self, session_hash: str, now: datetime) -> Session | None:
        """A session still open: not logged out, not expired."""
        row = await self._one(sa.select(session_t).where(
            session_t.c.session_hash == session_hash, session_t.c.ended_at.is_(None),
            session_t.c.expires_at > now))
        if row is None:
            return None
        return Session(PersonId(row.person_id), row.identity, row.csrf, row.expires_at)


_LOGIN = sa.insert(login_t)
_USE_LOGIN = sa.update(login_t).where(
    login_t.c.nonce_hash == bind("hash"), login_t.c.used_at.is_(None),
    login_t.c.expires_at > bind("at")).values(used_at=bind("at"))
_SESSION = sa.insert(session_t)
_END_SESSION = sa.update(session_t).where(
    session_t.c.session_hash == bind("hash"), session_t.c.ended_at.is_(None)).values(
    ended_at=bind("at"))


def _apply(conn: Connection, record: Record, records: RecordSql) -> None:
    match record:
        case LoginLink():
            conn.execute(_LOGIN, {"nonce_hash": record.nonce_hash,
                                  "person_id": record.person_id, "identity": record.identity,
                                  "created_at": record.created_at,
                                  "expires_at": record.expires_at, "used_at": None})
        case UseLoginLink():
            expect_one(conn.execute(_USE_LOGIN, {"b_hash": record.nonce_hash,
                                                 "b_at": record.at}),
                       "login link used or expired")
        case StartSession():
            conn.execute(_SESSION, {"session_hash": record.session_hash,
                                    "person_id": record.person_id,
                                    "identity": record.identity, "csrf": record.csrf,
                                    "created_at": record.created_at,
                                    "expires_at": record.expires_at, "ended_at": None})
        case EndSession():
            conn.execute(_END_SESSION, {"b_hash": record.session_hash, "b_at": record.at})


def _move(conn: Connection, source: int, target: int) -> None:
    for table in (login_t, session_t):
        conn.execute(sa.update(table).where(table.c.person_id == source).values(
            person_id=target))


RECORDS = RecordSql(
    apply=dict.fromkeys((LoginLink, UseLoginLink, StartSession, EndSession), _apply),
    moves=(_move,),
    # `!mydata` shows when they asked for links and logged in; `!forget` ends their sessions
    # with the rows.
    personal=(Personal(login_t, ("person_id", "identity"), by_person()),
              Personal(session_t, ("person_id", "identity"), by_person())),
    # A link is of no use once expired, nor a session: they go with the inbox's limit.
    expiring=(Expiring("inbox", login_t, "expires_at", "expired dashboard links"),
              Expiring("inbox", session_t, "expires_at", "expired dashboard sessions")))
