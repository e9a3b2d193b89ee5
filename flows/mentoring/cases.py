"""Mentoring: a stuck newcomer reaches one available mentor, on the mentor's own network.

Cases move open -> claimed -> resolved. Unclaimed cases escalate on a due time: the next
available mentor, then the project's mentor channel, then the organizers. Every change is a
conditional update, so two mentors claiming at once cannot both win.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence, Set
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.config import Config
from bot.content import check_identities
from bot.durations import describe, parse_duration
from bot.flow import Due, Handler, Transition, Turn
from bot.i18n import ENGLISH, N_, Translator, reason
from bot.model import (
    Choice,
    ExternalId,
    Identity,
    Named,
    Network,
    RoomRef,
    room_from_json,
)
from bot.ports import Reads
from bot.records import Audit
from bot.text import one_line
from flows.mentoring.codes import case_code, looks_like_case_code
from flows.mentoring.reads import assignments_of, reads_of
from flows.mentoring.records import (
    AddMentor,
    Case,
    ClaimCase,
    ClearNudge,
    MentorAway,
    MentorState,
    OpenCase,
    PingCase,
    ReleaseCase,
    RemoveMentor,
    ResolveCase,
)
from flows.mentoring.roster import Mentor, roster
from flows.mentoring.settings import MentoringConfig
from flows.path.api import (
    PathContent,
    Project,
    channel_list,
    chosen_project,
    chosen_workshop,
    path_of,
    workshop_index,
)

HELP_ME = re.compile(r"^me\b[\s,:;.!-]*", re.IGNORECASE)  # "!help me, ..." asks for a mentor
LEVEL_MENTOR, LEVEL_NEXT_MENTOR, LEVEL_CHANNEL, LEVEL_ORGANIZERS = 0, 1, 2, 3


def choose_mentor(mentors: Sequence[Mentor], now: datetime, loads: dict[str, int],
                  states: dict[str, MentorState], exclude: Sequence[str] = (),
                  networks: Iterable[str] | None = None,
                  offline: Set[str] = frozenset()) -> Mentor | None:
    """Available now (office hours, not away, under capacity, on a network we run), those
    not known to be offline first, fewest open mentees, then round robin: whoever was asked
    least recently."""
    never = datetime.min.replace(tzinfo=now.tzinfo)
    candidates = [m for m in mentors if m.key not in exclude
                  and (networks is None or m.reachable(networks))
                  and m.available(now, states.get(m.key), loads.get(m.key, 0))]
    if not candidates:
        return None
    return min(candidates, key=lambda m: (
        m.key in offline,
        loads.get(m.key, 0),
        getattr(states.get(m.key), "last_assigned_at", None) or never,
        m.key))


def position(turn: Turn, tr: Translator = ENGLISH) -> tuple[str, str] | None:
    """(subject, words) for where the person is on the path, or None before a project. The
    words are in `tr`'s language: English where a case stores them for mentors."""
    project = chosen_project(turn)
    if project is None:
        return None
    path = path_of(turn)
    task = path.task
    if task:
        title = next((t.title for t in project.tasks if t.id == task), task)
        return f"task:{task}", tr.t("the task \"{title}\"", title=title)
    workshop = chosen_workshop(turn)
    if workshop is not None and workshop.id not in path.completed_workshops:
        index = min(workshop_index(path, workshop.id), len(workshop.steps) - 1)
        step = workshop.steps[index]
        return (f"workshop:{workshop.id}:{step.id}",
                tr.t("step {step} of {steps} of the workshop, \"{title}\"", step=index + 1,
                     steps=len(workshop.steps), title=step.title))
    return f"project:{project.id}", tr.t("getting started")


def _reach(mentor: Mentor) -> str:
    """Where to write to a mentor, in words ("" where no identity of theirs is an address:
    a Telegram id is a number, which their name links to instead, see `_named`)."""
    return ", ".join(a for a in map(_address, mentor.profile.identities) if a)


def _named(name: str, identity_keys: Iterable[str]) -> tuple[Named, ...]:
    """`name` as a link to the person on each network that links to people (their Telegram
    chat, their Matrix profile)."""
    named = []
    for key in identity_keys:
        network, _, external = key.partition(":")
        if name and external:
            named.append(Named(name, Identity(Network(network), ExternalId(external), True)))
    return tuple(named)


