"""What the pairing feature keeps about a person (stored under "pairing" in their state)."""

from __future__ import annotations

from typing import ClassVar

from bot.flow import FeatureState


class PairingState(FeatureState):
    namespace: ClassVar[str] = "pairing"

    pair: bool = False  # agreed to be introduced to another newcomer of their project
