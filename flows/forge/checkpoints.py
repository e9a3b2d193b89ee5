"""Workshop checkpoints the forge can confirm: `{ kind = "gerrit-account" }` (the username
exists on the project's Gerrit) and `{ kind = "forge-link", forge = "github" }` (a link to an
existing repository or pull request/merge request/change on that forge, of theirs).

"Of theirs": the first account a person shows on a forge (the Gerrit username, the owner of
the repository or the author of the change) is kept as theirs (ForgeState); a later link owned
by someone else is refused, and `!done LINK` sends a change by another author to a mentor."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.flow import Turn
from flows.forge.clients import (
    NAMES,
    ForgeError,
    NotFoundError,
    account_exists,
    change_state,
    repo_exists,
)
from flows.forge.links import change_of, find_url, locate, repo_of
from flows.forge.settings import ForgeConfig, ForgeHost
from flows.forge.state import ForgeState
from flows.path.api import chosen_project

USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")


@dataclass(frozen=True)
class Verdict:
    passed: bool
    say: str = ""  # why not, and what to do


def _hosts(turn: Turn, kind: str) -> dict[str, ForgeHost]:
    project = chosen_project(turn)
    config = turn.settings_of(ForgeConfig)
    return {name: host for name, host in config.hosts_for(project.id if project else "")
            if host.kind == kind}


def _cannot(name: str, why: str) -> Verdict:
    return Verdict(False, f"I couldn't check that with {name} just now ({why}). Try again in a "
                          "few minutes, or type !stuck to ask a mentor.")


async def gerrit_account(turn: Turn, answer: str) -> Verdict:
    hosts = _hosts(turn, "gerrit")
    if not hosts:
        return Verdict(False, "I have no Gerrit to check this against for your project: please "
                              "tell the organizers, or type !stuck to ask a mentor.")
    username = answer.strip().removeprefix("@")
    if not USERNAME.fullmatch(username):
        return Verdict(False, "Send just your Gerrit username (one word, as shown on Gerrit's "
                              "settings page).")
    timeout = turn.settings_of(ForgeConfig).timeout_seconds
    for host in hosts.values():
        try:
            if await account_exists(host, username, timeout):
                turn.state(ForgeState).accounts["gerrit"] = username  # theirs, from now on
                return Verdict(True)
        except ForgeError as exc:
            return _cannot("Gerrit", str(exc))
    return Verdict(False, f"Gerrit has no account named {username!r}. Check the spelling (it's "
                          "the username on Gerrit's settings page) and send it again.")


async def forge_link(turn: Turn, kind: str, answer: str) -> Verdict:
    hosts = _hosts(turn, kind)
    name = NAMES.get(kind, kind)
    if not hosts:
        return Verdict(False, f"I have no {name} to check this against for your project: "
                              "please tell the organizers, or type !stuck to ask a mentor.")
    url = find_url(answer)
    located = locate(url, hosts) if url is not None else None
    bases = " or ".join(h.url for h in hosts.values())
    if located is None:
        return Verdict(False, f"Paste the full link to your repository or change on {name} "
                              f"(it starts with {bases}/).")
    timeout = turn.settings_of(ForgeConfig).timeout_seconds
    change = change_of(located)
    repo = repo_of(located) if change is None else None
    if change is None and repo is None:
        return Verdict(False, f"That link is on {name}, but it isn't a repository or a change. "
                              "Open yours and copy its address.")
    owner: str | None
    try:
        if change is not None:
            owner = (await change_state(change, timeout)).author
        else:
            assert repo is not None
            owner = repo.project.split("/")[0] if await repo_exists(repo, timeout) else None
    except NotFoundError:
        owner = None
    except ForgeError as exc:
        return _cannot(name, str(exc))
    if owner is None:
        return Verdict(False, f"{name} has nothing at that link. Check it (is it public?) and "
                              "paste it again.")
    accounts = turn.state(ForgeState).accounts
    known = accounts.get(kind, "")
    if known and owner and owner.lower() != known.lower():
        return Verdict(False, f"That belongs to {owner}, but your {name} account is {known}. "
                              "Paste the link to yours.")
    if owner and not known:
        accounts[kind] = owner  # theirs, from now on: `!done LINK` compares its author
    return Verdict(True)


async def check(turn: Turn, kind: str, forge: str, answer: str) -> Verdict:
    """A forge checkpoint's answer, checked (at most the configured timeout per request)."""
    if kind == "gerrit-account":
        return await gerrit_account(turn, answer)
    return await forge_link(turn, forge, answer)