def person_name(identity_key: str) -> str:
    """What to call someone known only by an identity (`irc:ada` -> ada, `matrix:@ada:x` ->
    ada); "" for a number, which is no name (a Telegram id)."""
    _, _, external = identity_key.partition(":")
    name = external.removeprefix("@").split(":", 1)[0]
    return "" if not name or name.isdigit() else name


def _address(identity_key: str) -> str:
    """How to write to someone directly, or "" where their id reaches nobody (a number)."""
    network, _, external = identity_key.partition(":")
    return "" if not external or external.isdigit() else f"{external} on {network}"


@dataclass(frozen=True)
class _Ticket:
    """What a ping says about a case."""

    code: str
    newcomer: str
    project: Project
    subject: str
    reason: str
    created_at: datetime
    source: str = "asked"  # "asked", "inactive", or the feature that referred the case


# When an offline mentor's ping was asked (Babel's LDML). Declared here, not inline: the
# catalog tool does not see a marked text inside another marked call.
ASKED_PATTERN = N_("EEE dd MMM HH:mm")


def _ping_text(ticket: _Ticket, now: datetime, again: bool, level: int = LEVEL_MENTOR,
               offline: bool = False, tr: Translator = ENGLISH) -> str:
    """Who, stuck on what, since when, their words, how to answer: in that order (in `tr`'s
    language: the mentor's stored one, or the default in a shared room). A ping
    for a mentor who is offline is read when they are back: it says when, not "just now"."""
    name = person_name(ticket.newcomer) or tr.t("A newcomer")
    since = (tr.t("asked {ago} ago", ago=describe(now - ticket.created_at, tr))
             if now > ticket.created_at else tr.t("asked just now"))
    if offline:
        asked = ticket.created_at.astimezone(UTC)
        since = tr.t("{since}, at {when} UTC (you were offline)", since=since,
                     when=tr.format_datetime(asked, ASKED_PATTERN))
    values = {"name": name, "project": ticket.project.name, "code": ticket.code}
    lines = [tr.t("Still waiting: {name} needs help with {project} (case {code}).", **values)
             if again else tr.t("{name} needs help with {project} (case {code}).", **values),
             tr.t("Stuck on: {subject}", subject=ticket.subject),
             tr.t("Since: {since}", since=since),
             # A case another feature referred says why, not the newcomer's words.
             tr.t("Why: {reason}", reason=ticket.reason)
             if ticket.source not in ("asked", "inactive") else
             tr.t("Their words: \"{words}\"", words=ticket.reason) if ticket.reason else
             tr.t("Their words: none (they didn't say more)")]
    direct = _address(ticket.newcomer)
    them = person_name(ticket.newcomer) or tr.t("them")
    if level == LEVEL_ORGANIZERS:
        answer = tr.t("To answer: find them a {project} mentor, who types !claim {code}",
                      **values)
    else:  # the claim itself is the ping's choice (a button where the network has them)
        answer = tr.t("To answer: claim it; I'll tell {them} you're on it and how to reach "
                      "you", them=them)
    lines.append(answer + (tr.t(", or write to them directly: {direct}.", direct=direct)
                           if direct else "."))
    return "\n".join(lines)


def _newcomer_named(ticket: _Ticket, tr: Translator = ENGLISH) -> tuple[Named, ...]:
    """The newcomer's name in a ping, a link to them where the network links to people."""
    return _named(person_name(ticket.newcomer) or tr.t("A newcomer"), [ticket.newcomer])


def _claim(ticket: _Ticket, tr: Translator = ENGLISH) -> tuple[Choice, ...]:
    """What a mentor presses (or types) to take the case."""
    return (Choice(f"!claim {ticket.code}", tr.t("Claim case {code}", code=ticket.code)),)


@dataclass(frozen=True)
class Routed:
    """Who was asked for a case, in words, and what happens next."""

    who: str
    level: int
    escalate_at: datetime | None
    reached: bool  # someone was told (False: nobody is on a network this bot runs)
    offline: bool = False  # the mentor asked is not online: the ping waits for them


