"""`!person NAME` (an organizer looks someone up) and `!me` (my contributor metrics)."""

from __future__ import annotations

from bot.flow import Transition, Turn
from flows.crm.profile import person_record, record_lines
from flows.crm.reads import reads_of
from flows.forge.api import me_section
from flows.path.api import next_hint

MAX_MATCHES = 10


async def person(turn: Turn) -> Transition:
    """`!person NAME`: one person's record, or the people the name could be."""
    name = turn.input.args.strip()
    if not name:
        turn.say(turn.t("Usage: !person NAME (a person id, an account such as irc:ada, or part "
                        "of a name)."))
        return None
    reads = reads_of(turn.reads)
    found = await reads.find_people(name, MAX_MATCHES + 1)
    if not found:
        turn.say(turn.t("No one matches \"{name}\". Try a person id, an account such as "
                        "telegram:12345, or part of a name.", name=name))
        return None
    if len(found) > 1:
        lines = []
        for pid in found[:MAX_MATCHES]:
            accounts = ", ".join(i.key for i in await reads.identities(pid))
            lines.append(f"  {pid}: {accounts}")
        more = (" " + turn.t("(showing the first {count})", count=MAX_MATCHES)
                if len(found) > MAX_MATCHES else "")
        turn.say(turn.tn("{n} person matches \"{name}\"{more}; ask again with one of the ids:",
                         "{n} people match \"{name}\"{more}; ask again with one of the ids:",
                         len(found[:MAX_MATCHES]), name=name, more=more) +
                 "\n" + "\n".join(lines))
        return None
    facts = await reads.person_facts(found[0])
    if facts is None:  # erased meanwhile
        turn.say(turn.t("No one matches \"{name}\" any more.", name=name))
        return None
    turn.say("\n".join(record_lines(person_record(facts, turn.content), turn.now,
                                     tr=turn.translator)))
    return None


async def me(turn: Turn) -> Transition:
    """`!me`: the steps done with dates, time on the path, tasks, certificates, mentors met,
    events, the linked forges' numbers (cached by the forge feature's due job, with a chart
    where the network carries files), and what's next."""
    facts = await reads_of(turn.reads).person_facts(turn.person_id)
    if facts is None or not facts.events:
        turn.say(turn.t("Nothing to show yet: type !start to begin your path, and your steps, "
                        "tasks and certificates will show here."))
        return None
    record = person_record(facts, turn.content)
    lines = [turn.t("Your contributor metrics:"),
             *record_lines(record, turn.now, full=False, tr=turn.translator)]
    if not record.tasks:
        lines.append(turn.t("Tasks: none finished yet"))
    if not record.certificates:
        lines.append(turn.t("Certificates: none yet (finishing your project's workshop gives "
                            "one)"))
    forges, chart = await me_section(turn)
    lines += forges
    lines.append(next_hint(turn))
    turn.say("\n".join(lines), file=chart)
    return None
