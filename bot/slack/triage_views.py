"""What the reporter sees in their DM thread: the root, each question, notices, the summary,
the receipt. Also the modal for free-text answers."""

from __future__ import annotations

import json
from typing import Any

from bot.core import people, presenters
from bot.core.triage import KEPT_TOO_LONG, SENT_EARLY, still_answering
from bot.i18n import Translate
from bot.slack import mrkdwn as m
from bot.slack.render import RenderContext, Rendered, template
from flows.questionnaire import Question, Questionnaire
from models import Municipality, Signal

BUTTONS_MAX = 5
TEXT_CALLBACK = "triage_text"


def signal_of(ctx: RenderContext) -> Signal:
    signal = ctx.session.get(Signal, ctx.msg.signal_id)
    assert signal is not None
    return signal


def block_id(signal: Signal, key: str, step: int | str) -> str:
    """Opaque ids only: the signal's number, the question key and the step."""
    return f"q:{signal.id}:{key}:{step}"


def parse_block_id(value: str) -> tuple[int, str, str] | None:
    parts = value.split(":")
    if len(parts) != 4 or parts[0] != "q" or not parts[1].isdigit():
        return None
    return int(parts[1]), parts[2], parts[3]


def answer_label(_: Translate, ctx: RenderContext, signal: Signal, q: Question) -> str:
    """How an answer reads back (escaped where it is user text)."""
    value = signal.answers.get(q.key)
    if q.type == "text":
        text = getattr(signal, q.key, None)
        return m.quote(text) if text else _("(skipped)")
    if q.type == "municipality":
        muni = ctx.session.get(Municipality, signal.municipality_id) if signal.municipality_id else None
        return m.esc(muni.name) if muni else "—"
    if q.type == "multi":
        labels = [_(o.label) for o in q.options if o.key in (value or [])]
        return ", ".join(labels) if labels else _("none of these")
    opt = q.option(str(value))
    return _(opt.label) if opt else "—"


@template("reporter_root")
def reporter_root(ctx: RenderContext) -> Rendered:
    _ = ctx._
    s = signal_of(ctx)
    status = {
        "draft": _("Answer the questions in this thread. You can stop at any time with *Cancel* or by "
                   "typing \"stop\" here."),
        "cancelled": _("Cancelled: nothing was sent."),
    }.get(s.status, _("Sent to the attention officer. Updates about this signal appear in this thread."))
    blocks = [m.header(_("Signal {reference}", reference=s.reference)), m.section(status)]
    if presenters.question_waits(ctx.session, s):  # until the reporter answers (bot.core.cases)
        blocks.append(m.section("❓ *" + _("The attention officer has asked you a question: see the newest "
                                           "messages in this thread.") + "*"))
    if s.status != "cancelled":
        blocks.append(m.context(privacy_notice(_)))
    blocks.append(m.context(_("If a life is in danger, call 112 first.")))
    return Rendered(_("Signal {reference}: open Slack to continue", reference=s.reference), blocks)


def privacy_notice(_: Translate) -> str:
    """Who sees what of a signal (AVG transparency): said in the first message of every signal and in help."""
    return _("*Who sees what:* the attention officer and the backup attention officer (vervanger) of your "
             "municipality see everything you send. Partners the attention officer consults or passes the "
             "signal to get a summary without your name; your description only when the attention officer "
             "chooses to share it. The ketenregisseur sees counts only.")


def cancel_button(_: Translate, signal_id: int | None) -> dict[str, Any]:
    """Annuleren with Slack's own confirm dialog: under every open question, in the summary, and
    offered when the reporter types "stop" in the thread."""
    confirm = {"title": m.plain(_("Cancel signal?")), "text": m.plain(_("Nothing will be sent.")),
               "confirm": m.plain(_("Yes, cancel")), "deny": m.plain(_("Go back")), "style": "danger"}
    return m.button(_("Cancel"), CANCEL_ACTION, str(signal_id), confirm=confirm)