async def _mentor_now(turn: Turn, mentors: Sequence[Mentor], loads: dict[str, int],
                      states: dict[str, MentorState],
                      tried: tuple[str, ...]) -> tuple[Mentor, Identity, bool] | None:
    """The mentor to ask, where, and whether they are online: the best available one whom
    their network shows online (or cannot tell about); when every one is offline, the best of
    them, pinged when back. Their networks are asked only about the mentors considered."""
    offline: set[str] = set()
    while True:
        mentor = choose_mentor(mentors, turn.now, loads, states, exclude=tried,
                               networks=turn.networks, offline=offline)
        if mentor is None:
            return None
        if mentor.key in offline:  # nobody online: the best of the offline ones
            return mentor, mentor.reach(turn.networks), False
        for identity in mentor.reach_all(turn.networks):
            if await turn.online(identity) is not False:
                return mentor, identity, True
        offline.add(mentor.key)


async def words_for(turn: Turn, identity: Identity) -> Translator:
    """Words for someone told privately by account (a mentor, an organizer): in the language
    their stored state keeps if they have written to the bot, else the community's default.
    A shared room (a mentors' channel) reads `turn.others`."""
    return await turn.translator_for(await reads_of(turn.reads).person_of(identity))


async def _route(turn: Turn, ticket: _Ticket, level: int, tried: tuple[str, ...]) -> Routed:
    """Ask the next helper for `ticket` and record it."""
    config = turn.settings_of(MentoringConfig)
    project = ticket.project
    want = level
    if want <= LEVEL_NEXT_MENTOR:
        reads = reads_of(turn.reads)
        found = await _mentor_now(turn, roster(turn).mentors_of(project.id),
                                  await reads.mentor_loads(), await reads.mentor_states(), tried)
        if found is not None:
            mentor, where, online = found
            due = mentor.hours.add_open_time(turn.now, config.escalate)
            turn.record(PingCase(ticket.code, mentor.key, want, (*tried, mentor.key),
                                 turn.now, due))
            words = await words_for(turn, where)  # the mentor's language, if stored
            turn.tell(where, _ping_text(ticket, turn.now, bool(tried), offline=not online,
                                        tr=words),
                      _claim(ticket, words), named=_newcomer_named(ticket, words),
                      locale=words.locale)
            turn.event("case_pinged", case=ticket.code, mentor=mentor.key, level=want,
                       online=online)
            return Routed(turn.t("{name} (a {project} mentor)", name=mentor.name,
                                 project=project.name), want, due, True, offline=not online)
        want = LEVEL_CHANNEL
    if want == LEVEL_CHANNEL:
        rooms = [RoomRef(Network(n), room, room) for n, room in project.mentor_channels.items()
                 if n in turn.networks]
        if rooms:
            for room in rooms:
                turn.tell(room, _ping_text(ticket, turn.now, True, LEVEL_CHANNEL, tr=turn.others),
                          _claim(ticket, turn.others),
                          named=_newcomer_named(ticket, turn.others))
            due = turn.now + config.escalate
            turn.record(PingCase(ticket.code, "", LEVEL_CHANNEL, tried, turn.now, due))
            turn.event("case_escalated", case=ticket.code, level=LEVEL_CHANNEL)
            return Routed(turn.t("the {project} mentors' channel", project=project.name),
                          LEVEL_CHANNEL, due, True)
        want = LEVEL_ORGANIZERS
    organizers = [o for o in turn.directory.organizer_identities() if o.network in turn.networks]
    for organizer in organizers:
        words = await words_for(turn, organizer)
        turn.tell(organizer, words.t("Nobody has picked this up yet.") + " " +
                  _ping_text(ticket, turn.now, True, LEVEL_ORGANIZERS, tr=words),
                  locale=words.locale)
    turn.record(PingCase(ticket.code, "", LEVEL_ORGANIZERS, tried, turn.now, None))
    turn.event("case_escalated", case=ticket.code, level=LEVEL_ORGANIZERS)
    return Routed(turn.t("the program's organizers") if organizers else
                  turn.t("the team (no organizer is online)"), LEVEL_ORGANIZERS, None,
                  bool(organizers))


def _support(project: Project, tr: Translator = ENGLISH) -> str:
    channels = channel_list(project)
    return tr.t("{name}'s support channel ({channels})", name=project.name,
                channels=channels) if channels else tr.t("your project's support channel")


