"""`!forge`: a person links their accounts on the configured forges (`!forge github NAME`),
proves each is theirs with a short code put where only the account's owner can write it
(`!forge verify`), lists them (`!forge`) and removes one (`!forge remove github`).

Where the code may go, per forge (each read through its public REST API):
- GitHub: the profile's bio (GET /users/NAME), or a public gist's description or file name
  (GET /users/NAME/gists);
- GitLab: the profile's bio (GET /users/ID) or status message (GET /users/ID/status);
- Gerrit: the account's status (GET /accounts/NAME, AccountInfo.status);
- Phabricator (Phorge): the title of a paste they wrote (Conduit user.search, then
  paste.search by author).
An unverified link counts for nothing: its numbers are never read, and it is shown as such.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import quote

from bot.flow import Handler, Transition, Turn
from bot.i18n import ENGLISH, N_, Translator
from flows.forge.clients import (
    NAMES,
    ForgeError,
    NotFoundError,
    conduit,
    fetch_json,
    phabricator_user,
)
from flows.forge.reads import reads_of
from flows.forge.records import ForgeLink, LinkForge, UnlinkForge, VerifyForge
from flows.forge.settings import KINDS, ForgeConfig, ForgeHost

USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
CODE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
WHERE = {
    "github": N_("your GitHub profile's bio, or the description of a public gist"),
    "gitlab": N_("your GitLab profile's bio, or your status message"),
    "gerrit": N_("your Gerrit account's status (Settings, Profile)"),
    "phabricator": N_("the title of a paste you write on Phabricator (Paste, Create Paste)"),
}
USAGE = N_("Link your forge accounts so that !me can show your contributions: !forge github NAME, "
         "!forge gitlab NAME, !forge gerrit NAME or !forge phabricator NAME; then !forge verify. "
           "!forge remove github removes a link.")


def new_code() -> str:
    return "wayfinder-" + "".join(secrets.choice(CODE_LETTERS) for _ in range(6))


def describe_link(link: ForgeLink, tr: Translator = ENGLISH) -> str:
    """"GitHub: ada-l (verified)", or how to verify it."""
    name = NAMES.get(link.kind, link.kind)
    if link.verified_at is not None:
        day = f"{link.verified_at:%Y-%m-%d}"
        return tr.t("{forge}: {user} (verified {day})", forge=name, user=link.username,
                    day=day)
    return tr.t("{forge}: {user} (unverified: put {code} in {where}, then type !forge verify)",
                forge=name, user=link.username, code=link.code, where=tr.t(WHERE[link.kind]))


async def forge_list(turn: Turn) -> Transition:
    """`!forge`: the person's links, verified or not."""
    links = await reads_of(turn.reads).forge_links(turn.person_id)
    if not links:
        turn.say(turn.t(USAGE))
        return None
    turn.say(turn.t("Your forge accounts:") + "\n" + "\n".join(
        f"  {describe_link(k, turn.translator)}" for k in links))
    return None


def _link(kind: str) -> Handler:
    async def link(turn: Turn) -> Transition:
        config = turn.settings_of(ForgeConfig)
        found = config.host_of_kind(kind)
        name = NAMES[kind]
        if found is None:
            here = ", ".join(NAMES[h.kind] for h in config.hosts.values())
            turn.say(turn.t("This community has no {forge} set up, so I can't link a {forge} "
                            "account. Forges here: {here}.", forge=name, here=here)
                     if config.hosts else
                     turn.t("This community has no forge set up, so I can't link a {forge} "
                            "account.", forge=name))
            return None
        username = turn.input.args.strip().removeprefix("@")
        if not USERNAME.match(username):
            turn.say(turn.t("Usage: !forge {kind} NAME, with your {forge} username (letters, "
                            "digits, . _ and -), e.g. !forge {kind} ada-lovelace.", kind=kind,
                            forge=name))
            return None
        forge, _ = found
        links = {k.forge: k for k in await reads_of(turn.reads).forge_links(turn.person_id)}
        held = links.get(forge)
        if held is not None and held.username.lower() == username.lower():
            turn.say(turn.t("You have linked that account already.") + " "
                     + describe_link(held, turn.translator))
            return None
        code = new_code()
        turn.record(LinkForge(turn.person_id, forge, kind, username, code, turn.now))
        turn.event("forge_linked", forge=forge)
        replaced = (" " + turn.t("(instead of {user})", user=held.username)
                    if held is not None else "")
        turn.say(turn.t("Linked your {forge} account {user}{replaced}, unverified for now. To "
                        "show it is yours, put {code} in {where}, then type !forge verify. You "
                        "can remove the code once it is verified.", forge=name, user=username,
                        replaced=replaced, code=code, where=turn.t(WHERE[kind])))
        return None

    return link


