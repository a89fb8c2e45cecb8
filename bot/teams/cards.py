"""The core's messages as Adaptive Cards (schema 1.5, what Teams desktop and mobile draw), from a
MessageRef (template + opaque ref) and current database state, as bot/slack/render.py does for
Block Kit. What people typed goes in `TextRun`s, which Teams shows as written (no markdown). The
activity's `summary` (the notification preview) and top-level text never carry case content.

The triage runs in a dialog (bot/teams/dialog.py draws its steps); the chat keeps the signal's first
card (with Verder gaan to reopen the dialog while it is not sent), the acute notice, the receipt and
what follows. Cards here open the dialog with `dialog.opener`-style buttons (`Action.Submit` with
`msteams: {type: "task/fetch"}`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlmodel import Session, select

from bot.config import Settings
from bot.core import platforms, presenters, result
from bot.core.triage import SENT_EARLY, in_dialog, still_answering
from bot.i18n import N_, Translate
from flows.knowledge import Knowledge
from flows.questionnaire import Question, Questionnaire
from models import CaseEvent, Identity, MessageRef, Municipality, Person, Signal

CARD = "application/vnd.microsoft.card.adaptive"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"
EXPANDED_MAX = 5  # more options than this: a drop-down
WORD = "word"  # "Did you mean …?" (start card), "Training figures" (training card): data {"w": a chat word}
ADD_INFO = "add_info"  # the start card's "Addition to S-…": data {"s": signal id}, the input below
ADD_INFO_TEXT = "addition"
ADD_INFO_MAX = 3000  # bot.core.cases.TEXT_MAX


@dataclass(frozen=True)
class Out:
    """One message: its notification text (`summary`, content-free) and its card."""

    summary: str
    body: list[dict[str, Any]]
    actions: list[dict[str, Any]] = field(default_factory=list)
    mentions: list[dict[str, Any]] = field(default_factory=list)

    def activity(self) -> dict[str, Any]:
        card: dict[str, Any] = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "body": self.body}
        if self.actions:
            card["actions"] = self.actions
        if self.mentions:
            card["msteams"] = {"entities": self.mentions, "width": "Full"}
        return {"type": "message", "summary": self.summary, "attachments": [{"contentType": CARD, "content": card}]}


@dataclass
class Ctx:
    session: Session
    settings: Settings
    questionnaire: Questionnaire
    msg: MessageRef
    _: Translate
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))  # the bot's clock
    knowledge: Knowledge | None = None  # flows/knowledge.yaml as the core loaded it ("info")

    def signal(self) -> Signal:
        signal = self.session.get(Signal, self.msg.signal_id)
        assert signal is not None
        return signal


TEMPLATES: dict[str, Callable[[Ctx], Out]] = {}


def template(name: str) -> Callable[[Callable[[Ctx], Out]], Callable[[Ctx], Out]]:
    def mark(fn: Callable[[Ctx], Out]) -> Callable[[Ctx], Out]:
        TEMPLATES[name] = fn
        return fn
    return mark


def render(session: Session, settings: Settings, questionnaire: Questionnaire, msg: MessageRef,
           _: Translate, now: Callable[[], datetime] | None = None, knowledge: Knowledge | None = None) -> Out:
    fn = TEMPLATES.get(msg.template)
    if fn is None:
        raise LookupError(f"no Teams card for {msg.template!r} yet")
    ctx = Ctx(session, settings, questionnaire, msg, _, knowledge=knowledge)
    if now is not None:
        ctx.now = now
    return fn(ctx)


def tombstone(_: Translate) -> Out:
    text = _("Details removed according to the retention period.")
    return Out(text, [small(text)])


# ------------------------------------------------------------------------------ card elements


def text(value: str, *, weight: str | None = None, size: str | None = None, subtle: bool = False,
         color: str | None = None) -> dict[str, Any]:
    """Our own (translated) words. Adaptive Cards read a TextBlock as markdown: never user text here."""
    block: dict[str, Any] = {"type": "TextBlock", "text": value, "wrap": True}
    if weight:
        block["weight"] = weight
    if size:
        block["size"] = size
    if subtle:
        block["isSubtle"] = True
    if color:
        block["color"] = color
    return block


def small(value: str) -> dict[str, Any]:
    return {**text(value, subtle=True), "size": "Small"}


def user_text(label: str, value: str | None, empty: str = "—") -> list[dict[str, Any]]:
    """A label and what someone typed, as written: a TextRun is not markdown."""
    return [text(label, weight="Bolder"),
            {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": value if value else empty}]}]


def fact_set(facts: list[tuple[str, str]]) -> dict[str, Any]:
    return {"type": "FactSet", "facts": [{"title": title, "value": value} for title, value in facts]}


def execute(title: str, verb: str, data: dict[str, Any], *, style: str | None = None) -> dict[str, Any]:
    action: dict[str, Any] = {"type": "Action.Execute", "title": title, "verb": verb, "data": data}
    if style:
        action["style"] = style
    return action


def opener(title: str, verb: str, data: dict[str, Any] | None = None, *, style: str | None = None) -> dict[str, Any]:
    """A button that opens the triage's dialog (Teams sends `task/fetch` with its data; bot/teams/dialog.py)."""
    action: dict[str, Any] = {"type": "Action.Submit", "title": title,
                              "data": {**(data or {}), "verb": verb, "msteams": {"type": "task/fetch"}}}
    if style:
        action["style"] = style
    return action


