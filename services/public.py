"""The public pages' read model (web/): what anyone may see without logging in.

The featured projects with their docs, channels, mentors' public names, workshop and the
first tasks open now; upcoming events by region, in a time zone the visitor chooses; a
certificate by its code. No personal data: a mentor appears by the name given in
content/mentors.toml (never an identity), a certificate by the name its holder chose.

`PublicPages` reads a store it is given (the running bot's, or one `public_pages` opens for
`wayfinder web`) and the content of the moment (the bot's reloads included); it never reaches
into the engine.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache, partial
from typing import Protocol
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.config import Config
from bot.content import Content
from bot.engine import utcnow
from bot.reload import RELOAD_ACTION, ContentReloader
from bot.wiring import adapter_settings, describe_content, load_content
from flows.events.api import EventsContent
from flows.events.records import Event
from flows.mentoring.api import MentoringContent
from flows.path.api import PathContent, Project
from flows.path.records import Certificate, TaskHandOuts
from flows.tracker.records import LiveTask
from storage.repository import SqlStore

CACHE_SECONDS = 5.0  # the hub's store reads (open tasks) are shared this long between visitors
NETWORK_ORDER = ("matrix", "irc", "telegram")
TELEGRAM_LINK = "https://t.me/"
TELEGRAM_GROUP = re.compile(r"^https://t\.me/([A-Za-z0-9_]{4,64})/?$")  # as the bot reads it


@dataclass(frozen=True)
class ChatLink:
    """Where to start in chat on one network: what to show and, if any, a link to follow."""

    network: str  # "matrix", "irc", "telegram"
    label: str  # the room or channel as people type it
    url: str  # "" when there is nothing to click (an IRC channel without a web chat)
    start_url: str = ""  # a link that starts the bot's conversation for this project


@dataclass(frozen=True)
class OpenTask:
    title: str
    url: str
    skills: tuple[str, ...]
    estimate: str


@dataclass(frozen=True)
class StepView:
    title: str
    body: str


@dataclass(frozen=True)
class WorkshopView:
    id: str
    title: str
    certificate: bool
    steps: tuple[StepView, ...]


@dataclass(frozen=True)
class ProjectView:
    id: str
    name: str
    summary: str
    docs: str
    tags: tuple[str, ...]
    languages: tuple[str, ...]
    skills: tuple[str, ...]
    chat: tuple[ChatLink, ...]
    mentors: tuple[str, ...]  # public names
    unnamed_mentors: int  # mentors without a public name, only counted
    workshop: WorkshopView | None
    tasks: tuple[OpenTask, ...]


@dataclass(frozen=True)
class EventView:
    id: str
    title: str
    starts: datetime  # in the visitor's chosen zone
    starts_there: datetime  # in the event's own zone
    timezone: str
    place: str
    regions: tuple[str, ...]  # region names


@dataclass(frozen=True)
class RegionView:
    code: str
    name: str
    depth: int  # 0 for a top region, 1 for its children...


@dataclass(frozen=True)
class CertificateView:
    code: str
    holder: str  # "" until its holder chose a name
    achieved: str  # the workshop's title, or the first task's
    first_task: bool
    issued_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class Hub:
    community: str
    projects: tuple[ProjectView, ...]


class PublicReads(Protocol):
    """What the public pages read from the store (storage/repository.py SqlStore has it)."""

    async def events(self) -> list[Event]: ...

    async def certificate(self, code: str) -> Certificate | None: ...

    async def task_hand_outs(self) -> TaskHandOuts: ...

    async def open_live_tasks(self, project_id: str) -> list[LiveTask]: ...


@cache
def web_address(url: str) -> str:
    """URL if it is an http(s) address, else "" (shown as text, never as a link: content and
    trackers could hold a javascript: or data: link)."""
    plain = url.strip()
    return plain if re.match(r"(?i)^https?://[^\s\x00-\x1f]+$", plain) else ""


def zone_names() -> tuple[str, ...]:
    """The time zones a visitor may choose from, UTC first (read from the zone database
    once: listing it walks hundreds of files)."""
    return ("UTC", *sorted(z for z in available_timezones() if "/" in z
                           and not z.startswith(("Etc/", "SystemV/", "posix/", "right/"))))


def visitor_zone(name: str) -> ZoneInfo:
    """The zone a visitor asked for, if it is one of `zone_names` (a name straight into
    ZoneInfo could open any file under the zone database, a folder among them); else UTC."""
    return ZoneInfo(name if name in _zone_set() else "UTC")


@cache
def _zone_set() -> frozenset[str]:
    return frozenset(zone_names())


def _zone_of(name: str) -> ZoneInfo:
    """An event's own zone (checked when it was written); UTC if it is no longer known."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return ZoneInfo("UTC")