def stop_button(_: Translate, s: Signal) -> list[dict[str, Any]]:
    """Annuleren under an open question of a draft (a signal sent early cannot be taken back)."""
    return [cancel_button(_, s.id)] if s.status == "draft" else []


CANCEL_ACTION = "triage:stop"


def _question_elements(ctx: RenderContext, s: Signal, q: Question, step: str) -> list[dict[str, Any]]:
    _ = ctx._
    bid = block_id(s, q.key, step)
    if q.type == "municipality":
        munis = people.municipalities(ctx.session)[:100]
        select = {"type": "static_select", "action_id": "triage:select",
                  "placeholder": m.plain(_("Choose a municipality")), "options": [m.option(mu.name, mu.name)
                                                                                 for mu in munis]}
        last = next((mu for mu in munis if mu.id == s.answers.get("_last_municipality")), None)
        if last is None:
            return [m.actions(bid, [select, *stop_button(_, s)])]
        # Pre-filled with the last choice: one click to keep it, or choose another one.
        select["placeholder"] = m.plain(_("Another municipality"))
        return [m.actions(bid, [m.button(m.clip(last.name, 75), "triage:answer:0", last.name, style="primary"),
                                select, *stop_button(_, s)]),
                m.context(_("Last time you chose {municipality}. Check that it is right for this signal.",
                            municipality=m.esc(last.name)))]
    if q.type == "multi":
        pending = [o for o in q.options if o.key in s.answers.get("_pending_multi", [])]
        box: dict[str, Any] = {"type": "checkboxes", "action_id": "triage:tick",
                               "options": [m.option(_(o.label), o.key, _(o.description) if o.description else None)
                                           for o in q.options]}
        if pending:
            box["initial_options"] = [m.option(_(o.label), o.key, _(o.description) if o.description else None)
                                      for o in pending]
        return [m.actions(bid, [box, m.button(_("Next"), "triage:multi_done", "next", style="primary"),
                                *stop_button(_, s)])]
    if q.type == "text":
        buttons = [m.button(_(q.button or "Write answer"), "triage:text", q.key, style="primary")]
        if not q.required:
            buttons.append(m.button(_("Skip"), "triage:skip", q.key))
        buttons += stop_button(_, s)
        kept = kept_too_long(s, q)
        note = [m.context(_("Your text has {length} characters; at most {limit} fit. I kept it: the button opens it "
                            "so you can shorten it.", **kept))] if kept else []
        return [*note, m.actions(bid, buttons),
                m.context(_("You may also reply in this thread, but text written via the button does not stay "
                            "behind in Slack as a separate message."))]
    if len(q.options) <= BUTTONS_MAX:
        buttons = []
        for i, o in enumerate(q.options):
            style = "primary" if q.default == o.key else None
            buttons.append(m.button(_(o.label), f"triage:answer:{i}", o.key, style=style))
        return [m.actions(bid, [*buttons, *stop_button(_, s)])]
    return [m.actions(bid, [{"type": "static_select", "action_id": "triage:select",
                             "placeholder": m.plain(_("Choose an answer")),
                             "options": [m.option(_(o.label), o.key) for o in q.options]},
                            *stop_button(_, s)])]


def kept_too_long(s: Signal, q: Question) -> dict[str, int] | None:
    """{length, limit} when this text question holds text kept from `/signaal <tekst>` (or a message
    shortcut) that is over its limit: the reporter still has to shorten it."""
    kept = s.answers.get(KEPT_TOO_LONG)
    if q.type != "text" or q.key != "description" or q.key in s.answers or not kept or not s.description:
        return None
    return {"length": len(s.description), "limit": int(kept.get("limit") or q.max_length or 0)}


def is_open(s: Signal, key: str, step: str | int) -> bool:
    """This asking of question `key` waits for an answer: only its newest asking (a signal sent early
    asks its open question again below the receipt; Verder gaan asks it again at the bottom)."""
    if s.current_question != key or int(step) != s.step:
        return False
    return s.status == "draft" or still_answering(s)


