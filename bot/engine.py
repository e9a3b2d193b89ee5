"""The core pipeline: clean, route, serialize per person, run the flow, commit, release replies."""

from __future__ import annotations

import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from typing import Final

from bot.caches import remember
from bot.choices import resolve
from bot.config import Config
from bot.content import Content
from bot.duework import DueLedger, prune
from bot.feature import Catalog, Feature, missing_reads, perform, role_grants
from bot.floodgate import Floodgate, Verdict
from bot.flow import (
    PRIVATE_CHATS,
    Due,
    End,
    FeatureState,
    Goto,
    Step,
    Transition,
    Turn,
    drop_warm,
)
from bot.i18n import LOCALE_KEY, N_, Translator
from bot.locks import KeyedLocks
from bot.logs import HANDLING
from bot.model import (
    Capabilities,
    ExternalId,
    Identity,
    Inbound,
    Network,
    Outbound,
    PersonId,
    Rate,
    compact_json_parts,
    outbound_to_json,
    room_from_json,
    room_to_json,
)
from bot.ports import (
    CommitResult,
    ConflictError,
    OutboxItem,
    OutboxRow,
    Outcome,
    PersonState,
    Store,
    UnitOfWork,
)
from bot.records import Record
from bot.roles import Directory
from bot.router import ParsedInput, parse
from bot.text import clean_input, one_line

log = logging.getLogger(__name__)

MAX_HOPS = 8
MAX_CONFLICT_RETRIES = 5
SHARED_SIZE = 20_000  # people remembered as handled by other processes too
STATE_CACHE_SIZE = 20_000
IDENTITY_CACHE_SIZE = 100_000  # identity -> person entries kept (oldest dropped first)
SCAN_NETWORK = Network("scan")  # inbox namespace of due work: a replayed scan is a no-op
PRUNE_EVERY = timedelta(hours=1)  # how often old due work failures are forgotten
# Turn's first fields, in order: the engine passes them by position (Engine._turn).
TURN_LEADS = ("person_id", "inbound", "input", "data", "content", "reads", "config",
              "directory", "now", "networks", "rates", "reach", "reply_to", "flow", "step",
              "step_commands", "catalog")


def _store_said(exc: BaseException) -> str:
    """The driver's words for a store failure, on one line (no SQL, no parameters)."""
    return one_line(str(getattr(exc, "orig", None) or exc) or type(exc).__name__, 200)


# Among a projection's inputs (Projection.inputs): the sender and the roles they hold.
SENDER: Final = object()
# The test suite sets a list (tests/conftest.py): a projection skipped because none of its
# declared inputs changed is asked anyway, and where it answers another record than it would
# have kept, the list gets why (each test fails on any). None: not checked.
CHECK_SKIPPED_PROJECTIONS: list[str] | None = None


@dataclass(frozen=True, slots=True)
class Projection:
    """A feature's projection (Feature.project), as the engine asks it (Engine._project)."""

    name: str
    project: Callable[[Turn], Record | None]
    # The parts of the person's data it is made of, and SENDER where it reads the sender;
    # None: undeclared (Feature.project_inputs), asked on every turn.
    inputs: frozenset[object] | None
    sender: bool  # asking it reads the sender (PersonState.projected_by)

    @staticmethod
    def of(feature: Feature) -> Projection:
        if feature.project is None:
            raise ValueError(f"{feature.name} declares no projection")
        declared = feature.project_inputs
        if declared is None:
            return Projection(feature.name, feature.project, None, True)
        inputs = declared.read() | ({SENDER} if declared.sender else set())
        return Projection(feature.name, feature.project, inputs, declared.sender)


def _known(identity: Identity) -> tuple[str, str, bool]:
    """How the engine remembers an identity's person (Engine._people)."""
    return (identity.network, identity.external_id, identity.verified)


Clock = Callable[[], datetime]
ReleaseReplies = Callable[[tuple[OutboxRow, ...]], None]
AfterRecords = Callable[[Sequence[Record]], None]


def utcnow() -> datetime:
    return datetime.now(UTC)


def greeting(tr: Translator, hints: Sequence[str]) -> str:
    """What someone with nothing going on is told: the features' hints, then !help."""
    if not hints:
        return tr.t("Hi! I'm Wayfinder. Type !help to see what I can do.")
    return tr.t("Hi! I'm Wayfinder. {hints}, or !help to see what I can do.",
                hints=", ".join(tr.t(hint) for hint in hints))