def _what_next(turn: Turn, routed: Routed, project: Project, code: str) -> str:
    """What the newcomer is told after a request went somewhere: who, and what happens when,
    honestly, and where else to ask meanwhile."""
    tr = turn.translator
    support = _support(project, tr)
    if routed.level <= LEVEL_NEXT_MENTOR:
        wait = (" " + tr.t("If they haven't picked it up within {within}, I'll ask someone "
                           "else.", within=describe(routed.escalate_at - turn.now, tr))
                if routed.escalate_at else "")
        if routed.offline:
            return tr.t("I've asked {who} to help you (case {code}), but they're not online "
                        "right now (nor is any other mentor of the project): they'll get your "
                        "question as soon as they're back, and I'll tell you when someone "
                        "picks it up.{wait} Meanwhile you can keep asking in {support}.",
                        who=routed.who, code=code, wait=wait, support=support)
        return tr.t("I've asked {who} to help you (case {code}). I'll tell you as soon as "
                    "someone picks it up.{wait} Meanwhile you can keep asking in {support}.",
                    who=routed.who, code=code, wait=wait, support=support)
    none_here = tr.t("None of {project}'s mentors can be reached through me right now.",
                     project=project.name)
    if routed.level == LEVEL_CHANNEL:
        wait = (" " + tr.t("If nobody there picks it up in {within}, I'll ask the program's "
                           "organizers.", within=describe(routed.escalate_at - turn.now, tr))
                if routed.escalate_at else "")
        return none_here + " " + tr.t(
            "I've posted your question (case {code}) in {who}.{wait} I'll tell you as soon as "
            "someone picks it up. The quickest help meanwhile: {support}.", code=code,
            who=routed.who, wait=wait, support=support)
    if routed.reached:
        return none_here + " " + tr.t(
            "I've passed your question (case {code}) to the program's organizers, who will "
            "find you a mentor; that can take a day or so, and I'll tell you as soon as someone "
            "picks it up. The quickest help meanwhile: ask in {support}.", code=code,
            support=support)
    return none_here + " " + tr.t(
        "Nor can an organizer: your question is saved (case {code}) and shows in the "
        "organizers' mentoring report, but I can't say when someone will see it. Please ask "
        "in {support}: people there can help.", code=code, support=support)


# -- newcomers ------------------------------------------------------------------------------
async def stuck(turn: Turn) -> Transition:
    """`!stuck [what's wrong]` (or `!help me ...`): open a case and ask one mentor."""
    where = position(turn)
    project = chosen_project(turn)
    if where is None or project is None:
        turn.say(turn.t("Tell me which project you're working on first: type !start. Then "
                        "!stuck finds you a mentor."))
        return None
    existing = await reads_of(turn.reads).open_case_of(turn.person_id)
    if existing is not None:
        turn.say(turn.t("You already asked for help (case {code}) and a mentor is on it. I'll "
                        "tell you as soon as there's news.", code=existing.code)
                 if existing.status == "claimed" else
                 turn.t("You already asked for help (case {code}) and I'm still finding a "
                        "mentor. I'll tell you as soon as there's news.", code=existing.code))
        return None
    reason = one_line(HELP_ME.sub("", turn.input.args), 300)
    ticket = _Ticket(case_code(), turn.sender.key, project, where[1], reason, turn.now)
    turn.record(OpenCase(ticket.code, turn.person_id, turn.sender.key, project.id, where[1],
                         reason, "asked", turn.now))
    turn.record(ClearNudge(turn.person_id))
    turn.event("case_opened", case=ticket.code, project=project.id, source="asked")
    routed = await _route(turn, ticket, LEVEL_MENTOR, ())
    turn.say(_what_next(turn, routed, project, ticket.code))
    return None


@dataclass(frozen=True)
class Referral:
    """A case another feature opened for someone (or the one they had open already)."""

    code: str
    told: str  # what to tell the newcomer: who was asked, what happens when (as for !stuck)
    existing: bool  # they had a case open already: nothing new was sent


async def refer(turn: Turn, reason: str, source: str, newcomer: str = "") -> Referral | None:
    """Open a case for the person of `turn`, where they are on the path, and ask a mentor of
    their project (escalating as `!stuck` does); another feature's way to hand something to a
    person (`reason` is what the mentor reads). None before a project is chosen. The
    newcomer's identity key is the turn's sender unless given (a due turn has no sender)."""
    where = position(turn)
    project = chosen_project(turn)
    if where is None or project is None:
        return None
    existing = await reads_of(turn.reads).open_case_of(turn.person_id)
    if existing is not None:
        return Referral(existing.code, "", True)
    who_asks = newcomer or turn.sender.key
    ticket = _Ticket(case_code(), who_asks, project, where[1], one_line(reason, 300), turn.now,
                     source)
    turn.record(OpenCase(ticket.code, turn.person_id, who_asks, project.id, where[1],
                         ticket.reason, source, turn.now))
    turn.record(ClearNudge(turn.person_id))
    turn.event("case_opened", case=ticket.code, project=project.id, source=source)
    routed = await _route(turn, ticket, LEVEL_MENTOR, ())
    return Referral(ticket.code, _what_next(turn, routed, project, ticket.code), False)


