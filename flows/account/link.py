"""Linking one person's identities across networks with a one-time code."""

from __future__ import annotations

from datetime import timedelta

from bot.codes import normalise_code, short_code
from bot.durations import describe
from bot.flow import Goto, Transition, Turn
from bot.model import room_to_json
from flows.account.reads import reads_of
from flows.account.records import LinkCode, MergePersons, UseLinkCode
from flows.account.settings import AccountConfig
from flows.path.api import EndClaim, PathState, progress_rank

FAILED_REDEMPTIONS_PER_HOUR = 10


async def link(turn: Turn) -> Transition:
    """`!link` issues a code; `!link CODE` redeems one issued on another network."""
    hour_ago = turn.now - timedelta(hours=1)
    if not turn.input.args:
        issued = await reads_of(turn.reads).link_codes_since(turn.person_id, hour_ago)
        if issued >= turn.settings_of(AccountConfig).link_codes_per_hour:
            turn.say(turn.t("You've asked for several link codes in the last hour. Please use "
                            "one of those, or try again later."))
            return None
        code = short_code()
        ttl = turn.settings_of(AccountConfig).link_ttl
        turn.record(LinkCode(code, turn.person_id, turn.now, turn.now + ttl, False))
        turn.say(turn.t("Your link code is {code}. On your other network, send me: !link "
                        "{code}\nIt works once and expires in {ttl}.", code=code,
                        ttl=describe(ttl, turn.translator)))
        return None
    return await _redeem(turn, normalise_code(turn.input.args))


async def _redeem(turn: Turn, code: str) -> Transition:
    hour_ago = turn.now - timedelta(hours=1)
    if await turn.reads.events_since(turn.person_id, "link_failed", hour_ago) >= \
            FAILED_REDEMPTIONS_PER_HOUR:
        turn.say(turn.t("Too many wrong link codes in the last hour. Please wait a while and "
                        "ask for a fresh code."))
        return None
    found = await reads_of(turn.reads).link_code(code)
    if found is None or found.used or found.expires_at <= turn.now:
        turn.event("link_failed")
        turn.say(turn.t("That link code isn't valid: it may be mistyped, used already, or "
                        "expired. Send !link on your other network to get a fresh one."))
        return None
    if found.person_id == turn.person_id:
        turn.say(turn.t("That code belongs to this account already: redeem it from your "
                        "*other* network."))
        return None
    target = found.person_id
    reads = reads_of(turn.reads)
    mine = await reads.active_claim(turn.person_id)
    theirs = await reads.active_claim(target)
    if mine is not None and theirs is not None:  # one person holds one task at a time
        turn.record(EndClaim(turn.person_id, mine.task_id, "released", turn.now))
    target_state = await turn.reads.load_state(target)
    # Both people's states are read: the merge commits only if neither changed since.
    turn.versions[target] = target_state.version if target_state is not None else 0
    turn.record(UseLinkCode(code))
    turn.record(MergePersons(source=turn.person_id, target=target))
    turn.event("linked", identity=turn.sender.key)
    turn.settle()
    theirs_data = target_state.data if target_state is not None else {}
    my_path, their_path = PathState.of(turn.data), PathState.of(theirs_data)
    my_messages = int(turn.data.get("messages", 0))
    their_messages = int(theirs_data.get("messages", 0))
    if target_state is not None and (
            progress_rank(their_path, their_messages, turn.content) >=
            progress_rank(my_path, my_messages, turn.content)):
        turn.replace_data(dict(theirs_data))
        turn.flow, turn.step = target_state.flow, target_state.step
    turn.data.update(messages=my_messages + their_messages, last_room=room_to_json(turn.room))
    path = turn.state(PathState)
    path.finished_tasks = sorted(set(my_path.finished_tasks) | set(their_path.finished_tasks))
    kept = theirs or mine  # the one active claim the linked person holds, if any
    path.task = kept.task_id if kept is not None else ""
    path.task_project = kept.project_id if kept is not None else ""
    turn.person_id = target
    others = ", ".join(i.key for i in await turn.reads.identities(target))
    turn.say(turn.t("Linked! {me} and {others} are now one account. Your path continues "
                    "where it was.", me=turn.sender.key, others=others))
    if turn.flow is not None and turn.step is not None and not turn.data.get("paused"):
        return Goto(turn.step, flow=turn.flow)
    return None
