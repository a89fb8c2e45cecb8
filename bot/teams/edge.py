"""`POST /api/messages`: Teams' activities in, the core's services out.

Every request's token is checked first (bot/teams/auth.py: 401 and no effect when it is missing or
not valid for the activity). An accepted activity's work is stored in the inbox before the answer
goes back, once per activity (its dedupe key: the conversation and the activity id), and then runs
after the answer as the Slack edge's does (`intake`: bot.core.intake.Intake — the Slack edge's context
when Slack is on, a plain one in a Teams-only deployment — which owns the inbox's writer, the hand-over
to the work process and the recovery's table of work). Teams' retries and
doubled deliveries take effect once.

What an activity asks becomes a call of the core with the person's key from `people.resolve`: the
triage's steps (bot/core/triage.py), the case card's actions (`CASE_VERBS`, into bot/core/cases.py)
wherever the card is — the core checks who may act, every time. A click on a card (`checked_click`: the
case card's `CASE_VERBS`, and `CHECKED_VERBS`: the reminders', partners' and trainings' buttons,
Nu versturen and Aanvulling op S-…) is asked of the core before it is answered (bot/core/checks.py: the
step's own checks in one short read-only transaction); a refusal is told in the answer to the invoke
itself, in the clicker's language. The click is stored all the same; its work asks the core again, which
records a denial in the audit log (once), and does nothing else: the refusal told stands. What the core
refuses otherwise — found only when the step runs (the case changed in between), a form's list of
problems, a word in the chat — is told in the person's 1:1 chat through the outbox (`teams_refusal`).

The triage runs in a dialog (bot/teams/dialog.py): `task/fetch` (Signaal melden, Verder gaan, or the
message extension "Meld als signaal") and `task/submit` (each of the dialog's buttons) must be answered
with the next step. So a dialog's invoke is stored in the inbox under its key, as any activity, and its
work then runs at once, on the request (`_dialog_now`): the core's step is committed — and the inbox item
done with it — before the answer shows the step that follows. A repeated delivery of the same invoke finds
its key stored and is answered with what the signal shows now, without a second step.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from datetime import date
from html.parser import HTMLParser
from typing import Any, Protocol

from sqlmodel import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.commands.teams import FROM_MESSAGE  # the manifest's message action "Meld als signaal"
from bot.core import cases, chat, checks, figures, inbox, members, outbox, people, platforms, reach, training, triage
from bot.core.context import Core
from bot.core.metrics import ACK_SECONDS, REQUESTS
from bot.core.result import Error, Result, message
from bot.i18n import Translate, language_for, translator
from bot.teams import cards, case_cards, dialog, network_cards, store, words
from bot.teams.auth import IncomingTokens
from flows.cases import CaseAction
from models import InboxItem, MessageRef, Signal
from models.base import error_name
from models.db import session_scope

log = logging.getLogger(__name__)
MAX_BODY = 256_000  # bytes; an activity with a full card's inputs is far below this
INVOKE_CARD_ACTION = "adaptiveCard/action"
INVOKE_FETCH_TASK = "composeExtension/fetchTask"  # a message extension's action: "Meld als signaal"
PREFILL_MAX = 20_000  # characters of a message's text handed on (the core keeps what is too long, to shorten)
DIALOG_INVOKES = (dialog.INVOKE_FETCH, dialog.INVOKE_SUBMIT)
RETRY_WAIT = 5.0  # seconds a repeated dialog invoke waits for the first delivery's step to finish


class Intake(Protocol):
    """What the edge needs of the intake (bot.core.intake.Intake provides it)."""

    writer: inbox.Writer

    def work_fn(self, fn: Callable[..., Any]) -> Callable[..., Any]: ...

    def hand_over(self, rows: list[inbox.Row], item_ids: list[int | None]) -> None: ...


def _refused(status: int, error: str) -> Response:
    return JSONResponse({"error": error}, status_code=status, headers={"connection": "close"})


def activity_key(activity: dict[str, Any]) -> str | None:
    """One activity's identity, the same when Teams delivers it again: its id in its conversation."""
    conversation = str((activity.get("conversation") or {}).get("id") or "")
    activity_id = str(activity.get("id") or "")
    if not conversation or not activity_id:
        return None
    return "teams:" + hashlib.sha256(f"{conversation}\n{activity_id}".encode()).hexdigest()[:40]


