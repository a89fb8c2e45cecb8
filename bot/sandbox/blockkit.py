"""Block Kit limits validator for the fake Slack Web API.

Pure functions: each returns a list of human-readable problems; an empty list means valid.
Problems end in ``[json-pointer:/path]`` because Slack's own error messages do, e.g.
``[ERROR] must be less than 24 characters [json-pointer:/view/title/text]``
(quoted in jeremeamia/slack-block-kit#3), so a failing test reads like a real Slack error.

Limits come from /work/shared/slack/FACTS.md §2 and §10 (docs.slack.dev block-kit reference,
views/modal-views, plain-text-input-element). slack_sdk only checks some of them, and only for
model objects, never for plain dicts (FACTS §10), which is why the fake checks them itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Surface = Literal["message", "modal", "home"]

MAX_BLOCKS: dict[str, int] = {"message": 50, "modal": 100, "home": 100}
MAX_MESSAGE_TEXT = 40_000
# Slack documents "250kb"; the decimal reading is the stricter one, and a fake should never be
# more permissive than Slack.
MAX_VIEW_BYTES = 250_000
MAX_MODAL_LABEL = 24

TEXT_TYPES = {"plain_text", "mrkdwn"}

# Elements whose only checked limit is the action_id length.
_PLAIN_ELEMENTS = {
    "datepicker",
    "datetimepicker",
    "timepicker",
    "email_text_input",
    "url_text_input",
    "number_input",
    "file_input",
    "rich_text_input",
    "workflow_button",
    "external_select",
    "multi_external_select",
    "users_select",
    "multi_users_select",
    "conversations_select",
    "multi_conversations_select",
    "channels_select",
    "multi_channels_select",
}
_OPTION_ELEMENTS = {"static_select": 100, "multi_static_select": 100, "checkboxes": 10, "radio_buttons": 10}


@dataclass
class _Ctx:
    """Mutable state shared while walking one message or view."""

    surface: Surface
    problems: list[str] = field(default_factory=list)
    block_ids: set[str] = field(default_factory=set)

    def add(self, message: str, pointer: str) -> None:
        self.problems.append(f"{message} [json-pointer:{pointer}]")


# --------------------------------------------------------------------------- public API


def validate_message(text: Any, blocks: Any) -> list[str]:
    """Problems with a chat message's top-level ``text`` and ``blocks``."""
    ctx = _Ctx(surface="message")
    if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
        ctx.add(f"must be at most {MAX_MESSAGE_TEXT} characters (has {len(text)})", "/text")
    if blocks is not None:
        _check_blocks(blocks, "/blocks", ctx)
    return ctx.problems


def validate_blocks(blocks: Any, surface: Surface = "message", pointer: str = "/blocks") -> list[str]:
    """Problems with a list of blocks on the given surface."""
    ctx = _Ctx(surface=surface)
    _check_blocks(blocks, pointer, ctx)
    return ctx.problems


def view_too_large(view: Any) -> bool:
    """True when the serialized view exceeds Slack's 250 kB (Slack answers ``view_too_large``)."""
    return len(json.dumps(view, ensure_ascii=False).encode("utf-8")) > MAX_VIEW_BYTES


def validate_view(view: Any) -> list[str]:
    """Problems with a modal or Home tab view object."""
    if not isinstance(view, dict):
        return ["must be an object [json-pointer:/view]"]
    view_type = view.get("type")
    if view_type not in ("modal", "home"):
        return [f"unsupported view type {view_type!r}, expected 'modal' or 'home' [json-pointer:/view/type]"]
    ctx = _Ctx(surface=view_type)
    if view_too_large(view):
        ctx.add(f"view must be at most {MAX_VIEW_BYTES} bytes as JSON", "/view")
    _check_max_len(view.get("private_metadata"), 3000, "/view/private_metadata", ctx)
    _check_max_len(view.get("callback_id"), 255, "/view/callback_id", ctx)
    _check_max_len(view.get("external_id"), 255, "/view/external_id", ctx)
    if view_type == "modal":
        _check_modal_chrome(view, ctx)
    _check_blocks(view.get("blocks"), "/view/blocks", ctx)
    return ctx.problems


# --------------------------------------------------------------------------- views