def _md_safe(value: str) -> str:
    """A name from the network or the directory inside our markdown (a mention): no markup of its own."""
    return re.sub(r"[<>*_\[\]`~#\\]", "", value).strip()


def when(moment: datetime | None, ctx: Ctx) -> str:
    if moment is None:
        return "—"
    return moment.astimezone(ctx.settings.tz).strftime("%d-%m-%Y %H:%M")


# ------------------------------------------------------------------------------ the reporter's 1:1 chat


WORD_TITLES = {"info": N_("What to know about human trafficking"), "help": N_("What I can do"),
               "status": N_("Your signals"), "training": N_("Trainings"), "netwerk": N_("Network members"),
               "cijfers": N_("Figures"), "training cijfers": N_("Training figures")}


@template("teams_start")
def start(ctx: Ctx) -> Out:
    """The answer to any other message in the 1:1 chat: what the bot is for, and the button; a
    suggestion when the message was nearly one of the words (`bot.core.chat`); and for each of the
    reporter's sent signals that is still open (the core's list, at most 3), a form to add information."""
    _ = ctx._
    body = [text(_("Report a signal of human trafficking"), weight="Bolder", size="Medium"),
            text(_("Did you notice something that might point to human trafficking? Report it here. Only you "
                   "and the attention officer of your municipality can see your answers.")),
            small(_("If a life is in danger, call 112 first."))]
    actions = [opener(_("Report a signal"), "start", style="positive")]
    word = str(ctx.msg.ref.get("suggest") or "")
    if word in WORD_TITLES:
        body.insert(0, text(_("Did you mean “{command}”? I did not start a signal.", command=word)))
        actions.append(execute(_(WORD_TITLES[word]), WORD, {"w": word}))
    for signal_id in ctx.msg.ref.get("open") or []:
        s = ctx.session.get(Signal, signal_id)
        if s is None or s.reporter_id != ctx.msg.recipient or s.status not in ("new", "in_progress"):
            continue
        form = {"type": "AdaptiveCard", "version": VERSION, "body": [
            small(_("What you add goes to the attention officer with signal {reference}.", reference=s.reference)),
            {"type": "Input.Text", "id": ADD_INFO_TEXT, "label": _("Your addition"), "isMultiline": True,
             "isRequired": True, "maxLength": ADD_INFO_MAX, "errorMessage": _("Please fill this in.")}],
            "actions": [execute(_("Send addition"), ADD_INFO, {"s": s.id}, style="positive")]}
        actions.append({"type": "Action.ShowCard", "title": _("Addition to {reference}", reference=s.reference),
                        "card": form})
    return Out(_("Report a signal of human trafficking"), body, actions)


@template("teams_info_added")
def info_added(ctx: Ctx) -> Out:
    """The reporter's addition to a sent signal reached its case: what they sent, as written."""
    _ = ctx._
    s = ctx.signal()
    event = ctx.session.get(CaseEvent, ctx.msg.ref.get("event") or 0)
    title = _("Your addition to signal {reference} has been sent", reference=s.reference)
    body = [text(_("Signal {reference}", reference=s.reference), weight="Bolder"),
            text(_("The attention officer has received your addition."))]
    if event is not None and event.signal_id == s.id:
        body += user_text(_("Your addition"), event.text)
    return Out(title, body)


