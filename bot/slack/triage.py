"""Slack listeners for the reporting loop: /signaal, the triage buttons, the free-text modal,
thread replies, status and help."""

from __future__ import annotations

import difflib
import json
import logging
import re
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk.errors import SlackApiError

from bot.core import presenters, triage
from bot.core.result import Error, Result
from bot.i18n import N_, Translate
from bot.slack import hooks
from bot.slack import mrkdwn as m
from bot.slack.common import SlackContext, container_channel, container_thread, result_text
from bot.slack.triage_views import (
    CANCEL_ACTION,
    TEXT_CALLBACK,
    cancel_button,
    parse_block_id,
    privacy_notice,
    text_modal,
)
from models import Signal

log = logging.getLogger(__name__)

STATUS_LABELS = presenters.SIGNAL_STATUS_LABELS  # the same words on every platform


# The words after /signaal that are commands, not a description: the built-in ones and each feature's
# subcommand (its first name is the one shown), with what they do.
BUILT_IN = ("status", "help", "hulp")
COMMAND_TEXTS = {
    "status": N_("your own signals and where they stand"),
    "training": N_("trainings: see them and sign up (attention officers also plan them)"),
    "netwerk": N_("the network of trained colleagues (for attention officers and the ketenregisseur)"),
    "info": N_("what human trafficking is, the signals to look for, and where else it can be reported"),
    "cijfers": N_("figures on signals, for a year or a month (for attention officers and the ketenregisseur)"),
    "help": N_("this help"),
}


def command_names(registry: hooks.Registry) -> list[str]:
    """The commands to show, each once: status, the features' subcommands (by their first name), help."""
    shown: list[str] = ["status"]
    seen: set[int] = set()
    for name, handler in registry.subcommands.items():
        if id(handler) not in seen:
            seen.add(id(handler))
            shown.append(name)
    return [*shown, "help"]


def command_lines(_: Translate, registry: hooks.Registry) -> list[str]:
    return [f"• `/signaal {name}`" + (f" — {_(COMMAND_TEXTS[name])}" if name in COMMAND_TEXTS else "")
            for name in command_names(registry)]


def close_command(word: str, registry: hooks.Registry) -> str | None:
    """The command a single typed word was probably meant to be ("stauts" → "status"), else None."""
    names = {name: name for name in BUILT_IN} | {name: name for name in registry.subcommands}
    names["hulp"] = "help"
    match = difflib.get_close_matches(word.lower(), list(names), n=1, cutoff=0.7)
    if not match:
        return None
    handler = registry.subcommands.get(match[0])
    if handler is None:
        return names[match[0]]
    # Shown by the name the command list uses: the subcommand's first name.
    return next(n for n, h in registry.subcommands.items() if h is handler)


def did_you_mean_blocks(_: Translate, registry: hooks.Registry, command: str) -> list[dict[str, Any]]:
    text = "\n".join([
        _("Did you mean `{command}`?", command=command),
        _("I did not start a signal. These are the commands:"),
        *command_lines(_, registry),
        _("To report a signal, type `/signaal` with nothing after it, or with a description of what you saw."),
    ])
    return [m.section(text)]


def draft_choice_blocks(_: Translate, draft: Signal) -> list[dict[str, Any]]:
    """`/signaal` while a draft is open: continue it, or cancel it and start anew."""
    confirm = {"title": m.plain(_("Start anew?")),
               "text": m.plain(_("Signal {reference} will be cancelled: nothing of it is sent and what you "
                                 "typed in it is deleted.", reference=draft.reference)),
               "confirm": m.plain(_("Yes, start anew")), "deny": m.plain(_("Go back"))}
    body = _("You have not sent signal {reference} yet. Do you want to continue with {reference} or start anew?",
             reference=draft.reference)
    return [m.section(body), m.actions(f"draft:{draft.id}", [
        m.button(_("Continue with {reference}", reference=draft.reference), "triage:draft_continue",
                 str(draft.id), style="primary"),
        m.button(_("Start anew"), "triage:draft_restart", str(draft.id), confirm=confirm),
    ])]


