"""Local groups: content/groups/<id>.toml describes each group; newcomers find the groups
near them and join their lists; a group's organizers message its members."""

from __future__ import annotations

from bot.feature import Command, Feature
from flows.groups import commands, content
from flows.groups.state import GroupsState

FEATURE = Feature(
    name="groups",
    commands=(
        Command("groups", commands.groups, summary="local groups near your region"),
        Command("group", commands.show, usage="ID", free_args=True,
                summary="a local group: where it talks, when it meets, its partners", sub={
                    "join": Command("join", commands.join, usage="ID", private=True,
                                    summary="join a group's list: its organizers may message "
                                            "you"),
                    "leave": Command("leave", commands.leave, usage="ID", private=True,
                                     summary="leave a group's list"),
                    "send": Command("send", commands.send, role=commands.ROLE,
                                    usage="ID TEXT", private=True,
                                    summary="preview a message to your group's members"),
                    "confirm": Command("confirm", commands.confirm, role=commands.ROLE,
                                       private=True, summary="send the message you previewed"),
                    "cancel": Command("cancel", commands.cancel, role=commands.ROLE,
                                      private=True, summary="drop the message you previewed"),
                    "status": Command("status", commands.status, role=commands.ROLE,
                                      usage="ID", private=True,
                                      summary="your group's members and how your messages "
                                              "went"),
                }),
    ),
    state=GroupsState,
    content=content.PART,
    roles={commands.ROLE: commands.ORGANIZERS},
)
