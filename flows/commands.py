"""Commands that work anywhere on the path: start, resume, pause, stop, help, status."""

from __future__ import annotations

from bot.flow import End, Goto, Handler, Transition, Turn
from flows.mentoring import HELP_ME, stuck
from flows.path import (
    STAGES,
    chosen_project,
    chosen_workshop,
    no_progress_expected,
    stage,
    workshop_index,
)

DESCRIPTIONS = {
    "start": "begin, or pick up where you left off (!start over to begin again)",
    "status": "where you are on the path and what's next",
    "pause": "stop for now; !resume continues from the same step",
    "resume": "continue where you paused",
    "stop": "leave the guided path (nothing is deleted)",
    "task": "show your task, or get a new one",
    "link": "get a code to link your account on another network (!link CODE redeems one)",
    "help": "this list (!help me: ask a mentor)",
    "stuck": "ask a mentor for help; add a sentence about what's blocking you",
    "back": "go back one step",
    "skip": "skip this question or step (where allowed)",
    "more": "show more suggestions",
    "done": "say you've finished your task",
    "release": "give your task back",
    "region": "your region, for invites to events near you",
    "invites": "event invites: !invites on or !invites off",
    "events": "upcoming events in your region",
    "rsvp": "answer an invite: !rsvp EVENT yes, no or maybe",
    "timezone": "your time zone (!timezone Europe/Berlin)",
}
MENTOR_COMMANDS = {
    "claim": "take a help request (!claim CODE)",
    "release": "hand a request back to be routed again (!release CODE)",
    "resolve": "close a request, with an optional note (!resolve CODE [note])",
    "mentees": "your open requests",
    "away": "pause help requests (!away 3d; !away off or !back to return)",
}
GENERAL = ("start", "status", "stuck", "pause", "resume", "stop", "task", "link", "region",
           "invites", "events", "rsvp", "timezone", "help")


async def start(turn: Turn) -> Transition:
    origin = turn.content.project_for_room(turn.room.network, turn.room.name)
    turn.data.pop("paused", None)
    turn.data.pop("left", None)
    if origin is not None:
        turn.data["origin"] = origin.id
    if turn.input.args.strip().lower() == "over":
        turn.data.pop("discovery", None)
        turn.event("restarted")
        return Goto("welcome", flow="discovery")
    if turn.flow is not None and turn.step is not None and origin is None:
        turn.say("Welcome back! Picking up where you left off.")
        return Goto(turn.step, flow=turn.flow)
    turn.event("started", origin=origin.id if origin else "")
    return Goto("welcome", flow="discovery")


async def resume(turn: Turn) -> Transition:
    if turn.flow is None or turn.step is None:
        turn.say("There's nothing to resume. Type !start to begin.")
        return None
    turn.data.pop("paused", None)
    turn.say("Welcome back! Here's where you were.")
    return Goto(turn.step, flow=turn.flow)


async def pause(turn: Turn) -> Transition:
    if turn.flow is None:
        turn.say("There's nothing to pause. Type !start to begin.")
        return None
    turn.data["paused"] = True
    no_progress_expected(turn)
    turn.event("paused", flow=turn.flow, step=turn.step)
    turn.data.pop("choices", None)
    turn.say("Paused. Everything is saved: type !resume (or !start) whenever you're ready, "
             "and you'll continue from exactly this point.")
    return None


async def stop(turn: Turn) -> Transition:
    turn.event("stopped", flow=turn.flow or "", step=turn.step or "")
    no_progress_expected(turn)
    turn.data.pop("paused", None)
    turn.data["left"] = True  # no event invites either, until they come back
    turn.say("You've left the guided path, and I won't send you event invites. Nothing is "
             "deleted: type !start any time to pick up again.")
    return End()


async def help_command(turn: Turn) -> Transition:
    if HELP_ME.match(turn.input.args):  # "!help me, pip fails": ask a mentor
        return await stuck(turn)
    here = [c for c in turn.step_commands if c not in GENERAL]
    lines = []
    if here and turn.flow is not None and not turn.data.get("paused"):
        lines.append("Right now you can use:")
        lines.extend(f"  !{c}: {DESCRIPTIONS[c]}" for c in dict.fromkeys(here))
        if turn.data.get("choices"):
            lines.append("  or answer with a number (1, !1) or the option's word")
        lines.append("")
    lines.append("Commands that work anywhere:")
    lines.extend(f"  !{c}: {DESCRIPTIONS[c]}" for c in GENERAL)
    if turn.directory.mentor_for(turn.sender) is not None:
        lines.append("")
        lines.append("For mentors:")
        lines.extend(f"  !{c}: {MENTOR_COMMANDS[c]}" for c in MENTOR_COMMANDS)
    if turn.directory.is_organizer(turn.sender):
        lines.append("")
        lines.append("For organizers:")
        lines.append("  !mentors: load and availability of every mentor")
        lines.append("  !event list | new ... | status EVENT | export EVENT: events, answers, "
                     "the travel-support list (CSV)")
        lines.append("  !broadcast EVENT [at YYYY-MM-DD HH:MM]: preview an invite; "
                     "!broadcast confirm sends it")
    turn.say("\n".join(lines))
    return None


async def status(turn: Turn) -> Transition:
    current = stage(turn.data, turn.content)
    project = chosen_project(turn)
    workshop = chosen_workshop(turn)
    details = ["", "", "", "", ""]
    if project is not None:
        details[0] = project.name
    if workshop is not None:
        index = workshop_index(turn.data, workshop.id)
        details[1] = (f"{workshop.title}, done" if current > 1 else
                      f"{workshop.title}, step {index + 1} of {len(workshop.steps)}")
    task = turn.data.get("task")
    tasks_done = int(turn.data.get("tasks_done", 0))
    if task:
        details[2] = f"working on {task}"
    elif tasks_done:
        details[2] = "done"
        details[3] = f"{tasks_done} task{'s' if tasks_done != 1 else ''} done"
    lines = ["Your path:"]
    for index, name in enumerate(STAGES):
        mark = "x" if index < current else (">" if index == current else " ")
        detail = f": {details[index]}" if details[index] else ""
        lines.append(f"  [{mark}] {index + 1}. {name}{detail}")
    lines.append("")
    lines.append(_next_hint(turn, current))
    turn.say("\n".join(lines))
    return None


def _next_hint(turn: Turn, current: int) -> str:
    if turn.data.get("paused"):
        return "You're paused: type !resume to continue."
    if current == 0:
        return "Next: type !start to find your project." if turn.flow is None else (
            "Next: answer the question above to find your project.")
    if current == 1:
        return "Next: finish the workshop (type !resume to see your current step)."
    if current == 2 and not turn.data.get("task"):
        return "Next: type !task to get your first task."
    if turn.data.get("task"):
        return "Next: finish your task and type !done."
    return "Next: type !task for another task."


COMMANDS: dict[str, Handler] = {
    "start": start,
    "resume": resume,
    "continue": resume,
    "pause": pause,
    "stop": stop,
    "help": help_command,
    "status": status,
}
