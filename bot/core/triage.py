"""The reporting loop (uitvraag): from /signaal to a stored signal and a pinged AF.

Platform-neutral: takes who and what was answered, writes state plus outbox messages in one
transaction, and returns a plain result the edge turns into an ephemeral reply when needed.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import update as sa_update
from sqlmodel import Session, col, select

from bot.core import audit, checks, events, outbox, people, related
from bot.core.context import Core
from bot.core.result import Error, Result
from flows.questionnaire import ENCRYPTED_TEXT_KEYS
from models import AuditEntry, CaseEvent, MessageRef, Municipality, ReferenceCounter, Signal
from models.db import session_scope

TEXT_FIELDS = ENCRYPTED_TEXT_KEYS  # stored in the signal's encrypted columns, never in `answers`
# `answers` key: sent with Nu versturen (acute) before every question was answered; the reporter may
# answer the rest afterwards in the same thread, and each answer updates the case. Its value: the
# question that was open then and the step of its asking ({"q", "step"}): it is asked again below.
SENT_EARLY = "_sent_early"
# `answers` key: the text given with `/signaal <tekst>` (or a message shortcut) was over the description's
# limit; it is kept in `Signal.description` (encrypted) until the reporter shortens it, and the description
# is asked first: {"length", "limit"}.
KEPT_TOO_LONG = "_kept_too_long"
# `answers` key: this draft is answered in a dialog (a window the platform shows, Teams), not in a thread:
# each step is shown as the answer to the reporter's own request, so the questions and the summary are not
# posted as messages; the conversation keeps the signal's first message, the acute notice (112, Nu
# versturen: still there when the window is closed) and what follows the sending.
IN_DIALOG = "_in_dialog"
# `answers` key, of a draft in a dialog: the notices that go with the step the dialog shows now (the
# answer before it brought them: a note for minors, the acute notice, a signal started from a message).
DIALOG_NOTICES = "_notices"


def next_reference(session: Session, year: int) -> str:
    """S-<year>-<nnnn>, numbered per year; the counter row is locked by the UPDATE itself."""
    bumped = session.execute(
        sa_update(ReferenceCounter).where(col(ReferenceCounter.year) == year)
        .values(last=ReferenceCounter.last + 1).returning(ReferenceCounter.last)
    ).scalar()
    if bumped is None:
        try:
            with session.begin_nested():
                session.add(ReferenceCounter(year=year, last=1))
            bumped = 1
        except Exception:  # noqa: BLE001 - a concurrent first signal of the year created the row
            return next_reference(session, year)
    return f"S-{year}-{bumped:04d}"


def _context(session: Session, signal: Signal) -> dict[str, Any]:
    return {"needs_municipality": signal.answers.get("_needs_municipality", False)}


def root_of(session: Session, signal_id: int) -> MessageRef | None:
    return session.exec(
        select(MessageRef).where(MessageRef.signal_id == signal_id, MessageRef.kind == "reporter_root")
    ).first()


def start(core: Core, user_id: str, prefill: str | None = None, *, from_message: bool = False,
          in_dialog: bool = False) -> Result:
    """Begin a new signal: the DM root message with its reference, then the first question.
    `prefill`: the description to start with (`/signaal <tekst>`, or a message's text with
    `from_message`: the reporter is then reminded that the original message stays where it is).
    `in_dialog`: the reporter answers in a dialog (`IN_DIALOG`): the edge shows each step itself."""
    now = core.clock.now()
    with session_scope(core.engine) as session:
        munis = people.municipalities(session)
        if not munis:
            return Result(False, error=Error.NOT_CONFIGURED)
        people.get_or_create(session, user_id)
        signal = Signal(
            reference=next_reference(session, now.astimezone(core.settings.tz).year),
            reporter_id=user_id, questionnaire_version=core.questionnaire.version,
            created_at=now, updated_at=now,
        )
        answers: dict[str, Any] = {IN_DIALOG: True} if in_dialog else {}
        if len(munis) == 1:
            signal.municipality_id = munis[0].id
        else:
            # Asked on every signal: the reporter's choice routes it, never their network membership.
            answers["_needs_municipality"] = True
            last = last_choice(session, user_id)
            if last in {mu.id for mu in munis}:
                answers["_last_municipality"] = last
        if prefill and prefill.strip():
            verdict = core.questionnaire.check("description", prefill)
            if verdict.ok:
                signal.description = verdict.value
                answers["description"] = "provided"
            elif verdict.error == "too_long":
                # Never thrown away: kept in the draft; the description question offers it to shorten.
                signal.description = prefill.strip()
                answers[KEPT_TOO_LONG] = {"length": verdict.params["length"], "limit": verdict.params["limit"]}
        signal.answers = answers
        session.add(signal)
        session.flush()
        assert signal.id is not None
        # The answer to `/signaal` says these are on their way: they go before the queue (outbox.URGENT).
        root = outbox.post(session, template="reporter_root", kind="reporter_root", recipient=user_id,
                           signal_id=signal.id, contains_details=False, now=now, priority=outbox.URGENT)
        notices: list[dict[str, Any]] = []
        if from_message:
            note = {"notice": "from_message", "empty": not (prefill and prefill.strip())}
            if in_dialog:
                notices.append(note)  # shown above the dialog's first question
            else:
                outbox.post(session, template="notice", recipient=user_id, signal_id=signal.id, parent=root,
                            ref=note, contains_details=False, now=now, priority=outbox.URGENT)
        audit.record(session, user_id, "signal.started", signal_id=signal.id, subject=signal.reference, at=now,
                     **({"from_message": True} if from_message else {}), **({"dialog": True} if in_dialog else {}))
        # Text kept over the limit: the description is asked first, to shorten it while it is fresh.
        _ask_next(core, session, signal, root, priority=outbox.URGENT,
                  first="description" if answers.get(KEPT_TOO_LONG) else None, notices=notices)
        result = Result(True, signal.id, signal.reference)
    core.kick()
    return result


def last_choice(session: Session, user_id: str) -> int | None:
    """The municipality this reporter chose for their latest signal (the pre-fill of the question)."""
    return session.exec(
        select(Signal.municipality_id).where(Signal.reporter_id == user_id, col(Signal.municipality_id).is_not(None))
        .order_by(col(Signal.id).desc()).limit(1)
    ).first()


def _ask_next(core: Core, session: Session, signal: Signal, root: MessageRef | None = None,
              priority: int = outbox.INTERACTIVE, first: str | None = None,
              notices: list[dict[str, Any]] | None = None) -> None:
    """Ask the next question (`first`: this one, out of the questionnaire's order), or show the summary.
    In a dialog (`IN_DIALOG`) nothing is posted: the signal's state says what the dialog shows, with
    `notices` above it."""
    root = root or root_of(session, signal.id or 0)
    assert root is not None
    now = core.clock.now()
    question = (core.questionnaire.get(first) if first else
                core.questionnaire.next_question(_public_answers(signal), _context(session, signal)))
    signal.step += 1
    signal.updated_at = now
    if in_dialog(signal):
        answers = {k: v for k, v in signal.answers.items() if k != DIALOG_NOTICES}
        signal.answers = {**answers, DIALOG_NOTICES: notices} if notices else answers
        signal.current_question = "_summary" if question is None else question.key
        session.add(signal)
        return
    if question is None:
        signal.current_question = "_summary"
        outbox.post(session, template="summary", kind="summary", recipient=signal.reporter_id,
                    signal_id=signal.id, parent=root, ref={"step": signal.step}, now=now, priority=priority)
    else:
        signal.current_question = question.key
        outbox.post(session, template="question", kind="question", recipient=signal.reporter_id,
                    signal_id=signal.id, parent=root, ref={"q": question.key, "step": signal.step}, now=now,
                    priority=priority)
    session.add(signal)


def in_dialog(signal: Signal) -> bool:
    """The reporter answers this signal's questions in a dialog (`IN_DIALOG`), not in a thread."""
    return bool(signal.answers.get(IN_DIALOG))


def _public_answers(signal: Signal) -> dict[str, Any]:
    return {k: v for k, v in signal.answers.items() if not k.startswith("_")}


def _load_draft(session: Session, signal_id: int, user_id: str) -> tuple[Signal | None, Result | None]:
    signal = session.get(Signal, signal_id, with_for_update=checks.locking())
    if signal is None:
        return None, Result(False, error=Error.UNKNOWN_SIGNAL)
    if signal.reporter_id != user_id:
        return None, Result(False, signal.id, signal.reference, error=Error.NOT_YOURS)
    if signal.status != "draft":
        return None, Result(False, signal.id, signal.reference, error=Error.NOT_DRAFT,
                               reason=signal.status, data={"status": signal.status})
    return signal, None


def still_answering(signal: Signal) -> bool:
    """Sent early (Nu versturen) with questions still open, on a case not closed: the reporter may
    answer them in the same thread."""
    return (signal.status in ("new", "in_progress") and bool(signal.answers.get(SENT_EARLY))
            and signal.current_question not in (None, "_summary"))


StepFn = Callable[..., Result]


def _draft_step(fn: StepFn, *, sent_early_too: bool = False) -> Callable[..., Result]:
    """One step on the reporter's own draft: load and lock it (refusing someone else's, or one already
    sent or cancelled), run the step in the same transaction, then wake the outbox. `sent_early_too`
    (answering): also on the reporter's signal that was sent early and still has open questions
    (`still_answering`).

    The wrapped step is called as `fn(core, session, signal, user_id, now, *args)`; callers call
    `step(core, signal_id, user_id, *args)`. In check mode (bot/core/checks.py) a step that calls
    `checks.passed` after its checks (send_now, submit) answers what it would answer, read only.
    """

    @functools.wraps(fn)
    @checks.checkable
    def run(core: Core, signal_id: int, user_id: str, *args: Any) -> Result:
        now = core.clock.now()
        with checks.session(core) as session:
            signal = session.get(Signal, signal_id, with_for_update=checks.locking()) if sent_early_too else None
            if signal is None or signal.reporter_id != user_id or not still_answering(signal):
                signal, refused = _load_draft(session, signal_id, user_id)
                if refused:
                    return refused
            assert signal is not None
            result = fn(core, session, signal, user_id, now, *args)
        if result.ok:
            core.kick()
        return result

    return run


def _answer_step(fn: StepFn) -> Callable[..., Result]:
    return _draft_step(fn, sent_early_too=True)


def _question_message(session: Session, signal_id: int, key: str) -> MessageRef | None:
    latest = _latest(session, signal_id, "question")  # the open question is nearly always the last one asked
    if latest is None or latest.ref.get("q") == key:
        return latest
    rows = session.exec(
        select(MessageRef).where(MessageRef.signal_id == signal_id, MessageRef.kind == "question")
        .order_by(col(MessageRef.id).desc())
    ).all()
    return next((m for m in rows if m.ref.get("q") == key), None)


@_answer_step
def answer(core: Core, session: Session, signal: Signal, user_id: str, now: datetime, key: str,
       raw: Any, step: int | None = None) -> Result:
    """Record the reporter's answer to the open question, then ask the next one (on a signal sent
    early: the case follows the answer too). `step`: the asking that was answered (a dialog's step):
    an answer to an earlier asking of the same question (a window left open) is not taken."""
    if signal.current_question != key or (step is not None and step != signal.step):
        return Result(False, signal.id, signal.reference, error=Error.MOVED_ON,
                      data={"current": signal.current_question})
    q = core.questionnaire.get(key)
    names = [m.name for m in people.municipalities(session)] if q.type == "municipality" else None
    verdict = core.questionnaire.check(key, raw, municipalities=names)
    if not verdict.ok:
        return Result(False, signal.id, signal.reference, error=Error.INVALID_ANSWER,
                      reason=verdict.error, data=dict(verdict.params))
    context = _context(session, signal)
    stored: Any = verdict.value
    if key in TEXT_FIELDS:
        setattr(signal, key, verdict.value or None)
        stored = "provided" if verdict.value else "skipped"
    if key == "municipality":
        muni = session.exec(select(Municipality).where(Municipality.name == verdict.value)).one()
        signal.municipality_id = muni.id
    private = {k: v for k, v in signal.answers.items() if k.startswith("_")}
    if key == "description":
        private.pop(KEPT_TOO_LONG, None)  # the kept text is replaced by the answer
    signal.answers = {**core.questionnaire.answer(_public_answers(signal), key, stored, context), **private}
    asked = _question_message(session, signal.id or 0, key)
    if asked is not None:
        outbox.update(session, asked, now=now)
    root = root_of(session, signal.id or 0)
    notices = [{"question": key, "kind": n.kind} for n in core.questionnaire.notices_for(key, signal.answers, context)]
    for notice in notices:
        # In a dialog the notices show above the next step; the acute one (112, Nu versturen) stays in the
        # conversation too, for when the window is closed.
        if not in_dialog(signal) or notice["kind"] == "emergency":
            outbox.post(session, template="notice", recipient=user_id, signal_id=signal.id, parent=root,
                        ref=notice, contains_details=False, now=now)
    audit.record(session, user_id, "signal.answered", signal_id=signal.id, subject=key, at=now)
    if signal.status == "draft":
        _ask_next(core, session, signal, root, notices=notices)
    else:
        _answered_after_sending(core, session, signal, root, now, notices)
    return Result(True, signal.id, signal.reference)


def _answered_after_sending(core: Core, session: Session, signal: Signal, root: MessageRef | None,
                            now: datetime, notices: list[dict[str, Any]] | None = None) -> None:
    """An answer to a signal sent early: the stored case and the AF's card(s) follow it; then the next
    open question, or — all answered — a thank-you with the complete answers."""
    _store_answers(signal)
    related.index_and_tell(session, signal, now)  # the location may have changed: its digests follow
    for card in session.exec(select(MessageRef).where(MessageRef.signal_id == signal.id,
                                                      MessageRef.kind == "case_card")).all():
        outbox.update(session, card, now=now)
    if core.questionnaire.next_question(_public_answers(signal), _context(session, signal)) is not None:
        _ask_next(core, session, signal, root, notices=notices)
        return
    signal.current_question, signal.updated_at = None, now
    signal.answers = {k: v for k, v in signal.answers.items() if k != DIALOG_NOTICES}
    if in_dialog(signal) and root is not None:
        outbox.update(session, root, now=now)  # its Verder gaan (to the open questions) goes
    signal.step += 1
    session.add(signal)
    outbox.post(session, template="answers_complete", recipient=signal.reporter_id, signal_id=signal.id,
                parent=root, ref={"step": signal.step}, now=now)
    audit.record(session, signal.reporter_id, "signal.answers_completed", signal_id=signal.id,
                 subject=signal.reference, at=now)


@_draft_step
def edit(core: Core, session: Session, signal: Signal, user_id: str, now: datetime, key: str) -> Result:
    """Wijzigen: ask one question again, then show the summary again."""
    if not key:  # Wijzigen… with nothing chosen (Teams' dialog: the choice is not a required field)
        return Result(False, signal.id, signal.reference, error=Error.INVALID_ANSWER, reason="no_choice")
    if not core.questionnaire.has(key) or not core.questionnaire.get(key).applies(
            _public_answers(signal), _context(session, signal)):
        return Result(False, signal.id, signal.reference, error=Error.INVALID_ANSWER,
                      reason="unknown_option")
    answers = dict(signal.answers)
    answers.pop(key, None)
    # Typed text now shows only in what comes next (the question asked again, the new summary): every
    # earlier message that showed it is re-rendered without it.
    earlier = _typed_text_messages(core, session, signal, since_step=int(answers.get("_edit_step", 0)))
    answers["_edit_step"] = signal.step
    signal.answers = answers
    for msg in earlier:
        outbox.update(session, msg, now=now)
    audit.record(session, user_id, "signal.edit", signal_id=signal.id, subject=key, at=now)
    _ask_next(core, session, signal)
    return Result(True, signal.id, signal.reference)


def _typed_text_messages(core: Core, session: Session, signal: Signal, since_step: int = 0) -> list[MessageRef]:
    """The messages of this draft that may show typed text: each summary and each text question's message
    (from `since_step` on: the earlier ones were re-rendered without it at the previous edit)."""
    rows = session.exec(
        select(MessageRef).where(MessageRef.signal_id == signal.id, col(MessageRef.kind).in_(["question", "summary"]))
        .order_by(col(MessageRef.id))
    ).all()

    def shows_text(msg: MessageRef) -> bool:
        if msg.kind == "summary":
            return True
        key = str(msg.ref.get("q", ""))
        return core.questionnaire.has(key) and core.questionnaire.get(key).type == "text"

    return [msg for msg in rows if int(msg.ref.get("step", 0)) > since_step and shows_text(msg)]


def _latest(session: Session, signal_id: int, kind: str) -> MessageRef | None:
    return session.exec(
        select(MessageRef).where(MessageRef.signal_id == signal_id, MessageRef.kind == kind)
        .order_by(col(MessageRef.id).desc())
    ).first()


@_draft_step
def cancel(core: Core, session: Session, signal: Signal, user_id: str, now: datetime) -> Result:
    """Annuleren, from the summary, from any question, from "stop" typed in the thread, or because the
    reporter chose to start anew: the draft is marked cancelled and what was typed is dropped at once;
    the row itself (no content left) goes with the purge of abandoned drafts (flows/retention.yaml)."""
    at_question = signal.current_question
    signal.status, signal.current_question, signal.updated_at = "cancelled", None, now
    # Nothing was sent: drop what was typed right away rather than waiting for the purge.
    signal.description = None
    signal.location = None
    session.add(signal)
    # Every message of this draft that showed typed text, the open question and the root show that it
    # was cancelled.
    shown = _typed_text_messages(core, session, signal)
    latest = _latest(session, signal.id or 0, "question")
    root = root_of(session, signal.id or 0)
    # ... and so do its acute notice (Nu versturen gives way) and its nudges (no longer needed).
    redrawn = _acute_notices(session, signal.id or 0) + list(session.exec(select(MessageRef).where(
        MessageRef.signal_id == signal.id, MessageRef.kind == "draft_nudge")).all())
    for msg in shown + [m for m in (latest, root, *redrawn) if m is not None and m not in shown]:
        outbox.update(session, msg, now=now)
    outbox.post(session, template="cancelled", recipient=user_id, signal_id=signal.id,
                parent=root, contains_details=False, now=now)
    audit.record(session, user_id, "signal.cancelled", signal_id=signal.id, subject=signal.reference, at=now,
                 at_question=at_question)
    return Result(True, signal.id, signal.reference)


@_draft_step
def submit(core: Core, session: Session, signal: Signal, user_id: str, now: datetime) -> Result:
    """Versturen: store the signal as a case, give the reporter a receipt, ping the AF(s)."""
    if signal.current_question != "_summary":
        return Result(False, signal.id, signal.reference, error=Error.MOVED_ON,
                      data={"current": signal.current_question})
    return _send(session, signal, user_id, now)


@_draft_step
def send_now(core: Core, session: Session, signal: Signal, user_id: str, now: datetime) -> Result:
    """Nu versturen (acute): store the signal as a case now, with the answers so far, and ping the
    AF(s) as for any signal. The open question is asked again below the receipt: the reporter can
    still answer the rest, and each answer updates the case (`answer`)."""
    if signal.current_question == "_summary":
        return _send(session, signal, user_id, now)  # nothing left to ask: as Versturen
    open_key = signal.current_question or ""
    if open_key == "municipality":  # (asked again after Wijzigen) where the signal goes is never left open
        return Result(False, signal.id, signal.reference, error=Error.INVALID_ANSWER, reason="required")
    refused = _unsendable(session, signal)
    if refused is not None:
        return refused
    checks.passed(Result(True, signal.id, signal.reference))  # a check (bot/core/checks.py) ends here
    signal.answers = {**signal.answers, SENT_EARLY: {"q": open_key, "step": signal.step}}
    result = _send(session, signal, user_id, now, early=True)
    if result.ok:
        asked = _question_message(session, signal.id or 0, open_key)
        if asked is not None:
            outbox.update(session, asked, now=now)  # now shows "asked again below"
        _ask_next(core, session, signal)
    return result


def _store_answers(signal: Signal) -> None:
    """The answers the case works with, in their own columns. Once the AF corrected the classification
    (`classified_at`), a late answer (a signal sent early) stays in `answers` only: the AF's word holds."""
    a = signal.answers
    signal.wants_feedback = a.get("feedback", "yes") != "no"
    if signal.classified_at is not None:
        return
    signal.form, signal.sector = a.get("form"), a.get("sector")
    signal.acute, signal.minor = a.get("acute") == "yes", a.get("minor") == "yes"
    signal.minor_possible = a.get("minor") == "unknown"


def _unsendable(session: Session, signal: Signal) -> Result | None:
    """Why the draft cannot be sent (its municipality unknown to the bot), or None."""
    muni = session.get(Municipality, signal.municipality_id) if signal.municipality_id else None
    if muni is None:
        return Result(False, signal.id, signal.reference, error=Error.NOT_CONFIGURED)
    return None


def _send(session: Session, signal: Signal, user_id: str, now: datetime, *, early: bool = False) -> Result:
    """Store the draft as a case, give the reporter a receipt, ping the AF(s). `early`: sent before every
    question was answered (the open question stays open)."""
    refused = _unsendable(session, signal)
    if refused is not None:
        return refused
    checks.passed(Result(True, signal.id, signal.reference))  # a check (bot/core/checks.py) ends here
    muni = session.get(Municipality, signal.municipality_id)
    assert muni is not None
    signal.status, signal.submitted_at, signal.updated_at = "new", now, now
    if not early:
        signal.current_question = None
    _store_answers(signal)
    session.add(signal)
    related.index_and_tell(session, signal, now)  # keyed digests of the location: possibly related signals
    root = root_of(session, signal.id or 0)
    summary = _latest(session, signal.id or 0, "summary")
    if summary is not None:
        outbox.update(session, summary, now=now)
    if root is not None:
        outbox.update(session, root, now=now)
    for msg in _acute_notices(session, signal.id or 0):
        outbox.update(session, msg, now=now)  # Nu versturen gives way to "sent"
    outbox.post(session, template="receipt", recipient=user_id, signal_id=signal.id, parent=root,
                contains_details=False, now=now, dedupe_key=f"receipt:{signal.id}")
    notify_handlers(session, signal, muni, now)
    extra = {"early": True} if early else {}
    session.add(CaseEvent(signal_id=signal.id or 0, at=now, actor_id=user_id, kind="submitted",
                          data={"acute": signal.acute, "minor": signal.minor, **extra}))
    audit.record(session, user_id, "signal.submitted", signal_id=signal.id, subject=signal.reference, at=now,
                 **extra)
    events.emit(session, events.SUBMITTED, signal=signal, now=now)
    return Result(True, signal.id, signal.reference)


def _acute_notices(session: Session, signal_id: int) -> list[MessageRef]:
    rows = session.exec(select(MessageRef).where(MessageRef.signal_id == signal_id, MessageRef.kind == "notice")).all()
    return [msg for msg in rows if msg.ref.get("kind") == "emergency"]


def notify_handlers(session: Session, signal: Signal, muni: Municipality, now: Any) -> list[MessageRef]:
    """The case card for the AF(s): in the municipality's private channel with an @-mention,
    else by DM to each AF (and, with no AF at all, to the backups)."""
    afs = people.handlers_of(session, muni.id or 0, "af") or people.handlers_of(session, muni.id or 0, "backup")
    cards: list[MessageRef] = []
    if muni.conversation:
        cards.append(outbox.post(session, template="case_card", kind="case_card", platform=muni.platform,
                                 conversation=muni.conversation, signal_id=signal.id, ref={"mention": afs},
                                 now=now, dedupe_key=f"card:{signal.id}:{muni.conversation}"))
    else:
        for af in afs:
            cards.append(outbox.post(session, template="case_card", kind="case_card", recipient=af,
                                     signal_id=signal.id, ref={"mention": [af]}, now=now,
                                     dedupe_key=f"card:{signal.id}:{af}"))
    return cards


def _card_fallback(session: Session, msg: MessageRef, refusal: outbox.Refusal, now: datetime) -> bool:
    """The municipality's place cannot take the card (bot not invited, archived…): ping the
    AF(s) by DM instead, so the signal is not lost while an administrator fixes the place."""
    if (refusal is not outbox.Refusal.PLACE_UNREACHABLE or not msg.conversation or msg.recipient
            or msg.signal_id is None):
        return False
    signal = session.get(Signal, msg.signal_id)
    if signal is None or signal.municipality_id is None:
        return False
    afs = people.handlers_of(session, signal.municipality_id, "af") or people.handlers_of(
        session, signal.municipality_id, "backup")
    for af in afs:
        outbox.post(session, template="case_card", kind="case_card", recipient=af, signal_id=signal.id,
                    ref={"mention": [af], "fallback_from": msg.conversation}, dedupe_key=f"card:{signal.id}:{af}",
                    now=now)
    return bool(afs)


outbox.FALLBACKS["case_card"] = _card_fallback


def current_draft_question(session: Session, signal_id: int) -> tuple[Signal | None, str | None]:
    signal = session.get(Signal, signal_id)
    return signal, signal.current_question if signal else None


@_answer_step
def tick(core: Core, session: Session, signal: Signal, user_id: str, now: datetime, key: str,
     values: list[str]) -> Result:
    """Remember ticked checkboxes before 'Next', so a restart does not lose them."""
    if signal.current_question != key:
        return Result(False, signal.id, signal.reference, error=Error.MOVED_ON)
    signal.answers = {**signal.answers, "_pending_multi": list(values)}
    session.add(signal)
    return Result(True, signal.id, signal.reference)


def pending_multi(core: Core, signal_id: int) -> list[str]:
    with session_scope(core.engine) as session:
        signal = session.get(Signal, signal_id)
        return list(signal.answers.get("_pending_multi", [])) if signal else []


def own_signals(core: Core, user_id: str, limit: int = 20) -> list[Signal]:
    with session_scope(core.engine) as session:
        rows = session.exec(
            select(Signal).where(Signal.reporter_id == user_id, col(Signal.status).in_(
                ["draft", "new", "in_progress", "closed"]), col(Signal.purged_at).is_(None))
            .order_by(col(Signal.id).desc()).limit(limit)
        ).all()
        audit.record(session, user_id, "signal.list_own", subject=user_id, at=core.clock.now())
        return list(rows)


def open_sent_signals(core: Core, user_id: str, limit: int = 3) -> list[int]:
    """The reporter's sent signals that are still open (new or being handled), newest first: the ones
    they can add information to from their chat (`cases.reporter_answer`)."""
    with session_scope(core.engine) as session:
        return list(session.exec(
            select(Signal.id).where(Signal.reporter_id == user_id, col(Signal.status).in_(["new", "in_progress"]),
                                    col(Signal.purged_at).is_(None)).order_by(col(Signal.id).desc()).limit(limit)
        ).all())


def signal_for_thread(core: Core, conversation: str, message_id: str) -> tuple[Signal | None, MessageRef | None]:
    """The signal whose message (`conversation`, `message_id`) roots a thread someone replied in."""
    with session_scope(core.engine) as session:
        root = session.exec(select(MessageRef).where(MessageRef.conversation == conversation,
                                                     MessageRef.message_id == message_id)).first()
        if root is None or root.signal_id is None:
            return None, root
        return session.get(Signal, root.signal_id), root


def open_draft(core: Core, user_id: str) -> Signal | None:
    """The reporter's newest signal that was started but neither sent nor cancelled (read only)."""
    with session_scope(core.engine) as session:
        signal = session.exec(
            select(Signal).where(Signal.reporter_id == user_id, Signal.status == "draft",
                                 col(Signal.purged_at).is_(None)).order_by(col(Signal.id).desc()).limit(1)
        ).first()
        if signal is not None:
            session.expunge(signal)
        return signal


@_draft_step
def resume(core: Core, session: Session, signal: Signal, user_id: str, now: datetime,
           dialog: bool = False) -> Result:
    """Verder gaan: `/signaal` with a draft open, and the reporter chose to continue it: the open
    question (or the summary) is asked again at the bottom of the draft's thread. `dialog`: continued
    in a dialog (`IN_DIALOG`, from now on): the open step as it is, as a new asking (a window still
    open on the old one can no longer answer it)."""
    earlier = _latest(session, signal.id or 0, "summary" if signal.current_question == "_summary" else "question")
    if dialog:
        signal.answers = {**signal.answers, IN_DIALOG: True}
        _ask_next(core, session, signal, first=None if signal.current_question in (None, "_summary") else
                  signal.current_question, notices=list(signal.answers.get(DIALOG_NOTICES) or []))
    else:
        _ask_next(core, session, signal)
    if earlier is not None:
        earlier.ref = {**earlier.ref, "shown_again": True}  # asked again below: its buttons go
        session.add(earlier)
        outbox.update(session, earlier, now=now)
    audit.record(session, user_id, "signal.resumed", signal_id=signal.id, subject=signal.reference, at=now)
    return Result(True, signal.id, signal.reference)


def restart(core: Core, old_id: int, user_id: str, *, in_dialog: bool = False) -> Result:
    """Opnieuw beginnen: the open draft is cancelled as if Annuleren was clicked (its thread says so),
    then a new signal starts (`in_dialog`: answered in a dialog, as `start`)."""
    cancelled = cancel(core, old_id, user_id)
    if not cancelled.ok and cancelled.error is not Error.NOT_DRAFT:
        return cancelled
    return start(core, user_id, in_dialog=in_dialog)


def direct_message_hint(core: Core, user_id: str) -> bool:
    """A message typed to the bot outside a signal's thread: whether to answer it with a short word on
    how to report — at most once a day per person (their direct conversation with the bot). The message
    itself is not read, stored or echoed; the answer is recorded in the audit log (like `/signaal
    status`), which keeps no person's row alive and expires on its own."""
    now = core.clock.now()
    local = now.astimezone(core.settings.tz)
    since = local.replace(hour=0, minute=0, second=0, microsecond=0)
    with session_scope(core.engine) as session:
        if session.exec(select(AuditEntry.id).where(AuditEntry.actor_id == user_id, AuditEntry.action == DM_ANSWERED,
                                                    col(AuditEntry.at) >= since)).first() is not None:
            return False
        audit.record(session, user_id, DM_ANSWERED, subject=user_id, at=now)
    return True


DM_ANSWERED = "bot.dm_answered"


def remind_open_draft(core: Core, user_id: str, signal_id: int) -> None:
    """A new signal was started with a description (`/signaal <tekst>`) while this draft was open: a
    message in the reporter's conversation names the draft, with Annuleren, so it is not silently
    forgotten."""
    now = core.clock.now()
    with session_scope(core.engine) as session:
        signal = session.get(Signal, signal_id)
        if signal is None or signal.reporter_id != user_id or signal.status != "draft":
            return
        outbox.post(session, template="draft_open", recipient=user_id, signal_id=signal.id, contains_details=False,
                    now=now)
    core.kick()


def send(core: Core, signal_id: int, user_id: str) -> Result:
    """Versturen as the reporter clicks it: a second click (a double click, or an old summary) is told
    the signal was sent already, not that answers can no longer be changed."""
    result = submit(core, signal_id, user_id)
    if result.error is Error.NOT_DRAFT and result.reason != "cancelled":
        return dataclasses.replace(result, reason="already_sent")
    return result