def help_blocks(_: Translate, registry: hooks.Registry | None = None) -> list[dict[str, Any]]:
    text = "\n".join([
        "*" + _("Signaalbot: report a suspicion of human trafficking") + "*",
        _("Type `/signaal` to report what you saw or heard. I ask a few questions in a private message; "
          "then the attention officer for human trafficking (aandachtsfunctionaris) of your municipality "
          "receives it."),
        _("`/signaal <text>` starts with your description filled in."),
        _("Changed your mind? Click *Cancel* under any question, or type \"stop\" in the signal's thread: "
          "nothing is sent and what you typed is deleted."),
        _("Good practice: write down what you saw and heard, keep facts and interpretation apart, "
          "and do not confront the person."),
    ])
    commands = "\n".join(["*" + _("Commands") + "*", *command_lines(_, registry or hooks.Registry())])
    numbers = "\n".join([
        "*" + _("Emergency numbers") + "*",
        "• " + _("Life in danger: *112*"),
        "• " + _("Police (non-emergency): 0900-8844"),
        "• " + _("Veilig Thuis (minors, domestic violence), 24/7: 0800-2000"),
        "• " + _("Nederlandse Arbeidsinspectie: 0800-5151"),
        "• " + _("Meld Misdaad Anoniem: 0800-7000"),
    ])
    return [m.section(text), m.section(commands), m.context(privacy_notice(_)), m.divider(), m.section(numbers)]


def status_blocks(ctx: SlackContext, _: Translate, signals: list[Signal]) -> list[dict[str, Any]]:
    if not signals:
        return [m.section(_("You have not reported any signals yet. Type /signaal to report one."))]
    lines = []
    for s in signals:
        when = m.date(s.submitted_at or s.created_at, ctx.core.settings.tz, "{date_short}")
        lines.append(f"• *{s.reference}* — {_(STATUS_LABELS.get(s.status, s.status))} ({when})")
    return [m.section("*" + _("Your signals") + "*"), *[m.section(chunk) for chunk in _chunks(lines)]][:50]


def _chunks(lines: list[str], size: int = 2800) -> list[str]:
    out, cur = [], ""
    for line in lines:
        if len(cur) + len(line) + 1 > size:
            out.append(cur)
            cur = ""
        cur += line + "\n"
    return [*out, cur] if cur else out