# -- mentors --------------------------------------------------------------------------------
def _split_code(args: str) -> tuple[str, str]:
    """("K7M2Q", "the rest") when the arguments start with a case code, else ("", args)."""
    first, _, rest = args.strip().partition(" ")
    if looks_like_case_code(first.upper()):
        return first.upper(), rest.strip()
    return "", args.strip()


async def _find_case(turn: Turn, mentor: Mentor) -> Case | None:
    """The case named in the arguments, else the mentor's only pending one."""
    code, _ = _split_code(turn.input.args)
    if code:
        found = await reads_of(turn.reads).case(code)
        if found is None:
            turn.say(turn.t("There's no case {code}. !mentees lists yours.", code=code))
        return found
    mine = await reads_of(turn.reads).cases_of_mentor(mentor.key)
    if len(mine) == 1:
        return mine[0]
    turn.say(turn.t("Which case? Add its code, e.g. !claim K7M2Q. !mentees lists yours.")
             if mine else turn.t("You have no pending cases. !mentees lists yours."))
    return None


async def _tell_newcomer(turn: Turn, case: Case, words: Callable[[Translator], str],
                         named: Sequence[Named] = ()) -> None:
    """`words` in the newcomer's language (their stored state says which), where they last
    wrote to the bot."""
    state = await turn.reads.load_state(case.person_id)
    last = state.data.get("last_room") if state else None
    if last and state is not None:
        tr = turn.translator_of(state.data)
        turn.tell(room_from_json(last), words(tr), named=named, locale=tr.locale)


def _mentor_of(turn: Turn) -> Mentor:
    mentor = roster(turn).mentor_for(turn.sender)
    assert mentor is not None  # the command's role ("mentor") was checked by the core
    return mentor


async def claim(turn: Turn) -> Transition:
    mentor = _mentor_of(turn)
    case = await _find_case(turn, mentor)
    if case is None:
        return None
    if _not_theirs(turn, case, mentor):
        return None
    if case.status != "open":
        turn.say(_taken(turn, case, mentor))
        return None
    turn.record(ClaimCase(case.code, mentor.key, turn.now))
    turn.event("case_claimed", case=case.code, mentor=mentor.key,
               seconds=int((turn.now - case.created_at).total_seconds()))
    name = person_name(case.newcomer) or turn.t("the newcomer")
    direct = _address(case.newcomer)
    values = {"code": case.code, "name": name, "subject": case.subject, "direct": direct}
    turn.say(turn.t("Case {code} is yours: {name}, stuck on {subject}. I've told them you will "
                    "help, and how to reach you; you can write to them as {direct}. When "
                    "you're done: !resolve {code} [a note]; to hand it back: !handback {code}.",
                    **values) if direct else
             turn.t("Case {code} is yours: {name}, stuck on {subject}. I've told them you will "
                    "help, and how to reach you. When you're done: !resolve {code} [a note]; "
                    "to hand it back: !handback {code}.", **values),
             named=_named(name, [case.newcomer]))
    await _tell_newcomer(turn, case, lambda tr: claim_news(mentor, case, tr),
                         mentor_named(mentor))
    return None


def claim_news(mentor: Mentor, case: Case, tr: Translator = ENGLISH) -> str:
    """What the newcomer hears when a mentor claims their case (in chat or on the web), with
    the mentor's name linked (`mentor_named`)."""
    reach = _reach(mentor)
    return (tr.t("Good news: {name} will help you with case {code}.", name=mentor.name,
                 code=case.code) +
            (" " + tr.t("You can reach them as {reach}.", reach=reach) if reach else ""))


def mentor_named(mentor: Mentor) -> tuple[Named, ...]:
    """The mentor's name as a link to them where the network links to people."""
    return _named(mentor.name, mentor.profile.identities)