async def profile_texts(host: ForgeHost, username: str, seconds: float) -> list[str]:
    """What the account says about itself where only its owner can write (NotFoundError: the
    forge has no such account; UnavailableError: it could not be asked)."""
    name = quote(username, safe="")
    if host.kind == "github":
        user = await fetch_json(host, f"/users/{name}", seconds)
        texts = [str(user.get("bio") or "")] if isinstance(user, dict) else []
        gists = await fetch_json(host, f"/users/{name}/gists?per_page=30", seconds)
        for gist in gists if isinstance(gists, list) else ():
            if isinstance(gist, dict):
                texts.append(str(gist.get("description") or ""))
                texts += [str(f) for f in (gist.get("files") or {})]
        return texts
    if host.kind == "gitlab":
        found = await fetch_json(host, f"/users?username={name}", seconds)
        if not isinstance(found, list) or not found or not isinstance(found[0], dict):
            raise NotFoundError("GitLab has no such account")
        ident = found[0].get("id")
        user = await fetch_json(host, f"/users/{ident}", seconds)
        status = await fetch_json(host, f"/users/{ident}/status", seconds)
        return [str((user or {}).get("bio") or ""), str((status or {}).get("message") or "")]
    if host.kind == "phabricator":
        phid = await phabricator_user(host, username, seconds)
        pastes = await conduit(host, "paste.search", {
            "constraints": {"authorPHIDs": [phid]}, "order": "newest", "limit": 20}, seconds)
        return [str((p.get("fields") or {}).get("title") or "")
                for p in (pastes or {}).get("data") or () if isinstance(p, dict)]
    account = await fetch_json(host, f"/accounts/{name}", seconds)
    return [str(account.get("status") or "")] if isinstance(account, dict) else []


async def forge_verify(turn: Turn) -> Transition:
    """`!forge verify`: look for each unverified link's code on its forge."""
    config = turn.settings_of(ForgeConfig)
    links = [k for k in await reads_of(turn.reads).forge_links(turn.person_id)
             if k.verified_at is None]
    if not links:
        turn.say(turn.t("You have no unverified forge account.") + " " + (
            turn.t("Type !forge to see yours.") if await reads_of(turn.reads).forge_links(
                turn.person_id) else turn.t(USAGE)))
        return None
    lines = []
    for link in links:
        host = config.hosts.get(link.forge)
        name = NAMES.get(link.kind, link.kind)
        if host is None:
            lines.append(turn.t("{forge} {user}: that forge is no longer set up here; !forge "
                                "remove {kind} removes the link.", forge=name,
                                user=link.username, kind=link.kind))
            continue
        try:
            texts = await profile_texts(host, link.username, config.timeout_seconds)
        except NotFoundError:
            lines.append(turn.t("{forge} has no account named {user}. Check the spelling and "
                                "link it again with !forge {kind} NAME.", forge=name,
                                user=link.username, kind=link.kind))
            continue
        except ForgeError as exc:
            lines.append(turn.t("I couldn't ask {forge} just now ({error}). Try !forge verify "
                                "again in a few minutes.", forge=name, error=str(exc)))
            continue
        if any(link.code.lower() in text.lower() for text in texts):
            turn.record(VerifyForge(turn.person_id, link.forge, link.username, turn.now))
            turn.event("forge_verified", forge=link.forge)
            lines.append(turn.t("Verified: {forge} {user} is yours. Your contributions there "
                                "will show in !me within the hour; you can remove the code "
                                "now.", forge=name, user=link.username))
        else:
            lines.append(turn.t("I didn't find {code} in {where} of {forge} {user}. Put it "
                                "there (it must be public), then type !forge verify again.",
                                code=link.code, where=turn.t(WHERE[link.kind]), forge=name,
                                user=link.username))
    turn.say("\n".join(lines))
    return None


async def forge_remove(turn: Turn) -> Transition:
    """`!forge remove github`: forget the link (and its numbers)."""
    word = turn.input.args.strip().lower()
    links = await reads_of(turn.reads).forge_links(turn.person_id)
    found = [k for k in links if word and word in (k.kind, k.forge.lower())]
    if not found:
        have = ", ".join(sorted({k.kind for k in links}))
        turn.say(turn.t("Usage: !forge remove {kinds}.", kinds=" | ".join(KINDS)) + " " + (
            turn.t("Your linked forges: {have}.", have=have) if have else
            turn.t("You have no forge account linked.")))
        return None
    for link in found:
        turn.record(UnlinkForge(turn.person_id, link.forge))
    turn.event("forge_unlinked", forge=found[0].forge)
    turn.say(turn.t("Removed the link to your {forge} account {user}, and the numbers read "
                    "from it.", forge=NAMES.get(found[0].kind, found[0].kind),
                    user=found[0].username))
    return None


LINKERS = {kind: _link(kind) for kind in KINDS}