@hooks.feature(order=0)
def register(ctx: SlackContext, app: App) -> None:
    core = ctx.core

    @app.command("/signaal")
    def signaal(ack: Ack, command: dict, respond: Respond) -> None:
        user = command["user_id"]
        text = (command.get("text") or "").strip()
        word, _sep, rest = text.partition(" ")
        _ = ctx.tr(user)
        if text.lower() in {"help", "hulp"}:
            ack(text=_("Signaalbot help"), blocks=help_blocks(_, ctx.registry))
            return
        if text.lower() == "status":
            ack(text=_("Your signals"), blocks=status_blocks(ctx, _, triage.own_signals(core, user)))
            return
        if word.lower() in ctx.registry.subcommands:
            ctx.registry.subcommands[word.lower()](ctx, ack, command, respond, rest.strip())
            return
        meant = close_command(text, ctx.registry) if text and not rest else None
        if meant is not None:
            # A typo of a command is a question, not a signal (and never stored).
            ack(text=_("Did you mean `{command}`?", command=meant), blocks=did_you_mean_blocks(_, ctx.registry, meant))
            return
        ack(text=_("I have sent you a private message: answer the questions there."))
        ctx.after_ack(_start, user, text, command.get("response_url"))

    @ctx.work_fn
    def _start(user: str, text: str, response_url: str | None) -> None:
        ctx.refresh_locale(user)
        _ = ctx.tr(user)
        # Looked up after the ack, which stays free of database reads (bench part 1).
        draft = triage.open_draft(core, user)
        if draft is not None and not text:
            # Not a second silent draft: continue the open one, or cancel it and start anew.
            choice = {"text": _("You have not sent signal {reference} yet. Do you want to continue with {reference} "
                                "or start anew?", reference=draft.reference),
                      "blocks": draft_choice_blocks(_, draft)}
            if response_url:
                Respond(response_url=response_url)(**choice, response_type="ephemeral", replace_original=True)
            else:
                ctx.ephemeral(None, user, choice["text"], blocks=choice["blocks"])
            return
        result = triage.start(core, user, text or None)
        if not result.ok and response_url:
            Respond(response_url=response_url)(text=result_text(_, result), response_type="ephemeral",
                                               replace_original=True)
        elif result.ok and draft is not None:
            # A description typed after /signaal is a new signal: it starts with that text (which never
            # goes into a button or a channel to await a choice), and the open draft is named in the
            # reporter's conversation with a Cancel button, so it is not forgotten.
            triage.remind_open_draft(core, user, draft.id or 0)

    @app.action("triage:draft_continue")
    def on_draft_continue(ack: Ack, body: dict) -> None:
        ack()
        ctx.after_ack(_draft_choice, body, "continue")

    @app.action("triage:draft_restart")
    def on_draft_restart(ack: Ack, body: dict) -> None:
        ack()
        ctx.after_ack(_draft_choice, body, "restart")

    @ctx.work_fn
    def _draft_choice(body: dict, choice: str) -> None:
        user = body["user"]["id"]
        _ = ctx.tr(user)
        value = body["actions"][0].get("value") or ""
        if not value.isdigit():
            ctx.ephemeral(container_channel(body), user, result_text(_, Result(False)))
            return
        sid = int(value)
        if choice == "continue":
            result = triage.resume(core, sid, user)
            reply = _("Continue with signal {reference} in your private conversation with me: the open question "
                      "is at the bottom of its thread.", reference=result.reference) if result.ok else None
        else:
            result = triage.restart(core, sid, user)
            reply = _("I have sent you a private message: answer the questions there.") if result.ok else None
        response_url = body.get("response_url")
        message = {"text": reply or result_text(_, result), "response_type": "ephemeral", "replace_original": True}
        if response_url:
            Respond(response_url=response_url)(**message)
        else:
            ctx.ephemeral(container_channel(body), user, message["text"], container_thread(body))

    @app.action(CANCEL_ACTION)
    def on_stop(ack: Ack, body: dict) -> None:
        ack()
        ctx.after_ack(_stop, body)

    @ctx.work_fn
    def _stop(body: dict) -> None:
        """Annuleren under a question, or offered after "stop" typed in the thread (confirmed in Slack)."""
        user = body["user"]["id"]
        value = body["actions"][0].get("value") or ""
        result = triage.cancel(core, int(value), user) if value.isdigit() else Result(False)
        if not result.ok:
            ctx.ephemeral(container_channel(body), user, result_text(ctx.tr(user), result),
                          container_thread(body))
        elif (body.get("container") or {}).get("is_ephemeral") and body.get("response_url"):
            Respond(response_url=body["response_url"])(delete_original=True)

    @ctx.work_fn
    def _answer(body: dict, key_and_value: tuple[int, str, Any] | None) -> None:
        user = body["user"]["id"]
        if key_and_value is None:
            ctx.ephemeral(container_channel(body), user, result_text(ctx.tr(user), Result(False)))
            return
        sid, key, value = key_and_value
        result = triage.answer(core, sid, user, key, value)
        if not result.ok:
            ctx.ephemeral(container_channel(body), user, result_text(ctx.tr(user), result),
                          container_thread(body))

    def _parsed(body: dict) -> tuple[int, str, str] | None:
        action = body["actions"][0]
        return parse_block_id(action.get("block_id", ""))

    @app.action(re.compile(r"^triage:answer:\d+$"))
    def on_button(ack: Ack, body: dict) -> None:
        ack()
        parsed = _parsed(body)
        ctx.after_ack(_answer, body, (parsed[0], parsed[1], body["actions"][0].get("value")) if parsed else None)

    @app.action("triage:select")
    def on_select(ack: Ack, body: dict) -> None:
        ack()
        parsed = _parsed(body)
        selected = (body["actions"][0].get("selected_option") or {}).get("value")
        ctx.after_ack(_answer, body, (parsed[0], parsed[1], selected) if parsed else None)

    @app.action("triage:tick")
    def on_tick(ack: Ack, body: dict) -> None:
        ack()
        parsed = _parsed(body)
        if parsed:
            values = [o["value"] for o in body["actions"][0].get("selected_options") or []]
            ctx.after_ack(_tick, parsed[0], body["user"]["id"], parsed[1], values)

    @ctx.work_fn
    def _tick(sid: int, user: str, key: str, values: list[str]) -> None:
        triage.tick(core, sid, user, key, values)

    @app.action("triage:multi_done")
    def on_multi_done(ack: Ack, body: dict) -> None:
        ack()
        parsed = _parsed(body)
        ctx.after_ack(_multi_done, body, parsed)

    @ctx.work_fn
    def _multi_done(body: dict, parsed: tuple[int, str, str] | None) -> None:
        if not parsed:
            _answer(body, None)
            return
        state = ((body.get("state") or {}).get("values") or {}).get(body["actions"][0]["block_id"], {})
        if "triage:tick" in state:
            values = [o["value"] for o in state["triage:tick"].get("selected_options") or []]
        else:
            values = triage.pending_multi(core, parsed[0])
        _answer(body, (parsed[0], parsed[1], values))

    @app.action("triage:skip")
    def on_skip(ack: Ack, body: dict) -> None:
        ack()
        parsed = _parsed(body)
        ctx.after_ack(_answer, body, (parsed[0], parsed[1], "") if parsed else None)

    @app.action("triage:text")
    def on_text(ack: Ack, body: dict, client: Any) -> None:
        ack()
        user = body["user"]["id"]
        parsed = _parsed(body)
        _ = ctx.tr(user)
        if not parsed:
            ctx.after_ack(_answer, body, None)
            return
        sid, key, _step = parsed
        with triage.session_scope(core.engine) as session:
            signal = session.get(Signal, sid)
            problem = None
            if signal is None:
                problem = Result(False, error=Error.UNKNOWN_SIGNAL)
            elif signal.reporter_id != user:
                problem = Result(False, error=Error.NOT_YOURS)
            elif signal.status != "draft" and not triage.still_answering(signal):
                problem = Result(False, error=Error.NOT_DRAFT, reason=signal.status,
                                        data={"status": signal.status})
            elif signal.current_question != key:
                problem = Result(False, error=Error.MOVED_ON)
            if problem:
                ctx.ephemeral_after_ack(container_channel(body), user, result_text(_, problem),
                                        container_thread(body))
                return
            assert signal is not None
            view = text_modal(_, core.questionnaire.get(key), signal, getattr(signal, key, None))
        try:
            client.views_open(trigger_id=body["trigger_id"], view=view)
        except SlackApiError as exc:
            log.warning("views.open failed: %s", exc.response.get("error"))
            ctx.ephemeral_after_ack(container_channel(body), user,
                                    _("The input window could not be opened (Slack was too slow). Please click the "
                                      "button again, or reply in this thread with your answer."),
                                    container_thread(body))

    @app.view(TEXT_CALLBACK)
    def on_text_submit(ack: Ack, body: dict, view: dict) -> None:
        user = body["user"]["id"]
        _ = ctx.tr(user)
        meta = json.loads(view.get("private_metadata") or "{}")
        raw = (((view.get("state") or {}).get("values") or {}).get("answer") or {}).get("value", {}).get("value")
        try:
            verdict = core.questionnaire.check(meta.get("q", ""), raw)
        except KeyError:
            ack()
            return
        if not verdict.ok:
            result = Result(False, error=Error.INVALID_ANSWER, reason=verdict.error, data=dict(verdict.params))
            ack(response_action="errors", errors={"answer": m.clip(result_text(_, result), 2000)})
            return
        ack()
        ctx.after_ack(_text_answer, int(meta.get("s", 0)), user, meta["q"], raw)

    @ctx.work_fn
    def _text_answer(sid: int, user: str, key: str, raw: Any) -> None:
        result = triage.answer(core, sid, user, key, raw)
        if not result.ok:
            ctx.ephemeral(None, user, result_text(ctx.tr(user), result))

    summary_steps = {"submit": triage.send, "cancel": triage.cancel, "edit": triage.edit}

    @ctx.work_fn
    def _summary_step(body: dict, step: str, *args: Any) -> None:
        """Versturen / Annuleren / Wijzigen from the summary message."""
        user = body["user"]["id"]
        sid = _summary_signal(body)
        result = summary_steps[step](core, sid, user, *args) if sid else Result(False)
        if not result.ok:
            ctx.ephemeral(container_channel(body), user, result_text(ctx.tr(user), result),
                          container_thread(body))

    @app.action("triage:submit")
    def on_submit(ack: Ack, body: dict) -> None:
        ack()
        ctx.after_ack(_summary_step, body, "submit")

    @app.action("triage:cancel")
    def on_cancel(ack: Ack, body: dict) -> None:
        ack()
        ctx.after_ack(_summary_step, body, "cancel")

    @app.action("triage:edit")
    def on_edit(ack: Ack, body: dict) -> None:
        ack()
        ctx.after_ack(_summary_step, body, "edit",
                      (body["actions"][0].get("selected_option") or {}).get("value", ""))