def resolve_news(mentor: Mentor, case: Case, note: str, tr: Translator = ENGLISH) -> str:
    """What the newcomer hears when a mentor resolves their case (in chat or on the web)."""
    return (tr.t("{name} marked your question (case {code}) as resolved.", name=mentor.name,
                 code=case.code) +
            (" " + tr.t("Their note: \"{note}\"", note=note) if note else "") + " " +
            tr.t("Keep going! !stuck again any time."))


def _not_theirs(turn: Turn, case: Case, mentor: Mentor) -> bool:
    """A mentor acts only on their own projects' cases; a try on another's is refused and
    audited as a refusal."""
    if case.project_id in roster(turn).projects_of(mentor):
        return False
    turn.record(Audit(turn.sender.key, f"refused:{turn.input.command}", turn.input.args,
                      turn.now))
    turn.say(turn.t("Case {code} is for {project}, which you don't mentor.", code=case.code,
                    project=case.project_id))
    return True


def _taken(turn: Turn, case: Case, reader: Mentor) -> str:
    """Why a case can't be claimed, said to the mentor asking (who may hold it already)."""
    if case.status != "claimed":
        return turn.t("Case {code} is already resolved.", code=case.code)
    if case.claimed_by == reader.key:
        return turn.t("You took case {code} already: it's yours. When you're done: !resolve "
                      "{code} [a note].", code=case.code)
    holder = (roster(turn).mentor(case.claimed_by).name if case.claimed_by
              else turn.t("Someone"))
    return turn.t("{holder} already took case {code}.", holder=holder, code=case.code)


async def handback(turn: Turn) -> Transition:
    """`!handback CODE`: a mentor hands a case back, to be routed to the next mentor. (Not
    `!release`: that is a newcomer's word for giving their task back.)"""
    mentor = _mentor_of(turn)
    case = await _find_case(turn, mentor)
    if case is None or _not_theirs(turn, case, mentor):
        return None
    if case.status != "claimed" or case.claimed_by != mentor.key:
        turn.say(turn.t("Case {code} isn't yours to hand back.", code=case.code))
        return None
    turn.record(ReleaseCase(case.code, mentor.key, turn.now))
    turn.event("case_released", case=case.code, mentor=mentor.key)
    project = turn.content.of(PathContent).projects.get(case.project_id)
    if project is not None:
        ticket = _Ticket(case.code, case.newcomer, project, case.subject, case.reason,
                         case.created_at, case.source)
        who = (await _route(turn, ticket, LEVEL_NEXT_MENTOR, (*case.tried, mentor.key))).who
    else:
        who = turn.t("another mentor")
    turn.say(turn.t("Handed back case {code}; I've asked {who}.", code=case.code, who=who))
    await _tell_newcomer(turn, case, lambda tr: tr.t(
        "{name} had to hand your question over; I've asked {who}. Sorry for the wait.",
        name=mentor.name, who=who))
    return None


async def resolve_case(turn: Turn) -> Transition:
    mentor = _mentor_of(turn)
    case = await _find_case(turn, mentor)
    if case is None or _not_theirs(turn, case, mentor):
        return None
    if case.status == "resolved":
        turn.say(turn.t("Case {code} is already resolved.", code=case.code))
        return None
    if case.claimed_by and case.claimed_by != mentor.key:
        turn.say(turn.t("Case {code} is held by {name}.", code=case.code,
                        name=roster(turn).mentor(case.claimed_by).name))
        return None
    note = one_line(_split_code(turn.input.args)[1], 300)
    turn.record(ResolveCase(case.code, mentor.key, note, turn.now))
    turn.event("case_resolved", case=case.code, mentor=mentor.key,
               seconds=int((turn.now - case.created_at).total_seconds()))
    turn.say(turn.t("Case {code} resolved. Thank you!", code=case.code))
    await _tell_newcomer(turn, case, lambda tr: resolve_news(mentor, case, note, tr))
    return None


async def mentees(turn: Turn) -> Transition:
    mentor = _mentor_of(turn)
    cases = await reads_of(turn.reads).cases_of_mentor(mentor.key)
    if not cases:
        turn.say(turn.t("You have no open cases. Thank you for being there!"))
        return None
    lines = [turn.t("Your open cases ({n} of {capacity}):", n=len(cases),
                    capacity=mentor.profile.capacity)]
    for case in cases:
        state = turn.t("yours") if case.status == "claimed" else turn.t("waiting for !claim")
        who = person_name(case.newcomer) or case.newcomer
        lines.append("  " + turn.t("{code}: {who}, stuck on {subject}, since {since} ({state})",
                                   code=case.code, who=who, subject=case.subject,
                                   since=describe(turn.now - case.created_at, turn.translator),
                                   state=state))
    turn.say("\n".join(lines))
    return None


