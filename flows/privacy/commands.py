"""`!mydata` (everything held about you, as a JSON file) and `!forget` (erase it all, after a
confirmation code)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from bot.codes import normalise_code, short_code
from bot.flow import Transition, Turn
from bot.i18n import ENGLISH, N_, Translator
from bot.model import FileRef
from flows.privacy.reads import reads_of
from flows.privacy.records import ErasePerson
from flows.privacy.state import PrivacyState

log = logging.getLogger(__name__)

CONFIRM_WITHIN = timedelta(minutes=10)
# What tables hold, in the words of `!mydata`'s summary, in its order (other tables are
# counted under their own name, after these; one-row-per-person tables are not counted).
SECTIONS = {
    "identity": N_("linked accounts"), "progress_event": N_("progress events"),
    "task_claim": N_("task claims"), "certificate": N_("certificates"),
    "help_case": N_("help requests"), "rsvp": N_("event answers"),
    "audit": N_("audit entries"), "outbox": N_("messages"), "link_code": N_("link codes"),
}
UNCOUNTED = {"person", "flow_state", "person_standing", "nudge"}


def export_json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True).encode("utf-8")


def _summary(tables: dict[str, list[Any]], tr: Translator = ENGLISH) -> str:
    names = [*(n for n in SECTIONS if n in tables),
             *sorted(n for n in tables if n not in SECTIONS and n not in UNCOUNTED)]
    parts = [f"{len(tables[name])} {tr.t(SECTIONS.get(name, name.replace('_', ' ')))}"
             for name in names if tables[name]]
    return ", ".join(parts) or tr.t("nothing yet")


async def mydata(turn: Turn) -> Transition:
    """Everything held about the person, as a JSON file where the network carries files."""
    data = await reads_of(turn.reads).person_data(turn.person_id)
    tables: dict[str, list[Any]] = data["tables"]
    if turn.carries_files():
        name = f"wayfinder-mydata-{turn.now:%Y-%m-%d}.json"
        turn.say(turn.t("Here is everything I hold about you ({summary}), as a JSON file. "
                        "Type !forget to have it all erased.",
                        summary=_summary(tables, turn.translator)),
                 file=FileRef(name, "application/json", export_json(data)))
        return None
    elsewhere = sorted({f"{row['network']}" for row in tables.get("identity", [])
                        if row["network"] != turn.inbound.network
                        and turn.carries_files(row["network"])})
    if elsewhere:
        how = turn.t("send !mydata to me privately on {networks} (your linked account there "
                     "gets the file)", networks=turn.t(" or ").join(elsewhere))
    else:
        how = turn.t("link an account on a network that carries files with !link, then send "
                     "!mydata there")
    turn.say(turn.t("I hold {summary} about you. This network can't carry files, so I can't "
                    "send you the export here. To get it, {how}; or ask an organizer to run "
                    "`wayfinder person export {key}` and send it to you.",
                    summary=_summary(tables, turn.translator), how=how, key=turn.sender.key))
    return None


async def forget(turn: Turn) -> Transition:
    """`!forget`: says what goes, and issues a confirmation code."""
    state = turn.state(PrivacyState)
    code = short_code()
    state.forget_code, state.forget_until = code, turn.now + CONFIRM_WITHIN
    accounts = ", ".join(i.key for i in await turn.reads.identities(turn.person_id))
    turn.say(turn.t("This erases everything I hold about you: your progress, task claims, "
                    "help requests, event answers, certificates, audit entries and queued "
                    "messages, on every linked account ({accounts}). It can't be undone, and "
                    "certificates I issued you can no longer be checked.\nTo go ahead, send: "
                    "!forget confirm {code} (within 10 minutes). To keep everything, send "
                    "!forget cancel or just ignore this.",
                    accounts=accounts or turn.sender.key, code=code))
    return None


async def confirm(turn: Turn) -> Transition:
    state = turn.state(PrivacyState)
    given = normalise_code(turn.input.args)
    if not state.forget_code or state.forget_until is None or state.forget_until <= turn.now:
        state.forget_code, state.forget_until = "", None
        turn.say(turn.t("There's no erasure waiting for confirmation (codes last 10 minutes). "
                        "Send !forget to get a fresh code. Nothing was erased."))
        return None
    if given != state.forget_code:
        turn.say(turn.t("That confirmation code doesn't match the one I gave you. Nothing was "
                        "erased. Check it, or send !forget for a fresh one."))
        return None
    keys = tuple(i.key for i in await turn.reads.identities(turn.person_id))
    turn.record(ErasePerson(turn.person_id, keys))
    log.info("person %d asked to be forgotten: erasing", turn.person_id)
    turn.say(turn.t("Done: I've erased everything I held about you, on every linked account. "
                    "If you write to me again, I'll greet you as someone new. Goodbye, and "
                    "thank you!"))
    return None


async def cancel(turn: Turn) -> Transition:
    state = turn.state(PrivacyState)
    if not state.forget_code:
        turn.say(turn.t("There's no erasure waiting for confirmation; nothing to cancel."))
        return None
    state.forget_code, state.forget_until = "", None
    turn.say(turn.t("Cancelled: nothing was erased, and that confirmation code no longer "
                    "works."))
    return None