@hooks.thread_reply("reporter_root")
def on_reporter_thread(ctx: SlackContext, event: dict, root: Any) -> None:
    """A reply typed in the reporter's DM thread while the triage runs."""
    user, text = event.get("user"), event.get("text") or ""
    signal, _root = triage.signal_for_thread(ctx.core, event["channel"], event["thread_ts"])
    if signal is None or user != signal.reporter_id:
        return
    _ = ctx.tr(user)
    if signal.status == "cancelled":
        ctx.ephemeral(event["channel"], user, result_text(_, Result(
            False, signal.id, signal.reference, error=Error.NOT_DRAFT, reason="cancelled")),
            event["thread_ts"])
        return
    if signal.status != "draft" and not _answers_by_reply(ctx, signal):
        handler = ctx.registry.thread_handlers.get("reporter_root:submitted")
        if handler:
            handler(ctx, event, root)
        return
    if signal.status == "draft" and text.strip().strip(".!").lower() in STOP_WORDS:
        ctx.ephemeral(event["channel"], user, _("Do you want to cancel signal {reference}?",
                                                reference=signal.reference), event["thread_ts"],
                      blocks=stop_blocks(_, signal))
        return
    q = ctx.core.questionnaire.get(signal.current_question) if ctx.core.questionnaire.has(
        signal.current_question or "") else None
    if q is None or q.type != "text":
        ctx.ephemeral(event["channel"], user, _("Please answer the question above with its buttons first. "
                                                "You can add text when the bot asks for it."),
                      event["thread_ts"])
        return
    result = triage.answer(ctx.core, signal.id or 0, user, q.key, text)
    if not result.ok:
        ctx.ephemeral(event["channel"], user, result_text(_, result), event["thread_ts"])