def _return_from_away(turn: Turn, mentor: Mentor) -> None:
    turn.record(MentorAway(mentor.key, None))
    turn.say(turn.t("Welcome back: you'll get help requests again."))


async def available(turn: Turn) -> Transition:
    """`!available`: a mentor back from `!away` takes help requests again."""
    _return_from_away(turn, _mentor_of(turn))
    return None


async def away(turn: Turn) -> Transition:
    mentor = _mentor_of(turn)
    arg = turn.input.args.strip().lower()
    if arg in ("off", "no", "back", "available"):
        _return_from_away(turn, mentor)
        return None
    try:
        length = parse_duration(arg or "1d")
    except ValueError as exc:
        turn.say(turn.t("{error}. For example: !away 3d (and !away off when you're back).",
                        error=reason(exc, turn.translator)))
        return None
    turn.record(MentorAway(mentor.key, turn.now + length))
    turn.say(turn.t("Enjoy the break: no help requests for {length}. !away off ends it early.",
                    length=describe(length, turn.translator)))
    return None


async def mentors_overview(turn: Turn) -> Transition:
    loads = await reads_of(turn.reads).mentor_loads()
    states = await reads_of(turn.reads).mentor_states()
    lines = [turn.t("Mentor load (open cases / capacity):")]
    for project in turn.content.of(PathContent).projects.values():
        lines.append(turn.t("{project}:", project=project.name))
        for mentor in roster(turn).mentors_of(project.id):
            load = loads.get(mentor.key, 0)
            state = states.get(mentor.key)
            if state is not None and state.away_until and state.away_until > turn.now:
                status = turn.t("away for {length}",
                                length=describe(state.away_until - turn.now, turn.translator))
            elif mentor.available(turn.now, state, load):
                status = turn.t("available")
            else:
                status = (turn.t("busy") if load >= mentor.profile.capacity
                          else turn.t("outside office hours"))
            lines.append("  " + turn.t("{name}: {load}/{capacity}, {status}", name=mentor.name,
                                       load=load, capacity=mentor.profile.capacity,
                                       status=status))
    turn.say("\n".join(lines))
    return None


MENTOR_ADD_USAGE = N_("Usage: !mentor add PROJECT network:id (for example !mentor add pagebot "
                      "irc:ana)")


async def mentor_admin(turn: Turn) -> Transition:
    """`!mentor` alone: how to use it."""
    turn.say(f"{turn.t(MENTOR_ADD_USAGE)}\n{turn.t(MENTOR_REMOVE_USAGE)}")
    return None


async def mentor_add(turn: Turn) -> Transition:
    """`!mentor add PROJECT network:id`."""
    parts = turn.input.args.split()
    if len(parts) != 2:
        turn.say(turn.t(MENTOR_ADD_USAGE))
        return None
    project_id, key = parts
    if project_id not in turn.content.of(PathContent).projects:
        turn.say(turn.t("There's no project {project}. Projects: {projects}.",
                        project=one_line(project_id, 40),
                        projects=", ".join(turn.content.of(PathContent).projects)))
        return None
    try:  # the rule content follows, so a stored mentor is one the roster can use
        check_identities((key,))
    except ValueError as exc:
        problem = one_line(reason(exc, turn.translator), 200)
        turn.say(f"{problem}. {turn.t(MENTOR_ADD_USAGE)}")
        return None
    turn.record(AddMentor(project_id, key))
    turn.say(turn.t("{key} now mentors {project}. !mentor remove {project_id} {key} undoes it.",
                    key=key, project=turn.content.of(PathContent).projects[project_id].name,
                    project_id=project_id))
    return None


MENTOR_REMOVE_USAGE = N_("Usage: !mentor remove PROJECT network:id (as it was added)")