class PublicPages:
    """The public read model over a store and the content of the moment."""

    def __init__(self, config: Config, store: PublicReads, content: Callable[[], Content],
                 clock: Callable[[], datetime] = utcnow,
                 monotonic: Callable[[], float] = time.monotonic,
                 cache_seconds: float = CACHE_SECONDS) -> None:
        self.config, self.store, self.content, self.clock = config, store, content, clock
        self.monotonic, self.cache_seconds = monotonic, cache_seconds
        adapters = adapter_settings(config)
        self.telegram_bot = adapters.telegram.username
        self.irc_webchat = adapters.irc.webchat_url
        self._tasks: tuple[float, Content | None, dict[str, tuple[OpenTask, ...]]] = (
            0.0, None, {})
        self._tasks_lock = asyncio.Lock()

    def community(self) -> str:
        return self.content().of(PathContent).community.name

    def languages(self) -> tuple[str, ...]:
        """The languages a page may be read in ([i18n] languages, the default first)."""
        offered = self.config.i18n.offered()
        default = self.config.i18n.default
        return (default, *(code for code in offered if code != default))

    def default_language(self) -> str:
        """A page's language when the visitor asks for none the community offers."""
        return self.config.i18n.default

    async def hub(self) -> Hub:
        path = self.content().of(PathContent)
        tasks = await self._open_tasks()
        featured = sorted((p for p in path.projects.values() if p.featured),
                          key=lambda p: p.name.casefold())
        return Hub(path.community.name, tuple(self._view(p, tasks) for p in featured))

    async def project(self, project_id: str) -> ProjectView | None:
        project = self.content().of(PathContent).projects.get(project_id)
        if project is None:
            return None
        return self._view(project, await self._open_tasks())

    def regions(self) -> tuple[RegionView, ...]:
        """Every region, each followed by its children (indented by depth)."""
        regions = self.content().of(EventsContent).regions
        children: dict[str, list[str]] = {}
        for code, region in regions.items():
            parent = region.parent if region.parent in regions else ""
            children.setdefault(parent, []).append(code)
        out: list[RegionView] = []

        def walk(parent: str, depth: int) -> None:
            for code in sorted(children.get(parent, ()), key=lambda c: regions[c].name):
                if depth < 8 and all(r.code != code for r in out):  # no cycle loops here
                    out.append(RegionView(code, regions[code].name, depth))
                    walk(code, depth + 1)

        walk("", 0)
        return tuple(out)

    async def events(self, region: str, zone: ZoneInfo) -> tuple[EventView, ...]:
        """Events that have not started yet, soonest first: in `region` (and the regions
        under it, and those it lies in: an event for Europe is for Germany too), or all."""
        events = self.content().of(EventsContent)
        now = self.clock()
        found = {e.id: e for e in events.events.values()}
        found.update({e.id: e for e in await self.store.events()})  # the chat's, and edits
        wanted: set[str] | None = None
        if region in events.regions:
            wanted = set(events.region_and_children((region,)))
            parent = events.regions[region].parent
            while parent in events.regions and parent not in wanted:
                wanted.add(parent)
                parent = events.regions[parent].parent
        views = []
        for event in sorted(found.values(), key=lambda e: e.starts_at):
            if event.starts_at < now or (wanted is not None and not wanted & set(event.regions)):
                continue
            views.append(EventView(
                event.id, event.title, event.starts_at.astimezone(zone),
                event.starts_at.astimezone(_zone_of(event.timezone)), event.timezone,
                event.place, tuple(events.regions[r].name if r in events.regions else r
                                   for r in event.regions)))
        return tuple(views)

    async def certificate(self, code: str) -> CertificateView | None:
        if not code or len(code) > 64:
            return None
        found: Certificate | None = await self.store.certificate(code)
        if found is None:
            return None
        first_task = found.workshop_id.startswith("first-task:")
        return CertificateView(found.code, found.holder, found.workshop_title, first_task,
                               found.issued_at, found.revoked_at)

    def _view(self, project: Project, tasks: dict[str, tuple[OpenTask, ...]]) -> ProjectView:
        content = self.content()
        path = content.of(PathContent)
        mentoring = content.of(MentoringContent)
        names: list[str] = []
        unnamed = 0
        for key in project.mentors:
            name = mentoring.mentor_profile(key).name.strip()
            if name and name not in names:
                names.append(name)
            elif not name:
                unnamed += 1
        workshop = path.workshop_of(project)
        return ProjectView(
            project.id, project.name, project.summary, web_address(project.docs), project.tags,
            project.languages, project.skills, self.chat_links(project), tuple(names), unnamed,
            None if workshop is None else WorkshopView(
                workshop.id, workshop.title, workshop.certificate,
                tuple(StepView(s.title, s.body) for s in workshop.steps)),
            tasks.get(project.id, ()))

    def chat_links(self, project: Project) -> tuple[ChatLink, ...]:
        links = []
        channels = {n: room.strip() for n, room in project.channels.items() if room.strip()}
        if self.telegram_bot and "telegram" not in channels:
            channels["telegram"] = ""  # no group of its own: the bot itself still starts
        for network in sorted(channels, key=lambda n: ((*NETWORK_ORDER, n)).index(n)):
            room = channels[network]
            if network == "matrix":
                links.append(ChatLink(network, room, "https://matrix.to/#/" + quote(room)))
            elif network == "irc":
                url = (self.irc_webchat.replace("{channel}", quote(room, safe=""))
                       if self.irc_webchat else "")
                links.append(ChatLink(network, room, url))
            elif network == "telegram":
                # A public group's link, t.me/NAME: NAME is also the start payload the bot
                # takes to offer that group's project first (adapters/telegram/translate.py).
                found = TELEGRAM_GROUP.match(room)
                group = found.group(1) if found else ""
                start = ""
                if self.telegram_bot:
                    start = f"{TELEGRAM_LINK}{self.telegram_bot}" + (
                        f"?start={group}" if group else "")
                links.append(ChatLink(network, "@" + group if group else room,
                                      web_address(room), start))
        return tuple(links)

    async def _open_tasks(self) -> dict[str, tuple[OpenTask, ...]]:
        """Each project's tasks open now: its content's tasks nobody holds (nor finished,
        unless repeatable), then the tracker's cached open ones. Read again at most every
        CACHE_SECONDS, and at once when the content changes."""
        content = self.content()
        at, seen, cached = self._tasks
        if seen is content and self.monotonic() - at < self.cache_seconds:
            return cached
        async with self._tasks_lock:
            at, seen, cached = self._tasks
            if seen is content and self.monotonic() - at < self.cache_seconds:
                return cached
            projects = list(content.of(PathContent).projects.values())
            # At once: on PostgreSQL each read is a round trip of its own.
            handed, live_tasks = await asyncio.gather(
                self.store.task_hand_outs(),
                asyncio.gather(*(self.store.open_live_tasks(p.id) for p in projects)))
            found: dict[str, tuple[OpenTask, ...]] = {}
            for project, live in zip(projects, live_tasks, strict=True):
                own = [OpenTask(t.title, web_address(t.url), t.skills, t.estimate)
                       for t in project.tasks if t.id not in handed.claimed
                       and (t.repeatable or t.id not in handed.done)]
                found[project.id] = tuple(own + [OpenTask(t.title, web_address(t.url),
                                                          t.skills, "") for t in live])
            self._tasks = (self.monotonic(), content, found)
            return found


