"""Two case card actions beside the meldroute: *Related signals* (link or unlink signals that may be
about the same address or business) and *Case meeting* (ingebracht in het casusoverleg of the Zorg- en
Veiligheidshuis, with its date and outcome). Their steps live in `bot.core.cases`; this module only
builds the modals and reads their answers (the general case modal listener runs them after the ack).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.core import cases as core_cases
from bot.core import related as core_related
from bot.core import result as core_result
from bot.core.context import Core
from bot.i18n import N_, Translate
from bot.slack import mrkdwn as m
from bot.slack.cases import MODAL, CaseActionSpec, Errors, Form, modal, text_check, text_input
from bot.slack.common import SlackContext
from flows.cases import CaseAction
from flows.related import MatchKind
from models import Signal

STATE_LABELS = {
    "new": N_("New — not claimed yet"),
    "in_progress": N_("Being handled"),
    "closed": N_("Closed"),
}
MATCH_LABELS = {
    MatchKind.ADDRESS: N_("same address"),
    MatchKind.BUSINESS: N_("same business"),
    MatchKind.POSTCODE: N_("same postcode"),
}
LINKS_MAX = 10  # a checkboxes element holds at most 10 options


def related_line(_: Translate, r: core_related.Related, tz: Any) -> str:
    """Reference, date and state of another signal: never anything of its content."""
    return _("{reference} · {date} · {state}", reference=r.reference,
             date=r.reported_at.astimezone(tz).strftime("%d-%m-%Y"), state=_(STATE_LABELS.get(r.status, r.status)))


def why_related(_: Translate, r: core_related.Related) -> str:
    shared = ", ".join(_(MATCH_LABELS[k]) for k in r.kinds)
    if r.linked:
        return _("linked") + (f" · {shared}" if shared else "")
    return shared


def related_modal(ctx: SlackContext, _: Translate, s: Signal, meta: dict[str, Any]) -> dict[str, Any]:
    _result, found = core_cases.related_signals(ctx.core, s.id or 0, str(meta.get("u", "")))
    found = sorted(found, key=lambda r: not r.linked)[:LINKS_MAX]
    tz = ctx.core.settings.tz
    options = [m.option(related_line(_, r, tz), str(r.signal_id), why_related(_, r)) for r in found]
    blocks: list[dict[str, Any]] = [m.section(_(
        "These signals of your municipality may be about the same place: their locations name the same "
        "address, postcode or business. Tick the ones that belong together; untick to undo a link."))]
    if options:
        element: dict[str, Any] = {"type": "checkboxes", "action_id": "value", "options": options}
        initial = [o for o, r in zip(options, found, strict=True) if r.linked]
        if initial:
            element["initial_options"] = initial
        blocks.append({"type": "input", "block_id": "links", "optional": True,
                       "label": m.plain(_("Linked signals")), "element": element})
    else:
        blocks.append(m.section(_("No related signals found (any more).")))
    blocks.append(m.context(_("A linked card shows only the other signal's reference, date and state. Each "
                              "signal keeps its own retention period; a link ends when either is removed.")))
    # Only the signals shown are changed: a link beyond the first LINKS_MAX is never undone unseen.
    shown = {**{k: v for k, v in meta.items() if k != "u"}, "shown": [r.signal_id for r in found]}
    return modal(_, f"{MODAL}:{CaseAction.RELATED.value}", _("Related signals"), shown, blocks, submit=_("Save"))


def related_step(core: Core, sid: int, user: str, form: Form) -> core_result.Result:
    return core_cases.set_links(core, sid, user, form.pick("links"), among=form.meta.get("shown") or [])


def case_meeting_modal(ctx: SlackContext, _: Translate, s: Signal, meta: dict[str, Any]) -> dict[str, Any]:
    today = ctx.core.clock.now().astimezone(ctx.core.settings.tz).date()
    picker = {"type": "datepicker", "action_id": "value", "initial_date": today.isoformat()}
    blocks = [
        m.section(_("Signal {reference} was discussed in the case meeting (casusoverleg) of the Zorg- en "
                    "Veiligheidshuis.", reference=s.reference)),
        {"type": "input", "block_id": "held_on", "label": m.plain(_("Date of the case meeting")), "element": picker},
        text_input("text", _("Outcome"), hint=_("What was agreed, and who does what. Stored encrypted with the case; "
                                                "the reporter does not see it.")),
    ]
    return modal(_, f"{MODAL}:{CaseAction.CASE_MEETING.value}", _("Case meeting"), meta, blocks, submit=_("Save"))


def held_on(raw: str | None) -> date | None:
    return date.fromisoformat(raw) if raw else None


def held_on_check(ctx: SlackContext, _: Translate, vals: dict[str, dict[str, Any]]) -> Errors:
    try:
        when = held_on((vals.get("held_on") or {}).get("selected_date"))
    except ValueError:
        return {"held_on": _("Choose a date.")}
    if when is None:
        return {"held_on": _("Choose a date.")}
    if when > ctx.core.clock.now().astimezone(ctx.core.settings.tz).date():
        return {"held_on": _("The date of the case meeting cannot be in the future.")}
    return {}


def case_meeting_step(core: Core, sid: int, user: str, form: Form) -> core_result.Result:
    try:
        when = held_on(form.texts.get("held_on"))
    except ValueError:
        when = None
    return core_cases.case_meeting(core, sid, user, when, form.text)


CASE_ACTIONS: dict[str, CaseActionSpec] = {
    CaseAction.RELATED: CaseActionSpec(related_step, related_modal),
    CaseAction.CASE_MEETING: CaseActionSpec(case_meeting_step, case_meeting_modal,
                                            checks=(text_check(), held_on_check)),
}
