"""The weekly digest, a due job: on the configured day and hour (in [digest] timezone), each
reader (a mentor or organizer who has talked to the bot from a verified identity: the digest's
projection of their turns) gets one private message for the week:
- as a mentor: their open cases, their new mentees, newcomers stuck on their projects;
- as an organizer: the funnel's week, events coming up, dead letters.
Each reader's week is recorded when sent, so it goes once, also across restarts; a bot that
was down for the whole day after the hour skips that week rather than send it late."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bot.config import Config
from bot.feature import ProjectInputs
from bot.fields import zone
from bot.flow import Due, Handler, Transition, Turn
from bot.i18n import N_, SOURCE, Translator
from bot.model import ExternalId, Identity, Network
from bot.ports import Reads
from bot.roles import Directory
from flows.digest.reads import reads_of
from flows.digest.records import DigestSent, Reader, Recipient
from flows.digest.settings import DAYS, DigestConfig
from flows.events.api import all_events, when_text
from flows.events.api import reads_of as events_reads
from flows.mentoring.api import Case, Roster, roster
from flows.path.api import PathContent

FEATURE_NAME = "digest"
MENTOR_ROLE = "mentor"  # mentoring's role
WEEK = timedelta(days=7)
SHOWN = 8  # cases listed per section; the count says the rest
FUNNEL = ("started", "project_chosen", "workshop_done", "task_done")
WEEK_PATTERN = N_("dd MMM yyyy")  # the week's date for Babel (LDML), in the reader's language
DUE_PER_SCAN = 200
LATE = timedelta(days=1)  # how long after its hour a week's digest may still go


def week_of(now: datetime, settings: DigestConfig) -> datetime:
    """The latest slot (the configured day and hour, in its time zone) at or before `now`."""
    tz = zone(settings.timezone)
    local = now.astimezone(tz)
    back = (local.weekday() - DAYS.index(settings.day)) % 7
    slot = (local - timedelta(days=back)).replace(hour=settings.hour, minute=0, second=0,
                                                  microsecond=0)
    if slot > local:
        slot -= WEEK
    return slot.astimezone(UTC)


# -- who reads it: a projection of each turn ----------------------------------------------------
def reader(turn: Turn) -> Reader | None:
    """The verified identity a turn came from, if it holds the mentor or organizer role
    (Feature.project); a due turn or an unverified one changes nothing."""
    before = turn.projected.get(FEATURE_NAME)
    kept = before if isinstance(before, Reader) else None
    sender = turn.inbound.sender
    if not sender.verified or not sender.external_id:
        return kept
    key = sender.key
    roles = turn.directory.remembered(("digest", key), _digest_roles, turn.directory, sender)
    if roles:
        return Reader(turn.person_id, key, roles)
    if kept is not None and kept.roles and kept.identity_key == key:
        return Reader(turn.person_id)  # this identity lost its roles: no more digests
    return kept


def _digest_roles(directory: Directory, sender: Identity) -> str:
    """The roles that bring the weekly digest, that the identity holds ("" for none)."""
    return ",".join([role for role, held in (
        (MENTOR_ROLE, directory.holds(MENTOR_ROLE, sender)),
        ("organizer", directory.is_organizer(sender))) if held])


# All that `reader` reads (the engine asks it only when one of them changed): the sender, and
# the roles they hold (a grant or its end changes Directory.version).
READER_INPUTS = ProjectInputs(sender=True)


# -- the due job ----------------------------------------------------------------------------------
async def digests(reads: Reads, now: datetime, config: Config) -> list[Due]:
    settings = config.settings_of(DigestConfig)
    if not settings.enabled:
        return []
    week = week_of(now, settings)
    if now - week > LATE:  # the bot was down all that day: this week's is skipped
        return []
    due = await reads_of(reads).digest_due(week, DUE_PER_SCAN)
    return [Due(r.person_id, f"digest:{week:%Y-%m-%d}:{r.person_id}", _send(r, week))
            for r in due]


def _identity(key: str) -> Identity:
    network, _, external = key.partition(":")
    return Identity(Network(network), ExternalId(external), True)


def _send(recipient: Recipient, week: datetime) -> Handler:
    async def send(turn: Turn) -> Transition:
        turn.record(DigestSent(turn.person_id, week))
        identity = _identity(recipient.identity_key)
        mentors = roster(turn)
        mentor = mentors.mentor_for(identity)
        parts = []
        if mentor is not None:
            parts.append(_mentor_part(turn, mentors, mentor.key, mentor.name,
                                      await reads_of(turn.reads).all_cases(), week))
        if turn.directory.is_organizer(identity):
            parts.append(await _organizer_part(turn, week))
        if not parts:  # no longer a mentor nor an organizer
            turn.record(Reader(turn.person_id))
            return None
        if identity.network in turn.networks:
            # A due turn is the reader's own: turn.t speaks their stored language.
            when = (f"{week:%d %b %Y}" if turn.translator.locale == SOURCE
                    else turn.translator.format_date(week, turn.t(WEEK_PATTERN)))
            turn.tell(identity, "\n\n".join([turn.t("Your weekly digest ({week}):", week=when),
                                             *parts]))
        return None

    return send


def _case_line(case: Case, now: datetime, tr: Translator) -> str:
    days = (now - case.created_at).days
    since = tr.t("today") if days < 1 else tr.tn("{n} day ago", "{n} days ago", days)
    return "  " + tr.t("{code}: {newcomer}, {subject} (since {since})", code=case.code,
                       newcomer=case.newcomer, subject=case.subject, since=since)


def _listed(title: str, cases: list[Case], now: datetime, tr: Translator) -> list[str]:
    if not cases:
        return [tr.t("{title}: none.", title=title)]
    lines = [tr.t("{title} ({n}):", title=title, n=len(cases)),
             *(_case_line(c, now, tr) for c in cases[:SHOWN])]
    if len(cases) > SHOWN:
        lines.append("  " + tr.tn("and {n} more", "and {n} more", len(cases) - SHOWN))
    return lines


def _mentor_part(turn: Turn, mentors: Roster, key: str, name: str, cases: Sequence[Case],
                 week: datetime) -> str:
    """For a mentor: what they hold, who became theirs this week, who waits on their
    projects."""
    mine = [c for c in cases if c.claimed_by == key]
    mentor = mentors.mentor(key)
    projects = set(mentors.projects_of(mentor))
    names = turn.content.of(PathContent).projects
    open_cases = [c for c in mine if c.status == "claimed"]
    new = [c for c in mine if c.claimed_at is not None and c.claimed_at >= week - WEEK]
    stuck = [c for c in cases if c.status == "open" and c.project_id in projects]
    tr = turn.translator
    lines = [tr.t("As a mentor of {projects} ({name}):", name=name, projects=", ".join(
        names[p].name for p in sorted(projects) if p in names))]
    lines += _listed(tr.t("Your open cases"), open_cases, turn.now, tr)
    lines += _listed(tr.t("New mentees this week"), new, turn.now, tr)
    lines += _listed(tr.t("Stuck newcomers waiting for a mentor"), stuck, turn.now, tr)
    if stuck:
        lines.append(tr.t("!claim CODE takes one."))
    return "\n".join(lines)


async def _organizer_part(turn: Turn, week: datetime) -> str:
    """For an organizer: the funnel's week, the events coming up, the dead letters."""
    settings = turn.settings_of(DigestConfig)
    reads = reads_of(turn.reads)
    counts = await reads.funnel_counts(week - WEEK)
    funnel = ", ".join(_funnel_words(kind, counts.get(kind, 0), turn.translator)
                       for kind in FUNNEL)
    lines = [turn.t("As an organizer:"), turn.t("The funnel this week: {funnel}.", funnel=funnel)]
    ahead = turn.now + timedelta(days=settings.events_ahead_days)
    coming = [e for e in await all_events(turn.content, events_reads(turn.reads))
              if turn.now <= e.starts_at <= ahead]
    days = settings.events_ahead_days
    if coming:
        lines.append(turn.tn("Events in the next {n} day:", "Events in the next {n} days:", days))
        lines += [f"  {turn.local(e.title)} ({e.id}): "
                  f"{when_text(e, settings.timezone, turn.translator)}" for e in coming]
    else:
        lines.append(turn.tn("No events in the next {n} day.", "No events in the next {n} days.",
                             days))
    messages, work = await reads.dead_letter_counts()
    if messages or work:
        lines.append(turn.t("Dead letters: {messages} and {work} (wayfinder outbox lists them).",
                            messages=turn.tn("{n} message", "{n} messages", messages),
                            work=turn.tn("{n} due job", "{n} due jobs", work)))
    else:
        lines.append(turn.t("Dead letters: none."))
    return "\n".join(lines)


def _funnel_words(kind: str, n: int, tr: Translator) -> str:
    """One step of the funnel with its count ("3 chose a project")."""
    if kind == "started":
        return tr.tn("{n} started", "{n} started", n)
    if kind == "project_chosen":
        return tr.tn("{n} chose a project", "{n} chose a project", n)
    if kind == "workshop_done":
        return tr.tn("{n} finished a workshop", "{n} finished a workshop", n)
    return tr.tn("{n} task done", "{n} tasks done", n)
