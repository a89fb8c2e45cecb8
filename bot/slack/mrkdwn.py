"""Safe mrkdwn and Block Kit building blocks.

User text is escaped (`&`, `<`, `>`, in that order) before it enters mrkdwn, so nobody can ping a
channel or disguise a link; long text is split over several blocks so Block Kit limits hold.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

SECTION_LIMIT = 3000
Block = dict[str, Any]


def esc(text: str | None) -> str:
    """Escape user text for mrkdwn (Slack: escape only &, < and >; & first)."""
    if not text:
        return ""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """Shorten plain text (never user mrkdwn) to `limit` characters with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _split_escaped(escaped: str, limit: int) -> list[str]:
    """Split already-escaped text into chunks ≤ limit without cutting an entity like &amp;."""
    chunks: list[str] = []
    while len(escaped) > limit:
        cut = escaped.rfind("\n", 0, limit)
        if cut < limit // 2:
            cut = escaped.rfind(" ", 0, limit)
        if cut < limit // 2:
            cut = limit
        amp = escaped.rfind("&", max(0, cut - 5), cut)
        if amp != -1 and ";" not in escaped[amp:cut]:
            cut = amp
        chunks.append(escaped[:cut])
        escaped = escaped[cut:].lstrip("\n")
    chunks.append(escaped)
    return chunks


def plain(text: str, emoji: bool = True) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": emoji}


def md(text: str) -> dict[str, Any]:
    # verbatim: no automatic linking of URLs, channel names or @-words in our own text.
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def section(text: str, **extra: Any) -> Block:
    return {"type": "section", "text": md(clip(text, SECTION_LIMIT)), **extra}


def user_text_sections(label: str, text: str | None, empty: str = "—") -> list[Block]:
    """A labelled piece of user text, escaped and split over as many sections as needed."""
    chunks = _split_escaped(esc(text), SECTION_LIMIT - len(label) - 10) if text else [empty]
    blocks = [section(f"*{label}*\n{chunks[0]}")]
    blocks += [section(chunk) for chunk in chunks[1:]]
    return blocks


def quote(text: str | None) -> str:
    """Escaped user text as a mrkdwn block quote."""
    return "\n".join("&gt; " + line for line in esc(text).splitlines() or [""])


def header(text: str) -> Block:
    return {"type": "header", "text": plain(clip(text, 150))}


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [md(clip(t, 3000)) for t in texts[:10]]}


def divider() -> Block:
    return {"type": "divider"}


def fields(pairs: list[tuple[str, str]]) -> list[Block]:
    """Label/value pairs as section fields, 10 per section (Slack's limit)."""
    items = [md(clip(f"*{k}*\n{v}", 2000)) for k, v in pairs]
    return [{"type": "section", "fields": items[i:i + 10]} for i in range(0, len(items), 10)]


def button(text: str, action_id: str, value: str | None = None, style: str | None = None,
           confirm: dict[str, Any] | None = None) -> dict[str, Any]:
    b: dict[str, Any] = {"type": "button", "text": plain(clip(text, 75)), "action_id": action_id}
    if value is not None:
        b["value"] = value
    if style:
        b["style"] = style
    if confirm:
        b["confirm"] = confirm
    return b


def actions(block_id: str, elements: list[dict[str, Any]]) -> Block:
    return {"type": "actions", "block_id": block_id, "elements": elements[:25]}


def option(text: str, value: str, description: str | None = None) -> dict[str, Any]:
    o: dict[str, Any] = {"text": plain(clip(text, 75)), "value": value}
    if description:
        o["description"] = plain(clip(description, 75))
    return o


def date(moment: datetime, fallback_tz: Any, fmt: str = "{date_short_pretty} {time}") -> str:
    """Slack date formatting: every reader sees their own local time."""
    fallback = moment.astimezone(fallback_tz).strftime("%d-%m-%Y %H:%M")
    return f"<!date^{int(moment.timestamp())}^{fmt}|{fallback}>"


def on_date(moment: datetime, fallback_tz: Any) -> str:
    """A moment after "on" ("op {when}"): always a date, never Slack's "today" — "op vandaag" reads wrong."""
    return date(moment, fallback_tz, "{date_short} {time}")


def mention(user_id: str) -> str:
    return f"<@{user_id}>"