def _check_modal_chrome(view: dict[str, Any], ctx: _Ctx) -> None:
    """Title, submit and close: plain_text, at most 24 characters; submit needed with inputs."""
    if "title" not in view:
        ctx.add("missing required field: title", "/view/title")
    for key in ("title", "submit", "close"):
        if key in view:
            _check_text(view[key], f"/view/{key}", ctx, max_len=MAX_MODAL_LABEL, plain_only=True)
    blocks = view.get("blocks") or []
    has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
    if has_input and "submit" not in view:
        ctx.add("submit is required when a modal contains an input block", "/view/submit")


# --------------------------------------------------------------------------- blocks


def _check_blocks(blocks: Any, pointer: str, ctx: _Ctx) -> None:
    if not isinstance(blocks, list):
        ctx.add("must be an array", pointer)
        return
    limit = MAX_BLOCKS[ctx.surface]
    if len(blocks) > limit:
        ctx.add(f"must contain at most {limit} blocks on a {ctx.surface} (has {len(blocks)})", pointer)
    for index, block in enumerate(blocks):
        _check_block(block, f"{pointer}/{index}", ctx)


def _check_block(block: Any, pointer: str, ctx: _Ctx) -> None:
    if not isinstance(block, dict):
        ctx.add("block must be an object", pointer)
        return
    _check_block_id(block, pointer, ctx)
    block_type = block.get("type")
    checker = _BLOCK_CHECKERS.get(block_type) if isinstance(block_type, str) else None
    if checker is None:
        ctx.add(f"unknown block type {block_type!r}", f"{pointer}/type")
        return
    checker(block, pointer, ctx)


def _check_block_id(block: dict[str, Any], pointer: str, ctx: _Ctx) -> None:
    block_id = block.get("block_id")
    if block_id is None:
        return
    if not isinstance(block_id, str):
        ctx.add("block_id must be a string", f"{pointer}/block_id")
        return
    _check_max_len(block_id, 255, f"{pointer}/block_id", ctx)
    if block_id in ctx.block_ids:
        ctx.add(f"duplicate block_id {block_id!r}", f"{pointer}/block_id")
    ctx.block_ids.add(block_id)


def _check_section(block: dict[str, Any], pointer: str, ctx: _Ctx) -> None:
    text, fields = block.get("text"), block.get("fields")
    if text is None and not fields:
        ctx.add("section needs text or fields", pointer)
    if text is not None:
        _check_text(text, f"{pointer}/text", ctx, max_len=3000)
    if fields is not None:
        _check_list(fields, f"{pointer}/fields", ctx, max_items=10, what="fields")
        for index, item in enumerate(fields if isinstance(fields, list) else []):
            _check_text(item, f"{pointer}/fields/{index}", ctx, max_len=2000)
    if "accessory" in block:
        _check_element(block["accessory"], f"{pointer}/accessory", ctx)


def _check_header(block: dict[str, Any], pointer: str, ctx: _Ctx) -> None:
    _check_text(block.get("text"), f"{pointer}/text", ctx, max_len=150, plain_only=True)


def _check_actions(block: dict[str, Any], pointer: str, ctx: _Ctx) -> None:
    elements = block.get("elements")
    _check_list(elements, f"{pointer}/elements", ctx, max_items=25, what="elements", min_items=1)
    seen: set[str] = set()
    for index, element in enumerate(elements if isinstance(elements, list) else []):
        _check_element(element, f"{pointer}/elements/{index}", ctx)
        action_id = element.get("action_id") if isinstance(element, dict) else None
        # Slack needs action_ids to be unique inside their block to route the interaction.
        if isinstance(action_id, str):
            if action_id in seen:
                ctx.add(f"duplicate action_id {action_id!r}", f"{pointer}/elements/{index}/action_id")
            seen.add(action_id)


def _check_context(block: dict[str, Any], pointer: str, ctx: _Ctx) -> None:
    elements = block.get("elements")
    _check_list(elements, f"{pointer}/elements", ctx, max_items=10, what="elements", min_items=1)
    for index, element in enumerate(elements if isinstance(elements, list) else []):
        sub = f"{pointer}/elements/{index}"
        if isinstance(element, dict) and element.get("type") == "image":
            _check_image_element(element, sub, ctx)
        else:
            _check_text(element, sub, ctx)


