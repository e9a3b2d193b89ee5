"""`!groups`, `!group ID`, `!group join|leave ID`, and a group organizer's message to its
members (`!group send ID TEXT`, then `!group confirm`).

A group's members are an invite list of the events feature ("group:ID"): joining is the
person's consent to the group's messages, and a message goes out through the events
broadcaster (batches, quiet hours, once per member, across restarts), not a second one."""

from __future__ import annotations

from bot.content import Content
from bot.flow import Transition, Turn
from bot.i18n import ENGLISH, N_, Translator
from bot.records import Audit
from bot.roles import ContentRole, RoleIndex
from bot.text import one_line
from flows.events.api import (
    EventsContent,
    EventsState,
    Frame,
    JoinInviteList,
    LeaveInviteList,
    delivery_lines,
    framed,
    message_broadcast,
    reads_of,
)
from flows.groups.content import Group, GroupsContent
from flows.groups.near import groups_near
from flows.groups.state import Draft, GroupsState

ROLE = "group organizer"
MAX_MESSAGE = 1500  # characters of an organizer's message (the broadcast keeps 2000)
STATUS_MESSAGES = 5  # the last messages `!group status` reports on


def list_key(group_id: str) -> str:
    return f"group:{group_id}"


class _Contacts:
    """Who organizes some group: the contacts the group files list."""

    def __init__(self, keys: frozenset[str]) -> None:
        self.keys = keys

    def holds(self, identity_key: str) -> bool:
        return identity_key in self.keys


def _contacts(content: Content) -> RoleIndex:
    groups = content.of(GroupsContent).groups.values()
    return _Contacts(frozenset(k for g in groups for k in g.contacts))


ORGANIZERS = ContentRole(_contacts)


def _groups(turn: Turn) -> dict[str, Group]:
    return turn.content.of(GroupsContent).groups


def _near(turn: Turn, region: str) -> list[Group]:
    return groups_near(turn.content, region)


def _card(group: Group, joined: bool, tr: Translator = ENGLISH) -> str:
    lines = [f"{tr.local(group.name)} ({group.id})"
             + (" - " + tr.t("you joined") if joined else "")]
    if group.summary:
        lines.append(f"  {tr.local(group.summary)}")
    lines.append("  " + tr.t("Meets: {rhythm}", rhythm=group.rhythm))
    if group.channels:
        lines.append("  " + tr.t("Channels: {channels}", channels=", ".join(
            f"{net}: {where}" for net, where in sorted(group.channels.items()))))
    if group.partners:
        lines.append("  " + tr.t("Partners: {partners}", partners="; ".join(
            f"{tr.local(p.name)}{f' ({p.kind})' if p.kind else ''} {p.url}"
            for p in group.partners)))
    return "\n".join(lines)


async def _joined(turn: Turn) -> set[str]:
    lists = await reads_of(turn.reads).invite_lists_of(turn.person_id)
    return {key.removeprefix("group:") for key in lists if key.startswith("group:")}


async def groups(turn: Turn) -> Transition:
    """`!groups`: the local groups near the person's region."""
    if not _groups(turn):
        turn.say(turn.t("There are no local groups yet."))
        return None
    region = turn.state(EventsState).region
    if not region:
        names = ", ".join(f"{turn.local(g.name)} ({g.id})" for g in _groups(turn).values())
        turn.say(turn.t("Local groups: {names}. Tell me your region with !region and I'll show "
                        "the ones near you.", names=names))
        return None
    near = _near(turn, region)
    name = turn.content.of(EventsContent).regions.get(region)
    where = name.name if name else region
    if not near:
        turn.say(turn.t("There is no local group near {where} yet. (!region changes your "
                        "region.)", where=where))
        return None
    joined = await _joined(turn)
    cards = [_card(g, g.id in joined, turn.translator) for g in near]
    turn.say("\n\n".join([turn.t("Local groups near {where}:", where=where), *cards,
                          turn.t("Join one with !group join ID: its organizers can then send "
                                 "you its news. !group leave ID stops them.")]))
    return None


def _find(turn: Turn, word: str, usage: str) -> Group | None:
    group_id = word.strip().lower()
    if not group_id:
        turn.say(turn.t("Usage: {usage}. !groups shows the groups near you.", usage=usage))
        return None
    group = _groups(turn).get(group_id)
    if group is None:
        turn.say(turn.t("I don't know the group {group}. !groups shows the groups near you.",
                        group=repr(one_line(group_id, 40))))
    return group


async def show(turn: Turn) -> Transition:
    """`!group ID`: one group's card; `!group` alone: how to use it."""
    word = turn.input.args.strip()
    if not word:
        return await groups(turn)
    group = _find(turn, word.split(" ", 1)[0], "!group ID")
    if group is not None:
        turn.say(_card(group, group.id in await _joined(turn), turn.translator))
    return None