@template("teams_info")
def knowledge(ctx: Ctx) -> Out:
    """"info": the knowledge the regional policy asks to spread (flows/knowledge.yaml), as `/signaal info`."""
    _ = ctx._
    title = _("Human trafficking: what to know")
    body = [text(title, weight="Bolder", size="Medium")]
    for section in ctx.knowledge.sections if ctx.knowledge else ():
        body.append(text(_(section.title), weight="Bolder"))
        if section.text:
            body.append(text(_(section.text)))
        if section.points:
            body.append(text("\n".join("- " + _(point) for point in section.points)))
    body.append(small(_("To report a signal: type “signaal” here, or click Report a signal. Questions about this? "
                        "Ask the attention officer of your municipality.")))
    return Out(title, body, [opener(_("Report a signal"), "start")])


@template("teams_help")
def help_card(ctx: Ctx) -> Out:
    """"help": what the bot can do in Teams, as Slack's `/signaal help` (no slash commands here)."""
    _ = ctx._
    title = _("Signaalbot: report a suspicion of human trafficking")
    words = "\n".join([
        "- " + _("**info** — what human trafficking is, the signals to look for, and where else it can be reported"),
        "- " + _("**status** — your own signals and where they stand"),
        "- " + _("**training** — trainings: see them and sign up (attention officers also plan them)"),
        "- " + _("**training cijfers** — who was trained in the last 12 months, per municipality (for attention "
                 "officers and the ketenregisseur)"),
        "- " + _("**netwerk** — the network of trained colleagues (for attention officers and the ketenregisseur)"),
        "- " + _("**cijfers** — figures on signals, this year so far; or for a year or a month: “cijfers 2026”, "
                 "“cijfers 2026-03” (for attention officers and the ketenregisseur)"),
        "- " + _("**help** — this help"),
    ])
    return Out(title, [
        text(title, weight="Bolder", size="Medium"),
        text(_("Click Report a signal to report what you saw or heard. I ask a few questions here, in this chat; "
               "then the attention officer for human trafficking (aandachtsfunctionaris) of your municipality "
               "receives it.")),
        text(_("Saw something in a chat or a channel? Choose … on that message, then Meld als signaal: the signal "
               "starts here with that message's text as its description.")),
        text(_("Changed your mind? Click Cancel under any question: nothing is sent and what you typed is deleted.")),
        text(_("Good practice: write down what you saw and heard, keep facts and interpretation apart, and do not "
               "confront the person.")),
        text(_("Type one of these words here:"), weight="Bolder"), text(words),
        text(_("Emergency numbers"), weight="Bolder"),
        fact_set([(_("Life in danger"), "112"), (_("Police (non-emergency)"), "0900-8844"),
                  (_("Veilig Thuis (minors, domestic violence), 24/7"), "0800-2000"),
                  (_("Nederlandse Arbeidsinspectie"), "0800-5151"), (_("Meld Misdaad Anoniem"), "0800-7000")]),
    ], [opener(_("Report a signal"), "start", style="positive")])


@template("teams_status")
def status(ctx: Ctx) -> Out:
    """"status": the reporter's own signals (the core's list, `triage.own_signals`), as `/signaal status`."""
    _ = ctx._
    title = _("Your signals")
    rows: list[tuple[str, str]] = []
    for signal_id in ctx.msg.ref.get("signals") or []:
        s = ctx.session.get(Signal, signal_id)
        if s is None or s.reporter_id != ctx.msg.recipient or s.purged_at is not None:
            continue
        line = presenters.own_signal(s)
        rows.append((line.reference, f"{_(line.status)} ({when(line.when, ctx)[:10]})"))
    if not rows:
        return Out(title, [text(_("You have not reported any signals yet. Click Report a signal to report one."))],
                   [opener(_("Report a signal"), "start")])
    return Out(title, [text(title, weight="Bolder", size="Medium"), fact_set(rows)])


@template("teams_refusal")
def refusal(ctx: Ctx) -> Out:
    """Why the core did not do what someone asked (its msgid and parameters, kept in the ref)."""
    _ = ctx._
    problems = [_(str(msgid), **{k: _md_safe(v) if isinstance(v, str) else v for k, v in dict(p or {}).items()})
                for msgid, p in ctx.msg.ref.get("problems") or []]
    if problems:  # a form's fixable problems, each said (nothing was saved)
        lines = "\n".join("- " + problem for problem in problems)
        return Out(_("Not saved yet"), [text(_("Not saved yet. Please fix this and try again:"), weight="Bolder"),
                                        text(lines)])
    body = refusal_text(ctx.session, _, str(ctx.msg.ref.get("text") or ""), ctx.msg.ref.get("params") or {})
    # The preview: about a signal only when it was one (a training's or the network's refusal is not).
    title = _("A note about your signal") if ctx.msg.signal_id else _("A note from Signaalbot")
    return Out(title, [text(body)])


