"""The Feature interface: what a feature declares, and the one command table built from them.

A command is declared once (name, aliases, role, usage, summary, sub-commands); the engine's
dispatch, role checks, `!help`, a network's command menu and the README's command table all
come from the declarations. This module names no feature.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.clikit import Register
from bot.config import Config, FeatureSettings
from bot.content import Content, ContentPart
from bot.flow import DueSource, FeatureState, Flow, Handler, Transition, Turn
from bot.i18n import ENGLISH, LOCALE_KEY, SOURCE, Translator
from bot.model import CommandMenu
from bot.outbox import DeferUntil
from bot.records import Audit, Record
from bot.roles import RoleGrants, RoleSource
from bot.router import ParsedInput

ROLE_CHECKS: dict[str, Callable[[Turn], bool]] = {
    "organizer": lambda turn: turn.directory.is_organizer(turn.sender),
    "admin": lambda turn: turn.directory.is_admin(turn.sender),
}
# The roles config grants; a feature declares the others it grants (Feature.roles).


@dataclass(frozen=True)
class Command:
    """One `!word`. `run` handles the word alone (and, with `free_args`, arguments that are
    not one of `sub`); each sub-command gets the rest of the line as its arguments."""

    name: str
    run: Handler
    role: str | None = None  # None: anyone; otherwise a verified identity with that role
    usage: str = ""  # the arguments, e.g. "CODE [note]"
    summary: str = ""
    private: bool = False  # answered only in a direct conversation (a code, personal data)
    aliases: tuple[str, ...] = ()
    sub: Mapping[str, Command] = field(default_factory=dict)
    free_args: bool = False  # with sub: a first word that is no sub-command goes to `run`
    listed: bool = True  # in !help's list, the command menu and the README
    # Whether it does something for this person now (e.g. !resume only when paused): !help
    # lists it only then. None: always.
    when: Callable[[Turn], bool] | None = None

    @property
    def words(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)

    def subcommand(self, word: str) -> Command | None:
        word = word.lower()
        for sub in self.sub.values():
            if word in sub.words:
                return sub
        return None


@dataclass(frozen=True)
class ServiceContext:
    """What a feature's background service is given by the running bot."""

    store: Any  # the store; a service narrows it to its feature's reads (a Protocol)
    poke: Callable[[], None]  # tells the dispatcher there are new outbox rows to send
    clock: Callable[[], datetime]
    config: Config
    content: Callable[[], Content]  # the content of this moment (it may be reloaded)


class FeatureService:
    """A feature's background work, started, ticked and stopped by the running bot; the
    defaults do nothing, so a service overrides only what it needs."""

    async def start(self) -> None:
        """After the store, the engine and the dispatcher have started."""

    async def tick(self) -> int:
        """On every scheduler tick, after the due jobs; returns how many items it handled."""
        return 0

    def after_records(self, records: Sequence[Record]) -> None:
        """After a turn's records have committed (e.g. start work that just came due); must
        not block: start a task for anything slow."""

    async def stop(self) -> None:
        """Before the dispatcher drains and the store closes; cancels its own tasks."""


@dataclass(frozen=True)
class ProjectInputs:
    """Everything a feature's projection (Feature.project) reads of a turn, besides the
    person, the content (reloaded content makes every projection anew) and the record the
    turn started from. The engine calls the projection only when one of them may have
    changed (Engine._project): in the benchmark 85% of turns change none of what the three
    projections read, and asking them only on the others took ~1.5 us a message off the
    event loop's ~83. What is left out here goes unnoticed: the record would stay as it was."""

    states: tuple[type[FeatureState], ...] = ()  # typed states it reads
    # Typed states it reads a few fields of, by state: a turn that changes only others of
    # theirs (most turns change some field of the growth path) leaves it as it was.
    fields: Mapping[type[FeatureState], tuple[str, ...]] = field(default_factory=dict)
    data: tuple[str, ...] = ()  # other parts of the person's data ("last_room"), whole
    locale: bool = False  # the language the person states (Turn.stated_locale)
    sender: bool = False  # who sent the message, and the roles they hold (Turn.directory)

    def read(self) -> frozenset[object]:
        """What it reads, as the engine tells changes (Engine._made): each typed state it
        reads whole, (state, field) for each field it reads of others, and the other parts
        of the data by key."""
        for model, names in self.fields.items():
            unknown = set(names) - set(model.model_fields)
            if unknown:
                raise TypeError(f"{model.__name__} has no field {', '.join(sorted(unknown))}")
        return frozenset((*self.states, *self.data, *((LOCALE_KEY,) if self.locale else ()),
                          *((model, name) for model, names in self.fields.items()
                            for name in names)))


