"""Matrix message content, pure: a plain body plus sanitised HTML, sent as m.notice.

Everything that came from text (content, people's names, their own words) is escaped; the
only tags in `formatted_body` are the ones written here. `m.mentions` is always present and
empty unless a person is meant to be pinged, so no message pings a room by accident.
"""

from __future__ import annotations

import html
from typing import Any

from adapters.render import is_command_choice, keep_isolates, with_links, words_of
from bot.model import FileRef, Outbound

HTML_FORMAT = "org.matrix.custom.html"
ALLOWED_TAGS = frozenset({"br", "ol", "ul", "li", "p", "code", "a"})


def _safe(text: str) -> str:
    """No bidi overrides; the bot's isolates around content texts stay (right-to-left names
    inside a left-to-right sentence, and the other way round)."""
    return keep_isolates(text)


def _escape_lines(text: str) -> str:
    return "<br>".join(html.escape(line) for line in text.split("\n"))


def choice_line(number: int, label: str, key: str) -> str:
    return f"{label}: {key}" if is_command_choice(key) else f"!{number} {label}"


def render_content(msg: Outbound) -> dict[str, Any]:
    """The m.room.message content for one outbound message."""
    text = _safe(msg.text)
    plain = [text]
    links = [(_safe(n.name), f"https://matrix.to/#/{n.who.external_id}") for n in msg.named
             if n.who.network == "matrix"]
    formatted = [with_links(text, links, _escape_lines)]
    if msg.choices:
        lines = [_safe(choice_line(n, c.label, c.key)) for n, c in enumerate(msg.choices, 1)]
        items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
        if all(is_command_choice(c.key) for c in msg.choices):
            # Each line names its command; a number would answer another question.
            plain += ["", *lines]
            formatted.append(f"<ul>{items}</ul>")
        else:
            hint = words_of(msg).t("Answer with {first}, {second} ... or the word.")
            plain += ["", *lines, _safe(hint.format(first="!1", second="!2"))]
            formatted.append(f"<ol>{items}</ol><p>" + html.escape(_safe(hint)).format(
                first="<code>!1</code>", second="<code>!2</code>") + "</p>")
    mentions: dict[str, Any] = {}
    if msg.mention is not None and msg.mention.network == "matrix":
        mxid = msg.mention.external_id
        mentions = {"user_ids": [mxid]}
        link = f'<a href="https://matrix.to/#/{html.escape(mxid, quote=True)}">' \
               f"{html.escape(mxid)}</a>"
        plain.insert(0, f"{mxid}:")
        formatted.insert(0, f"{link}:")
    return {"msgtype": "m.notice", "body": "\n".join(plain), "format": HTML_FORMAT,
            "formatted_body": "<br>".join(formatted), "m.mentions": mentions}


def in_thread(content: dict[str, Any], root_event_id: str) -> dict[str, Any]:
    """The same content as a reply in the thread under `root_event_id` (clients without
    threads show it as a reply to the root)."""
    return {**content, "m.relates_to": {"rel_type": "m.thread", "event_id": root_event_id,
                                        "is_falling_back": True,
                                        "m.in_reply_to": {"event_id": root_event_id}}}


def file_content(file: FileRef, url: str, keys: dict[str, Any] | None,
                 relates_to: dict[str, Any] | None = None) -> dict[str, Any]:
    """An m.file event for an uploaded file: `url` its mxc:// address, `keys` the decryption
    info of an encrypted upload (the file then goes under "file", as encrypted rooms need)."""
    name = _safe(file.name)
    content: dict[str, Any] = {"msgtype": "m.file", "body": name, "filename": name,
                               "info": {"mimetype": file.content_type, "size": len(file.data)},
                               "m.mentions": {}}
    if keys is not None:
        content["file"] = {**keys, "url": url}
    else:
        content["url"] = url
    if relates_to is not None:
        content["m.relates_to"] = relates_to
    return content
