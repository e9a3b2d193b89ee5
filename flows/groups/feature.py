"""Local groups: content/groups/<id>.toml describes each group; newcomers find the groups
near them and join their lists; a group's organizers message its members."""

from __future__ import annotations

from bot.feature import Command, Feature
from bot.i18n import N_
from flows.groups import commands, content
from flows.groups.state import GroupsState

FEATURE = Feature(
    name="groups",
    commands=(
        Command("groups", commands.groups, summary=N_("local groups near your region")),
        Command("group", commands.show, usage="ID", free_args=True,
                summary=N_("a local group: where it talks, when it meets, its partners"), sub={
                    "join": Command("join", commands.join, usage="ID", private=True,
                                    summary=N_("join a group's list: its organizers may message "
                                            "you")),
                    "leave": Command("leave", commands.leave, usage="ID", private=True,
                                     summary=N_("leave a group's list")),
                    "send": Command("send", commands.send, role=commands.ROLE,
                                    usage="ID TEXT", private=True,
                                    summary=N_("preview a message to your group's members")),
                    "confirm": Command("confirm", commands.confirm, role=commands.ROLE,
                                       private=True, summary=N_("send the message you previewed")),
                    "cancel": Command("cancel", commands.cancel, role=commands.ROLE,
                                      private=True,
                                      summary=N_("drop the message you previewed")),
                    "status": Command("status", commands.status, role=commands.ROLE,
                                      usage="ID", private=True,
                                      summary=N_("your group's members and how your "
                                                 "messages went")),
                }),
    ),
    state=GroupsState,
    content=content.PART,
    roles={commands.ROLE: commands.ORGANIZERS},
)
