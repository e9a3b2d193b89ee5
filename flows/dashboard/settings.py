"""[dashboard]: the web dashboard's logins (the link goes to [web] public_url)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, ClassVar

from pydantic import Field

from bot.config import FeatureSettings
from bot.durations import parse_duration
from bot.fields import Duration


class DashboardConfig(FeatureSettings):
    table: ClassVar[str] = "dashboard"
    # How long a `!dashboard` link works (once), and how many one person may ask for an hour.
    login_link_ttl: Duration = "10m"
    login_links_per_hour: Annotated[int, Field(ge=1, le=100)] = 5
    # How long a web session lasts after logging in (then `!dashboard` again).
    session_ttl: Duration = "12h"

    @property
    def link_ttl(self) -> timedelta:
        return parse_duration(self.login_link_ttl)

    @property
    def session_length(self) -> timedelta:
        return parse_duration(self.session_ttl)
