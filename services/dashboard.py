"""The web dashboard's access: redeeming a `!dashboard` link for a session, the session behind
a cookie, logging out, who holds which role now, and the audit of what is done on the web.

It works on a started store (the web server's), never on the engine: a login is one unit of
work through the store's writer (the link used, the session opened, the audit row), like the
chat commands' writes. Roles are read again from the config, the content and the mentor
grants on every request, so a role taken away ends access at once.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from bot.config import Config
from bot.content import Content
from bot.engine import utcnow
from bot.feature import role_grants
from bot.i18n import LOCALE_KEY, N_
from bot.model import ExternalId, Identity, Network, PersonId
from bot.ports import ConflictError, OutboxRow, UnitOfWork
from bot.records import Audit, Record
from bot.roles import Directory
from bot.wiring import FEATURES, load_content
from flows.dashboard.records import EndSession, Session, StartSession, UseLoginLink
from flows.dashboard.settings import DashboardConfig
from flows.dashboard.tokens import LOGIN_SALT, SESSION_SALT, new_nonce, nonce_hash, sign, unsign
from flows.events.records import Event
from services.dashboard_views import DashboardPages
from storage.repository import SqlStore

GRANTS_FRESH_SECONDS = 5.0  # mentor grants another process recorded show within this
# Why a login is refused: message ids (N_), which the login page says in its language.
BAD_LINK = N_("This login link isn't valid: it may be incomplete, used already or expired. "
              "Type !dashboard in a private chat with the bot for a fresh one.")
NO_ROLE = N_("Your account no longer holds a role the dashboard is for (organizer, admin or "
             "mentor).")


@dataclass(frozen=True)
class Login:
    """A redeemed link: the cookie to set, and the session it stands for."""

    cookie: str
    session: Session
    roles: frozenset[str]


@dataclass(frozen=True)
class Refused:
    reason: str  # an English message id: `tr.t(reason)` says it in a page's language


def identity_of(key: str) -> Identity:
    """A session's identity: always a verified one (only those can ask for a link)."""
    network, _, external = key.partition(":")
    return Identity(Network(network), ExternalId(external), True)


