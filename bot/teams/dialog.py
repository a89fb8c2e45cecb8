"""The triage in a Teams dialog: the card each step shows, and the invoke's answer that carries it.

Teams opens a dialog on `task/fetch` (a card's `Action.Submit` with `msteams: {type: "task/fetch"}`, or
the message extension's `composeExtension/fetchTask`) and sends each of the dialog's buttons as
`task/submit`; the answer to either says what the dialog does next: show a card (`continue`), or close
with a short text (`message`). The edge (bot/teams/edge.py) runs the core's step first; this module only
draws what the signal's state then is (`step`): the open question with the notices that came with the
last answer, the acute card (112, the police, Nu versturen), the summary with Versturen and Aanpassen,
or — sent, or cancelled — the closing text. The receipt and everything after it arrive in the 1:1 chat
through the outbox, as before.

Every button of a dialog card is an `Action.Submit` whose data names the step (`verb`), the signal
(`s`) and the asking it answers (`q`, `step`); Teams merges the card's inputs into that data by their
ids. What people typed is shown in `TextRun`s (never markdown), as on every card.
"""

from __future__ import annotations

from typing import Any

from microsoft_teams.api.models import Attachment
from microsoft_teams.api.models.task_module import (
    CardTaskModuleTaskInfo,
    TaskModuleContinueResponse,
    TaskModuleMessageResponse,
    TaskModuleResponse,
)
from sqlmodel import Session

from bot.core import people, presenters
from bot.core.result import Result, message
from bot.core.triage import DIALOG_NOTICES, KEPT_TOO_LONG, SENT_EARLY, still_answering
from bot.i18n import Translate
from bot.teams import cards
from bot.teams.cards import CARD, SCHEMA, VERSION, Ctx, small, text
from flows.questionnaire import Question
from models import Signal

INVOKE_FETCH = "task/fetch"
INVOKE_SUBMIT = "task/submit"
# The dialog's steps (the `verb` in a button's data). START, RESUME open it (task/fetch) from a card in
# the chat; the others are its own buttons (task/submit).
START = "start"  # Signaal melden: a new signal, or the choice to continue the open draft
RESUME = "resume"  # Verder gaan: the open draft (or the open questions of a signal sent early)
RESTART = "restart"  # Opnieuw beginnen: the open draft cancelled, a new signal
ANSWER, SKIP, EDIT, SUBMIT, SEND_NOW = "answer", "skip", "edit", "submit", "send_now"
CANCEL_ASK, CANCEL, BACK = "cancel_ask", "cancel", "back"  # Annuleren → are you sure? → yes / no
STEPS = frozenset({START, RESUME, RESTART, ANSWER, SKIP, EDIT, SUBMIT, SEND_NOW, CANCEL_ASK, CANCEL, BACK})
ANSWER_ID = "answer"  # the question's input
EDIT_ID = "edit"  # the summary's choice of what to change


def submit(title: str, verb: str, data: dict[str, Any], *, style: str | None = None,
           inputs: bool = True) -> dict[str, Any]:
    """A dialog button (`task/submit`); `inputs=False`: sent without the card's inputs, unchecked
    (Annuleren, Overslaan, Nu versturen need no answer)."""
    action: dict[str, Any] = {"type": "Action.Submit", "title": title, "data": {**data, "verb": verb}}
    if style:
        action["style"] = style
    if not inputs:
        action["associatedInputs"] = "none"
    return action


# ------------------------------------------------------------------------------ the invoke's answer


def show(title: str, body: list[dict[str, Any]], actions: list[dict[str, Any]]) -> dict[str, Any]:
    """The dialog shows this card (`continue`), built with the SDK's models."""
    card: dict[str, Any] = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "body": body}
    if actions:
        card["actions"] = actions
    info = CardTaskModuleTaskInfo(title=title, width="medium", card=Attachment(content_type=CARD, content=card))
    return TaskModuleResponse(task=TaskModuleContinueResponse(value=info)).model_dump(exclude_none=True)


def close(words: str) -> dict[str, Any]:
    """The dialog closes and Teams shows `words` (`message`)."""
    return TaskModuleResponse(task=TaskModuleMessageResponse(value=words)).model_dump(exclude_none=True)


# ------------------------------------------------------------------------------ what a step shows