@template("question")
def question(ctx: RenderContext) -> Rendered:
    _ = ctx._
    s = signal_of(ctx)
    key, step = ctx.msg.ref["q"], str(ctx.msg.ref.get("step", 0))
    q = ctx.questionnaire.get(key)
    prompt = _(q.prompt)
    text = _("Question for signal {reference}", reference=s.reference)
    if is_open(s, key, step):
        blocks = [m.section(f"*{m.esc(prompt)}*")]
        if q.hint:
            blocks.append(m.context(m.esc(_(q.hint))))
        blocks += _question_elements(ctx, s, q, step)
        return Rendered(text, blocks)
    if s.status == "cancelled" and (q.type == "text" or key not in s.answers):
        return Rendered(text, [m.context(f"~{m.esc(prompt)}~ " + _("Cancelled: nothing was sent."))])
    if s.answers.get(SENT_EARLY) == {"q": key, "step": int(step)}:
        return Rendered(text, [m.context(f"~{m.esc(prompt)}~ " + _("(asked again below)"))])
    if key in s.answers:
        if q.type == "text" and int(ctx.msg.ref.get("step", 0)) <= int(s.answers.get("_edit_step", -1)):
            # Asked before the reporter changed an answer: the text shows only in the newest summary.
            return Rendered(text, [m.section(f"✅ *{m.esc(prompt)}*\n" + _("Your answer is in the summary below."))])
        return Rendered(text, [m.section(f"✅ *{m.esc(prompt)}*\n{answer_label(_, ctx, s, q)}")])
    return Rendered(text, [m.context(f"~{m.esc(prompt)}~ " + _("(asked again below)"))])



SEND_NOW_BLOCK = "acute_send"


def acute_notice(ctx: RenderContext) -> Rendered:
    """Acute = yes: who to call now, and Nu versturen — the signal goes to the attention officer at the
    click, with the answers so far (nothing is promised before it is sent)."""
    _ = ctx._
    s = signal_of(ctx)
    blocks = [m.section("🚨 *" + _("If a life is in danger, call 112 now.") + "*\n" + _(
        "Can it not wait, and is the attention officer not directly reachable? Call the police: 0900-8844."))]
    if s.status == "draft":
        blocks.append(m.section(_("*Send now* sends your signal to the attention officer right away, with the "
                                  "answers you gave so far. You can still answer the other questions afterwards.")))
        blocks.append(m.actions(f"{SEND_NOW_BLOCK}:{s.id}", [
            m.button(_("Send now"), "triage:send_now", str(s.id), style="danger")]))
    elif s.status == "cancelled":
        blocks.append(m.context(_("Cancelled: nothing was sent.")))
    elif s.submitted_at is not None:
        sent = _("Sent to the attention officer on {when}.", when=m.on_date(s.submitted_at, ctx.tz))
        blocks.append(m.context("✅ " + sent))
    return Rendered(_("Call 112 if a life is in danger"), blocks)


@template("notice")
def notice(ctx: RenderContext) -> Rendered:
    _ = ctx._
    ref = ctx.msg.ref
    if ref.get("notice") == "prefill_too_long":
        # Queued before this version: the text was not kept then (now it is, and the description is asked first).
        body = _("The text after /signaal was {length} characters; the description may be at most 3000. "
                 "You can write it again when the question comes.", length=ref.get("length", 0))
        return Rendered(_("A note about your signal"), [m.section(body)])
    if ref.get("notice") == "from_message":
        body = _("I started this signal from a Slack message; its text is the description. The message itself "
                 "stays where it is: if it holds sensitive details, such as names or addresses, you may want to "
                 "remove them from the channel.")
        if ref.get("empty"):
            body = _("I started this signal from a Slack message, but it has no text I can use: describe what you "
                     "saw when the question comes. The message itself stays where it is: if it holds sensitive "
                     "details, you may want to remove them from the channel.")
        return Rendered(_("A note about your signal"), [m.section(body)])
    kind = ref.get("kind", "info")
    if kind == "emergency":
        return acute_notice(ctx)
    body = _(presenters.notice_text(ctx.questionnaire, ref))
    title = _("Call 112 if a life is in danger") if kind == "emergency" else _("A note about your signal")
    return Rendered(title, [m.section(body)])