@dataclass(frozen=True)
class Feature:
    """What one package under flows/ brings: the composition root lists these."""

    name: str
    commands: Sequence[Command] = ()
    flows: Sequence[Flow] = ()
    jobs: Sequence[DueSource] = ()  # due work, scanned on every tick
    settings: type[FeatureSettings] | None = None  # its config section (table and keys)
    state: type[FeatureState] | None = None  # its part of a person's state, under its name
    reads: type[Any] | None = None  # its narrow read interface (a runtime-checkable Protocol)
    words: Mapping[str, str] = field(default_factory=dict)  # step words: "skip" -> its help
    cli: Register | None = None  # adds its `wayfinder` commands (flows/<feature>/cli.py)
    content: ContentPart[Any] | None = None  # the files it owns in the content folder
    roles: Mapping[str, RoleSource] = field(default_factory=dict)  # roles it grants
    # What the greeting suggests to someone with nothing going on ("Type !start to ...").
    hint: str = ""
    # What someone paused on a step is told, from the feature that owns pause and resume
    # ("You are paused. Type !resume to ..."); the core adds ", or !help.".
    paused: str = ""
    # A per-person read model derived from the state a turn leaves (what its queries select
    # on), written with the turn's unit of work whenever it changed; None: nothing to keep.
    project: Callable[[Turn], Record | None] | None = None
    # What `project` is made of. Declared, the engine calls it only on a turn that may have
    # changed one of them, and otherwise keeps the record the turn started from; None: it is
    # called on every turn.
    project_inputs: ProjectInputs | None = None
    # Its background work (e.g. a fan-out of scheduled messages), built once per running bot.
    services: Callable[[ServiceContext], FeatureService] | None = None
    # How the outbox defers its rows carrying data under DEFER_KEY (e.g. night hours), as
    # configured; None from it: nothing deferred. At most one feature declares it.
    defer: Callable[[Config], DeferUntil | None] | None = None


def content_parts(features: Iterable[Feature]) -> list[ContentPart[Any]]:
    return [feature.content for feature in features if feature.content is not None]


def role_sources(features: Iterable[Feature]) -> dict[str, RoleSource]:
    return {role: source for feature in features for role, source in feature.roles.items()}


def role_grants(features: Iterable[Feature]) -> dict[str, RoleGrants]:
    """Fresh grants of every role the features grant, for one running bot."""
    return {role: source() for role, source in role_sources(features).items()}


def missing_reads(features: Iterable[Feature], store: object) -> list[str]:
    """The features whose read interface the store lacks, with the methods it lacks."""
    missing = []
    for feature in features:
        if feature.reads is not None and not isinstance(store, feature.reads):
            lacks = sorted(name for name in dir(feature.reads)
                           if not name.startswith("_") and not hasattr(store, name))
            missing.append(f"{feature.name} ({', '.join(lacks) or feature.reads.__name__})")
    return missing


class CommandClashError(ValueError):
    """Two declarations claim one word; raised when the table is built, at start-up."""


@dataclass(frozen=True)
class Entry:
    feature: str
    command: Command


