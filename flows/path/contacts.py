"""Mentors as a newcomer reads them: a name from the content, and how to reach them on the
newcomer's own network; never an opaque numeric id."""

from __future__ import annotations

from collections.abc import Sequence

from bot.content import Content
from flows.mentoring.api import MentoringContent


def network_name(network: str) -> str:
    return network.upper() if len(network) <= 3 else network.capitalize()


def handle(identity: str) -> str:
    """The part of "network:id" a person can type to find someone ("" for a bare number,
    which no one can look up)."""
    _, _, external = identity.partition(":")
    return "" if external.lstrip("-").isdigit() else external


def _profile(content: Content, identity: str) -> tuple[str, tuple[str, ...]]:
    """The mentor's name ("" if none) and every identity they are known by."""
    try:
        found = content.of(MentoringContent).mentor_profile(identity)
    except LookupError:  # mentoring is not loaded: the identity alone
        return "", (identity,)
    return found.name, found.identities


def _network(identity: str) -> str:
    return identity.split(":", 1)[0]


def mentor_text(content: Content, identity: str, network: str) -> str:
    """"Amara (@amara:lumen.test)" to someone on the same network, "Tomasz (tomasz on IRC)"
    to someone elsewhere, "Nadia (on Telegram)" where their only id there is a number; with
    no name in the content, their handle stands for it."""
    name, identities = _profile(content, identity)
    here = [i for i in identities if _network(i) == network]
    readable = sorted((i for i in identities if handle(i)),
                      key=lambda i: (_network(i) != network, identities.index(i)))
    if not name:
        if not readable:
            return f"a mentor (on {network_name(_network(identity))})"
        name = handle(readable[0])
    if readable and _network(readable[0]) == network:
        reach = handle(readable[0])
    elif here:  # only a number there: say so, and where else they can be found
        reach = f"on {network_name(network)}"
        if readable:
            reach += f"; {handle(readable[0])} on {network_name(_network(readable[0]))}"
    elif readable:
        reach = f"{handle(readable[0])} on {network_name(_network(readable[0]))}"
    else:
        reach = f"on {network_name(_network(identity))}"
    reach = reach.removeprefix(name).strip()
    return f"{name} ({reach})" if reach else name


def mentor_list(content: Content, identities: Sequence[str], network: str) -> str:
    """Each mentor once, though a project may list two of their identities."""
    seen: set[str] = set()
    said = []
    for identity in identities:
        _, known = _profile(content, identity)
        if known[0] not in seen:
            seen.add(known[0])
            said.append(mentor_text(content, identity, network))
    return ", ".join(said)
