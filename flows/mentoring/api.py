"""What other features may use of mentoring (and nothing else in flows/mentoring): its
settings (how long before someone counts as stuck), its content (mentors' names and
identities), the nudge records a flow emits when it expects progress, and `refer`: a case
opened for someone by another feature, sent to a mentor of their project; `AddMentor`: a
feature that makes someone a mentor of a project (levelup, once an organizer approved);
`roster`: this turn's mentors and their projects, and `Case`, a help request (the digest);
`words_for`: words for someone known by an account (an organizer), in their stored language."""

from __future__ import annotations

from flows.mentoring.cases import Referral, refer, words_for
from flows.mentoring.content import MentoringContent
from flows.mentoring.records import AddMentor, Case, ClearNudge, SetNudge
from flows.mentoring.roster import Roster, roster
from flows.mentoring.settings import MentoringConfig

__all__ = ["AddMentor", "Case", "ClearNudge", "MentoringConfig", "MentoringContent", "Referral",
           "Roster", "SetNudge", "refer", "roster", "words_for"]
