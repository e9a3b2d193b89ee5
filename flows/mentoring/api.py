"""What other features may use of mentoring (and nothing else in flows/mentoring): its
settings (how long before someone counts as stuck), its content (mentors' names and
identities) and the nudge records a flow emits when it
expects progress."""

from __future__ import annotations

from flows.mentoring.content import MentoringContent
from flows.mentoring.records import ClearNudge, SetNudge
from flows.mentoring.settings import MentoringConfig

__all__ = ["ClearNudge", "MentoringConfig", "MentoringContent", "SetNudge"]