def _answers_by_reply(ctx: SlackContext, signal: Signal) -> bool:
    """A signal sent early whose open question takes text: a reply in its thread answers that question
    (any other reply after sending goes to the attention officer as added information)."""
    key = signal.current_question or ""
    return (triage.still_answering(signal) and ctx.core.questionnaire.has(key)
            and ctx.core.questionnaire.get(key).type == "text")


STOP_WORDS = frozenset({"stop", "stoppen", "annuleren", "annuleer", "cancel"})


def stop_blocks(_: Translate, signal: Signal) -> list[dict[str, Any]]:
    """Offered when the reporter types "stop" or "annuleren" in their draft's thread."""
    return [m.section(_("Do you want to cancel signal {reference}? Nothing is sent and what you typed is deleted. "
                        "To go on instead, answer the open question.", reference=signal.reference)),
            m.actions(f"stop:{signal.id}", [cancel_button(_, signal.id)])]


def dm_hint_blocks(_: Translate) -> list[dict[str, Any]]:
    """The answer to a message typed to the bot outside a signal's thread (it never repeats it)."""
    return [m.section(_("Hello! I only read messages in the thread of a signal. To report a suspicion of human "
                        "trafficking, type `/signaal` here or in any channel: I then ask you a few questions. "
                        "Type `/signaal help` to see everything I can do.")),
            m.context(_("If a life is in danger, call 112 first."))]


@hooks.thread_reply("direct_message")
def on_direct_message(ctx: SlackContext, event: dict, root: Any) -> None:
    """A message typed to the bot in its direct conversation, outside any signal's thread: answered
    privately (an ephemeral: no message of the bot's stays behind naming the person)."""
    user = event.get("user")
    if user and triage.direct_message_hint(ctx.core, user):
        _ = ctx.tr(user)  # the language already known; no users.info (it would store a person's row)
        ctx.ephemeral(event.get("channel") or user, user, _("How to report a signal"), blocks=dm_hint_blocks(_))


def _summary_signal(body: dict) -> int | None:
    block = body["actions"][0].get("block_id", "")
    parts = block.split(":")
    return int(parts[1]) if len(parts) == 3 and parts[0] == "sum" and parts[1].isdigit() else None


# The answering clicks: each listener above acks and hands its work on (not triage:text, which opens a modal).
ANSWERING = re.compile(r"^triage:(answer:\d+|select|tick|multi_done|skip|submit|cancel|edit|stop|draft_continue|"
                       r"draft_restart)$")


@hooks.inline
def acks_and_hands_on(request: dict[str, Any], registry: hooks.Registry) -> bool:
    """`/signaal` (a new signal — or the choice about an open draft, asked after the ack —, help, or a
    command's typo: answered in the ack) and the triage's answering clicks and text answers
    (hooks.inline). Not the subcommands and `status`: they read more or open forms."""
    if request.get("command") == "/signaal":
        word = (request.get("text") or "").strip().partition(" ")[0].lower()
        return word != "status" and word not in registry.subcommands
    if request.get("type") == "block_actions":
        actions = request.get("actions") or []
        return len(actions) == 1 and bool(ANSWERING.match(str(actions[0].get("action_id", ""))))
    if request.get("type") == "view_submission":
        return (request.get("view") or {}).get("callback_id") == TEXT_CALLBACK
    return False