def summary_blocks(ctx: RenderContext, s: Signal) -> list[dict[str, Any]]:
    _ = ctx._
    blocks: list[dict[str, Any]] = [m.section("*" + _("Your answers") + "*")]
    for q in ctx.questionnaire.applicable({k: v for k, v in s.answers.items() if not k.startswith("_")},
                                          {"needs_municipality": s.answers.get("_needs_municipality", False)}):
        if q.type == "text":
            text = getattr(s, q.key, None)
            blocks += m.user_text_sections(_(q.prompt), text, _("(skipped)"))
        else:
            blocks.append(m.section(f"*{m.esc(_(q.prompt))}*\n{answer_label(_, ctx, s, q)}"))
    return blocks


@template("summary")
def summary(ctx: RenderContext) -> Rendered:
    _ = ctx._
    s = signal_of(ctx)
    text = _("Check and send signal {reference}", reference=s.reference)
    active = s.status == "draft" and s.current_question == "_summary" and ctx.msg.ref.get("step") == s.step
    if s.status == "draft" and not active:
        if ctx.msg.ref.get("shown_again"):
            return Rendered(text, [m.context(_("(shown again below)"))])
        return Rendered(text, [m.context(_("You are changing an answer; a new summary follows below."))])
    blocks = summary_blocks(ctx, s)
    if s.status == "cancelled":
        blocks = [m.context(_("Cancelled: nothing was sent."))]
    elif s.status != "draft":
        blocks.append(m.context("✅ " + _("Sent on {when}", when=m.on_date(s.submitted_at or s.created_at, ctx.tz))))
    else:
        bid = f"sum:{s.id}:{s.step}"
        applicable = ctx.questionnaire.applicable(
            {k: v for k, v in s.answers.items() if not k.startswith("_")},
            {"needs_municipality": s.answers.get("_needs_municipality", False)})
        edit = {"type": "static_select", "action_id": "triage:edit", "placeholder": m.plain(_("Change…")),
                "options": [m.option(_(q.prompt), q.key) for q in applicable][:100]}
        confirm = {"title": m.plain(_("Cancel signal?")), "text": m.plain(_("Nothing will be sent.")),
                   "confirm": m.plain(_("Yes, cancel")), "deny": m.plain(_("Go back")), "style": "danger"}
        blocks.append(m.actions(bid, [m.button(_("Send"), "triage:submit", "send", style="primary"), edit,
                                      m.button(_("Cancel"), "triage:cancel", "cancel", style="danger",
                                               confirm=confirm)]))
    return Rendered(text, blocks[:50])


@template("receipt")
def receipt(ctx: RenderContext) -> Rendered:
    """The reporter's receipt; of a signal sent early (Nu versturen): sent with the answers so far, the rest
    may follow."""
    _ = ctx._
    s = signal_of(ctx)
    early = bool(s.answers.get(SENT_EARLY))
    muni = ctx.session.get(Municipality, s.municipality_id) if s.municipality_id else None
    lines = [
        "*" + (_("Signal {reference} has been sent with your answers so far.", reference=s.reference) if early else
               _("Thank you. Signal {reference} has been sent.", reference=s.reference)) + "*",
        _("The attention officer for human trafficking of {municipality} has been notified and will look at it.",
          municipality=m.esc(muni.name if muni else "")),
        _("Please answer the remaining questions below if you can: each answer is added to your signal and the "
          "attention officer sees it.") if early else
        _("What happens next: the attention officer may ask you for more information in this thread, "
          "discusses the signal with partners where needed, and decides on next steps."),
    ]
    if s.wants_feedback and not early:
        lines.append(_("You will hear back in this thread. Feedback never contains details of an investigation."))
    if s.acute:
        lines.append("🚨 " + _("Marked as acute. If a life is in danger, call 112."))
    lines.append(_("Do not confront the person involved. You can add information later by replying in this thread."))
    return Rendered(_("Signal {reference} has been sent", reference=s.reference), [m.section("\n\n".join(lines))])