def _check_input(block: dict[str, Any], pointer: str, ctx: _Ctx) -> None:
    _check_text(block.get("label"), f"{pointer}/label", ctx, max_len=2000, plain_only=True)
    if "hint" in block:
        _check_text(block["hint"], f"{pointer}/hint", ctx, max_len=2000, plain_only=True)
    if "element" not in block:
        ctx.add("missing required field: element", f"{pointer}/element")
        return
    _check_element(block["element"], f"{pointer}/element", ctx)


def _check_image_block(block: dict[str, Any], pointer: str, ctx: _Ctx) -> None:
    _check_image_element(block, pointer, ctx)
    if "title" in block:
        _check_text(block["title"], f"{pointer}/title", ctx, max_len=2000, plain_only=True)


def _check_markdown(block: dict[str, Any], pointer: str, ctx: _Ctx) -> None:
    text = block.get("text")
    if not isinstance(text, str):
        ctx.add("missing required field: text", f"{pointer}/text")
        return
    _check_max_len(text, 12_000, f"{pointer}/text", ctx)


def _check_nothing(block: dict[str, Any], pointer: str, ctx: _Ctx) -> None:
    """Known block types whose limits the fake does not model (divider, rich_text, …)."""


_BLOCK_CHECKERS: dict[str, Callable[[dict[str, Any], str, _Ctx], None]] = {
    "section": _check_section,
    "header": _check_header,
    "actions": _check_actions,
    "context": _check_context,
    "input": _check_input,
    "image": _check_image_block,
    "markdown": _check_markdown,
    "divider": _check_nothing,
    "rich_text": _check_nothing,
    "file": _check_nothing,
    "video": _check_nothing,
    "call": _check_nothing,
}


# --------------------------------------------------------------------------- elements


def _check_element(element: Any, pointer: str, ctx: _Ctx) -> None:
    if not isinstance(element, dict):
        ctx.add("element must be an object", pointer)
        return
    _check_max_len(element.get("action_id"), 255, f"{pointer}/action_id", ctx)
    if "placeholder" in element:
        _check_text(element["placeholder"], f"{pointer}/placeholder", ctx, max_len=150, plain_only=True)
    element_type = element.get("type")
    if element_type == "button":
        _check_button(element, pointer, ctx)
    elif element_type in _OPTION_ELEMENTS:
        _check_option_element(element, pointer, ctx, _OPTION_ELEMENTS[element_type])
    elif element_type == "overflow":
        _check_overflow(element, pointer, ctx)
    elif element_type == "plain_text_input":
        _check_plain_text_input(element, pointer, ctx)
    elif element_type == "image":
        _check_image_element(element, pointer, ctx)
    elif element_type not in _PLAIN_ELEMENTS:
        ctx.add(f"unknown element type {element_type!r}", f"{pointer}/type")


def _check_button(element: dict[str, Any], pointer: str, ctx: _Ctx) -> None:
    _check_text(element.get("text"), f"{pointer}/text", ctx, max_len=75, plain_only=True)
    _check_max_len(element.get("value"), 2000, f"{pointer}/value", ctx)
    _check_max_len(element.get("url"), 3000, f"{pointer}/url", ctx)
    style = element.get("style")
    if style is not None and style not in ("primary", "danger"):
        ctx.add(f"style must be 'primary' or 'danger', not {style!r}", f"{pointer}/style")


def _check_option_element(element: dict[str, Any], pointer: str, ctx: _Ctx, max_options: int) -> None:
    groups = element.get("option_groups")
    if groups is not None and element.get("type") in ("static_select", "multi_static_select"):
        _check_list(groups, f"{pointer}/option_groups", ctx, max_items=100, what="option groups")
        for index, group in enumerate(groups if isinstance(groups, list) else []):
            options = group.get("options") if isinstance(group, dict) else None
            _check_options(options, f"{pointer}/option_groups/{index}/options", ctx, max_options)
        return
    _check_options(element.get("options"), f"{pointer}/options", ctx, max_options)


def _check_overflow(element: dict[str, Any], pointer: str, ctx: _Ctx) -> None:
    options = element.get("options")
    _check_options(options, f"{pointer}/options", ctx, 5)
    if isinstance(options, list) and len(options) < 2:
        ctx.add(f"overflow needs at least 2 options (has {len(options)})", f"{pointer}/options")


