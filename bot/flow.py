"""Declarative step machines: named steps with enter, reply, back, and the turn they run in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, ClassVar, Self, TypeVar

from pydantic import BaseModel, ConfigDict

from bot.caches import remember
from bot.config import Config, FeatureSettings, I18nConfig
from bot.content import Content
from bot.i18n import LOCALE_KEY, SOURCE, Translator, normalize, translator
from bot.model import (
    Capabilities,
    Choice,
    FileRef,
    Identity,
    Inbound,
    Named,
    Outbound,
    PersonId,
    Rate,
    RoomRef,
)
from bot.ports import Reads
from bot.records import Record
from bot.roles import Directory
from bot.router import ParsedInput

if TYPE_CHECKING:
    from bot.feature import Catalog


@dataclass(frozen=True)
class Goto:
    """Move to `step`, in `flow` if given, and run that step's enter."""

    step: str
    flow: str | None = None


@dataclass(frozen=True)
class End:
    """Leave the current flow; the person's data stays."""


Transition = Goto | End | None  # None: stay on this step, nothing re-entered

Handler = Callable[["Turn"], Awaitable[Transition]]


@dataclass(frozen=True)
class Step:
    name: str
    enter: Handler
    reply: Handler | None = None
    back: str | None = None
    commands: tuple[str, ...] = ()  # step commands offered in !help, e.g. ("skip", "more")
    multi_choice: bool = False
    # Which of `commands` do something for this person right now (e.g. no "back" on a first
    # step): !help offers only those. None: all of them.
    offers: Callable[[Turn], Sequence[str]] | None = None


@dataclass(frozen=True)
class Flow:
    name: str
    steps: tuple[Step, ...]
    stage: str = ""

    def step(self, name: str) -> Step:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(f"flow {self.name!r} has no step {name!r}")


class FeatureState(BaseModel):
    """A feature's typed part of a person's stored state, kept under its `namespace` key.

    Fields have defaults, and only values that differ from them are stored."""

    model_config = ConfigDict(extra="allow", defer_build=True)
    namespace: ClassVar[str] = ""

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> Self:
        """This feature's part of a person's stored state `data`."""
        return cls.model_validate(data.get(cls.namespace) or {})


# The core's key in a person's data: networks where they have written to the bot privately
# (so it may answer them there, also where a bot may not write first).
PRIVATE_CHATS = "private_chats"

S = TypeVar("S", bound=FeatureState)
FS = TypeVar("FS", bound=FeatureSettings)

# Typed states of committed turns by the id of the stored part they were written to (which the
# entry holds): at most WARM_STATES, the oldest dropped first (Turn.keep_warm, Turn.state).
WARM_STATES = 4096
_WARM: dict[int, tuple[dict[str, Any], FeatureState]] = {}
# Each model's defaults, read only (Turn.peek).
_EMPTY_STATES: dict[type[FeatureState], FeatureState] = {}


def drop_warm(data: Mapping[str, Any]) -> None:
    """Forget the typed states kept warm for a committed state's parts (its person erased,
    merged, or no longer cached): nothing of them stays in memory (Turn.keep_warm)."""
    for part in data.values():
        _WARM.pop(id(part), None)


@lru_cache(maxsize=1024)  # a pure function of a few codes, asked every turn
def _stated_locale(choices: tuple[str, str], offered: tuple[str, ...], heard: str = "") -> str:
    """A person's language from their stored (chosen, client) codes: the one they chose,
    else the one their network says now (`heard`), else their client's; "" if none of them
    names a language offered."""
    for code in (choices[0], heard, choices[1]):
        found = normalize(code, offered) if code else None
        if found is not None:
            return found
    return ""


def _locale_of(choices: tuple[str, str], settings: I18nConfig, heard: str = "") -> str:
    """A person's language (`_stated_locale`), else the community's default."""
    return _stated_locale(choices, settings.offered(), heard) or settings.default


def recipient_translator(stated: str, settings: I18nConfig) -> Translator:
    """Words for a person by the stated language a projection kept for them (a message sent
    outside their turn): that language while it is offered, else the community's default."""
    found = normalize(stated, settings.offered()) if stated else None
    return translator(found or settings.default, settings.default)