async def join(turn: Turn) -> Transition:
    group = _find(turn, turn.input.args, "!group join ID")
    if group is None:
        return None
    if group.id in await _joined(turn):
        turn.say(turn.t("You're already on {name}'s list. (!group leave {id} to leave.)",
                        name=group.name, id=group.id))
        return None
    turn.record(JoinInviteList(list_key(group.id), turn.person_id, turn.now))
    turn.say(turn.t("You joined {name}. Its organizers can now send you its news and invites; "
                    "it meets {rhythm}. !group leave {id} stops them.", name=group.name,
                    rhythm=group.rhythm, id=group.id))
    return None


async def leave(turn: Turn) -> Transition:
    group = _find(turn, turn.input.args, "!group leave ID")
    if group is None:
        return None
    if group.id not in await _joined(turn):
        turn.say(turn.t("You're not on {name}'s list, so there is nothing to leave.",
                        name=group.name))
        return None
    turn.record(LeaveInviteList(list_key(group.id), turn.person_id))
    turn.say(turn.t("You left {name}: its organizers won't message you any more.",
                    name=group.name))
    return None


async def send(turn: Turn) -> Transition:
    """`!group send ID TEXT`: a preview of a message to the group's members."""
    word, _, text = turn.input.args.strip().partition(" ")
    text = text.strip()
    group = _find(turn, word, "!group send ID TEXT")
    if group is None:
        return None
    if turn.sender.key not in group.contacts:
        turn.say(turn.t("Only {name}'s organizers (its contacts in {source}) can message its "
                        "members.", name=turn.local(group.name), source=group.source))
        return None
    if not text:
        turn.say(turn.t("Usage: !group send {id} TEXT: the message to its members.",
                        id=group.id))
        return None
    if len(text) > MAX_MESSAGE:
        turn.say(turn.t("That message is {length} characters long; keep it under {most}.",
                        length=len(text), most=MAX_MESSAGE))
        return None
    members = await reads_of(turn.reads).invite_list_size(list_key(group.id))
    turn.state(GroupsState).draft = Draft(group=group.id, text=text)
    turn.say(turn.tn("This goes to {n} member of {name}:", "This goes to {n} members of {name}:",
                     members, name=turn.local(group.name)) + "\n\n"
             + framed(text, _frame(group), turn.translator) + "\n\n"
             + turn.t("Each member reads the lines around your words in their own language.")
             + " " + turn.t("Nothing is sent yet. Type !group confirm to send, or !group "
                            "cancel."))
    return None


FROM = N_("From {name}'s organizers:")
LEAVE = N_("(You get this because you joined {id}; !group leave {id} stops it.)")


def _frame(group: Group) -> Frame:
    """The words around an organizer's message: each member reads them in their language,
    the organizer's own words as they wrote them."""
    return Frame(FROM, LEAVE, (("name", group.name), ("id", group.id)))


async def confirm(turn: Turn) -> Transition:
    mine = turn.state(GroupsState)
    draft, mine.draft = mine.draft, None
    if draft is None:
        turn.say(turn.t("There is nothing to confirm. Write one first with !group send ID TEXT."))
        return None
    group = _groups(turn).get(draft.group)
    if group is None or turn.sender.key not in group.contacts:
        turn.say(turn.t("That group is gone, or you no longer organize it: nothing was sent."))
        return None
    turn.record(message_broadcast(list_key(group.id), draft.text, turn.sender.key, turn.now,
                                  _frame(group)))
    turn.record(Audit(turn.sender.key, "group message", group.id, turn.now))
    turn.say(turn.t("Sending your message to {name}'s members now.",
                    name=turn.local(group.name)))
    return None


async def cancel(turn: Turn) -> Transition:
    mine = turn.state(GroupsState)
    dropped, mine.draft = mine.draft, None
    turn.say(turn.t("Cancelled: nothing was sent.") if dropped else
             turn.t("There is nothing to cancel."))
    return None


async def status(turn: Turn) -> Transition:
    """`!group status ID`: its members, and how its organizers' last messages went."""
    group = _find(turn, turn.input.args, "!group status ID")
    if group is None:
        return None
    if turn.sender.key not in group.contacts:
        turn.say(turn.t("Only {name}'s organizers (its contacts in {source}) can see its status.",
                        name=turn.local(group.name), source=group.source))
        return None
    reads = reads_of(turn.reads)
    members = await reads.invite_list_size(list_key(group.id))
    lines = [turn.tn("{name}: {n} member.", "{name}: {n} members.", members,
                     name=turn.local(group.name))]
    sent = (await reads.broadcasts_of(list_key(group.id)))[-STATUS_MESSAGES:]
    if not sent:
        lines.append(turn.t("No messages sent yet (!group send ID TEXT)."))
    else:
        lines.append(turn.t("Messages to members:"))
        tz = turn.content.of(EventsContent).region_timezone(group.region) or "UTC"
        for broadcast in sent:
            counts = await reads.delivery_counts(broadcast.id)
            lines += delivery_lines(broadcast, counts.by_status, counts.resent,
                                    counts.failures, tz, turn.translator)
    turn.say("\n".join(lines))
    return None