async def mentor_remove(turn: Turn) -> Transition:
    """`!mentor remove PROJECT network:id`: undo a `!mentor add`, also one stored before
    identities were checked."""
    parts = turn.input.args.split()
    if len(parts) != 2:
        turn.say(turn.t(MENTOR_REMOVE_USAGE))
        return None
    project_id, key = parts
    added = await assignments_of(turn.reads).mentor_assignments()
    if (project_id, key) not in added:
        project = turn.content.of(PathContent).projects.get(project_id)
        listed = project is not None and key in project.mentors
        turn.say(turn.t("{key} mentors {project} because the content lists them (its project "
                        "file); remove them there.", key=one_line(key, 60), project=project.name)
                 if listed and project else
                 turn.t("{key} was not added to {project} with !mentor add, so there is nothing "
                        "to remove.", key=one_line(key, 60), project=one_line(project_id, 40)))
        return None
    turn.record(RemoveMentor(project_id, key))
    turn.say(turn.t("{key} no longer mentors {project} (their open cases stay as they are).",
                    key=key, project=project_id))
    return None


# -- due work: inactivity and escalation -------------------------------------------------------
def _nudge_handler(subject: str) -> Handler:
    async def nudge(turn: Turn) -> Transition:
        turn.record(ClearNudge(turn.person_id))
        where = position(turn, turn.translator)
        if (where is None or where[0] != subject or turn.data.get("paused")
                or turn.flow is None or subject in path_of(turn).nudged):
            return None  # moved on, paused or stopped: nothing to ask
        if await reads_of(turn.reads).open_case_of(turn.person_id) is not None:
            return None
        path_of(turn).nudged.append(subject)
        turn.event("nudged", subject=subject)
        turn.say(turn.t("You've been at {where} for a while. Stuck? Type !stuck and a "
                        "sentence about what's blocking you, and I'll find you a mentor. Or "
                        "just carry on: no pressure.", where=where[1]))
        return None

    return nudge


async def nudges(reads: Reads, now: datetime, config: Config) -> list[Due]:
    """People with no progress past their due time are asked, once, if they want help."""
    return [Due(n.person_id, f"nudge:{n.person_id}:{n.subject}:{n.due_at.isoformat()}",
                _nudge_handler(n.subject)) for n in await reads_of(reads).due_nudges(now)]


def _escalation_handler(case: Case) -> Handler:
    async def escalate(turn: Turn) -> Transition:
        current = await reads_of(turn.reads).case(case.code)
        project = turn.content.of(PathContent).projects.get(case.project_id)
        if current is None or current.status != "open" or project is None or (
                current.escalate_at != case.escalate_at):
            return None  # claimed, resolved or already moved on
        ticket = _Ticket(case.code, case.newcomer, project, case.subject, case.reason,
                         case.created_at, case.source)
        routed = await _route(turn, ticket, current.level + 1, current.tried)
        turn.say(turn.t("Sorry, this is taking longer than usual: nobody has picked up your "
                        "question yet. I've now asked {who}.", who=routed.who) + (
                     "" if routed.reached else " " + turn.t(
                         "Please ask in {support} too.",
                         support=_support(project, turn.translator))))
        return None

    return escalate


async def escalations(reads: Reads, now: datetime, config: Config) -> list[Due]:
    return [Due(c.person_id, f"escalate:{c.code}:{c.level}:{c.escalate_at}",
                _escalation_handler(c)) for c in await reads_of(reads).due_escalations(now)]


# -- reports ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReportRow:
    group: str
    cases: int
    claimed: int
    resolved: int
    escalated: int
    median_first_response: timedelta | None
    median_resolve: timedelta | None


def report(cases: Sequence[Case], key: str) -> list[ReportRow]:
    """Per project (key="project") or per mentor (key="mentor")."""
    groups: dict[str, list[Case]] = {}
    for case in cases:
        name = case.project_id if key == "project" else (case.claimed_by or "(unclaimed)")
        groups.setdefault(name, []).append(case)

    import statistics  # only for a report

    def median(values: list[timedelta]) -> timedelta | None:
        return statistics.median(values) if values else None  # type: ignore[type-var]

    rows = []
    for name, group in sorted(groups.items()):
        rows.append(ReportRow(
            name, len(group),
            sum(c.claimed_at is not None for c in group),
            sum(c.status == "resolved" for c in group),
            sum(c.level > 0 for c in group),
            median([c.claimed_at - c.created_at for c in group if c.claimed_at]),
            median([c.resolved_at - c.created_at for c in group if c.resolved_at])))
    return rows