def _check_options(options: Any, pointer: str, ctx: _Ctx, max_options: int) -> None:
    _check_list(options, pointer, ctx, max_items=max_options, what="options", min_items=1)
    for index, option in enumerate(options if isinstance(options, list) else []):
        _check_option(option, f"{pointer}/{index}", ctx)


def _check_option(option: Any, pointer: str, ctx: _Ctx) -> None:
    if not isinstance(option, dict):
        ctx.add("option must be an object", pointer)
        return
    _check_text(option.get("text"), f"{pointer}/text", ctx, max_len=75)
    value = option.get("value")
    if not isinstance(value, str):
        ctx.add("missing required field: value", f"{pointer}/value")
    _check_max_len(value, 150, f"{pointer}/value", ctx)
    if "description" in option:
        _check_text(option["description"], f"{pointer}/description", ctx, max_len=75)


def _check_plain_text_input(element: dict[str, Any], pointer: str, ctx: _Ctx) -> None:
    max_length, min_length = element.get("max_length"), element.get("min_length")
    if max_length is not None and not (isinstance(max_length, int) and 1 <= max_length <= 3000):
        ctx.add(f"max_length must be between 1 and 3000 (is {max_length!r})", f"{pointer}/max_length")
    if min_length is not None and not (isinstance(min_length, int) and 0 <= min_length <= 3000):
        ctx.add(f"min_length must be between 0 and 3000 (is {min_length!r})", f"{pointer}/min_length")
    if isinstance(max_length, int) and isinstance(min_length, int) and min_length > max_length:
        ctx.add("min_length must not exceed max_length", f"{pointer}/min_length")
    _check_max_len(element.get("initial_value"), 3000, f"{pointer}/initial_value", ctx)


def _check_image_element(element: dict[str, Any], pointer: str, ctx: _Ctx) -> None:
    if "image_url" not in element and "slack_file" not in element:
        ctx.add("image needs image_url or slack_file", pointer)
    _check_max_len(element.get("image_url"), 3000, f"{pointer}/image_url", ctx)
    alt_text = element.get("alt_text")
    if not isinstance(alt_text, str):
        ctx.add("missing required field: alt_text", f"{pointer}/alt_text")
    _check_max_len(alt_text, 2000, f"{pointer}/alt_text", ctx)


# --------------------------------------------------------------------------- primitives


def _check_text(
    obj: Any,
    pointer: str,
    ctx: _Ctx,
    *,
    max_len: int | None = None,
    plain_only: bool = False,
) -> None:
    """A composition text object: needs ``type`` and non-empty ``text``."""
    if not isinstance(obj, dict):
        ctx.add("must be a text object with type and text", pointer)
        return
    text_type = obj.get("type")
    if text_type not in TEXT_TYPES:
        ctx.add(f"text object type must be plain_text or mrkdwn, not {text_type!r}", f"{pointer}/type")
    elif plain_only and text_type != "plain_text":
        ctx.add("must be a plain_text object", f"{pointer}/type")
    text = obj.get("text")
    if not isinstance(text, str):
        ctx.add("missing required field: text", f"{pointer}/text")
        return
    # Empty text is a classic cause of invalid_blocks (slackapi/bolt-js#793).
    if not text:
        ctx.add("must be at least 1 character", f"{pointer}/text")
    if max_len is not None:
        _check_max_len(text, max_len, f"{pointer}/text", ctx)


def _check_max_len(value: Any, max_len: int, pointer: str, ctx: _Ctx) -> None:
    if isinstance(value, str) and len(value) > max_len:
        ctx.add(f"must be at most {max_len} characters (has {len(value)})", pointer)


def _check_list(
    items: Any,
    pointer: str,
    ctx: _Ctx,
    *,
    max_items: int,
    what: str,
    min_items: int = 0,
) -> None:
    if not isinstance(items, list):
        ctx.add(f"{what} must be an array", pointer)
        return
    if len(items) > max_items:
        ctx.add(f"must contain at most {max_items} {what} (has {len(items)})", pointer)
    if len(items) < min_items:
        ctx.add(f"must contain at least {min_items} {what}", pointer)