class DashboardAccess:
    """Logins, sessions and roles for one web server, on its started store."""

    def __init__(self, config: Config, store: SqlStore, content: Callable[[], Content],
                 clock: Callable[[], datetime] = utcnow,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.store = store
        self.content = content
        self.clock = clock
        self._monotonic = monotonic
        self.settings = config.settings_of(DashboardConfig)
        self._directory: Directory | None = None
        self._loaded_at = -GRANTS_FRESH_SECONDS

    # -- roles -------------------------------------------------------------------------
    async def directory(self) -> Directory:
        content = self.content()
        now = self._monotonic()
        if self._directory is None or now - self._loaded_at >= GRANTS_FRESH_SECONDS:
            directory = Directory(self.config.roles, content, role_grants(FEATURES))
            await directory.load(self.store)
            self._directory, self._loaded_at = directory, now
        elif self._directory.content is not content:
            self._directory = self._directory.with_content(content)
        return self._directory

    async def roles(self, identity: str) -> frozenset[str]:
        """The dashboard's roles `identity` holds now (an admin is an organizer too)."""
        who = identity_of(identity)
        directory = await self.directory()
        held = {"admin"} if directory.is_admin(who) else set()
        if directory.is_organizer(who):
            held.add("organizer")
        if directory.holds("mentor", who):
            held.add("mentor")
        return frozenset(held)

    async def language(self, person_id: int) -> str:
        """The language the person speaks with the bot as they stored it (the one they chose
        with !language, else their chat app's), or "": their dashboard pages may use it."""
        state = await self.store.load_state(PersonId(person_id))
        stored = (state.data.get(LOCALE_KEY) if state is not None else None) or {}
        if not isinstance(stored, dict):
            return ""
        return str(stored.get("chosen") or stored.get("client") or "")

    # -- logging in and out ------------------------------------------------------------
    async def redeem(self, token: str) -> Login | Refused:
        """A `!dashboard` link's token: once, before it expires, by someone who still holds
        a role. Every attempt is audited, refusals too."""
        now = self.clock()
        key = await self.store.dashboard_key()
        nonce = unsign(key, LOGIN_SALT, token, int(self.settings.link_ttl.total_seconds()))
        found = await self.store.login_nonce(nonce_hash(nonce)) if nonce else None
        if nonce is None or found is None or found.used or found.expires_at <= now:
            who = found.identity if found is not None else "(unknown)"
            await self.audit(who, "refused:web:login", "a used, expired or invalid link")
            return Refused(BAD_LINK)
        roles = await self.roles(found.identity)
        if not roles:
            await self.audit(found.identity, "refused:web:login", "holds no dashboard role")
            return Refused(NO_ROLE)
        session_id, csrf = new_nonce(), secrets.token_urlsafe(24)
        expires = now + self.settings.session_length
        records: list[Record] = [
            UseLoginLink(nonce_hash(nonce), now),
            StartSession(nonce_hash(session_id), found.person_id, found.identity, csrf, now,
                         expires),
            Audit(found.identity, "web:login", ", ".join(sorted(roles)), now)]
        try:
            await self.store.commit(UnitOfWork(found.person_id, records=records))
        except ConflictError:  # used a moment ago, by another request
            await self.audit(found.identity, "refused:web:login", "a link used already")
            return Refused(BAD_LINK)
        session = Session(found.person_id, found.identity, csrf, expires)
        return Login(sign(key, SESSION_SALT, session_id), session, roles)

    async def session(self, cookie: str) -> Session | None:
        """The open session a cookie stands for; None for anything else."""
        if not cookie:
            return None
        key = await self.store.dashboard_key()
        session_id = unsign(key, SESSION_SALT, cookie,
                            int(self.settings.session_length.total_seconds()))
        if session_id is None:
            return None
        return await self.store.web_session(nonce_hash(session_id), self.clock())

    async def logout(self, cookie: str) -> None:
        session = await self.session(cookie)
        if session is None:
            return
        key = await self.store.dashboard_key()
        session_id = unsign(key, SESSION_SALT, cookie,
                            int(self.settings.session_length.total_seconds()))
        assert session_id is not None
        now = self.clock()
        await self.store.commit(UnitOfWork(session.person_id, records=[
            EndSession(nonce_hash(session_id), now),
            Audit(session.identity, "web:logout", "", now)]))

    async def audit(self, identity: str, action: str, detail: str) -> None:
        """One audit row, as the chat commands write theirs (`wayfinder audit` lists both)."""
        await self.store.commit(UnitOfWork(PersonId(0), records=[
            Audit(identity, action, detail[:1000], self.clock())]))


def csrf_matches(session: Session, sent: str) -> bool:
    return bool(sent) and secrets.compare_digest(session.csrf.encode(), sent.encode())


@dataclass(frozen=True)
class DashboardSite:
    """What the dashboard's pages are given: access (logins, sessions, roles), the pages'
    use cases, and whether the cookie must be Secure (public_url is https)."""

    access: DashboardAccess
    pages: DashboardPages
    secure: bool


def dashboard_site(config: Config, store: SqlStore, content: Callable[[], Content],
                   clock: Callable[[], datetime] = utcnow,
                   poke: Callable[[], None] = lambda: None,
                   hand_over: Callable[[Sequence[OutboxRow]], None] = lambda rows: None,
                   ) -> DashboardSite:
    """`poke` and `hand_over`: the running bot's dispatcher, told of what this server
    queued (broadcast rows it finds itself; a message to one person it is handed)."""
    return DashboardSite(DashboardAccess(config, store, content, clock),
                         DashboardPages(config, store, content, clock, poke,
                                        hand_over=hand_over),
                         config.web.public_url.startswith("https://"))


@asynccontextmanager
async def dashboard_alone(config: Config) -> AsyncIterator[DashboardSite]:
    """`wayfinder web` alone: the dashboard on a store of its own, started (logins and
    broadcasts are written through its writer), with the content folder as it is at start.
    The running bot's dispatcher sends what a broadcast queues."""
    content = load_content(config.content_path())
    store = SqlStore.open(config.storage.url, config.storage.durable)
    await store.start()
    try:
        yield dashboard_site(config, store, lambda: content)
    finally:
        await store.close()


Store = SqlStore  # what the web server hands over: the running bot's store


__all__ = ["BAD_LINK", "DashboardAccess", "DashboardSite", "Event", "Login", "Refused", "Session",
           "Store", "csrf_matches", "dashboard_alone", "dashboard_site", "identity_of"]