class Catalog:
    """Every declared command by word, and the step words' help, from a list of features."""

    def __init__(self, features: Iterable[Feature]) -> None:
        self.features = tuple(features)
        self.entries: list[Entry] = []
        # !help's sections as rendered, by (commands, shared room, translator): a help text is
        # the same few sections for everyone, and rendering them was most of its cost.
        self.sections: dict[tuple[tuple[int, ...], bool, Translator], list[str]] = {}
        self._by_word: dict[str, Entry] = {}
        self._listed: dict[str | None, tuple[Command, ...]] = {}  # listed(), by role
        self.words: dict[str, str] = {}
        self.word_owner: dict[str, str] = {}
        self.flows: dict[str, Flow] = {}
        flow_owner: dict[str, str] = {}
        # Roles features grant, then the config's: the order of !help's sections.
        self.roles = [*role_sources(self.features), *ROLE_CHECKS]
        for feature in self.features:
            for command in feature.commands:
                _check_roles(feature.name, command, self.roles)
                entry = Entry(feature.name, command)
                self.entries.append(entry)
                for word in command.words:
                    self._claim(word, entry)
                _check_subs(feature.name, command)
            for flow in feature.flows:
                if flow.name in self.flows:
                    raise CommandClashError(f"flow {flow.name!r} is declared by both "
                                       f"{flow_owner[flow.name]} and {feature.name}")
                self.flows[flow.name] = flow
                flow_owner[flow.name] = feature.name
            if feature.state is not None and feature.state.namespace != feature.name:
                raise CommandClashError(f"{feature.name}'s state is stored under "
                                        f"{feature.state.namespace!r}, not under its name")
            for word, summary in feature.words.items():
                if word in self.words:
                    raise CommandClashError(f"the step word !{word} is described by both "
                                            f"{self.word_owner[word]} and {feature.name}")
                self.words[word] = summary
                self.word_owner[word] = feature.name
        for word, owner in self.word_owner.items():
            # A step's word wins at its step, and the command everywhere else: one word would
            # mean two things (a feature's own command for its word, like !back, is its
            # fallback off the step).
            held = self._by_word.get(word)
            if held is not None and held.feature != owner:
                raise CommandClashError(
                    f"the step word !{word} of {owner} is also {held.feature}'s command "
                    f"!{held.command.name}: give one of them another name")

    def _claim(self, word: str, entry: Entry) -> None:
        if word != word.lower() or not word or " " in word:
            raise CommandClashError(f"{entry.feature}: !{word} must be one lower-case word")
        held = self._by_word.get(word)
        if held is not None:
            raise CommandClashError(
                f"!{word} is claimed twice: by {held.feature} (!{held.command.name}) and by "
                f"{entry.feature} (!{entry.command.name})")
        self._by_word[word] = entry

    def get(self, word: str) -> Command | None:
        entry = self._by_word.get(word)
        return entry.command if entry else None

    def __contains__(self, word: object) -> bool:
        return word in self._by_word

    @property
    def jobs(self) -> list[DueSource]:
        return [job for feature in self.features for job in feature.jobs]

    def summary_of(self, word: str) -> str:
        """Help for a word offered at a step: the step word's, else the command's."""
        if word in self.words:
            return self.words[word]
        command = self.get(word)
        return command.summary if command else ""

    def listed(self, role: str | None) -> Sequence[Command]:
        """The listed commands of a role (None: everyone's), in declaration order: made once
        (the entries are fixed when the catalog is built; !help asks for every role)."""
        found = self._listed.get(role)
        if found is None:
            found = self._listed[role] = tuple(
                e.command for e in self.entries if e.command.listed and e.command.role == role)
        return found

    def menu(self, tr: Translator = ENGLISH) -> list[tuple[str, str]]:
        """(command, summary) for everyone's commands: a network's command menu, the
        summaries in `tr`'s language."""
        return [(c.name, _menu_text(tr.t(c.summary))) for c in self.listed(None)]


def _check_roles(feature: str, command: Command, roles: Sequence[str]) -> None:
    if command.role is not None and command.role not in roles:
        raise CommandClashError(f"{feature}: !{command.name} needs an unknown role "
                                f"{command.role!r}; known: {', '.join(roles)}")
    for sub in command.sub.values():
        _check_roles(feature, sub, roles)


def _check_subs(feature: str, command: Command) -> None:
    seen: dict[str, str] = {}
    for key, sub in command.sub.items():
        if key != sub.name:
            raise CommandClashError(f"{feature}: !{command.name} lists {sub.name!r} as {key!r}")
        for word in sub.words:
            if word in seen:
                raise CommandClashError(f"{feature}: !{command.name} {word} is claimed twice: by "
                                   f"{seen[word]} and by {sub.name}")
            seen[word] = sub.name


def _menu_text(summary: str) -> str:
    text = summary.split(" (")[0].split(";")[0].strip()
    return (text[:1].upper() + text[1:])[:256] if len(text) >= 3 else "..."


def menu(features: Iterable[Feature], tr: Translator = ENGLISH) -> list[tuple[str, str]]:
    return Catalog(features).menu(tr)