@asynccontextmanager
async def public_pages(config: Config,
                       cache_seconds: float = CACHE_SECONDS) -> AsyncIterator[PublicPages]:
    """`wayfinder web` alone: the store (migrated, read only from here) and the content
    folder, loaded again as the bot does: when its files change ([content] watch_seconds)
    and on `wayfinder content reload`; a folder with problems is logged and not loaded."""
    folder = config.content_path()
    current = [load_content(folder)]
    store = SqlStore.open(config.storage.url, config.storage.durable)
    reloader = ContentReloader(folder, lambda c: current.__setitem__(0, c), _only_logged,
                               load_content, partial(store.latest_audit_id, RELOAD_ACTION),
                               describe_content)
    watch: asyncio.Task[None] | None = None
    try:
        await store.migrate()
        if config.content.watch_seconds > 0:
            await reloader.start()
            watch = asyncio.create_task(reloader.run(config.content.watch_seconds),
                                        name="web-content-watch")
        yield PublicPages(config, store, lambda: current[0], cache_seconds=cache_seconds)
    finally:
        if watch is not None:
            watch.cancel()
            await asyncio.gather(watch, return_exceptions=True)
            await reloader.stop()
        await store.db.dispose()


async def _only_logged(_text: str, _key: str) -> None:
    """The web pages tell no one of a content folder with problems: the bot does (and the
    reloader has logged them)."""
