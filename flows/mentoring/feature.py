"""Mentoring: help requests (cases) routed to available mentors, escalation, reports."""

from __future__ import annotations

from bot.feature import Command, Feature
from bot.i18n import N_
from flows.mentoring import cases, cli, content, hours, roster
from flows.mentoring.reads import MentoringReads
from flows.mentoring.settings import MentoringConfig

FEATURE = Feature(
    name="mentoring",
    commands=(
        Command("stuck", cases.stuck, usage="[what's wrong]", private=True,
                summary=N_("ask a mentor for help; add a sentence about what's blocking you")),
        Command("claim", cases.claim, role="mentor", usage="CODE", private=True,
                summary=N_("take a help request")),
        Command("handback", cases.handback, role="mentor", usage="CODE", private=True,
                summary=N_("hand a request back to be routed again")),
        Command("resolve", cases.resolve_case, role="mentor", usage="CODE [note]",
                private=True,
                summary=N_("close a request, with an optional note")),
        Command("mentees", cases.mentees, role="mentor", private=True,
                summary=N_("your open requests")),
        Command("away", cases.away, role="mentor", usage="[3d | off]",
                summary=N_("pause help requests for a while (!away off or !available to return)")),
        Command("hours", hours.hours, role="mentor", usage="[DAYS HH:MM-HH:MM [Area/City]]",
                summary=N_("your office hours, e.g. !hours Mon-Fri 18:00-20:00 Europe/Lisbon")),
        Command("available", cases.available, role="mentor",
                summary=N_("back from !away: take help requests again")),
        Command("mentors", cases.mentors_overview, role="organizer",
                summary=N_("load and availability of every mentor")),
        Command("mentor", cases.mentor_admin, role="admin", sub={
            "add": Command("add", cases.mentor_add, usage="PROJECT network:id", private=True,
                           summary=N_("make someone a mentor of a project")),
            "remove": Command("remove", cases.mentor_remove, usage="PROJECT network:id",
                              private=True, summary=N_("undo a !mentor add")),
        }),
    ),
    jobs=(cases.nudges, cases.escalations),
    settings=MentoringConfig,
    cli=cli.register,
    reads=MentoringReads,
    content=content.PART,
    roles={roster.ROLE: roster.MentorGrants},
)