class Engine:
    """Turns one inbound message into one committed unit of work and its replies."""

    def __init__(
        self,
        store: Store,
        content: Content,
        features: Sequence[Feature],
        config: Config,
        release: ReleaseReplies,
        directory: Directory | None = None,
        prefixes: Mapping[str, tuple[str, ...]] | None = None,
        nick: str = "wayfinder",
        clock: Clock = utcnow,
        rates: Mapping[str, Rate] | None = None,
        after_records: AfterRecords | None = None,
        capabilities_of: Callable[[str], Capabilities | None] | None = None,
    ) -> None:
        self.store = store
        self.content = content
        self.catalog = Catalog(features)  # two claims on one word stop the start here
        self.hints = [f.hint for f in features if f.hint]  # the features' greeting
        self.paused = next((f.paused for f in self.catalog.features if f.paused), "")
        if tuple(f.name for f in fields(Turn))[:len(TURN_LEADS)] != TURN_LEADS:
            raise TypeError("Turn's fields changed: update TURN_LEADS and Engine._turn")
        lacking = missing_reads(features, store)
        if lacking:
            raise TypeError(f"the store lacks what features read: {'; '.join(lacking)}")
        self.flows = self.catalog.flows
        # Each step by (flow, step name), the first of a name as Flow.step finds it: asked at
        # least twice a turn, and Flow.step walks the flow's steps each time. No flow or step
        # (None) is no key: no step.
        self._steps: dict[tuple[str | None, str | None], Step] = {}
        for flow in self.flows.values():
            for step in flow.steps:
                self._steps.setdefault((flow.name, step.name), step)
        self.config = config
        self.directory = directory or Directory(config.roles, content, role_grants(features))
        self.due_sources = self.catalog.jobs
        self.release = release
        self.prefixes = dict(prefixes or {})
        self.networks = frozenset(self.prefixes)
        self.nick = nick
        self.clock = clock
        self.projections = [Projection.of(f) for f in features if f.project is not None]
        # What the declared projections read, each asked once a turn (_made): typed states
        # read whole, the fields some read of others, and other parts of the data by key.
        read = {key for p in self.projections if p.inputs for key in p.inputs}
        self._projection_states = frozenset(k for k in read if isinstance(k, type))
        self._projection_keys = tuple(sorted(k for k in read if isinstance(k, str)))
        fields_read: dict[type[FeatureState], list[str]] = {}
        for model, name in (k for k in read if isinstance(k, tuple)):
            fields_read.setdefault(model, []).append(name)
        self._projection_fields = {model: tuple(sorted(names))
                                   for model, names in fields_read.items()}
        self._sender_read = any(p.inputs is not None and p.sender for p in self.projections)
        self._all_declared = all(p.inputs is not None for p in self.projections)
        self.rates = dict(rates or {})
        self.after_records = after_records
        self.capabilities_of = capabilities_of  # the running networks' Capabilities
        self.locks = KeyedLocks()
        limits = config.inbound
        self.person_gate = Floodgate(limits.flood_per_person, limits.flood_seconds, "person")
        self.room_gate = Floodgate(limits.flood_per_room, limits.flood_seconds, "room")
        # Identity -> person, keyed by the identity's fields (_known): an Identity's own hash
        # and equality are Python calls, two on every message.
        self._people: dict[tuple[str, str, bool], PersonId] = {}
        self._states: OrderedDict[PersonId, PersonState] = OrderedDict()
        # People another process committed for (PostgreSQL): their state is read afresh each
        # turn, not cached, as a cached one would be stale whenever they switch processes.
        self._shared: OrderedDict[PersonId, None] = OrderedDict()
        self._pruned_at: datetime | None = None  # due failures past their retention

    # -- inbound --------------------------------------------------------------------------
    async def handle(self, inbound: Inbound) -> Outcome:
        """Process one inbound event exactly once (a replayed event id changes nothing), and
        say what became of it.

        Never raises. A bug in a flow is answered with an apology, committed like any turn
        (so a redelivery does not loop). A failure to read or commit (the store) is logged
        with the conversation key and is FAILED: nothing was committed, the adapter must not
        confirm the event, and its redelivery is handled anew.
        """
        handling = HANDLING.set(inbound)  # log lines name its network and conversation
        try:
            return await self._handle(inbound)
        except Exception:
            log.exception("could not handle %s from %s in %s", inbound.event_id,
                          inbound.sender.key, inbound.room.id)
            return Outcome.FAILED
        finally:
            HANDLING.reset(handling)

    async def _handle(self, inbound: Inbound) -> Outcome:
        text, truncated = clean_input(inbound.text)
        parsed = parse(text, self.prefixes.get(inbound.network, ("!",)), self.nick)
        if not inbound.direct and not parsed.is_command:
            return Outcome.IGNORED  # chatter in a shared channel is not for the bot
        flood = self._flood(inbound)
        if flood is Verdict.DROP:
            return Outcome.IGNORED  # counted by its gate; the others wait for nothing
        inbox = (inbound.network, inbound.event_id)
        person = await self._person(inbound.sender, inbox)
        if person is None:
            return Outcome.DUPLICATE  # an erased person's replayed event: no one comes back
        if flood is Verdict.WARN:
            return await self._warn(person, inbound, parsed)
        async with self.locks.hold(person):
            # The cross-process hold, only after a first conflict: an exit stack entered
            # for every message cost about as much as the rest of this function.
            exclusive: contextlib.AsyncExitStack | None = None
            try:
                for attempt in range(MAX_CONFLICT_RETRIES):
                    state = await self._state(person)
                    turn = self._turn(person, inbound, parsed, state)
                    try:
                        await self._dispatch(turn, text, truncated)
                    except Exception as exc:
                        if self.store.is_store_failure(exc):
                            raise  # not the flow's fault: FAILED, not confirmed, fetched again
                        log.exception("flow failed for %s in %s", inbound.sender.key, state.flow)
                        turn = self._apology(person, inbound, parsed, state,
                                             N_("Sorry, something went wrong on my side. Nothing "
                                                "was lost; please try again, or type !help."))
                    try:
                        return self._outcome(await self._commit(turn, inbox))
                    except ConflictError as conflict:
                        log.info("conflict for %s, retrying (%d)", inbound.sender.key, attempt + 1)
                        self._forget_state(person)
                        if conflict.shared:
                            self._shared[person] = None  # other processes handle them too
                            if len(self._shared) > SHARED_SIZE:
                                self._shared.popitem(last=False)
                        if conflict.gone and await self._moved(inbound.sender, person, inbox):
                            break  # merged or erased by another process: handled anew below
                        if attempt == 0:
                            # Another process may handle this person at this very moment: from
                            # here on, one at a time across processes (none but PostgreSQL's).
                            exclusive = contextlib.AsyncExitStack()
                            await exclusive.enter_async_context(self.store.exclusive(person))
                else:
                    # Others kept winning the same records (a rush on a few tasks): answer honestly
                    # and record the event, so nothing is lost and a replay stays a no-op.
                    log.warning("%s lost %d conflicts in a row", inbound.event_id,
                                MAX_CONFLICT_RETRIES)
                    turn = self._apology(person, inbound, parsed, await self._state(person),
                                         N_("Lots of people are asking at this very moment. "
                                            "Please try that again in a few seconds."))
                    return self._outcome(await self._commit(turn, inbox))
            finally:
                if exclusive is not None:
                    await exclusive.aclose()
        return await self._handle(inbound)  # as the person their identity now belongs to

    async def _moved(self, identity: Identity, person: PersonId,
                     inbox: tuple[Network, str]) -> bool:
        """After a conflict: whether the identity belongs to another person now (another
        process merged or erased the one this process remembered)."""
        self._people.pop(_known(identity), None)
        return await self._person(identity, inbox) != person

    def _flood(self, inbound: Inbound) -> Verdict:
        network = self.capabilities_of(inbound.network) if self.capabilities_of else None
        if network is not None and not network.limit_floods:
            return Verdict.ADMIT
        now = self.clock().timestamp()
        verdict = self.person_gate.admit(inbound.sender.key, now)
        if verdict is Verdict.ADMIT and not inbound.direct:
            verdict = self.room_gate.admit(f"{inbound.network}:{inbound.room.id}", now)
        return verdict

    async def _warn(self, person: PersonId, inbound: Inbound, parsed: ParsedInput) -> Outcome:
        """The one answer to a flood: this message is not handled, the next ones dropped."""
        text = (N_("You're sending messages faster than I can follow, so I'll skip the next "
                   "ones for a few seconds. Then send one at a time and I'll answer each.")
                if inbound.direct else
                N_("Too many commands here at once: I'll skip the next ones for a few "
                   "seconds."))
        async with self.locks.hold(person):
            for _ in range(MAX_CONFLICT_RETRIES - 1):
                turn = self._apology(person, inbound, parsed, await self._state(person), text)
                try:
                    return self._outcome(await self._commit(turn, (inbound.network,
                                                                   inbound.event_id)))
                except ConflictError:  # another process committed their state since
                    self._forget_state(person)
            turn = self._apology(person, inbound, parsed, await self._state(person), text)
            return self._outcome(await self._commit(turn, (inbound.network, inbound.event_id)))

    @staticmethod
    def _outcome(result: CommitResult) -> Outcome:
        return Outcome.DUPLICATE if result.duplicate else Outcome.COMMITTED

    def _apology(self, person: PersonId, inbound: Inbound, parsed: ParsedInput,
                 state: PersonState, text: str) -> Turn:
        """A turn that changes nothing but the activity counters, and says `text` (a message
        id, in the person's language)."""
        turn = self._turn(person, inbound, parsed, state)
        self._touch(turn)
        turn.say(turn.t(text))
        return turn

    @staticmethod
    def _touch(turn: Turn) -> None:
        data, inbound = turn.data, turn.inbound
        room = inbound.room  # turn.room, without the property's call
        data["messages"] = int(data.get("messages", 0)) + 1
        last_room = room_to_json(room)
        if data.get("last_room") != last_room:  # the same room mostly: the same object kept
            data["last_room"] = last_room
        if room.direct:
            network = inbound.network
            known = data.get(PRIVATE_CHATS) or []
            if network not in known:
                data[PRIVATE_CHATS] = [*known, network]
        language = inbound.language
        if language:  # what their network says their client uses, for later turns too
            stored = data.get(LOCALE_KEY) or {}
            if stored.get("client") != language:
                data[LOCALE_KEY] = {**stored, "client": language}

    async def _person(self, identity: Identity,
                      event: tuple[Network, str] | None = None) -> PersonId | None:
        known = _known(identity)
        person = self._people.get(known)
        if person is None:
            person = await self.store.person_for_event(identity, event)
            if person is None:
                return None
            remember(self._people, known, person, IDENTITY_CACHE_SIZE)
        return person

    async def _state(self, person: PersonId) -> PersonState:
        cached = self._states.get(person)
        if cached is not None:
            self._states.move_to_end(person)
            return cached
        loaded = await self.store.load_state(person) or PersonState(person)
        self._remember(loaded)
        return loaded

    def _remember(self, state: PersonState) -> None:
        if state.person_id in self._shared:
            return
        self._states[state.person_id] = state
        self._states.move_to_end(state.person_id)
        while len(self._states) > STATE_CACHE_SIZE:
            drop_warm(self._states.popitem(last=False)[1].data)

    def _forget_state(self, person: PersonId) -> None:
        """Read the person's state afresh next time (a conflict, an erasure or merge, a failed
        due item), and keep none of its typed states warm."""
        state = self._states.pop(person, None)
        if state is not None:
            drop_warm(state.data)

    def _turn(self, person: PersonId, inbound: Inbound, parsed: ParsedInput,
              state: PersonState) -> Turn:
        # A private copy for the handlers: a shallow one, as values in a turn's data are
        # replaced, never changed in place (Turn.data; typed states are validated copies and
        # written back whole by settle). Decoding the committed JSON instead cost ~5 us.
        data = dict(state.data)
        # Turn's leading fields by position (TURN_LEADS, checked as the engine starts): by
        # keyword, making a turn took about 0.6 us more, on every message.
        return Turn(person, inbound, parsed, data, self.content, self.store, self.config,
                    self.directory, self.clock(), self.networks, self.rates,
                    self.capabilities_of, None, state.flow, state.step, (), self.catalog,
                    projected=state.projected, versions={person: state.version})

    def use_content(self, content: Content) -> None:
        """Swap in reloaded content. A turn takes its Content and Directory once, when it
        starts (_turn), so one under way finishes on the version it began with."""
        self.directory = self.directory.with_content(content)
        self.content = content
        for state in self._states.values():
            drop_warm(state.data)
        self._states.clear()  # their projections were made of the old content

    # -- routing ----------------------------------------------------------------------------
    async def _dispatch(self, turn: Turn, text: str, truncated: bool) -> None:
        self._touch(turn)
        if not text:
            turn.say(turn.t("I got an empty message. Type !help to see what you can do."))
            return
        if truncated:
            turn.say(turn.t("That message was very long, so I only read the beginning."))
        step = self._steps.get((turn.flow, turn.step))
        if step is not None:
            if step.offers is None:
                offered_now = step.commands
            else:
                offers = step.offers(turn)  # once
                offered_now = tuple(w for w in step.commands if w in offers)
            turn.step_commands = (*offered_now, "back") if step.back else offered_now
        parsed = turn.input
        command = parsed.command
        offered: list[list[str]] = turn.data.get("choices", []) if step else []
        if command and command.isdigit():
            # "!2" answers a numbered choice, like "2"
            command, parsed = "", ParsedInput("", "", command)
            turn.input = parsed
        if command == "back" and step is not None and step.back:
            await self._follow(turn, Goto(step.back))
            return
        declared = self.catalog.get(command) if command else None
        # A step's own word wins; with arguments it is the declared command (step words take
        # none: at the task step "!release" gives the task back, elsewhere it is the command).
        if declared is not None and (step is None or command not in step.commands
                                     or parsed.args):
            transition = await perform(turn, declared)
            if transition is not None:  # most commands lead nowhere: no hop to follow
                await self._follow(turn, transition)
            return
        if command and step is not None and (command in step.commands or
                                              resolve(command, offered, False).picked):
            if command not in step.commands:
                turn.input = ParsedInput("", "", command)
            await self._answer(turn, step, offered)
            return
        if command:
            unknown = one_line(command, 32)
            if step and turn.step_commands:
                turn.say(turn.t("I don't know the command !{command}. Here you can use: "
                                "{commands}. Type !help for the list.", command=unknown,
                                commands=", ".join('!' + c for c in turn.step_commands)))
            else:
                turn.say(turn.t("I don't know the command !{command}. Type !help for the list.",
                                command=unknown))
            return
        if step is None or turn.data.get("paused"):
            paused = bool(turn.data.get("paused")) and step is not None
            turn.say(turn.t("{paused}, or !help.", paused=turn.t(self.paused))
                     if paused and self.paused else greeting(turn.translator, self.hints))
            return
        await self._answer(turn, step, offered)

    async def _answer(self, turn: Turn, step: Step, offered: list[list[str]]) -> None:
        if step.reply is None:
            turn.say(turn.t("Nothing to answer here yet. Type !help to see what you can do."))
            return
        if not turn.input.is_command:
            resolution = resolve(turn.input.text, offered, step.multi_choice, turn.translator)
            if resolution.error:
                turn.say(resolution.error)
                return
            turn.picked = resolution.picked
            turn.free = resolution.free
        transition = await step.reply(turn)
        if transition is not None:  # most answers stay on their step: no hop to follow
            await self._follow(turn, transition)

    async def _follow(self, turn: Turn, transition: Transition) -> None:
        for _ in range(MAX_HOPS):
            if transition is None:
                return
            if isinstance(transition, End):
                turn.flow = turn.step = None
                turn.data.pop("choices", None)
                return
            turn.flow = transition.flow or turn.flow
            turn.step = transition.step
            turn.data.pop("choices", None)
            step = self._steps.get((turn.flow, turn.step))
            if step is None:
                raise RuntimeError(f"unknown step {turn.flow}/{turn.step}")
            transition = await step.enter(turn)
        raise RuntimeError(f"too many transitions from {turn.flow}/{turn.step}")

    # -- commit -------------------------------------------------------------------------------
    async def _commit(self, turn: Turn, inbox: tuple[Network, str]) -> CommitResult:
        turn.settle()
        cached = self._states.get(turn.person_id)
        projected, projected_by = self._project(turn, cached)
        # Encoded against the cached state the turn's data was copied from: what the turn
        # left as it was (the very objects) is not encoded again (compact_json_parts).
        before = cached or PersonState(turn.person_id)
        encoded, fragments = compact_json_parts(turn.data, before.data, before.fragments)
        new_state = PersonState(turn.person_id, turn.flow, turn.step, turn.data, encoded,
                                projected, turn.versions.get(turn.person_id, 0) + 1, fragments,
                                projected_by)
        key_base = f"{inbox[0]}:{inbox[1]}"
        replies = turn.replies
        if turn.inbound.press is not None:  # acknowledged first, with the turn, durably
            replies = [Outbound(turn.room, "", press=turn.inbound.press), *replies]
        # By position (person_id, inbox, state, outbox, events, records, expect; each of
        # another type): by keyword it took about twice as long, 0.3 us a message.
        unit = UnitOfWork(
            turn.person_id, inbox, new_state,
            [OutboxItem(f"{key_base}:{n}", msg.to.network, outbound_to_json(msg), msg)
             for n, msg in enumerate(replies)],
            turn.events, turn.records, turn.versions)
        result = await self.store.commit(unit)
        if result.duplicate:
            return result
        records = turn.records
        forgot = False
        if records:  # most turns record nothing
            forgot = self._after_records(records)
            self.directory.learn(records)
        if not forgot:
            # Projected from the content the turn began with: after a reload, made anew.
            self._remember(new_state if turn.content is self.content
                           else replace(new_state, projected={}))
            turn.keep_warm()  # its typed states, for the person's next turn
        self.release(result.outbox)
        if self.after_records is not None and records:
            self.after_records(records)
        return result

    def _project(self, turn: Turn, cached: PersonState | None
                 ) -> tuple[Mapping[str, Record], tuple[Identity, int] | None]:
        """The features' projections of the state this turn leaves, and the sender they were
        made with (PersonState.projected_by); each one that differs from what the turn
        started from joins its records (most turns change none). A projection whose inputs
        (ProjectInputs) this turn left as they were is not asked: it would answer the record
        the turn started from (see ProjectInputs for what that saves)."""
        made = self._made(turn, cached)
        if made is not None and not made[0] and self._all_declared:
            if CHECK_SKIPPED_PROJECTIONS is not None:
                self._check_skipped(turn, self.projections, CHECK_SKIPPED_PROJECTIONS)
            return turn.projected, made[1]  # most turns: nothing any projection reads changed
        kept = turn.projected
        projected: dict[str, Record] = {}
        by = made[1] if made is not None else None
        for projection in self.projections:
            name = projection.name
            before = kept.get(name)
            if made is not None and projection.inputs is not None and \
                    projection.inputs.isdisjoint(made[0]):
                record = before  # made of nothing this turn changed
                if CHECK_SKIPPED_PROJECTIONS is not None:
                    self._check_skipped(turn, (projection,), CHECK_SKIPPED_PROJECTIONS)
            else:
                if projection.sender:
                    by = (turn.inbound.sender, turn.directory.version)
                record = projection.project(turn)
                # Most turns keep the record they started from: the same object, no comparison.
                if record is not None and before is not record and before != record:
                    turn.records.append(record)
            if record is not None:
                projected[name] = record
        return projected, by

    @staticmethod
    def _check_skipped(turn: Turn, skipped: Sequence[Projection], found: list[str]) -> None:
        """The test suite's check of every projection not asked (CHECK_SKIPPED_PROJECTIONS):
        asked anyway, it must answer the record the turn started from, or its declared inputs
        (ProjectInputs) miss something it reads."""
        for projection in skipped:
            kept, made = turn.projected.get(projection.name), projection.project(turn)
            if made != kept:
                found.append(f"the {projection.name} projection was not asked, as nothing it "
                             f"declares (Feature.project_inputs) changed, yet it now makes "
                             f"{made!r} instead of {kept!r}: declare what it reads")

    def _made(self, turn: Turn, cached: PersonState | None
              ) -> tuple[set[object], tuple[Identity, int] | None] | None:
        """Which inputs of the projections (Projection.inputs) this turn may have changed,
        and the sender the records it started from were made with; None when they may all
        have (no records to keep: a state loaded from the store, or another person's).

        The turn's data is a copy of the cached state's, whose records the turn started from
        (the same mapping). Typed states changed as `settle` tells (Turn.settled_changes);
        only a state read by fields has its part compared, field by field. Another part equal
        to the one the records were made of makes the same records (most are the very object:
        parts are replaced, never changed in place). The stated language (Turn.stated_locale)
        is made of the LOCALE_KEY part alone, as every turn that hears one from the network
        writes it there first (_touch; a due turn hears none)."""
        states = turn.settled_changes()
        if states is None or cached is None or not cached.projected or \
                cached.projected is not turn.projected:
            return None
        data, was = turn.data, cached.data
        by = cached.projected_by
        changed: set[object] = set()
        if self._sender_read and (by is None or by[1] != turn.directory.version or
                                  by[0] != turn.inbound.sender):
            changed.add(SENDER)  # another sender, or roles granted or taken since
        keys = self._projection_keys
        if list(map(data.get, keys)) != list(map(was.get, keys)):  # items by identity first
            changed.update(key for key in keys if data.get(key) != was.get(key))
        if states:  # most turns change none, or fields of the growth path none of them reads
            changed.update(states & self._projection_states)
            for model, names in self._projection_fields.items():
                if model in states:  # the stored forms: a default is left out of both
                    now, then = data.get(model.namespace) or {}, was.get(model.namespace) or {}
                    changed.update((model, name) for name in names
                                   if now.get(name) != then.get(name))
        return changed, by

    def _after_records(self, records: list[Record]) -> bool:
        """Forget what the records make stale; whether any did (a merge, an erasure)."""
        forgot = False
        for record in records:
            gone = record.forgets()
            if gone:
                # Identities moved (a merge): forget cached ids and states of those people.
                self._people = {i: p for i, p in self._people.items() if p not in gone}
                for person in gone:
                    self._forget_state(person)
                forgot = True
        return forgot

    # -- scheduled scans ------------------------------------------------------------------------
    async def scan_due(self) -> int:
        """Run every due-time scan once; returns how many due items were handled. Each item
        is isolated: one that raises is counted and, after `flows.due_max_attempts`, a dead
        letter never run again (bot/duework.py); the others of the tick run regardless. A
        failure of the store is no item's fault: nothing is counted and the tick ends (the
        next one tries again)."""
        now = self.clock()
        handled = 0
        if self._pruned_at is None or now - self._pruned_at >= PRUNE_EVERY:
            self._pruned_at = now
            await prune(self.store, now, self.config.flows.due_dead_letter_days)
        ledger = DueLedger(self.store, self.config.flows.due_max_attempts)
        for source in self.due_sources:
            try:
                found = await source(self.store, now, self.config)
                await ledger.load([due.key for due in found])
            except Exception as exc:
                if self.store.is_store_failure(exc):
                    log.warning("due work: the store failed (%s); the next scan tries again",
                                _store_said(exc))
                    return handled
                log.exception("due source %s failed; the next scan tries again",
                              getattr(source, "__qualname__", source))
                continue
            for due in found:
                if ledger.dead(due.key):
                    continue
                try:
                    done = await self._run_due(due, now)
                except Exception as exc:
                    self._forget_state(due.person_id)
                    if self.store.is_store_failure(exc):
                        log.warning("due work %s: the store failed (%s); not counted, the "
                                    "next scan tries again", due.key, _store_said(exc))
                        return handled
                    await ledger.failed(due.key, exc, now)
                    continue
                handled += done
                await ledger.succeeded(due.key)
        return handled

    async def _run_due(self, due: Due, now: datetime) -> bool:
        async with self.locks.hold(due.person_id):
            state = await self._state(due.person_id)
            # Replies go where the person last spoke to us; never seen: no room, no message.
            room = room_from_json(state.data.get("last_room") or [SCAN_NETWORK, "", "", True])
            inbound = Inbound(room.network, due.key, room,
                              Identity(room.network, ExternalId(""), False), "", True, now)
            for _ in range(MAX_CONFLICT_RETRIES):
                turn = self._turn(due.person_id, inbound, ParsedInput("", "", ""), state)
                await self._follow(turn, await due.handler(turn))
                if not room.id:
                    turn.replies = [r for r in turn.replies if r.to != room]
                try:
                    result = await self._commit(turn, (SCAN_NETWORK, due.key))
                    return not result.duplicate
                except ConflictError:
                    self._forget_state(due.person_id)
                    state = await self._state(due.person_id)
            log.warning("due work %s kept conflicting; the next scan tries again", due.key)
            return False