# The core's refusals that speak of Slack's ways (a thread, /signaal, the workspace), as they are said in
# Teams: the same meaning, the way to go on that Teams has (the dialog, the start card, this chat).
TEAMS_WORDING: dict[str, str] = {
    result.MESSAGES[(result.Error.MOVED_ON, None)]: N_(
        "This question has already been answered. Continue with the latest question in the window; you can "
        "change answers in the summary."),
    result.MESSAGES[(result.Error.NOT_DRAFT, None)]: N_(
        "This signal has already been sent, so answers can no longer be changed. To add something, send a "
        "message in this chat and choose “Addition to …” on the card that comes back."),
    result.MESSAGES[(result.Error.NOT_DRAFT, "already_sent")]: N_(
        "This signal has already been sent. To add something, send a message in this chat and choose "
        "“Addition to …” on the card that comes back."),
    result.MESSAGES[(result.Error.NOT_DRAFT, "cancelled")]: N_(
        "This signal was cancelled. To report again, send “signaal” in this chat."),
    result.MESSAGES[(result.Error.NOT_CONFIGURED, None)]: N_(
        "The bot has not been set up for your municipality yet, so it cannot take signals. Please contact "
        "your attention officer or your organisation's Teams administrator."),
    result.DENIALS[result.Denial.REPORTER_VIEW_ONLY]: N_(
        "You reported this signal; the attention officer handles it. Nothing was changed. To add something, "
        "send a message in this chat and choose “Addition to …” on the card that comes back."),
    result.DENIALS[result.Denial.NOT_YOUR_SIGNAL]: N_(
        "This is not your signal. Send “status” in this chat to see your own signals."),
    result.MESSAGES[(result.Error.NOT_YOURS, None)]: N_(
        "This is not your signal, so you cannot answer here. To report something yourself, send “signaal” in "
        "this chat."),
}


def teams_words(msgid: str) -> str:
    """A refusal's msgid as Teams says it (`TEAMS_WORDING`), else itself."""
    return TEAMS_WORDING.get(msgid, msgid)


def refusal_text(session: Session, _: Translate, msgid: str, params: dict[str, Any]) -> str:
    """A refusal's words (`bot.core.result.message`: its msgid and parameters) in the reader's language,
    with the person a `who` names by name: on a card, and as the answer to the click itself. Words that
    speak of Slack's ways are said as in Teams (`TEAMS_WORDING`)."""
    msgid = teams_words(msgid)
    params = dict(params)
    if "who" in params:
        name = session.exec(select(Person.name).where(Person.user_id == str(params["who"]))).first()
        params["who"] = _md_safe(name) if name else _("the attention officer")
    return _(msgid or "Something went wrong. Please try again.", **params)


@template("reporter_root")
def reporter_root(ctx: Ctx) -> Out:
    _ = ctx._
    s = ctx.signal()
    dialog = in_dialog(s)
    status = {
        "draft": _("Answer the questions in the window. Only you and the attention officer of your municipality "
                   "can see your answers. Closed the window? Continue with the button below; nothing is sent "
                   "before you choose Send.") if dialog else
        _("Answer the questions below. Only you and the attention officer of your municipality can see "
          "your answers."),
        "cancelled": _("Cancelled: nothing was sent."),
    }.get(s.status, _("Sent to the attention officer. Updates about this signal appear in this chat."))
    body = [text(_("Signal {reference}", reference=s.reference), weight="Bolder", size="Medium"), text(status)]
    actions = [opener(_("Continue"), "resume", {"s": s.id}, style="positive")] if dialog and (
        s.status == "draft" or still_answering(s)) else []
    if presenters.question_waits(ctx.session, s):
        body.append(text("❓ " + _("The attention officer has a question about this signal: answer it on the card "
                                  "with the question, further down in this chat."), weight="Bolder"))
    body.append(small(_("If a life is in danger, call 112 first.")))
    return Out(_("Signal {reference}", reference=s.reference), body, actions)


