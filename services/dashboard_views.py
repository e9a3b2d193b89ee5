"""What the dashboard's pages show and do, on the web server's store: people (search, filter,
one person's record), the reports and their charts, events and their broadcasts (preview,
confirm, delivery), mentors' load and open cases, dead letters, the audit log; and for a
mentor, their own cases.

The same use cases as the command line (services/crm.py, services/broadcast.py), on an open
store instead of one opened per call; writes go through the store's writer as records, as
the chat commands' do. It never reaches into the engine.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.config import Config
from bot.content import Content
from bot.engine import utcnow
from bot.i18n import ENGLISH, N_, Translator
from bot.model import Named, Outbound, PersonId, outbound_to_json, room_from_json
from bot.ports import ConflictError, OutboxItem, OutboxRow, UnitOfWork
from bot.records import Audit, DiscardMessage, Record, RetryMessage
from bot.text import one_line
from flows.crm.profile import person_record, record_lines
from flows.crm.records import PeopleFilter, Window
from flows.events.content import EventsContent
from flows.events.invites import new_event
from flows.events.records import Broadcast, CreateEvent, DeliveryCounts, Event, UpdateEvent
from flows.mentoring.cases import claim_news, mentor_named, resolve_news
from flows.mentoring.records import Case, ClaimCase, ResolveCase
from flows.mentoring.roster import Roster
from flows.path.api import MORE_INVOLVED_AT, PathContent
from services.broadcast import BroadcastPreview, broadcast_in, preview_in
from services.charts import render_chart
from services.crm import REPORTS, Report, people_in, report_in
from storage.repository import SqlStore

FRESH_SECONDS = 30.0  # reports, charts and the milestone summary are shared this long
PAGE = 50  # people per page
# People a page filtered by project or stage looks through at most: both are selected in SQL
# from each path state (no index holds them; the stage depends on the content), so a rare one
# takes a few pages rather than one slow request (a full scan of 100,000 is about 140 ms on
# SQLite; a window of 5,000 about 7).
SCAN = 5000


@dataclass(frozen=True)
class PersonHit:
    id: int
    accounts: str


@dataclass(frozen=True)
class MentorLoad:
    project: str
    name: str
    load: int
    capacity: int
    status: str  # a message id (N_): the page says it in its language


@dataclass(frozen=True)
class EventRow:
    event: Event
    broadcasts: list[Broadcast]
    editable: bool  # made in chat or on the web, no invite scheduled yet


class DashboardPages:
    """The dashboard's read models and actions for one web server."""

    def __init__(self, config: Config, store: SqlStore, content: Callable[[], Content],
                 clock: Callable[[], datetime] = utcnow, poke: Callable[[], None] = lambda: None,
                 monotonic: Callable[[], float] = time.monotonic,
                 hand_over: Callable[[Sequence[OutboxRow]], None] = lambda rows: None) -> None:
        self.config = config
        self.store = store
        self.content = content
        self.clock = clock
        self.poke = poke
        # Rows this server queued, handed to the running bot's dispatcher (none alone).
        self.hand_over = hand_over
        self._monotonic = monotonic
        self._refreshed = -FRESH_SECONDS
        self._cache: dict[str, tuple[float, Any]] = {}

    async def _fresh_milestones(self) -> None:
        """The reports' summary, brought up to date at most every FRESH_SECONDS."""
        if self._monotonic() - self._refreshed >= FRESH_SECONDS:
            await self.store.refresh_milestones(MORE_INVOLVED_AT)
            self._refreshed = self._monotonic()

    # -- people ----------------------------------------------------------------------------
    async def search(self, text: str) -> list[PersonHit]:
        found = await self.store.find_people(text[:200], PAGE + 1)
        return [PersonHit(int(p), ", ".join(i.key for i in await self.store.identities(p)))
                for p in found[:PAGE]]

    async def people(self, project: str = "", region: str = "", stage: str = "",
                     after: int = 0) -> tuple[list[dict[str, Any]], int]:
        """A page of people, and the id to go on after (0: the last page). The project and
        stage are selected in SQL (profile.stage_where) among the next SCAN people, so a page
        reads only the people it shows; one with fewer than PAGE goes on after the window."""
        await self._fresh_milestones()
        after = max(0, after)
        windowed = bool(stage or project)
        upto = await self.store.person_id_after(after, SCAN) if windowed else None
        wanted = PeopleFilter(project=project[:128], region=region[:64], limit=PAGE,
                              after=after, upto=upto or 0)
        rows = await people_in(self.store, self.content(), wanted, stage[:1])
        if len(rows) == PAGE:
            return rows, rows[-1]["id"]
        return rows, upto or 0

    async def person(self, person_id: int, tr: Translator = ENGLISH) -> list[str] | None:
        """A person's record as lines, in `tr`'s language; None: no such person."""
        facts = await self.store.person_facts(PersonId(person_id))
        if facts is None:
            return None
        return record_lines(person_record(facts, self.content()), self.clock(), tr=tr)

    def choices(self) -> dict[str, list[str]]:
        """What the people filters offer: projects and regions of the content."""
        content = self.content()
        regions = content.of(EventsContent).regions
        return {"projects": sorted(content.of(PathContent).projects),
                "regions": sorted(regions)}

    # -- reports ---------------------------------------------------------------------------
    async def report(self, name: str, tr: Translator = ENGLISH) -> Report:
        """A report, in `tr`'s language (its texts; the data as stored), shared per
        language for FRESH_SECONDS."""
        if name not in REPORTS:
            raise KeyError(name)
        key = f"report:{name}:{tr.locale}"
        cached = self._cache.get(key)
        if cached is not None and self._monotonic() - cached[0] < FRESH_SECONDS:
            return cached[1]  # type: ignore[no-any-return]
        await self._fresh_milestones()
        built = await report_in(self.store, self.config, name, Window(None, None), tr)
        self._cache[key] = (self._monotonic(), built)
        return built

    async def chart(self, name: str, tr: Translator = ENGLISH) -> bytes | None:
        """The report's chart as SVG (drawn in a thread: matplotlib blocks), in `tr`'s
        language; None for a report without a chart."""
        key = f"chart:{name}:{tr.locale}"
        cached = self._cache.get(key)
        if cached is not None and self._monotonic() - cached[0] < FRESH_SECONDS:
            return cached[1]  # type: ignore[no-any-return]
        built = await self.report(name, tr)
        if built.chart is None:
            return None
        chart = built.chart

        def draw() -> bytes:
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "chart.svg"
                render_chart(chart, path)
                return path.read_bytes()

        svg = await asyncio.to_thread(draw)
        self._cache[key] = (self._monotonic(), svg)
        return svg

    # -- events ----------------------------------------------------------------------------
    async def events(self) -> list[EventRow]:
        found = {e.id: e for e in await self.store.events()}
        files = self.content().of(EventsContent).events
        found.update(files)
        rows = []
        for event in sorted(found.values(), key=lambda e: e.starts_at):
            broadcasts = await self.store.broadcasts_of(event.id)
            rows.append(EventRow(event, broadcasts, not broadcasts and event.id not in files))
        return rows

    async def create_event(self, parts: Sequence[str], by: str,
                           tr: Translator = ENGLISH) -> Event | str:
        """An event made on the web, checked as `!event new` checks it (audited as
        `web:event`); or what is wrong with it, in `tr`'s language."""
        event_id = parts[0].strip().lower()
        if event_id in self.content().of(EventsContent).events or \
                await self.store.event(event_id) is not None:
            return tr.t("There is already an event {id}. Choose another id.",
                        id=repr(one_line(event_id, 64)))
        now = self.clock()
        event = new_event([p.strip() for p in parts], self.content(), now, by, tr)
        if isinstance(event, str):
            return event
        try:
            await self.store.commit(UnitOfWork(PersonId(0), records=[
                CreateEvent(event, now), Audit(by, "web:event", event.id, now)]))
        except ConflictError:
            return tr.t("There is already an event {id}. Choose another id.", id=repr(event.id))
        return event

    async def editable(self, event_id: str, tr: Translator = ENGLISH) -> Event | str:
        """An event the web may change: made in chat or on the web, no invite scheduled or
        sent yet (its reminders count from its start); or why not (in `tr`'s language)."""
        if event_id in self.content().of(EventsContent).events:
            return tr.t("This event comes from a content file: change it in its file.")
        event = await self.store.event(event_id[:64])
        if event is None:
            return tr.t("There is no event by that id.")
        if await self.store.broadcasts_of(event.id):
            return tr.t("Its invite is scheduled or sent already, so it can no longer change "
                        "here: cancel it in chat (!broadcast cancel) or make a new event.")
        return event

    async def update_event(self, event_id: str, parts: Sequence[str], by: str,
                           tr: Translator = ENGLISH) -> Event | str:
        """Change an editable event, checked as `!event new` checks a new one (audited as
        `web:event-edit`); or what is wrong (in `tr`'s language)."""
        found = await self.editable(event_id, tr)
        if isinstance(found, str):
            return found
        now = self.clock()
        event = new_event([found.id, *(p.strip() for p in parts[1:])], self.content(), now,
                          found.created_by, tr)
        if isinstance(event, str):
            return event
        try:
            await self.store.commit(UnitOfWork(PersonId(0), records=[
                UpdateEvent(event, now), Audit(by, "web:event-edit", event.id, now)]))
        except ConflictError:
            return tr.t("There is no event by that id any more.")
        return event

    async def preview(self, event_id: str, tr: Translator = ENGLISH) -> BroadcastPreview:
        """The invite's preview, in `tr`'s language (the page's)."""
        return await preview_in(self.store, self.config, self.content(), event_id, None,
                                tr=tr)

    async def broadcast(self, event_id: str, by: str) -> Broadcast:
        """Send the invite now (audited as `web:broadcast` by `by`): the running bot's
        dispatcher delivers what it queued."""
        preview = await self.preview(event_id)
        invite, _queued = await broadcast_in(self.store, self.config, self.content(),
                                             preview.event, None, by, poke=self.poke,
                                             action="web:broadcast")
        return invite

    async def delivery(self, broadcast_id: int) -> DeliveryCounts:
        return await self.store.delivery_counts(broadcast_id)

    # -- mentoring -------------------------------------------------------------------------
    async def roster(self) -> Roster:
        return Roster(self.content(), frozenset(await self.store.mentor_assignments()))

    async def mentor_loads(self) -> list[MentorLoad]:
        roster = await self.roster()
        loads = await self.store.mentor_loads()
        states = await self.store.mentor_states()
        now = self.clock()
        rows = []
        for project in self.content().of(PathContent).projects.values():
            for mentor in roster.mentors_of(project.id):
                load, state = loads.get(mentor.key, 0), states.get(mentor.key)
                if state is not None and state.away_until and state.away_until > now:
                    status = N_("away")
                elif mentor.available(now, state, load):
                    status = N_("available")
                else:
                    status = (N_("busy") if load >= mentor.profile.capacity
                              else N_("outside office hours"))
                rows.append(MentorLoad(project.name, mentor.name, load,
                                       mentor.profile.capacity, status))
        return rows

    async def open_cases(self) -> list[Case]:
        return [c for c in await self.store.all_cases() if c.status != "resolved"]

    async def cases_of(self, identity: str) -> list[Case]:
        """A mentor's cases: those they hold or were asked to take, then the open ones of
        their projects nobody has claimed (they may claim those too)."""
        roster = await self.roster()
        mentor = roster.by_identity.get(identity)
        if mentor is None:
            return []
        mine = await self.store.cases_of_mentor(mentor.key)
        projects = set(roster.projects_of(mentor))
        held = {c.code for c in mine}
        return mine + [c for c in await self.store.all_cases() if c.status == "open"
                       and c.project_id in projects and c.code not in held]

    async def act_on_case(self, person_id: int, identity: str, code: str, resolve: bool,
                          note: str = "", tr: Translator = ENGLISH) -> tuple[bool, str]:
        """A mentor claims (or resolves) a case from the web: the same checks, records,
        progress event and message to the newcomer as `!claim` / `!resolve` in chat, in one
        unit of work; (done, what to tell the mentor, in `tr`'s language)."""
        roster = await self.roster()
        mentor = roster.by_identity.get(identity)
        case = await self.store.case(code[:16])
        action = "resolve" if resolve else "claim"
        if mentor is None or case is None:
            return False, tr.t("There is no case {code} of yours.", code=one_line(code, 16))
        now = self.clock()
        if case.project_id not in roster.projects_of(mentor):
            await self.store.commit(UnitOfWork(PersonId(0), records=[
                Audit(identity, f"refused:web:{action}", case.code, now)]))
            return False, tr.t("Case {code} is for {project}, which you don't mentor.",
                               code=case.code, project=case.project_id)
        seconds = int((now - case.created_at).total_seconds())
        if resolve:
            if case.status == "resolved":
                return False, tr.t("Case {code} is already resolved.", code=case.code)
            if case.claimed_by and case.claimed_by != mentor.key:
                return False, tr.t("Case {code} is held by {name}.", code=case.code,
                                   name=roster.mentor(case.claimed_by).name)
            note = one_line(note, 300)
            named: tuple[Named, ...] = ()
            record: Record = ResolveCase(case.code, mentor.key, note, now)
            news = resolve_news(mentor, case, note)
            done = tr.t("Case {code} resolved. Thank you!", code=case.code)
        else:
            if case.status != "open":
                return False, tr.t("Case {code} is taken or resolved already.",
                                   code=case.code)
            record = ClaimCase(case.code, mentor.key, now)
            news, done = claim_news(mentor, case), tr.t("Case {code} is yours.", code=case.code)
            named = mentor_named(mentor)
        outbox = []
        state = await self.store.load_state(case.person_id)
        last = state.data.get("last_room") if state else None
        if last:
            message = Outbound(room_from_json(last), news, named=named)
            outbox.append(OutboxItem(f"web:{action}:{case.code}:{now.isoformat()}",
                                     message.to.network, outbound_to_json(message), message))
        try:
            result = await self.store.commit(UnitOfWork(
                PersonId(person_id), outbox=outbox,
                events=[("case_resolved" if resolve else "case_claimed",
                         {"case": case.code, "mentor": mentor.key, "seconds": seconds})],
                records=[record, Audit(identity, f"web:{action}", case.code, now)]))
        except ConflictError:
            return False, tr.t("Someone acted on case {code} a moment ago: look again.",
                               code=case.code)
        self.hand_over(result.outbox)
        return True, done

    # -- operations ------------------------------------------------------------------------
    async def dead_letters(self) -> list[OutboxRow]:
        return await self.store.dead_letters()

    async def retry(self, outbox_id: int, by: str) -> bool:
        """Send a dead letter again (audited as `web:retry`); False if it is no dead letter
        (any more). The dispatcher is told at once; on SQLite a reply (not an invite) that
        went dead while the bot was running waits for the bot's next start."""
        return await self._dead_letter(RetryMessage(outbox_id, self.clock()), "web:retry", by)

    async def discard(self, outbox_id: int, by: str) -> bool:
        """Give a dead letter up for good (audited as `web:discard`)."""
        return await self._dead_letter(DiscardMessage(outbox_id, self.clock()), "web:discard",
                                       by)

    async def _dead_letter(self, record: RetryMessage | DiscardMessage, action: str,
                           by: str) -> bool:
        outbox_id = record.outbox_id
        try:
            await self.store.commit(UnitOfWork(PersonId(0), records=[
                record, Audit(by, action, str(outbox_id), self.clock())]))
        except ConflictError:
            return False
        self.poke()
        return True

    async def audit(self, who: str = "", action: str = "", limit: int = 100) -> list[Audit]:
        return list(reversed(await self.store.audit_entries(who[:100], action[:100],
                                                            None, limit)))
