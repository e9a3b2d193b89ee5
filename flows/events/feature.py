"""Events: regions and consent to invites, organizers' events and broadcasts, RSVPs."""

from __future__ import annotations

from bot.feature import Command, Feature
from bot.i18n import N_
from flows.events import attendance, buddies, cli, content, invites
from flows.events.reads import EventsReads
from flows.events.service import BroadcastService, quiet_hours
from flows.events.settings import EventsConfig
from flows.events.state import EventsState

EVENT_NEW = ("ID | TITLE | YYYY-MM-DD HH:MM | TIMEZONE | PLACE | REGIONS | AUDIENCE [| CAPACITY "
             "[| KIND]]")

FEATURE = Feature(
    name=invites.FEATURE_NAME,
    commands=(
        Command("region", invites.region, usage="[CODE | none]", private=True,
                summary=N_("your region, for invites to events near you")),
        Command("invites", invites.invites, usage="on | off", private=True,
                summary=N_("event invites near you: yes (on) or no (off)")),
        Command("events", invites.events_command, private=True,
                summary=N_("upcoming events in your region")),
        Command("rsvp", invites.rsvp, usage="EVENT yes [buddy] | no | maybe", private=True,
                summary=N_("answer an invite (yes buddy: and look after a first-timer there)")),
        Command("timezone", invites.timezone, usage="[Area/City | region]", private=True,
                summary=N_("your time zone, e.g. Europe/Berlin (region: your region's)")),
        Command("checkin", attendance.checkin, usage=attendance.CHECKIN_USAGE, private=True,
                free_args=True,
                summary=N_("at an event: the code shown at the venue, to say you were there"), sub={
                    # Private: said in a channel, people not there could check in.
                    "code": Command("code", attendance.checkin_code, usage="EVENT",
                                    role="organizer", private=True,
                                    summary=N_("the check-in code to show at an event's venue")),
                }),
        Command("feedback", attendance.feedback, usage=attendance.FEEDBACK_USAGE, private=True,
                summary=N_("how an event you checked in at was")),
        Command("event", invites.event_list, role="organizer", sub={
            "list": Command("list", invites.event_list, summary=N_("every event")),
            "new": Command("new", invites.event_new, usage=EVENT_NEW,
                           summary=N_("create an event")),
            "status": Command("status", invites.event_status, usage="EVENT",
                              summary=N_("answers by region and how the sends went")),
            "export": Command("export", invites.event_export, usage="EVENT", private=True,
                              summary=N_("the answers and the travel-support list (CSV)")),
        }),
        Command("broadcast", invites.broadcast_preview, role="organizer", free_args=True,
                usage=invites.BROADCAST_USAGE,
                summary=N_("preview an event's invite (nothing is sent yet); it skips people "
                        "who answered, unless `including` names their answer"), sub={
                    "confirm": Command("confirm", invites.broadcast_confirm,
                                       summary=N_("send the invite you previewed")),
                    "cancel": Command("cancel", invites.broadcast_cancel, usage="[EVENT]",
                                      summary=N_("drop the preview, or cancel an event's "
                                              "scheduled sends")),
                }),
    ),
    jobs=(attendance.follow_ups, buddies.pair_buddies),
    settings=EventsConfig,
    services=BroadcastService,
    defer=quiet_hours,
    cli=cli.register,
    state=EventsState,
    reads=EventsReads,
    content=content.PART,
    project=invites.standing,
    project_inputs=invites.STANDING_INPUTS,
)