def choice(_: Translate, draft: Signal) -> dict[str, Any]:
    """Signaal melden while a draft is open: continue it, or cancel it and start anew (as Slack's
    "Verder gaan met S-… of opnieuw beginnen?")."""
    data = {"s": draft.id}
    return show(_("Report a signal"), [
        text(_("You have not sent signal {reference} yet. Do you want to continue with {reference} or start anew?",
               reference=draft.reference), weight="Bolder"),
        small(_("Starting anew cancels {reference}: nothing of it is sent and what you typed is deleted.",
                reference=draft.reference)),
    ], [submit(_("Continue with {reference}", reference=draft.reference), RESUME, data, style="positive"),
        submit(_("Start anew"), RESTART, data)])


def confirm_cancel(_: Translate, s: Signal) -> dict[str, Any]:
    data = {"s": s.id, "step": s.step}
    return show(_("Signal {reference}", reference=s.reference), [
        text(_("Cancel signal {reference}?", reference=s.reference), weight="Bolder"),
        text(_("Nothing is sent, and what you typed is deleted.")),
    ], [submit(_("Yes, cancel"), CANCEL, data, style="destructive"), submit(_("No, go back"), BACK, data)])


def step(session: Session, ctx: Ctx, s: Signal | None, person: str, refused: Result | None = None,
         typed: str | None = None) -> dict[str, Any]:
    """What the dialog shows now for signal `s` of `person`: its open step, or the closing text.
    `refused`: what the core said no to (an answer too long, an empty required one): shown on the same
    step, with what was `typed` in its field to correct."""
    _ = ctx._
    if s is None or s.reporter_id != person or s.purged_at is not None:
        return close(_(cards.teams_words(message(refused)[0])) if refused is not None and refused.error is not None else
                     _("This signal no longer exists (it may have been removed according to the retention period)."))
    if s.status == "cancelled":
        return close(_("Signal {reference} was cancelled. Nothing was sent and what you typed was deleted.",
                       reference=s.reference))
    if s.status != "draft" and not still_answering(s):
        if s.answers.get(SENT_EARLY) and s.current_question is None:
            return close(_("Thank you: all your answers were added to signal {reference}. The attention officer "
                           "sees them.", reference=s.reference))
        return close(_("Thank you. Signal {reference} has been sent. The confirmation is in your chat with "
                       "Signaalbot; updates about this signal appear there too.", reference=s.reference))
    title = _("Signal {reference}", reference=s.reference)
    body: list[dict[str, Any]] = []
    if refused is not None and refused.error is not None:
        words, params = message(refused)
        body.append(text("⚠️ " + _(cards.teams_words(words), **params), weight="Bolder", color="Attention"))
    if s.current_question == "_summary":
        return show(title, body + _summary_body(ctx, s), _summary_actions(ctx, s))
    q = ctx.questionnaire.get(s.current_question or "")
    actions: list[dict[str, Any]] = []
    notices = list(s.answers.get(DIALOG_NOTICES) or [])
    if s.status == "draft" and any(n.get("kind") == "emergency" for n in notices):
        body += _acute(ctx)
        actions.append(submit(_("Send now"), SEND_NOW, {"s": s.id, "step": s.step}, style="destructive",
                              inputs=False))
    elif s.status != "draft":
        body.append(text("✅ " + _("Signal {reference} has been sent with your answers so far.",
                                  reference=s.reference), weight="Bolder"))
        body.append(small(_("Please answer the remaining questions if you can: each answer is added to your signal "
                            "and the attention officer sees it. You can close this window at any time.")))
    else:
        body.append(small(_("Only you and the attention officer of your municipality can see your answers. If a "
                            "life is in danger, call 112 first.")))
    for notice in notices:
        if notice.get("kind") != "emergency":
            body.append(text(_notice(ctx, notice)))
    body.append(text(_(q.prompt), weight="Bolder"))
    if q.hint:
        body.append(small(_(q.hint)))
    inputs, buttons = _inputs(ctx, s, q, typed)
    return show(title, body + inputs, buttons + actions + (
        [submit(_("Cancel"), CANCEL_ASK, {"s": s.id, "step": s.step}, inputs=False)] if s.status == "draft" else []))


def _notice(ctx: Ctx, notice: dict[str, Any]) -> str:
    _ = ctx._
    if notice.get("notice") == "from_message":
        return (_("I started this signal from a Teams message, but it has no text I can use: describe what you saw "
                  "when the question comes. The message itself stays where it is: if it holds sensitive details, "
                  "you may want to remove them from the chat or channel.") if notice.get("empty") else
                _("I started this signal from a Teams message; its text is the description. The message itself "
                  "stays where it is: if it holds sensitive details, such as names or addresses, you may want to "
                  "remove them from the chat or channel."))
    return "ℹ️ " + _(presenters.notice_text(ctx.questionnaire, notice))


