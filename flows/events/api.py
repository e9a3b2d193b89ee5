"""What other features may use of events (and nothing else in flows/events): its content
(regions), a person's events state (the region they chose), and invite lists other than
regions: joining and leaving one, what a person joined, and a message to a list's members
sent through the broadcaster (`message_broadcast`, the words around it a `Frame` worded
for each member, as `framed` shows them); every event (`all_events`) and its time
in words (`when_text`); how a broadcast's sends went, in lines (`delivery_lines`)."""

from __future__ import annotations

from flows.events.content import EventsContent
from flows.events.invites import all_events, delivery_lines, framed, message_broadcast, when_text
from flows.events.reads import EventsReads, reads_of
from flows.events.records import Frame, JoinInviteList, LeaveInviteList
from flows.events.state import EventsState

__all__ = ["EventsContent", "EventsReads", "EventsState", "Frame", "JoinInviteList",
           "LeaveInviteList", "all_events", "delivery_lines", "framed", "message_broadcast",
           "reads_of", "when_text"]