class _PlainText(HTMLParser):
    """A Teams message's body (HTML) as the text a person reads: tags dropped, entities decoded, a
    new line for a paragraph, a line break or a list item."""

    BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"})
    HIDDEN = frozenset({"script", "style"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BREAKS and tag != "br":
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def message_text(payload: Any) -> str:
    """The text of the message a message extension was used on (`value.messagePayload`)."""
    body = (payload.get("body") or {}) if isinstance(payload, dict) else {}
    content = str(body.get("content") or "")
    if str(body.get("contentType") or "html").lower() == "html":
        parser = _PlainText()
        parser.feed(content)
        parser.close()
        content = "".join(parser.parts)
    lines = [" ".join(line.split()) for line in content.replace("\xa0", " ").splitlines()]
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.strip()[:PREFILL_MAX]


def is_from_message(activity: dict[str, Any]) -> bool:
    """The message extension's action "Meld als signaal" on a message (its fetchTask)."""
    value = activity.get("value")
    return (activity.get("type") == "invoke" and activity.get("name") == INVOKE_FETCH_TASK
            and isinstance(value, dict) and value.get("commandId") == FROM_MESSAGE)


def is_dialog(activity: dict[str, Any]) -> bool:
    """An invoke the dialog answers: its task/fetch and task/submit, and "Meld als signaal" (which opens it)."""
    return activity.get("type") == "invoke" and (activity.get("name") in DIALOG_INVOKES or is_from_message(activity))


def _dialog_data(activity: dict[str, Any]) -> dict[str, Any]:
    """A dialog invoke's data (`value.data`: the button's data with the card's inputs merged in), without
    Teams' own `msteams` part."""
    if activity.get("name") not in DIALOG_INVOKES or not isinstance(activity.get("value"), dict):
        return {}
    from microsoft_teams.api.models.task_module import TaskModuleRequest

    try:
        data = TaskModuleRequest.model_validate(activity["value"]).data
    except ValueError:
        return {}
    return {str(k): v for k, v in data.items() if k != "msteams"} if isinstance(data, dict) else {}


def essentials(activity: dict[str, Any], claims: dict[str, Any]) -> dict[str, Any]:
    """What the work needs of an activity (stored encrypted in the inbox): who, where, which action
    with which inputs. Not the text of a chat message: only the word it asks for, when it is one of
    the reporter's words (`chat.asked`). The text of a message that "Meld als signaal" was used on
    is handed on (it becomes the draft's description), and nothing else of that message: not its
    conversation (someone else's chat or channel), author or time."""
    sender = activity.get("from") or {}
    conversation = activity.get("conversation") or {}
    channel_data = activity.get("channelData") or {}
    tenant = str(conversation.get("tenantId") or (channel_data.get("tenant") or {}).get("id") or "")
    value = activity.get("value") if activity.get("type") == "invoke" else None
    action = (value or {}).get("action") or {} if isinstance(value, dict) else {}
    if activity.get("name") in DIALOG_INVOKES:
        data = _dialog_data(activity)
        action = {"verb": str(data.get("verb") or ""), "data": data}
    from_message = is_from_message(activity)
    words = (chat.asked(str(activity.get("text") or "")) if activity.get("type") == "message"
             else chat.Asked())
    return {
        "type": str(activity.get("type") or ""), "name": str(activity.get("name") or ""),
        "action": str(activity.get("action") or ""),  # installationUpdate: add | remove
        "service_url": str(activity.get("serviceUrl") or ""), "tenant": tenant,
        # A channel message's conversation is its reply chain (`19:…;messageid=…`): the channel's is before.
        "conversation": "" if from_message else str(conversation.get("id") or "").split(";messageid=", 1)[0],
        "conversation_type": str(conversation.get("conversationType") or "personal"),
        "from_id": str(sender.get("id") or ""), "aad": str(sender.get("aadObjectId") or ""),
        "name_of_sender": str(sender.get("name") or "")[:200],
        "locale": str(activity.get("locale") or "")[:10],
        "verb": str(action.get("verb") or ""),
        "data": action.get("data") if isinstance(action.get("data"), dict) else {},
        "word": words.command or "", "suggest": words.suggestion or "", "period": words.period,
        **({"from_message": message_text((value or {}).get("messagePayload"))} if from_message else {}),
    }


class TeamsEdge:
    def __init__(self, core: Core, intake: Intake) -> None:
        self.core = core
        self.intake = intake
        self.tokens = IncomingTokens(core.settings)
        intake.work_fn(self.on_activity)
        intake.work_fn(self.on_dialog)

    def routes(self) -> list[BaseRoute]:
        return [Route("/api/messages", self.messages, methods=["POST"])]

    async def messages(self, request: Request) -> Response:
        started = time.perf_counter()
        response = await self._respond(request)
        REQUESTS.labels("teams", str(response.status_code)).inc()
        ACK_SECONDS.labels("teams").observe(time.perf_counter() - started)
        return response

    async def _respond(self, request: Request) -> Response:
        authorization = request.headers.get("authorization")
        if not authorization:
            return _refused(401, "unauthorized")
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
            return _refused(413, "request_too_large")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return _refused(413, "request_too_large")
        try:
            activity = json.loads(body)
        except ValueError:
            activity = None
        if not isinstance(activity, dict):
            # Not an activity: nobody learns from the answer whether the token would have passed.
            return _refused(401, "unauthorized")
        claims = await self.tokens.claims(authorization, activity.get("serviceUrl"))
        if claims is None:
            return _refused(401, "unauthorized")
        args = essentials(activity, claims)
        if args["tenant"] and args["tenant"] != self.core.settings.teams_tenant_id:
            # A single-tenant bot: another organisation's people are not its users.
            log.info("Teams: refused an activity from another tenant")
            return _refused(403, "other_tenant")
        kind, key = activity.get("type"), activity_key(activity)
        if kind not in ("message", "invoke", "conversationUpdate", "installationUpdate") or key is None:
            return Response(status_code=200)  # typing, reactions…: nothing to do
        if kind == "invoke" and activity.get("name") != INVOKE_CARD_ACTION and not is_dialog(activity):
            return Response(status_code=501)  # other message extensions' invokes, other dialogs: not taken
        if is_dialog(activity):
            try:
                answer = await run_in_threadpool(self._dialog_now, key, args)
            except Exception as exc:  # noqa: BLE001 - not stored: no 200, so Teams (or the user) tries again
                log.error("Teams: could not store a dialog's step (%s); answering 503", error_name(exc))
                return _refused(503, "try_again")
            return JSONResponse(answer)
        _ = translator(language_for(activity.get("locale"), self.core.settings.language))
        refusal = None
        if checked_click(args):
            refusal = await run_in_threadpool(self._refused_now, args, _)
            if refusal is not None:
                args["told"] = refusal[0]
        row = (key, inbox_work(self.on_activity), [args])
        try:
            ids = await self.intake.writer.submit_async([row])
        except Exception as exc:  # noqa: BLE001 - not stored: no 200, so Teams (or the user) tries again
            log.error("Teams: could not store an activity's work (%s); answering 503", error_name(exc))
            return _refused(503, "try_again")
        self.intake.hand_over([row], ids)
        if kind == "invoke":
            # The clicker's confirmation, or what the core refuses; the next card arrives through the outbox.
            return JSONResponse({"statusCode": 200, "type": "application/vnd.microsoft.activity.message",
                                 "value": refusal[1] if refusal is not None else _("Received.")})
        return Response(status_code=200)

    def _refused_now(self, a: dict[str, Any], _: Translate) -> tuple[str, str] | None:
        """Whether the core refuses this click now (`checked_click`: its step's own checks, read-only, no
        audit): (what was refused, for the work: no content) and the words for the clicker; None when
        it would run, when the refusal is a form's list of problems (a card says each), or when the
        check itself failed (then the work tells, as for any click)."""
        external = self._external(a)
        if external is None:
            return None
        try:
            with checks.checking(self.core) as session:
                person = people.known(session, platforms.TEAMS, a["tenant"], external)
                result = self._checked_step(person, a)
                if result.ok or result.problems:
                    return None
                text, params = message(result)
                return f"{result.error}:{result.reason or ''}", cards.refusal_text(session, _, text, params)
        except Exception as exc:  # noqa: BLE001 - the click is stored and runs; only the early answer is lost
            log.warning("Teams: could not check a click before answering (%s)", error_name(exc))
            return None

    def _checked_step(self, person: str, a: dict[str, Any]) -> Result:
        """A `checked_click`'s step, as the core answers it now: called in `checks.checking` (a step whose
        checks end in the edge's own code — a card verb that goes on to more than one core call — ends
        with `checks.Passed` there)."""
        data = a["data"] or {}
        try:
            if a["verb"] in CASE_VERBS:
                return self._case_step(person, a["verb"], data)
            return CHECKED_VERBS[a["verb"]](self.core, person, data, a["tenant"])
        except checks.Passed as done:
            return done.result

    # -- after the answer: the work ------------------------------------------------------------------

    def _bookkeeping(self, a: dict[str, Any]) -> str | None:
        """The conversation's address, the person's key and language (not the work's effect: `inbox.aside`);
        the person's key, or None for no one we can name."""
        with inbox.aside(), session_scope(self.core.engine) as session:
            person = self._person(session, a)
            kind = a["conversation_type"]
            if a["conversation"] and a["service_url"]:
                personal = kind == "personal"
                store.remember(session, a["conversation"], a["service_url"], a["tenant"],
                               "personal" if personal else ("channel" if kind == "channel" else "groupChat"),
                               person if personal else None, a["from_id"] if personal else None,
                               self.core.clock.now())
                if personal and person is not None:
                    reach.mark_reachable(session, person, platforms.TEAMS)
            if person is not None and a["locale"]:
                people.remember_locale(session, person, a["locale"], self.core.clock.now())
        return person

    def on_activity(self, a: dict[str, Any]) -> None:
        """One stored activity's work, done with the core's step (the bookkeeping before it is not)."""
        person = self._bookkeeping(a)
        if person is None:
            return
        if a.get("told"):
            # A click the answer already refused (`checked_click`): the core checks again, recording a denial
            # (once), and nothing else is done or told.
            self._told(person, a)
            return
        if a["type"] == "invoke" and a["name"] == INVOKE_CARD_ACTION and a["verb"] in CASE_VERBS:
            # The case card's actions: in the municipality's channel, or in an AF's (or the reporter's) 1:1 chat.
            self._case(person, a["verb"], a["data"] or {})
            return
        if a["type"] == "invoke" and a["name"] == INVOKE_CARD_ACTION and a["verb"] in network_cards.VERBS:
            # Reminders (also in a case card's thread in the channel), partners' requests, trainings: the
            # core checks who may, wherever the card is.
            self._act(person, a["verb"], a["data"] or {}, a["tenant"])
            return
        if a["conversation_type"] != "personal":
            return  # a channel's address learned (the app added to a team); other channel work: not yet
        if a["type"] == "message":
            self._words(person, a.get("word") or "", a.get("suggest") or "", a.get("period") or "")
        elif a["type"] == "installationUpdate" and a.get("action") == "add":
            self._post(person, "teams_start", {})  # what the bot is for, and Signaal melden
        elif a["type"] == "invoke" and a["name"] == INVOKE_CARD_ACTION:
            self._act(person, a["verb"], a["data"] or {}, a["tenant"])

    def _words(self, person: str, word: str, suggestion: str = "", period: str = "") -> None:
        """A message in the 1:1 chat: info, help, status, training, training cijfers, netwerk or cijfers;
        anything else the start card, with the reporter's open signals to add information to, and a
        suggestion when a word was nearly one. What netwerk, cijfers and training cijfers show, and to
        whom, the core decides (and records)."""
        if word == chat.INFO:
            self._post(person, "teams_info", {})
        elif word == chat.HELP:
            self._post(person, "teams_help", {})
        elif word == chat.STATUS:
            self._post(person, "teams_status", {"signals": [s.id for s in triage.own_signals(self.core, person)]})
        elif word == chat.TRAINING:
            self._post(person, "teams_training", {})  # the trainings ahead; an organiser's form (bot.core.training)
        elif word == chat.TRAINING_FIGURES:
            trained = training.figures(self.core, person)  # who may see them, and the audit entry: the core's
            if not trained.ok:
                self._refusal(person, trained)
                return
            self._post(person, "teams_training_figures", {k: trained.data[k] for k in ("region", "municipalities")})
        elif word == chat.NETWORK:
            listed = members.overview(self.core, person)
            if not listed.ok:
                self._refusal(person, listed)
                return
            self._post(person, "teams_network", {k: listed.data[k] for k in ("members", "municipalities", "regional")})
        elif word == chat.FIGURES:
            shown = figures.view(self.core, person, period)  # chat.BAD_PERIOD: the core says what to give
            if not shown.ok:
                self._refusal(person, shown)
                return
            view: figures.View = shown.data["view"]
            self._post(person, "teams_figures", {
                "first": view.first.isoformat(), "last": view.last.isoformat(),
                "scopes": [None if scope is None else next(iter(scope)) for scope in view.scopes]})
        else:
            ref: dict[str, Any] = {"open": triage.open_sent_signals(self.core, person)}
            if suggestion in chat.COMMANDS:
                ref["suggest"] = suggestion
            self._post(person, "teams_start", ref)

    # -- the dialog: its step runs on the request ------------------------------------------------------

    def _dialog_now(self, key: str, a: dict[str, Any]) -> dict[str, Any]:
        """Store a dialog invoke's work (once per delivery), run it at once — done with the core's step —
        and answer with what the dialog shows next. A repeated delivery runs nothing: it is answered with
        what the signal shows now, once the first delivery's step is done."""
        engine, work = self.core.engine, inbox_work(self.on_dialog)
        item_id = inbox.record(engine, key, work, [a])
        outcome: dict[str, Any] = {}
        if item_id is not None:
            inbox.run(engine, inbox.Claimed(item_id, work, [a], None),
                      lambda _name: lambda args: outcome.update(self._dialog_step(args)))
        else:
            self._wait_done(key)
        return self._dialog_answer(a, outcome, ran=item_id is not None)

    def on_dialog(self, a: dict[str, Any]) -> None:
        """A dialog invoke's work, as the inbox's recovery runs it again (its first run failed): the step
        is taken; the answer went back long ago."""
        self._dialog_step(a)

    def _wait_done(self, key: str) -> None:
        deadline = time.monotonic() + RETRY_WAIT
        while time.monotonic() < deadline:
            with session_scope(self.core.engine) as session:
                item = session.exec(select(InboxItem).where(InboxItem.dedupe_key == key)).first()
                if item is None or item.done_at is not None or item.failed_at is not None:
                    return
            time.sleep(0.05)

    def _dialog_step(self, a: dict[str, Any]) -> dict[str, Any]:
        """The core's step a dialog invoke asks for: what it did (`result`), for which signal, and what the
        dialog shows besides the signal's state (`view`: the choice to continue a draft, are-you-sure)."""
        person = self._bookkeeping(a)
        if person is None:
            return {}
        core, data, verb = self.core, a.get("data") or {}, a.get("verb") or ""
        signal_id = _signal_of(data)
        done: dict[str, Any] = {"person": person, "signal": signal_id}
        if "from_message" in a:  # "Meld als signaal": a new signal with the message's text as its description
            draft = triage.open_draft(core, person)
            result = triage.start(core, person, a["from_message"] or None, from_message=True, in_dialog=True)
            if result.ok and draft is not None:
                triage.remind_open_draft(core, person, draft.id or 0)  # named in the chat, not forgotten
        elif verb == dialog.START:
            draft = triage.open_draft(core, person)
            if draft is not None:
                return {**done, "signal": draft.id, "view": "choice"}
            result = triage.start(core, person, in_dialog=True)
        elif verb == dialog.RESUME:
            with session_scope(core.engine) as session:
                s = session.get(Signal, signal_id)
                draft = s is not None and s.status == "draft"
            result = triage.resume(core, signal_id, person, True) if draft else Result(True, signal_id)
        elif verb == dialog.RESTART:
            result = triage.restart(core, signal_id, person, in_dialog=True)
        elif verb in (dialog.ANSWER, dialog.SKIP):
            key = str(data.get("q") or "")
            raw = self._answer(key, data, skip=verb == dialog.SKIP)
            result = triage.answer(core, signal_id, person, key, raw, _int(data.get("step")))
        elif verb == dialog.EDIT:
            result = triage.edit(core, signal_id, person, str(data.get(dialog.EDIT_ID) or ""))
        elif verb == dialog.SUBMIT:
            result = triage.send(core, signal_id, person)
        elif verb == dialog.SEND_NOW:
            result = triage.send_now(core, signal_id, person)
        elif verb == dialog.CANCEL:
            result = triage.cancel(core, signal_id, person)
        elif verb == dialog.CANCEL_ASK:
            return {**done, "view": "confirm"}
        else:  # BACK (no, do not cancel), or a step this version does not know: the signal as it is
            return done
        return {**done, "signal": result.signal_id or signal_id, "result": result}

    def _dialog_answer(self, a: dict[str, Any], outcome: dict[str, Any], *, ran: bool) -> dict[str, Any]:
        """What the dialog shows after the step (`ran`: it was this delivery's): drawn from the signal's
        state as it is now, with what the core refused."""
        _ = translator(language_for(a.get("locale"), self.core.settings.language))
        person = outcome.get("person") or self._bookkeeping(a)
        if person is None:
            return dialog.close(_(message(Result(False))[0]))
        data = a.get("data") or {}
        signal_id = int(outcome.get("signal") or _int(data.get("s")) or 0)
        if not signal_id and (a.get("verb") == dialog.START or "from_message" in a):
            draft = triage.open_draft(self.core, person)  # a repeat: the signal the first delivery started
            signal_id = draft.id or 0 if draft is not None else 0
        result: Result | None = outcome.get("result")
        if ran and not outcome:  # the step failed (the inbox's recovery tries it again): say so
            result = Result(False, signal_id, error=Error.INVALID)
        with session_scope(self.core.engine) as session:
            signal = session.get(Signal, signal_id) if signal_id else None
            mine = signal is not None and signal.reporter_id == person
            if outcome.get("view") == "choice" and mine and signal.status == "draft":
                return dialog.choice(_, signal)
            if outcome.get("view") == "confirm" and mine and signal.status == "draft":
                return dialog.confirm_cancel(_, signal)
            ctx = cards.Ctx(session, self.core.settings, self.core.questionnaire,
                            MessageRef(template="dialog", kind="dialog", recipient=person, signal_id=signal_id), _,
                            now=self.core.clock.now)
            shown = result if result is not None and not result.ok else None
            if shown is not None and mine and shown.error not in (Error.INVALID_ANSWER, Error.INVALID):
                shown = None  # moved on, already sent, cancelled: the signal's state says it
            return dialog.step(session, ctx, signal, person, shown,
                               dialog.typed_text(data) if shown is not None else None)

    @staticmethod
    def _external(a: dict[str, Any]) -> str | None:
        """Whom Teams says acted: the Entra object id, else the 29: id; None for the bot itself, or no one
        we can name."""
        external = a["aad"].lower() if a["aad"] else a["from_id"]
        if not external or platforms.person_id(platforms.person_key(platforms.TEAMS, external)) is None:
            return None
        return str(external)

    def _person(self, session: Any, a: dict[str, Any]) -> str | None:
        external = self._external(a)
        if external is None:
            return None
        key = people.resolve(session, platforms.TEAMS, a["tenant"], external)
        person = people.get_or_create(session, key)
        if a["name_of_sender"] and not person.name:
            person.name = a["name_of_sender"]
            session.add(person)
        return key

    def _act(self, person: str, verb: str, data: dict[str, Any], tenant: str = "") -> None:
        core, signal_id = self.core, _signal_of(data)
        if verb in ("start", "answer", "skip", "submit", "edit"):
            # A card from before the triage moved to the dialog: the start card again, whose button opens it.
            self._words(person, "")
            return
        if verb == cards.WORD:  # "Did you mean …?" on the start card
            self._words(person, str(data.get("w") or ""))
            return
        if verb in CHECKED_VERBS:  # Nu versturen, Aanvulling op S-…, reminders, partners, trainings
            result = CHECKED_VERBS[verb](core, person, data, tenant)
            if result.ok and verb == cards.ADD_INFO:
                self._post(person, "teams_info_added", {"event": result.data.get("event")}, signal_id)
        elif verb in words.VERBS:  # the forms of "training" and "netwerk" (bot/teams/words.py)
            result = words.VERBS[verb](core, person, data, tenant)
        else:
            log.info("Teams: an action this version does not know (%s)", verb[:40])
            return
        if not result.ok:
            self._refusal(person, result)

    def _case(self, person: str, verb: str, data: dict[str, Any]) -> None:
        """A case verb (`CASE_VERBS`): the core checks who may do it in which state, every time."""
        result = self._case_step(person, verb, data)
        if not result.ok:
            self._refusal(person, result)

    def _told(self, person: str, a: dict[str, Any]) -> None:
        """A click whose answer told the core's refusal (`told`): it stands — the core checks again, read
        only, and records a denial (once, as the step records one), and nothing is done or told twice."""
        with checks.checking(self.core, audit=True):
            again = self._checked_step(person, a)
        if again.ok:
            log.info("Teams: a click refused in its answer would run now; not done (the clicker was told)")

    def _case_step(self, person: str, verb: str, data: dict[str, Any]) -> Result:
        return CASE_VERBS[verb](self.core, _signal_of(data), person, data)

    def _answer(self, key: str, data: dict[str, Any], *, skip: bool) -> Any:
        """The card's input as the questionnaire takes it: a multi-select comes as 'a,b'."""
        if skip:
            return ""
        raw = data.get("answer")
        q = self.core.questionnaire.get(key) if self.core.questionnaire.has(key) else None
        if q is not None and q.type == "multi":
            return [v for v in str(raw or "").split(",") if v]
        return raw if isinstance(raw, str) else ("" if raw is None else str(raw))

    def _refusal(self, person: str, result: Result) -> None:
        text, params = message(result)
        ref: dict[str, Any] = {"text": text, "params": params}
        if result.problems:  # a form's fixable problems (a training, a member): each said
            ref["problems"] = [[p.message, p.params] for p in result.problems]
        self._post(person, "teams_refusal", ref)

    def _post(self, person: str, template: str, ref: dict[str, Any], signal_id: int | None = None) -> None:
        with session_scope(self.core.engine) as session:
            outbox.post(session, template=template, recipient=person, platform=platforms.TEAMS, ref=ref,
                        signal_id=signal_id, contains_details=signal_id is not None, now=self.core.clock.now(),
                        priority=outbox.URGENT)
        self.core.kick()


# ---------------------------------------------------------------------------------------- the case's verbs
# The case card's actions (bot/teams/case_cards.py draws them): verb → the core's step, with the inputs
# Teams merged into the action's data by their ids (`case_cards.field`). Only the core decides.


CaseVerb = Callable[[Core, int, str, dict[str, Any]], Result]


def _input(data: dict[str, Any], action: CaseAction, name: str) -> str | None:
    value = data.get(case_cards.field(action, name))
    return value if isinstance(value, str) else None


def _ticked(data: dict[str, Any], action: CaseAction, name: str) -> bool:
    return _input(data, action, name) == "true"


def _picked(data: dict[str, Any], action: CaseAction, name: str) -> list[str]:
    return [v for v in (_input(data, action, name) or "").split(",") if v]


def _date(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _text_step(step: Callable[[Core, int, str, str], Result], action: CaseAction) -> CaseVerb:
    return lambda core, sid, who, d: step(core, sid, who, _input(d, action, "text") or "")


def _consult(core: Core, sid: int, who: str, d: dict[str, Any]) -> Result:
    a = CaseAction.CONSULT
    return cases.consult(core, sid, who, _picked(d, a, "partners"), _input(d, a, "text") or "",
                         include_description=_ticked(d, a, "share"))


def _record_advice(core: Core, sid: int, who: str, d: dict[str, Any]) -> Result:
    """Advice of an open request ("c:<id>"), or of a partner consulted outside the bot ("p:<key>")."""
    a = CaseAction.RECORD_ADVICE
    kind, _sep, key = (_input(d, a, "from") or "").partition(":")
    if kind == "c" and key.isdigit():
        return cases.record_advice(core, sid, who, _input(d, a, "text") or "", consultation_id=int(key))
    return cases.record_advice(core, sid, who, _input(d, a, "text") or "", partner_key=key,
                               question=_input(d, a, "question"))


def _record_outcome(core: Core, sid: int, who: str, d: dict[str, Any]) -> Result:
    a = CaseAction.RECORD_OUTCOME
    handover = _input(d, a, "handover") or ""
    return cases.record_outcome(core, int(handover) if handover.isdigit() else 0, who, _input(d, a, "text"),
                                signal_id=sid, kind=_input(d, a, "outcome"))


def _conclude(core: Core, sid: int, who: str, d: dict[str, Any]) -> Result:
    a = CaseAction.CONCLUDE
    return cases.conclude(core, sid, who, _input(d, a, "conclusion") or "", _input(d, a, "rationale") or "",
                          referred_to_care=_ticked(d, a, "referral"), care_organisation=_input(d, a, "organisation"))


def _route(core: Core, sid: int, who: str, d: dict[str, Any]) -> Result:
    a = CaseAction.ROUTE
    return cases.route(core, sid, who, _picked(d, a, "partners"), expected=_date(_input(d, a, "expected")),
                       message=_input(d, a, "text"), include_description=_ticked(d, a, "share"),
                       send_again=_ticked(d, a, "again"), form_id=str(d.get("f") or "") or None)


def _close(core: Core, sid: int, who: str, d: dict[str, Any]) -> Result:
    a = CaseAction.CLOSE
    return cases.close(core, sid, who, no_feedback_reason=_input(d, a, "reason"),
                       no_route_reason=_input(d, a, "route_reason"))


def _reclassify(core: Core, sid: int, who: str, d: dict[str, Any]) -> Result:
    a = CaseAction.RECLASSIFY
    return cases.reclassify_case(core, sid, who, form=_input(d, a, "form") or "", acute=_input(d, a, "acute") == "yes",
                                 minor=_input(d, a, "minor") or "", sector=_input(d, a, "sector") or None,
                                 target_group=_input(d, a, "target_group") or None)


def _related(core: Core, sid: int, who: str, d: dict[str, Any]) -> Result:
    """Link exactly the ticked signals, among those the form showed (a link beyond them stays)."""
    shown = d.get("shown")
    among = [v for v in shown if isinstance(v, int) and not isinstance(v, bool)] if isinstance(shown, list) else []
    return cases.set_links(core, sid, who, _picked(d, CaseAction.RELATED, "links"), among=among)


def _case_meeting(core: Core, sid: int, who: str, d: dict[str, Any]) -> Result:
    a = CaseAction.CASE_MEETING
    return cases.case_meeting(core, sid, who, _date(_input(d, a, "held_on")), _input(d, a, "text") or "")


def _reporter_answer(core: Core, sid: int, who: str, d: dict[str, Any]) -> Result:
    try:
        question = int(d.get("e") or 0)
    except (TypeError, ValueError):
        question = 0
    reply = d.get(case_cards.REPLY)
    return cases.reporter_answer(core, sid, who, reply if isinstance(reply, str) else "", question_event_id=question)


CASE_VERBS: dict[str, CaseVerb] = {
    case_cards.verb_of(CaseAction.CLAIM): lambda core, sid, who, d: cases.claim(core, sid, who),
    case_cards.verb_of(CaseAction.REOPEN): lambda core, sid, who, d: cases.reopen(core, sid, who),
    case_cards.verb_of(CaseAction.SEEN): lambda core, sid, who, d: cases.mark_seen(core, sid, who),
    case_cards.verb_of(CaseAction.TIMELINE): lambda core, sid, who, d: cases.timeline(core, sid, who),
    case_cards.verb_of(CaseAction.ASK_INFO): _text_step(cases.ask_info, CaseAction.ASK_INFO),
    case_cards.verb_of(CaseAction.NOTE): lambda core, sid, who, d: cases.note(
        core, sid, who, _input(d, CaseAction.NOTE, "text") or "", echo=True),
    case_cards.verb_of(CaseAction.MESSAGE_REPORTER): _text_step(cases.message_reporter, CaseAction.MESSAGE_REPORTER),
    case_cards.verb_of(CaseAction.FEEDBACK): _text_step(cases.feedback, CaseAction.FEEDBACK),
    case_cards.verb_of(CaseAction.CONSULT): _consult,
    case_cards.verb_of(CaseAction.RECORD_ADVICE): _record_advice,
    case_cards.verb_of(CaseAction.CONCLUDE): _conclude,
    case_cards.verb_of(CaseAction.RECORD_OUTCOME): _record_outcome,
    case_cards.verb_of(CaseAction.ROUTE): _route,
    case_cards.verb_of(CaseAction.CLOSE): _close,
    case_cards.verb_of(CaseAction.RECLASSIFY): _reclassify,
    case_cards.verb_of(CaseAction.RELATED): _related,
    case_cards.verb_of(CaseAction.CASE_MEETING): _case_meeting,
    case_cards.REPORTER_ANSWER: _reporter_answer,
}


# ------------------------------------------------------------------------------- the other cards' verbs
# The clicks besides the case card's that the core is asked about before the answer (`checked_click`):
# each a step that can run in check mode (bot/core/checks.py). verb → step(core, person, data, tenant).


def _signal_of(data: dict[str, Any]) -> int:
    try:
        return int(data.get("s") or 0)
    except (TypeError, ValueError):
        return 0


def _send_now(core: Core, person: str, data: dict[str, Any], tenant: str = "") -> Result:
    """Nu versturen on the acute notice in the chat (also when the dialog is closed)."""
    return triage.send_now(core, _signal_of(data), person)


def _add_info(core: Core, person: str, data: dict[str, Any], tenant: str = "") -> Result:
    """Aanvulling op S-… on the start card: into the case's thread."""
    added = data.get(cards.ADD_INFO_TEXT)
    return cases.reporter_answer(core, _signal_of(data), person, added if isinstance(added, str) else "")


CHECKED_VERBS: dict[str, Callable[[Core, str, dict[str, Any], str], Result]] = {
    **network_cards.VERBS,  # reminders, partners, trainings (bot/teams/network_cards.py)
    "send_now": _send_now, cards.ADD_INFO: _add_info,
}
PERSONAL_VERBS = frozenset({"send_now", cards.ADD_INFO})  # taken in the 1:1 chat only (`on_activity`)


def checked_click(a: dict[str, Any]) -> bool:
    """Whether the core is asked about this click before it is answered: a case card's verb, or one of
    `CHECKED_VERBS` where the work takes it."""
    if a["type"] != "invoke" or a["name"] != INVOKE_CARD_ACTION:
        return False
    verb = a["verb"]
    if verb in PERSONAL_VERBS:
        return a["conversation_type"] == "personal"
    return verb in CASE_VERBS or verb in CHECKED_VERBS


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and str(value).strip() != "" else None
    except (TypeError, ValueError):
        return None


def inbox_work(fn: Callable[..., Any]) -> str:
    """The name the intake registered `fn` under (bot.core.intake.work_key's convention)."""
    return f"{fn.__module__}:{fn.__qualname__}"
