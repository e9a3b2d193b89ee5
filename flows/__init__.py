"""Flows: declarative step machines for each part of the growth path, plus global commands."""

from __future__ import annotations

from bot.flow import DueSource, Flow, Handler
from flows import account, commands, discovery, events, first_task, mentoring, workshop


def all_flows() -> dict[str, Flow]:
    return {flow.name: flow for flow in (discovery.FLOW, workshop.FLOW, first_task.FLOW)}


def global_commands() -> dict[str, Handler]:
    return {**commands.COMMANDS, "link": account.link, "task": first_task.task_command,
            "stuck": mentoring.stuck, "claim": mentoring.claim, "release": mentoring.release,
            "resolve": mentoring.resolve_case, "mentees": mentoring.mentees,
            "mentors": mentoring.mentors_overview, "away": mentoring.away,
            "back": mentoring.back, "mentor": mentoring.mentor_admin,
            "region": events.region, "invites": events.invites, "timezone": events.timezone,
            "events": events.events_command, "rsvp": events.rsvp, "event": events.event_command,
            "broadcast": events.broadcast_command}


def due_sources() -> list[DueSource]:
    return [first_task.idle_claims, mentoring.nudges, mentoring.escalations]