@template("answers_complete")
def answers_complete(ctx: RenderContext) -> Rendered:
    """All questions of a signal sent early are answered: what the attention officer now has."""
    _ = ctx._
    s = signal_of(ctx)
    text = _("Your answers were added to signal {reference}", reference=s.reference)
    blocks = [m.section("*" + _("Thank you: all your answers were added to signal {reference}. The attention "
                                "officer sees them.", reference=s.reference) + "*")]
    blocks += summary_blocks(ctx, s)[1:]
    blocks.append(m.context(_("To add something later, reply in this thread.")))
    return Rendered(text, blocks[:50])


@template("cancelled")
def cancelled(ctx: RenderContext) -> Rendered:
    _ = ctx._
    s = signal_of(ctx)
    body = _("Signal {reference} was cancelled. Nothing was sent and what you typed was deleted.",
             reference=s.reference)
    return Rendered(body, [m.section(body)])


@template("draft_open")
def draft_open(ctx: RenderContext) -> Rendered:
    """Names a draft left open when a new signal was started beside it (Afmaken in its thread, or Annuleren)."""
    _ = ctx._
    s = signal_of(ctx)
    if s.status != "draft":
        return Rendered(_("Signal {reference} is no longer open.", reference=s.reference),
                        [m.context(_("Signal {reference} is no longer open.", reference=s.reference))])
    body = _("You also have signal {reference}, which has not been sent. You can finish it in its thread, "
             "or cancel it here.", reference=s.reference)
    return Rendered(body, [m.section(body), m.actions(f"stop:{s.id}", [cancel_button(_, s.id)])])


INPUT_MAX = 3000  # Slack: a plain_text_input holds at most 3000 characters (its initial_value too)


def text_modal(_: Translate, q: Question, signal: Signal, initial: str | None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": "value", "multiline": q.multiline}
    # No max_length on purpose: longer input is refused with a message that shows the limit and keeps
    # what was typed (the client would otherwise silently stop accepting characters).
    if initial:
        element["initial_value"] = initial[:INPUT_MAX]
    block: dict[str, Any] = {"type": "input", "block_id": "answer", "label": m.plain(m.clip(_(q.prompt), 2000)),
                             "element": element, "optional": not q.required}
    if q.hint:
        block["hint"] = m.plain(m.clip(_(q.hint), 2000))
    blocks = [block, m.context(_("At most {limit} characters.", limit=q.max_length))]
    if initial and len(initial) > (q.max_length or INPUT_MAX):
        blocks = [block, *kept_text_blocks(_, q, initial)]
    return {
        "type": "modal", "callback_id": TEXT_CALLBACK,
        "private_metadata": json.dumps({"s": signal.id, "q": q.key}),
        "title": m.plain(m.clip(_("Signal {reference}", reference=signal.reference), 24)),
        "submit": m.plain(_("Save")), "close": m.plain(_("Back")),
        "blocks": blocks,
    }


def kept_text_blocks(_: Translate, q: Question, kept: str) -> list[dict[str, Any]]:
    """Text kept over the limit: the limit and the count, and the whole text below the input (which holds
    only what fits), so nothing is lost while the reporter shortens it."""
    limit = q.max_length or INPUT_MAX
    shown = min(limit, INPUT_MAX)
    head = _("Your text has {length} characters; at most {limit} fit. The box above holds the first {shown}; "
             "your whole text is below, so you can choose what to keep.", length=len(kept), limit=limit, shown=shown)
    # A modal holds at most 100 blocks: a text too long for that (over ~290,000 characters) stays in the draft.
    return [m.context(head), m.divider(), *m.user_text_sections(_("Your whole text"), kept)[:96]]


def questionnaire_of(ctx: RenderContext) -> Questionnaire:
    return ctx.questionnaire