def answer_label(ctx: Ctx, signal: Signal, q: Question) -> str:
    _ = ctx._
    value = signal.answers.get(q.key)
    if q.type == "municipality":
        muni = ctx.session.get(Municipality, signal.municipality_id) if signal.municipality_id else None
        return muni.name if muni else "—"
    if q.type == "multi":
        labels = [_(o.label) for o in q.options if o.key in (value or [])]
        return ", ".join(labels) if labels else _("none of these")
    opt = q.option(str(value))
    return _(opt.label) if opt else "—"


def _answered(ctx: Ctx, signal: Signal, q: Question) -> list[dict[str, Any]]:
    _ = ctx._
    if q.type == "text":
        return user_text("✅ " + _(q.prompt), getattr(signal, q.key, None), _("(skipped)"))
    return [text("✅ " + _(q.prompt), weight="Bolder"),
            {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": answer_label(ctx, signal, q)}]}]


def is_open(s: Signal, key: str, step: int) -> bool:
    """This asking of `key` waits for an answer (a signal sent early asks its open question again below
    the receipt: only that newest asking is open)."""
    return s.current_question == key and (s.status == "draft" or (still_answering(s) and step == s.step))


@template("question")
def question(ctx: Ctx) -> Out:
    """A question of a signal whose questions were asked in the chat (before the dialog; a draft in a
    dialog posts none): its answer, or — still open — a button into the dialog."""
    _ = ctx._
    s = ctx.signal()
    key = ctx.msg.ref["q"]
    q = ctx.questionnaire.get(key)
    prompt = _(q.prompt)
    summary = _("Question for signal {reference}", reference=s.reference)
    step = int(ctx.msg.ref.get("step", 0))
    if is_open(s, key, step):
        # A question asked in the chat before the triage moved to the dialog: it is answered there now.
        return Out(summary, [text(prompt, weight="Bolder"), small(_("Answer this question in the window."))],
                   [opener(_("Continue"), "resume", {"s": s.id}, style="positive")])
    if q.type == "text" and s.status == "cancelled":
        return Out(summary, [small(prompt + " — " + _("Cancelled: nothing was sent."))])
    if s.answers.get(SENT_EARLY) == {"q": key, "step": step}:
        return Out(summary, [small(prompt + " " + _("(asked again below)"))])
    if key in s.answers:
        if q.type == "text" and int(ctx.msg.ref.get("step", 0)) <= int(s.answers.get("_edit_step", -1)):
            return Out(summary, [text("✅ " + prompt, weight="Bolder"),
                                 text(_("Your answer is in the summary below."))])
        return Out(summary, _answered(ctx, s, q))
    return Out(summary, [small(prompt + " " + _("(asked again below)"))])


def acute_notice(ctx: Ctx) -> Out:
    """Acute = yes: who to call now, and Nu versturen — the signal goes to the attention officer at the
    click, with the answers so far (nothing is promised before it is sent)."""
    _ = ctx._
    s = ctx.signal()
    title = _("Call 112 if a life is in danger")
    body = [text("🚨 " + _("If a life is in danger, call 112 now."), weight="Bolder", color="Attention"),
            text(_("Can it not wait, and is the attention officer not directly reachable? Call the police: "
                   "0900-8844."))]
    if s.status == "draft":
        body.append(text(_("*Send now* sends your signal to the attention officer right away, with the answers you "
                           "gave so far. You can still answer the other questions afterwards.")))
        return Out(title, body, [execute(_("Send now"), "send_now", {"s": s.id}, style="destructive")])
    if s.status == "cancelled":
        body.append(small(_("Cancelled: nothing was sent.")))
    elif s.submitted_at is not None:
        body.append(small("✅ " + _("Sent to the attention officer on {when}.", when=when(s.submitted_at, ctx))))
    return Out(title, body)


@template("notice")
def notice(ctx: Ctx) -> Out:
    _ = ctx._
    ref = ctx.msg.ref
    if ref.get("notice") == "prefill_too_long":
        return Out(_("A note about your signal"), [text(_(
            "The text after /signaal was {length} characters; the description may be at most 3000. "
            "You can write it again when the question comes.", length=ref.get("length", 0)))])
    kind = ref.get("kind", "info")
    if kind == "emergency":
        return acute_notice(ctx)
    body = _(presenters.notice_text(ctx.questionnaire, ref))
    title = _("A note about your signal")
    return Out(title, [text(title, weight="Bolder"), text(body)])


def applicable(ctx: Ctx, s: Signal) -> list[Question]:
    return ctx.questionnaire.applicable({k: v for k, v in s.answers.items() if not k.startswith("_")},
                                        {"needs_municipality": s.answers.get("_needs_municipality", False)})


def answer_blocks(ctx: Ctx, s: Signal) -> list[dict[str, Any]]:
    _ = ctx._
    body: list[dict[str, Any]] = []
    for q in applicable(ctx, s):
        if q.type == "text":
            body += user_text(_(q.prompt), getattr(s, q.key, None), _("(skipped)"))
        else:
            body += [text(_(q.prompt), weight="Bolder"),
                     {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": answer_label(ctx, s, q)}]}]
    return body


@template("summary")
def summary(ctx: Ctx) -> Out:
    """The summary of a signal whose questions were asked in the chat (before the dialog): the answers as
    sent, or — still to send — a button into the dialog, where Versturen is."""
    _ = ctx._
    s = ctx.signal()
    title = _("Check and send signal {reference}", reference=s.reference)
    active = s.status == "draft" and s.current_question == "_summary" and ctx.msg.ref.get("step") == s.step
    if s.status == "draft" and not active:
        return Out(title, [small(_("You are changing an answer; a new summary follows below."))])
    if s.status == "cancelled":
        return Out(title, [small(_("Cancelled: nothing was sent."))])
    body: list[dict[str, Any]] = [text(_("Your answers"), weight="Bolder", size="Medium"), *answer_blocks(ctx, s)]
    if s.status != "draft":
        body.append(small("✅ " + _("Sent on {when}", when=when(s.submitted_at or s.created_at, ctx))))
        return Out(title, body)
    return Out(title, body, [opener(_("Continue"), "resume", {"s": s.id}, style="positive")])


@template("receipt")
def receipt(ctx: Ctx) -> Out:
    """The reporter's receipt; of a signal sent early (Nu versturen): sent with the answers so far, the rest
    may follow."""
    _ = ctx._
    s = ctx.signal()
    early = bool(s.answers.get(SENT_EARLY))
    muni = ctx.session.get(Municipality, s.municipality_id) if s.municipality_id else None
    body = [
        text(_("Signal {reference} has been sent with your answers so far.", reference=s.reference) if early else
             _("Thank you. Signal {reference} has been sent.", reference=s.reference), weight="Bolder"),
        text(_("The attention officer for human trafficking of {municipality} has been notified and will look at it.",
               municipality=_md_safe(muni.name if muni else ""))),
        text((_("Please answer the remaining questions if you can, with Continue: each answer is added to your "
                "signal and the attention officer sees it.") if in_dialog(s) else
              _("Please answer the remaining questions below if you can: each answer is added to your signal and the "
                "attention officer sees it.")) if early else
             _("What happens next: the attention officer may ask you for more information in this chat, "
               "discusses the signal with partners where needed, and decides on next steps.")),
    ]
    if s.wants_feedback and not early:
        body.append(text(_("You will hear back in this chat. Feedback never contains details of an investigation.")))
    if s.acute:
        body.append(text("🚨 " + _("Marked as acute. If a life is in danger, call 112."), color="Attention"))
    body.append(small(_("Do not confront the person involved.")))
    actions = [opener(_("Continue"), "resume", {"s": s.id}, style="positive")] if early and in_dialog(s) else []
    return Out(_("Signal {reference} has been sent", reference=s.reference), body, actions)


@template("answers_complete")
def answers_complete(ctx: Ctx) -> Out:
    """All questions of a signal sent early are answered: what the attention officer now has."""
    _ = ctx._
    s = ctx.signal()
    body = [text(_("Thank you: all your answers were added to signal {reference}. The attention officer sees them.",
                   reference=s.reference), weight="Bolder")]
    body += answer_blocks(ctx, s)
    return Out(_("Your answers were added to signal {reference}", reference=s.reference), body)


@template("cancelled")
def cancelled(ctx: Ctx) -> Out:
    _ = ctx._
    s = ctx.signal()
    body = _("Signal {reference} was cancelled. Nothing was sent and what you typed was deleted.",
             reference=s.reference)
    return Out(body, [text(body)])


@template("draft_nudge")
def draft_nudge(ctx: Ctx) -> Out:
    """To the reporter, below their unsent draft: it has not been sent yet, and what to do. From the
    draft's current state: once it is sent, cancelled or deleted, it says it is no longer needed."""
    _ = ctx._
    signal = ctx.session.get(Signal, ctx.msg.signal_id)
    reference = signal.reference if signal else "—"
    if signal is None or signal.status != "draft" or signal.purged_at is not None:
        settled = _("This reminder is no longer needed.")
        return Out(settled, [small("✓ " + settled)])
    title = _("Your signal {reference} has not been sent yet", reference=reference)
    if ctx.msg.ref.get("nudge") == "acute":
        return Out(title, [
            text("🚨 " + _("Your signal {reference} is marked as acute, but it has not been sent yet: the attention "
                          "officer does not know about it. Send it now with Send now above in this chat; you can "
                          "answer the other questions afterwards. Or answer the remaining questions and choose Send.",
                          reference=reference), weight="Bolder"),
            text(_("If a life is in danger, call 112 now."), color="Attention"),
            text(_("Can it not wait, and is the attention officer not directly reachable? Call the police: "
                   "0900-8844."))])
    if in_dialog(signal):
        return Out(title, [text("⏳ " + _.ngettext(
            "Your signal {reference} has not been sent yet. Continue with the button below when you are ready, and "
            "send or cancel it there. A signal that is not sent is deleted after {count} day without activity.",
            "Your signal {reference} has not been sent yet. Continue with the button below when you are ready, and "
            "send or cancel it there. A signal that is not sent is deleted after {count} days without activity.",
            ctx.msg.ref.get("days") or 30, reference=reference))],
            [opener(_("Continue"), "resume", {"s": signal.id}, style="positive")])
    return Out(title, [text("⏳ " + _.ngettext(
        "Your signal {reference} has not been sent yet. Continue with the question above in this chat when you "
        "are ready, or cancel it. A signal that is not sent is deleted after {count} day without activity.",
        "Your signal {reference} has not been sent yet. Continue with the question above in this chat when you "
        "are ready, or cancel it. A signal that is not sent is deleted after {count} days without activity.",
        ctx.msg.ref.get("days") or 30, reference=reference))])


@template("draft_open")
def draft_open(ctx: Ctx) -> Out:
    """Names a draft left open when a new signal was started beside it (Meld als signaal): continue it, or
    cancel it here."""
    _ = ctx._
    s = ctx.signal()
    if s.status != "draft":
        gone = _("Signal {reference} is no longer open.", reference=s.reference)
        return Out(gone, [small(gone)])
    body = _("You also have signal {reference}, which has not been sent. You can continue it, or cancel it here.",
             reference=s.reference)
    return Out(body, [text(body)], [opener(_("Continue"), "resume", {"s": s.id}),
                                    opener(_("Cancel"), "cancel_ask", {"s": s.id})])


@template("draft_expired")
def draft_expired(ctx: Ctx) -> Out:
    """To the reporter, below a draft that expired (retention): it is gone, nothing was sent."""
    _ = ctx._
    signal = ctx.session.get(Signal, ctx.msg.signal_id)
    reference = signal.reference if signal else "—"
    body = [text(_("Signal {reference} was not sent and has now been deleted. Nothing reached the attention "
                   "officer.", reference=reference)),
            text(_("Do you still want to report something? Start again with the button below."))]
    return Out(_("Signal {reference} was not sent and has been deleted", reference=reference), body,
               [opener(_("Report a signal"), "start")])


# ------------------------------------------------------------------------------ the AF's case card


def _person_name(ctx: Ctx, key: str) -> str:
    name = ctx.session.exec(select(Person.name).where(Person.user_id == key)).first()
    return _md_safe(name) if name else ctx._("the attention officer")


def mention(ctx: Ctx, key: str) -> tuple[str, dict[str, Any] | None]:
    """`<at>Name</at>` and its entity for a Teams person; another platform's person is named only."""
    platform, external = platforms.identity_of_key(key)
    name = _person_name(ctx, key)
    if platform != platforms.TEAMS:
        identity = ctx.session.exec(select(Identity).join(Person, Identity.person_id == Person.id).where(
            Person.user_id == key, Identity.platform == platforms.TEAMS)).first()
        if identity is None:
            return name, None
        external = identity.external_id
    at = f"<at>{name}</at>"
    return at, {"type": "mention", "text": at, "mentioned": {"id": external, "name": name}}


STATUS_LABELS = {"new": N_("New — not claimed yet"), "in_progress": N_("Being handled"), "closed": N_("Closed")}