def _acute(ctx: Ctx) -> list[dict[str, Any]]:
    _ = ctx._
    return [text("🚨 " + _("If a life is in danger, call 112 now."), weight="Bolder", color="Attention"),
            text(_("Can it not wait, and is the attention officer not directly reachable? Call the police: "
                   "0900-8844.")),
            text(_("*Send now* sends your signal to the attention officer right away, with the answers you "
                   "gave so far. You can still answer the other questions afterwards."))]


def _inputs(ctx: Ctx, s: Signal, q: Question, typed: str | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The question's input and its buttons. The answer comes back as `answer` in the button's data."""
    _ = ctx._
    data = {"s": s.id, "q": q.key, "step": s.step}
    body: list[dict[str, Any]] = []
    if q.type == "text":
        field: dict[str, Any] = {"type": "Input.Text", "id": ANSWER_ID, "isMultiline": q.multiline,
                                 "label": _(q.prompt), "isRequired": q.required}
        kept = s.answers.get(KEPT_TOO_LONG) if q.key == "description" else None
        value = typed if typed is not None else (s.description if kept else None)
        if value:
            field["value"] = value  # to correct: what was typed, or the text that was too long (kept)
        if q.required:
            field["errorMessage"] = _("Please fill this in.")
        body.append(field)
        if kept and typed is None:
            body.append(text(_("Your text is {length} characters; at most {limit} are allowed. Please shorten it "
                               "and try again.", length=kept.get("length", 0), limit=kept.get("limit", q.max_length))))
        body.append(small(_("At most {limit} characters.", limit=q.max_length)))
        actions = [submit(_("Next"), ANSWER, data, style="positive")]
        if not q.required:
            actions.append(submit(_("Skip"), SKIP, data, inputs=False))
        return body, actions
    if q.type == "municipality":
        munis = people.municipalities(ctx.session)[:100]
        choices = [{"title": mu.name, "value": mu.name} for mu in munis]
        field = {"type": "Input.ChoiceSet", "id": ANSWER_ID, "choices": choices, "style": "compact",
                 "label": _("Choose a municipality"), "isRequired": True, "errorMessage": _("Choose an answer")}
        last = next((mu for mu in munis if mu.id == s.answers.get("_last_municipality")), None)
        if last is not None:
            field["value"] = last.name
            body.append(small(_("Last time you chose {municipality}. Check that it is right for this signal.",
                                municipality=cards._md_safe(last.name))))
        return [field, *body], [submit(_("Next"), ANSWER, data, style="positive")]
    choices = [{"title": _(o.label) + (f" ({_(o.description)})" if o.description else ""), "value": o.key}
               for o in q.options]
    field = {"type": "Input.ChoiceSet", "id": ANSWER_ID, "choices": choices,
             "style": "expanded" if q.type == "multi" or len(choices) <= cards.EXPANDED_MAX else "compact"}
    if q.type == "multi":
        field["isMultiSelect"] = True
        pending = [o.key for o in q.options if o.key in s.answers.get("_pending_multi", [])]
        if pending:
            field["value"] = ",".join(pending)
    else:
        field.update({"isRequired": True, "errorMessage": _("Choose an answer")})
        if q.default:
            field["value"] = q.default
    return [field], [submit(_("Next"), ANSWER, data, style="positive")]


def _summary_body(ctx: Ctx, s: Signal) -> list[dict[str, Any]]:
    _ = ctx._
    return [text(_("Check and send signal {reference}", reference=s.reference), weight="Bolder", size="Medium"),
            text(_("Your answers"), weight="Bolder"), *cards.answer_blocks(ctx, s),
            # Not `isRequired`: Teams would mark it with a red asterisk, as if the signal could not be sent
            # without it. "Wijzigen…" with nothing chosen is answered by the core (`no_choice`).
            {"type": "Input.ChoiceSet", "id": EDIT_ID, "style": "compact", "label": _("Change…"),
             "placeholder": _("Choose the answer you want to change."),
             "choices": [{"title": _(q.prompt), "value": q.key} for q in cards.applicable(ctx, s)][:100]}]


def _summary_actions(ctx: Ctx, s: Signal) -> list[dict[str, Any]]:
    _ = ctx._
    data = {"s": s.id, "step": s.step}
    return [submit(_("Send"), SUBMIT, data, style="positive", inputs=False), submit(_("Change…"), EDIT, data),
            submit(_("Cancel"), CANCEL_ASK, data, inputs=False)]


def typed_text(data: dict[str, Any]) -> str | None:
    """What the reporter typed in the step's field (to show again with a refusal)."""
    value = data.get(ANSWER_ID)
    return value if isinstance(value, str) else None

