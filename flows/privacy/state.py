"""The privacy feature's part of a person's state: a pending `!forget` confirmation."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from bot.flow import FeatureState


class PrivacyState(FeatureState):
    namespace: ClassVar[str] = "privacy"
    forget_code: str = ""
    forget_until: datetime | None = None
