"""The dashboard: `!dashboard` gives organizers, admins and mentors a one-time login link to
the web pages (web/), whose sessions this feature's records keep."""

from __future__ import annotations

from bot.feature import Command, Feature
from bot.i18n import N_
from flows.dashboard import login
from flows.dashboard.reads import DashboardReads
from flows.dashboard.settings import DashboardConfig

FEATURE = Feature(
    name="dashboard",
    commands=(
        # No single role: organizers, admins and mentors may all log in (checked in the
        # handler, and audited there, refusals too).
        Command("dashboard", login.dashboard, private=True, when=login.may_use,
                summary=N_("a one-time link to the web dashboard (organizers, admins and "
                        "mentors)")),
    ),
    reads=DashboardReads,
    settings=DashboardConfig,
)
