"""The growth path: find a project (discovery), get started (workshop), first task."""

from __future__ import annotations

from bot.feature import Command, Feature
from bot.i18n import N_
from flows.path import (
    certificates,
    cli,
    commands,
    content,
    discovery,
    feedback,
    first_task,
    workshop,
)
from flows.path.reads import PathReads
from flows.path.settings import PathConfig
from flows.path.state import PathState

FEATURE = Feature(
    name="path",
    commands=(
        Command("start", commands.start,
                summary=N_("begin, or pick up where you left off (!start over to begin again)")),
        Command("status", commands.status, private=True,
                summary=N_("where you are on the path and what's next")),
        Command("pause", commands.pause, when=commands.can_pause,
                summary=N_("stop for now; !resume continues from the same step")),
        Command("resume", commands.resume, aliases=("continue",), when=commands.can_resume,
                summary=N_("continue where you paused")),
        Command("stop", commands.stop,
                summary=N_("leave the guided path (your task is given back; !start picks up "
                        "where you stopped)")),
        Command("task", first_task.task_command, when=first_task.can_task,
                summary=N_("show your task, or get a new one")),
        Command("certificates", certificates.certificates_command, private=True,
                usage="[CODE]",
                summary=N_("your certificates; !certificates CODE sends one again")),
        Command("name", certificates.name_command, usage="NAME", private=True,
                summary=N_("the name on your certificates, e.g. !name Ada Lovelace")),
        Command("rate", feedback.rate_command, usage="1-5 [comment]",
                summary=N_("rate the step or task you just finished (optional)")),
        Command("revoke", certificates.revoke_command, role="admin", usage="CODE REASON",
                summary=N_("revoke a certificate, with the reason")),
        # The step word below, away from the task step (listed as the step word).
        Command("release", first_task.release_command, listed=False),
    ),
    flows=(discovery.FLOW, workshop.FLOW, first_task.FLOW),
    jobs=(first_task.idle_claims,),
    settings=PathConfig,
    state=PathState,
    cli=cli.register,
    words={
        "skip": N_("skip this question or step (where allowed)"),
        "more": N_("show more options or suggestions"),
        "done": N_("say you've finished your task; !done LINK names your change, to be checked"),
        "release": N_("give your task back"),
    },
    reads=PathReads,
    content=content.PART,
    hint=N_("Type !start to find a project and get started"),
    paused=N_("You are paused. Type !resume to continue where you left off"),
)