def command_menu(features: Iterable[Feature], default: str = SOURCE,
                 languages: Iterable[str] = ()) -> CommandMenu:
    """Everyone's commands for a network's own menu: in the default language, and in each
    of `languages` for people whose app uses it."""
    catalog = Catalog(features)
    return CommandMenu(tuple(catalog.menu(Translator(default, default))),
                       {code: tuple(catalog.menu(Translator(code, default)))
                        for code in languages})


def allowed(turn: Turn, role: str | None) -> bool:
    if role is None:
        return True
    check = ROLE_CHECKS.get(role)
    return check(turn) if check is not None else turn.directory.holds(role, turn.sender)


def authorize(turn: Turn, command: Command, action: str) -> bool:
    """A command that needs a role is audited, and refused (audited too) without it."""
    if command.role is None:
        return True
    if not allowed(turn, command.role):
        turn.record(Audit(turn.sender.key, f"refused:{action}", turn.input.args, turn.now))
        why = ("" if turn.sender.verified else " " + (
            turn.inbound.why_unverified or
            turn.t("Your account on this network isn't verified (log in to its "
                   "services), so I can't tell that it's really you.")))
        turn.say(turn.t("Sorry, !{action} is for {role}s only.", action=action,
                        role=command.role) + why)
        return False
    turn.record(Audit(turn.sender.key, action, turn.input.args, turn.now))
    return True


def unknown_sub(command: Command, word: str, tr: Translator = ENGLISH) -> str:
    names = ", ".join(f"!{command.name} {s.name}" for s in command.sub.values())
    shown = "".join(ch for ch in word if ch.isprintable())[:32]
    return tr.t("!{command} has no sub-command {word}. You can use: {names}. "
                "Type !help for more.", command=command.name, word=repr(shown), names=names)


def answerable(turn: Turn, command: Command, said: str) -> bool:
    """A private command is answered only where the reply goes to this person alone: decided
    by the reply's room, not by how the message came in (a command typed in a channel may be
    answered in a private message; a thread of a shared room is read by everyone in it).

    Asked in a shared room, it is answered in the person's private chat, and the room hears
    only that it was. Where the bot may not write first (some networks let a bot write only
    to people who have started a chat with it), the room gets the way to reach the bot
    privately and nothing else: what the person typed (`said`), the line to send again, and
    the network's route (Capabilities.reach_privately)."""
    if not command.private or turn.room.direct:
        return True
    if turn.can_write_privately:
        turn.reply_to = turn.sender
        turn.tell(turn.room, turn.others.t("I've answered your !{said} in a private message, "
                                           "so that others can't see it.", said=said),
                  mention=turn.sender)
        return True
    line = turn.input.text
    if line[:1].isalnum():  # `bot: stuck ...`: resend it as a command of its own
        line = f"!{turn.input.command} {turn.input.args}".strip()
    route = turn.reach_privately or turn.t("send me: {line}", line="{line}")
    turn.say(turn.t("I answer !{said} only in a private conversation, so that others can't "
                    "see it. Please {route}", said=said, route=route.replace('{line}', line)))
    return False


def _said(turn: Turn, command: Command) -> str:
    """The command word as the person typed it: `help me` when `!help me, ...` asks `!stuck`."""
    typed = turn.input.command
    if typed in command.words:
        return typed
    first = turn.input.args.split(" ", 1)[0].rstrip(",:;.!-")
    return f"{typed} {first}".strip() if typed else command.name


async def perform(turn: Turn, command: Command) -> Transition:
    """Run a declared command for this turn: role check, then the sub-command, if any."""
    typed = turn.input.command
    action = typed if typed in command.words else command.name  # `!help me` asks `!stuck`
    # Most commands need no role and are answered anywhere: the checks are asked only of
    # those that do (three calls less on most messages, which are commands).
    if command.role is not None and not authorize(turn, command, action):
        return None
    if command.private and not answerable(turn, command, _said(turn, command)):
        return None
    if command.sub:
        word, _, rest = turn.input.args.strip().partition(" ")
        sub = command.subcommand(word) if word else None
        if sub is not None:
            if sub.role is not None and not authorize(turn, sub, f"{action} {sub.name}"):
                return None
            if sub.private and not answerable(turn, sub, f"{_said(turn, command)} {word}"):
                return None
            turn.input = ParsedInput(turn.input.command, rest.strip(), turn.input.text)
            return await sub.run(turn)
        if word and not command.free_args:
            turn.say(unknown_sub(command, word, turn.translator))
            return None
    return await command.run(turn)