@dataclass
class Turn:
    """Everything a handler may look at, and the effects it collects.

    Handlers read through `reads` and decide; they never send or write. The engine commits
    `data`, `events`, `records` and the replies as one unit of work.

    A value in `data` is replaced, never changed in place (`data[key] = [*old, new]`, not
    `data[key].append(new)`): a turn's `data` is a shallow copy of the committed state, whose
    values it shares, so a turn that fails or conflicts leaves nothing behind.
    """

    person_id: PersonId
    inbound: Inbound
    input: ParsedInput
    data: dict[str, Any]
    content: Content
    reads: Reads
    config: Config
    directory: Directory
    now: datetime
    networks: frozenset[str] = frozenset()  # networks with a running adapter
    rates: Mapping[str, Rate] = field(default_factory=dict)  # their outgoing limits
    # A running network's Capabilities (None: no adapter), asked only when a turn needs them.
    reach: Callable[[str], Capabilities | None] | None = field(default=None, repr=False)
    # Where `say` answers: this conversation, unless a private answer asked for in a shared
    # room is given in the person's private chat (bot/feature.py `answerable`).
    reply_to: RoomRef | Identity | None = None
    flow: str | None = None
    step: str | None = None
    step_commands: tuple[str, ...] = ()
    catalog: Catalog | None = None  # the declared commands, for !help
    picked: list[str] = field(default_factory=list)
    free: list[str] = field(default_factory=list)
    replies: list[Outbound] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    projected: Mapping[str, Record] = field(default_factory=dict)  # as the turn started
    # The committed state versions this turn read, by person (its own, and one it merges
    # into): the commit expects them unchanged (UnitOfWork.expect).
    versions: dict[PersonId, int] = field(default_factory=dict)
    _typed: dict[type[FeatureState], FeatureState] = field(default_factory=dict, repr=False)
    _replaced: bool = field(default=False, repr=False)  # replace_data took another's state
    # The typed states whose stored part `settle` replaced or removed (None: not settled yet)
    _changed: set[type[FeatureState]] | None = field(default=None, repr=False)
    # (stored part, typed state) as the last `settle` wrote them, for `keep_warm`
    _settled: list[tuple[dict[str, Any], FeatureState]] = field(default_factory=list,
                                                               repr=False)
    # The locale found for the person's stored choices (the object under LOCALE_KEY): every
    # reply and text asks for it, and only !language (or a link) changes those during a turn.
    # (stored choices, locale, its translator, the stated locale: "" where the default stood in)
    _locale: tuple[object, str, Translator, str] | None = field(default=None, repr=False)

    def state(self, model: type[S]) -> S:
        """A feature's typed state for this person; changes are committed with the turn."""
        found = self._typed.get(model)
        if found is None:
            stored = self.data.get(model.namespace)
            # The typed state a committed turn wrote this very part from (`keep_warm`), taken
            # (a turn changes it in place: no other turn gets it); else validated anew.
            warm = _WARM.pop(id(stored), None) if stored else None
            if warm is not None and warm[0] is stored and type(warm[1]) is model:
                found = warm[1]
            else:
                # The model's validator itself: model_validate's wrapper costs a third as
                # much again, on every turn (most turns read a typed state).
                found = model.__pydantic_validator__.validate_python(stored or {})
            self._typed[model] = found
        return found  # type: ignore[return-value]  # keyed by its own model

    def settle(self) -> None:
        """Write the typed states back into `data` (the engine does, before committing). A
        part that comes out equal to the stored one stays that very object (`settled_changes`)."""
        settled: list[tuple[dict[str, Any], FeatureState]] = []
        changed = self._changed if self._changed is not None else set()
        data = self.data
        for model, value in self._typed.items():
            # As model_dump(mode="json", exclude_defaults=True), without its wrapper.
            stored = model.__pydantic_serializer__.to_python(value, mode="json",
                                                             exclude_defaults=True)
            namespace = model.namespace
            # Until now `data` holds the part the turn started from (typed states are written
            # back only here). Most turns that read a state leave it as it was: keeping the
            # stored object lets projections tell so by identity (`settled_changes`) instead of
            # working themselves out anew, and its typed state stays warm under its id.
            before = data.get(namespace)
            if stored:
                if stored != before:
                    data[namespace] = before = stored
                    changed.add(model)
                settled.append((before, value))
            elif namespace in data:
                del data[namespace]
                changed.add(model)
        self._settled = settled
        self._changed = changed

    def keep_warm(self) -> None:
        """After the turn committed (the engine calls it, nothing reads the turn afterwards):
        the typed states `settle` wrote are kept for the person's next turn, which takes one
        instead of validating its stored part anew while that part is the very same object
        (stored parts are replaced, never changed in place). Validating a typical growth path
        state costs ~7 us, every turn."""
        for stored, value in self._settled:
            if self.data.get(value.namespace) is stored:  # not replaced since
                # The entry holds `stored`: its id stays its own.
                remember(_WARM, id(stored), (stored, value), WARM_STATES)
        self._settled = []

    def peek(self, model: type[S]) -> S:
        """A feature's typed state to read, never to change (a projection): a part this turn
        did not read and nobody ever stored is the model's defaults, one shared instance,
        instead of an empty part validated on every turn."""
        if self.touched(model) or self.data.get(model.namespace):
            return self.state(model)
        empty = _EMPTY_STATES.get(model)
        if empty is None:
            empty = _EMPTY_STATES[model] = model()
        return empty  # type: ignore[return-value]  # keyed by its own model

    def touched(self, model: type[FeatureState]) -> bool:
        """Whether this turn read a typed state (and so may have changed its stored part)."""
        return model in self._typed or self._replaced

    def settled_changes(self) -> AbstractSet[type[FeatureState]] | None:
        """Once settled, the typed states whose stored part `settle` replaced or removed: a
        projection made of others keeps its record (Engine._made). None before that, or when
        the turn took over another stored state: then any may have changed."""
        return None if self._changed is None or self._replaced else self._changed

    def replace_data(self, data: dict[str, Any]) -> None:
        """Take over another stored state (linking accounts); typed views are read anew."""
        self._typed.clear()
        self._replaced = True
        self.data = data

    # -- the person's language ---------------------------------------------------------------
    @property
    def locale(self) -> str:
        """The language this person is answered in: the one they chose (!language), else the
        one their network says their client uses, else the community's default."""
        stored = self.data.get(LOCALE_KEY)
        known = self._locale
        # The stored choices are replaced, never changed in place (!language, a client's
        # new language): the same object means the same answer, found without a look inside.
        if known is not None and known[0] is stored:
            return known[1]
        found = stored or {}
        choices = (str(found.get("chosen", "")), str(found.get("client", "")))
        settings = self.config.i18n
        stated = _stated_locale(choices, settings.offered(), heard=self.inbound.language)
        locale = stated or settings.default
        self._locale = (stored, locale, translator(locale, settings.default), stated)
        return locale

    @property
    def stated_locale(self) -> str:
        """The language the person chose, or their client names (as `locale`), or "" where
        neither names one offered: then the community's default stands in, whichever it is
        when a message is worded. What a projection keeps for messages sent to the person
        outside their own turns (`recipient_translator`)."""
        self.locale  # noqa: B018  # worked out anew only when the person's choices changed
        assert self._locale is not None
        return self._locale[3]

    def translator_of(self, data: Mapping[str, Any]) -> Translator:
        """Words for another person whose stored state this turn read (a newcomer told of
        their case by someone else's turn): in their language."""
        stored = data.get(LOCALE_KEY) or {}
        settings = self.config.i18n
        locale = _locale_of((str(stored.get("chosen", "")), str(stored.get("client", ""))),
                            settings)
        return translator(locale, settings.default)

    async def translator_for(self, person_id: PersonId | None) -> Translator:
        """Words for another person in the language their stored state keeps (one read of
        it: for a message to them this turn sends); the community's default for nobody known."""
        state = await self.reads.load_state(person_id) if person_id is not None else None
        return self.translator_of(state.data if state is not None else {})

    @property
    def translator(self) -> Translator:
        known = self._locale
        if known is None or known[0] is not self.data.get(LOCALE_KEY):
            self.locale  # noqa: B018  # worked out anew only when the person's choices changed
            known = self._locale
            assert known is not None
        return known[2]

    @property
    def others(self) -> Translator:
        """Words for a shared room, or someone whose language this turn does not know: the
        community's default (`translator_for` reads a known person's)."""
        return translator(self.config.i18n.default, self.config.i18n.default)

    def t(self, message: str, /, **values: Any) -> str:
        """`message` in this person's language, its `{name}` fields filled from `values`
        (content texts in their language, isolated where their direction may differ)."""
        known = self._locale  # as `translator`, inline: several texts a turn
        if known is None or known[0] is not self.data.get(LOCALE_KEY):
            return self.translator.t(message, **values)
        return known[2].t(message, **values)

    def tn(self, singular: str, plural: str, n: int, /, **values: Any) -> str:
        """The plural form for `n` in this person's language; `{n}` is `n`."""
        return self.translator.tn(singular, plural, n, **values)

    def local(self, text: str) -> str:
        """A content text (maybe with translations) in this person's language."""
        return self.translator.local(text)

    @property
    def reach_privately(self) -> str:
        """How to message the bot privately on this network ("" when it has no such way)."""
        capabilities = self.reach(self.inbound.network) if self.reach is not None else None
        return capabilities.reach_privately if capabilities is not None else ""

    @property
    def can_write_privately(self) -> bool:
        """Whether the bot may open a private chat with the sender on this network: networks
        that let a bot write first, or one where the person has written to it privately."""
        capabilities = self.reach(self.inbound.network) if self.reach is not None else None
        if capabilities is None or capabilities.dm_first_contact:
            return True
        return self.inbound.network in self.data.get(PRIVATE_CHATS, ())

    async def online(self, identity: Identity) -> bool | None:
        """Whether `identity` can read a message now: True, False (away: a message waits
        for them, and they may not see it soon), or None (their network cannot tell, or does
        not run here). Asks the network, briefly: only for a decision that needs it (whom
        to ping), never on every turn."""
        capabilities = self.reach(identity.network) if self.reach is not None else None
        if capabilities is None or capabilities.presence is None:
            return None
        return await capabilities.presence(identity)

    def carries_files(self, network: str | None = None) -> bool:
        """Whether the adapter of `network` (this turn's by default) can send a file."""
        capabilities = self.reach(network or self.inbound.network) if self.reach else None
        return capabilities is not None and capabilities.files

    @property
    def sender(self) -> Identity:
        return self.inbound.sender

    @property
    def room(self) -> RoomRef:
        return self.inbound.room

    def say(self, text: str, choices: Sequence[Choice] = (), file: FileRef | None = None,
            named: Sequence[Named] = ()) -> None:
        """Reply in this conversation; choices offered become the next turn's options; a
        file goes only where the network carries files (`carries_files`); `named`: people
        the text names, linked to where the network can."""
        self.replies.append(Outbound(to=self.reply_to or self.room, text=text,
                                     choices=tuple(choices), file=file,
                                     locale=self._outbound_locale(), named=tuple(named)))
        if choices:
            self.data["choices"] = [[c.key, c.label] for c in choices]

    def settings_of(self, model: type[FS]) -> FS:
        """A feature's config section, e.g. `turn.settings_of(SomeFeatureConfig)`."""
        return self.config.settings_of(model)

    def tell(self, to: RoomRef | Identity, text: str, choices: Sequence[Choice] = (),
             mention: Identity | None = None, named: Sequence[Named] = (),
             locale: str = "") -> None:
        """Message someone else: someone in their DM, a channel, an organizer. `named`:
        people the text names, linked to where the network can. Worded with `others` (the
        community's default language) unless `locale` says whose words they are, and so are
        the adapter's own additions to it."""
        self.replies.append(Outbound(to=to, text=text, choices=tuple(choices), mention=mention,
                                     locale=self._outbound_locale(
                                         locale or self.config.i18n.default),
                                     named=tuple(named)))

    def _outbound_locale(self, locale: str = "") -> str:
        """The language an adapter words its own additions in (a choice line, a "more"
        hint); empty for English, so English rows stay as they were."""
        locale = locale or self.locale
        return "" if locale == SOURCE else locale

    def event(self, kind: str, **detail: Any) -> None:
        self.events.append((kind, detail))

    def record(self, record: Record) -> None:
        self.records.append(record)

    @property
    def choice(self) -> str | None:
        return self.picked[0] if self.picked else None


@dataclass(frozen=True)
class Due:
    """Work a scan found due for one person; `key` makes a replayed scan a no-op."""

    person_id: PersonId
    key: str
    handler: Handler


DueSource = Callable[[Reads, datetime, Config], Awaitable[list[Due]]]
