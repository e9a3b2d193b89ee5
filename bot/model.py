"""The neutral message model every adapter translates to and from."""

from __future__ import annotations

import json
import json.encoder
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NewType


def _compact_encoder() -> Callable[[Any], str]:
    """JSON written on the hot path (states, outbox bodies): plain data, never cyclic, no
    spaces. What JSONEncoder.encode gives, with the C encoder made once: encode makes it anew
    (and a float helper in Python it then does not use) on every call, a few times a message
    (about 10k instructions a message in bench.core)."""
    encoder = json.JSONEncoder(separators=(",", ":"), check_circular=False)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # Python without the C accelerator
        return encoder.encode
    chunks = make(None, encoder.default, json.encoder.encode_basestring_ascii, None,
                  encoder.key_separator, encoder.item_separator, encoder.sort_keys,
                  encoder.skipkeys, encoder.allow_nan)

    def compact(value: Any) -> str:
        return "".join(chunks(value, 0))

    return compact


compact_json = _compact_encoder()
_json_key = json.encoder.encode_basestring_ascii  # as compact_json writes a key


def compact_json_parts(data: Mapping[str, Any], before: Mapping[str, Any],
                       fragments: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """`compact_json(data)` for a dict whose values are replaced, never changed in place (a
    person's state, bot/flow.py Turn), and the JSON of each of its values: a value that is
    the very object it was in `before` is written as its fragment there (`fragments`, from
    the call that encoded `before`), so only what changed is encoded. Most turns change two
    small values of a state of about 700 bytes, whose encoding cost ~3.5 us each turn."""
    encoded = {}
    for key, value in data.items():
        fragment = fragments.get(key)
        if fragment is None or before.get(key) is not value:
            # A counter, mostly (an int's JSON is its str); anything else, encoded.
            fragment = str(value) if value.__class__ is int else compact_json(value)
        encoded[key] = fragment
    if not all(key.__class__ is str for key in encoded):
        return compact_json(data), {}  # not a state's keys: encoded whole, nothing kept
    return "{" + ",".join([f"{_json_key(key)}:{fragment}"
                           for key, fragment in encoded.items()]) + "}", encoded

Network = NewType("Network", str)
ExternalId = NewType("ExternalId", str)
PersonId = NewType("PersonId", int)


@dataclass(frozen=True)
class Identity:
    """Who, on which network, and whether the network proved it."""

    network: Network
    external_id: ExternalId
    verified: bool

    # A plain property: each message brings a new Identity, and on Python 3.11 a
    # cached_property's first look-up takes a lock, which cost more than the two or three
    # f-strings a turn asks for.
    @property
    def key(self) -> str:
        """The "network:id" form used in config and content."""
        return f"{self.network}:{self.external_id}"


@dataclass(frozen=True)
class RoomRef:
    """A place messages go to: a channel, a room, a group or a direct chat."""

    network: Network
    id: str
    name: str = ""
    direct: bool = False


@dataclass(frozen=True)
class Press:
    """A pressed choice button, acknowledged through the outbox once its turn is committed:
    `token` is the network's handle on the press, `message_id` the message that offered the
    choices, `text` what that message said, `label` the choice picked (marked in it)."""

    token: str
    message_id: str = ""
    text: str = ""
    label: str = ""


@dataclass(frozen=True)
class Inbound:
    """What every adapter turns a platform event into."""

    network: Network
    event_id: str
    room: RoomRef
    sender: Identity
    text: str
    direct: bool
    at: datetime
    # Why the network could not vouch for an unverified sender, in words for them (for
    # example: not logged in to services). Empty: the generic explanation.
    why_unverified: str = ""
    press: Press | None = None  # a button was pressed: its acknowledgement goes out with the turn
    # The language the sender's client uses, where the network says so (a language code on
    # each message): the default for someone who has not chosen one.
    language: str = ""


@dataclass(frozen=True)
class Choice:
    """One option a person can pick: by number, by key word, or by button."""

    key: str
    label: str


@dataclass(frozen=True)
class FileRef:
    """A document to send (a certificate, an export)."""

    name: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Named:
    """A person a message names: where a network can link to people, the first `name` in
    the text becomes a link to `who` (on that network; others show the text as it is)."""

    name: str
    who: Identity


@dataclass(frozen=True)
class Outbound:
    """What flows produce; adapters render it to their capabilities."""

    to: RoomRef | Identity
    text: str
    choices: tuple[Choice, ...] = ()
    mention: Identity | None = None
    file: FileRef | None = None
    press: Press | None = None  # acknowledge this press (and mark its choice), not a message
    locale: str = ""  # the recipient's language for the adapter's own words; empty: English
    named: tuple[Named, ...] = ()  # people the text names, linked where the network can


@dataclass(frozen=True)
class CommandMenu:
    """Everyone's commands as a network lists them in its own menu, (command, one-line
    summary): `default` in the default language for anyone, and `languages` in each offered
    language (by its code, e.g. pt_BR) for people whose app uses it."""

    default: tuple[tuple[str, str], ...] = ()
    languages: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Receipt:
    """What the network said about a delivered message."""

    remote_id: str = ""


@dataclass(frozen=True)
class Rate:
    """A token bucket: `burst` sends at once, then `per_second` on average."""

    per_second: float
    burst: int


@dataclass(frozen=True)
class Capabilities:
    buttons: bool = False
    html: bool = False
    max_len: int = 4000
    dm_first_contact: bool = True
    command_prefixes: tuple[str, ...] = ("!",)
    rate: Rate | None = None  # outgoing limit for the whole connection; None: unlimited
    idempotent: bool = False  # the network drops a resend with the same key (transaction ids)
    # How to message the bot privately from a shared room, `{line}` standing for the text to
    # send ("/msg bot {line}"); empty: no route to name beyond "send me: {line}".
    reach_privately: str = ""
    # Whether [inbound]'s flood limits apply: not to a terminal, whose one person is the
    # operator (and may pipe a whole script in at once).
    limit_floods: bool = True
    files: bool = False  # sends an Outbound's file as a file (a document, an upload)
    # Whether a person is there to read a message now: True (seen online), False (known
    # away: a message waits for them, or is not delivered), None (the network cannot tell,
    # e.g. it keeps messages for people anyway). None here: never asked. May take a moment
    # (the network is asked), bounded by the adapter.
    presence: Callable[[Identity], Awaitable[bool | None]] | None = field(
        default=None, compare=False, repr=False)


def room_to_json(room: RoomRef) -> list[Any]:
    """A room as kept in a person's state (where to reach them later)."""
    return [room.network, room.id, room.name, room.direct]


def room_from_json(value: list[Any]) -> RoomRef:
    return RoomRef(Network(value[0]), value[1], value[2], bool(value[3]))


def outbound_to_json(msg: Outbound) -> dict[str, Any]:
    """Encode an outbound message for an outbox row."""
    to = msg.to
    target: dict[str, Any]
    if isinstance(to, RoomRef):
        target = {"kind": "room", "network": to.network, "id": to.id, "name": to.name,
                  "direct": to.direct}
    else:
        target = {"kind": "person", "network": to.network, "id": to.external_id,
                  "verified": to.verified}
    body: dict[str, Any] = {
        "to": target,
        "text": msg.text,
        "choices": [[c.key, c.label] for c in msg.choices],
    }
    if msg.mention is not None:
        body["mention"] = [msg.mention.network, msg.mention.external_id, msg.mention.verified]
    if msg.file is not None:
        body["file"] = [msg.file.name, msg.file.content_type, msg.file.data.decode("latin-1")]
    if msg.press is not None:
        press = msg.press
        body["press"] = [press.token, press.message_id, press.text, press.label]
    if msg.locale:
        body["locale"] = msg.locale
    if msg.named:
        body["named"] = [[n.name, n.who.network, n.who.external_id, n.who.verified]
                         for n in msg.named]
    return body


def outbound_from_json(body: dict[str, Any]) -> Outbound:
    """Decode an outbox row back into the message an adapter sends."""
    target = body["to"]
    to: RoomRef | Identity
    if target["kind"] == "room":
        to = RoomRef(Network(target["network"]), target["id"], target.get("name", ""),
                     bool(target.get("direct", False)))
    else:
        to = Identity(Network(target["network"]), ExternalId(target["id"]),
                      bool(target.get("verified", False)))
    mention = None
    if "mention" in body:
        net, ext, verified = body["mention"]
        mention = Identity(Network(net), ExternalId(ext), bool(verified))
    file = None
    if "file" in body:
        name, ctype, data = body["file"]
        file = FileRef(name, ctype, data.encode("latin-1"))
    press = Press(*body["press"]) if "press" in body else None
    return Outbound(
        to=to,
        text=body["text"],
        choices=tuple(Choice(k, label) for k, label in body.get("choices", [])),
        mention=mention,
        file=file,
        press=press,
        locale=body.get("locale", ""),
        named=tuple(Named(name, Identity(Network(net), ExternalId(ext), bool(verified)))
                    for name, net, ext, verified in body.get("named", ())),
    )
