"""Linking's keys in [flows]."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, ClassVar

from pydantic import Field

from bot.config import FeatureSettings
from bot.durations import parse_duration
from bot.fields import Duration


class AccountConfig(FeatureSettings):
    table: ClassVar[str] = "flows"
    link_code_ttl: Duration = "10m"
    link_codes_per_hour: Annotated[int, Field(ge=1)] = 5

    @property
    def link_ttl(self) -> timedelta:
        return parse_duration(self.link_code_ttl)