# -- generated texts ------------------------------------------------------------------------
def _line(prefix: str, command: Command, tr: Translator) -> str:
    usage = f" {command.usage}" if command.usage else ""
    return f"  !{prefix}{command.name}{usage}: {tr.t(command.summary)}"


def command_lines(command: Command, prefix: str = "", shared: bool = False,
                  tr: Translator = ENGLISH) -> list[str]:
    """A command's help lines: itself, then each listed sub-command. In a `shared` room a
    private sub-command of a public command says where it is answered."""
    mark = " (" + tr.t("in a private chat with me") + ")" if (
        shared and command.private and prefix) else ""
    lines = [_line(prefix, command, tr) + mark] if command.summary else []
    for sub in command.sub.values():
        if sub.listed:
            lines.extend(command_lines(sub, f"{prefix}{command.name} ", shared and not
                                       command.private, tr))
    return lines


def _section(catalog: Catalog, commands: Sequence[Command], shared: bool,
             tr: Translator) -> list[str]:
    key = (tuple(map(id, commands)), shared, tr)  # the catalog holds the commands: ids stay
    found = catalog.sections.get(key)
    if found is None:
        found = _render_section(commands, shared, tr)
        if len(catalog.sections) < 256:
            catalog.sections[key] = found
    return found


def _render_section(commands: Sequence[Command], shared: bool, tr: Translator) -> list[str]:
    """A list of commands; in a shared room the private ones come last, under their own
    heading (they are refused there)."""
    if not shared:
        return [line for c in commands for line in command_lines(c, tr=tr)]
    lines = [line for c in commands if not c.private
             for line in command_lines(c, "", True, tr)]
    private = [line for c in commands if c.private for line in command_lines(c, tr=tr)]
    return lines + ([tr.t("Only in a private chat with me:"), *private] if private else [])


def help_text(turn: Turn, catalog: Catalog, step_words: Sequence[str],
              choices: bool) -> str:
    """`!help`: the words this step offers, then what this person's roles allow."""
    everyone = catalog.listed(None)
    anywhere = [c for c in everyone if c.when is None or c.when(turn)]
    general = {c.name for c in everyone}
    here = [w for w in dict.fromkeys(step_words) if w not in general]
    lines: list[str] = []
    tr = turn.translator
    if here or choices:
        lines.append(tr.t("Right now you can use:"))
        lines.extend(f"  !{w}: {tr.t(catalog.summary_of(w))}" for w in here)
        if choices:
            lines.append("  " + (tr.t("or answer with a number (1, !1) or the option's word")
                                 if here else
                                 tr.t("answer with a number (1, !1) or the option's word")))
        lines.append("")
    shared = not turn.room.direct
    lines.append(tr.t("And anywhere:") if here or choices else tr.t("Commands you can use:"))
    lines.extend(_section(catalog, anywhere, shared, tr))
    for role in catalog.roles:
        mine = catalog.listed(role)
        if mine and allowed(turn, role):
            lines += ["", tr.t("For {role}s:", role=role)]
            lines.extend(_section(catalog, mine, shared, tr))
    return "\n".join(lines)


def markdown_table(catalog: Catalog) -> str:
    """The README's command table: every listed command and sub-command, then step words."""
    rows = ["| Command | Feature | Who | What |", "| --- | --- | --- | --- |"]

    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    def add(feature: str, command: Command, prefix: str, role: str | None) -> None:
        who = command.role or role or "anyone"
        also = f" (also {', '.join('!' + a for a in command.aliases)})" if command.aliases else ""
        usage = f" {command.usage}" if command.usage else ""
        private = " (answered in a direct conversation only)" if command.private else ""
        if command.summary:
            rows.append(f"| `{cell(f'!{prefix}{command.name}{usage}')}`{also} | {feature} | "
                        f"{who} | {cell(command.summary)}{private} |")
        for sub in command.sub.values():
            if sub.listed:
                add(feature, sub, f"{prefix}{command.name} ", command.role or role)

    for entry in catalog.entries:
        if entry.command.listed:
            add(entry.feature, entry.command, "", None)
    for word, summary in catalog.words.items():
        rows.append(f"| `!{word}` | {catalog.word_owner[word]} | at a step that offers it | "
                    f"{cell(summary)} |")
    return "\n".join(rows)
