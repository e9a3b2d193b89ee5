"""Matrix rendering, pure: escaped HTML, only our own tags, no pings unless meant."""

from __future__ import annotations

import random
import re

from adapters.matrix.render import ALLOWED_TAGS, render_content
from bot.model import Choice, ExternalId, Identity, Network, Outbound, RoomRef

ROOM = RoomRef(Network("matrix"), "!r:localhost")
HOSTILE = ["<script>alert(1)</script>", "<a href='javascript:x'>x</a>", "@room", "&amp;",
           "<b>bold</b>", '"quoted"', "\u202eevil", "<img src=x onerror=y>", "ünï 🙂", "\n"]


def test_hostile_text_is_escaped_and_pings_nobody() -> None:
    rng = random.Random(5)
    for _ in range(500):
        text = "".join(rng.choice(HOSTILE) for _ in range(rng.randint(1, 6)))
        label = "".join(rng.choice(HOSTILE) for _ in range(2))
        content = render_content(Outbound(ROOM, text, (Choice("x", label),)))
        tags = set(re.findall(r"</?([a-zA-Z0-9]+)", content["formatted_body"]))
        assert tags <= ALLOWED_TAGS, tags
        assert "<script" not in content["formatted_body"]
        assert "\u202e" not in content["body"]
        assert content["m.mentions"] == {}
        assert content["msgtype"] == "m.notice"


def test_a_meant_mention_pings_exactly_that_person() -> None:
    mentor = Identity(Network("matrix"), ExternalId("@amara:lumen.test"), True)
    content = render_content(Outbound(ROOM, "Someone needs help", mention=mentor))
    assert content["m.mentions"] == {"user_ids": ["@amara:lumen.test"]}
    assert 'href="https://matrix.to/#/@amara:lumen.test"' in content["formatted_body"]


def test_command_choices_name_their_command_and_ask_for_no_number() -> None:
    """A mentor's ping offers `!claim CODE`: typing !1 would answer something else."""
    content = render_content(Outbound(ROOM, "Ana needs help (case K7M2Q).",
                                      (Choice("!claim K7M2Q", "Claim case K7M2Q"),)))
    assert content["body"] == "Ana needs help (case K7M2Q).\n\nClaim case K7M2Q: !claim K7M2Q"
    assert content["formatted_body"].endswith("<ul><li>Claim case K7M2Q: !claim K7M2Q</li></ul>")
    asked = render_content(Outbound(ROOM, "Which?", (Choice("a", "A"), Choice("b", "B"))))
    assert asked["body"].endswith("!1 A\n!2 B\nAnswer with !1, !2 ... or the word.")


def test_people_a_text_names_are_links_to_them_and_ping_nobody() -> None:
    from bot.model import Named, outbound_from_json, outbound_to_json

    amara = Identity(Network("matrix"), ExternalId("@amara:lumen.test"), True)
    on_irc = Identity(Network("irc"), ExternalId("amara"), True)
    msg = Outbound(ROOM, "Good news: <Amara> & Amara will help.\nAsk Amara.",
                   named=(Named("Amara", on_irc), Named("Amara", amara),
                          Named("Nobody", amara)))
    assert outbound_from_json(outbound_to_json(msg)) == msg  # kept in the outbox as it is
    content = render_content(msg)
    assert content["formatted_body"] == (
        'Good news: &lt;<a href="https://matrix.to/#/@amara:lumen.test">Amara</a>&gt; &amp; '
        "Amara will help.<br>Ask Amara.")
    assert content["body"] == "Good news: <Amara> & Amara will help.\nAsk Amara."
    assert content["m.mentions"] == {}
