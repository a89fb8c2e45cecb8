"""Slack listeners for the reporting loop: /signaal, the triage buttons, the free-text modal,
thread replies, status and help."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk.errors import SlackApiError

from bot.core import triage
from bot.core.result import Error, Result
from bot.i18n import N_, Translate
from bot.slack import hooks
from bot.slack import mrkdwn as m
from bot.slack.common import SlackContext, container_channel, container_thread, result_text
from bot.slack.triage_views import TEXT_CALLBACK, parse_block_id, text_modal
from models import Signal

log = logging.getLogger(__name__)

STATUS_LABELS = {
    "draft": N_("Not sent yet (draft)"),
    "new": N_("Sent, waiting for the attention officer"),
    "in_progress": N_("Being handled"),
    "closed": N_("Closed"),
    "cancelled": N_("Cancelled"),
}


def help_blocks(_: Translate) -> list[dict[str, Any]]:
    text = "\n".join([
        "*" + _("Signaalbot: report a suspicion of human trafficking") + "*",
        _("Type `/signaal` to report what you saw or heard. I ask a few questions in a private message; "
          "then the attention officer for human trafficking (aandachtsfunctionaris) of your municipality "
          "receives it. Only you and the attention officer see your answers."),
        _("`/signaal <text>` starts with your description filled in. `/signaal status` shows your own signals."),
        _("`/signaal info`: what human trafficking is, the signals to look for, and where else it can be reported."),
        _("Good practice: write down what you saw and heard, keep facts and interpretation apart, "
          "and do not confront the person."),
    ])
    numbers = "\n".join([
        "*" + _("Emergency numbers") + "*",
        "• " + _("Life in danger: *112*"),
        "• " + _("Police (non-emergency): 0900-8844"),
        "• " + _("Veilig Thuis (minors, domestic violence), 24/7: 0800-2000"),
        "• " + _("Nederlandse Arbeidsinspectie: 0800-5151"),
        "• " + _("Meld Misdaad Anoniem: 0800-7000"),
    ])
    return [m.section(text), m.divider(), m.section(numbers)]


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
            ack(text=_("Signaalbot help"), blocks=help_blocks(_))
            return
        if text.lower() == "status":
            ack(text=_("Your signals"), blocks=status_blocks(ctx, _, triage.own_signals(core, user)))
            return
        if word.lower() in ctx.registry.subcommands:
            ctx.registry.subcommands[word.lower()](ctx, ack, command, respond, rest.strip())
            return
        ack(text=_("I have sent you a private message: answer the questions there."))
        ctx.after_ack(_start, user, text, command.get("response_url"))

    @ctx.work_fn
    def _start(user: str, text: str, response_url: str | None) -> None:
        ctx.refresh_locale(user)
        result = triage.start(core, user, text or None)
        if not result.ok and response_url:
            Respond(response_url=response_url)(text=result_text(ctx.tr(user), result), response_type="ephemeral",
                                               replace_original=True)

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

    summary_steps = {"submit": triage.submit, "cancel": triage.cancel, "edit": triage.edit}

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


def _summary_signal(body: dict) -> int | None:
    block = body["actions"][0].get("block_id", "")
    parts = block.split(":")
    return int(parts[1]) if len(parts) == 3 and parts[0] == "sum" and parts[1].isdigit() else None


# The answering clicks: each listener above acks and hands its work on (not triage:text, which opens a modal).
ANSWERING = re.compile(r"^triage:(answer:\d+|select|tick|multi_done|skip|submit|cancel|edit)$")


@hooks.inline
def acks_and_hands_on(request: dict[str, Any], registry: hooks.Registry) -> bool:
    """`/signaal` (a new signal, or help: answered in the ack) and the triage's answering clicks and
    text answers (hooks.inline). Not the subcommands and `status`: they read more or open forms."""
    if request.get("command") == "/signaal":
        word = (request.get("text") or "").strip().partition(" ")[0].lower()
        return word != "status" and word not in registry.subcommands
    if request.get("type") == "block_actions":
        actions = request.get("actions") or []
        return len(actions) == 1 and bool(ANSWERING.match(str(actions[0].get("action_id", ""))))
    if request.get("type") == "view_submission":
        return (request.get("view") or {}).get("callback_id") == TEXT_CALLBACK
    return False
