"""Who sees what of a case, decided once, here: plain data for an edge to format (Block Kit on Slack).

- `reporter_event`: the reporter's view of a case event in their own thread — only what the AF sent
  them (a question, a message, feedback), that the case was picked up, and their own answer; never a
  note, advice, a partner, a conclusion or another event's text.
- `partner_brief`: what a partner may see of a signal — reference, municipality, form, signals,
  sector, acute, minor; the description only when the AF chose to share it; never the reporter, the
  source, the location or any other free text.

Edges do not read `Signal`/`CaseEvent` for these audiences; they format what these functions return.
Texts in the results are the people's own words (decrypted free text) or msgids of the questionnaire's
option labels, for the edge to translate.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from bot.core.cases import CLAIMED, FEEDBACK, INFO_REQUESTED, MESSAGE_TO_REPORTER, REPORTER_ANSWER, REPORTER_KINDS
from flows.questionnaire import Questionnaire
from models import CaseEvent, Municipality, Signal

# ------------------------------------------------------------------------------ the reporter's thread


class ReporterSees(StrEnum):
    CLAIMED = "claimed"  # the case was picked up
    QUESTION = "question"  # the AF asks; `answer` is the reporter's answer once given
    MESSAGE = "message"  # a message from the AF
    FEEDBACK = "feedback"  # the AF's feedback
    NOTHING = "nothing"  # gone, or not for the reporter's eyes: "no longer available"


# The event kinds a reporter's thread shows, and as what (a subset of cases.REPORTER_KINDS: the
# reporter's own words are shown as the answer under the question, not as an event of their own).
_SHOWN = {CLAIMED: ReporterSees.CLAIMED, INFO_REQUESTED: ReporterSees.QUESTION,
          MESSAGE_TO_REPORTER: ReporterSees.MESSAGE, FEEDBACK: ReporterSees.FEEDBACK}
assert set(_SHOWN) <= REPORTER_KINDS


@dataclass(frozen=True)
class ReporterEvent:
    sees: ReporterSees
    reference: str
    event_id: int | None = None
    text: str | None = None  # what the AF wrote to the reporter
    answer: str | None = None  # QUESTION: the reporter's own answer, when given (else: they can answer)


def reporter_event(session: Session, signal: Signal, event_id: int | None) -> ReporterEvent:
    """The reporter's view of one case event of their signal."""
    ev = session.get(CaseEvent, event_id) if event_id is not None else None
    sees = _SHOWN.get(ev.kind) if ev is not None and ev.signal_id == signal.id and ev.visible_to_reporter else None
    if ev is None or sees is None:
        return ReporterEvent(ReporterSees.NOTHING, signal.reference)
    if sees is ReporterSees.CLAIMED:
        return ReporterEvent(sees, signal.reference, ev.id)
    answer = _answer_to(session, signal, ev.id) if sees is ReporterSees.QUESTION else None
    return ReporterEvent(sees, signal.reference, ev.id, ev.text, answer.text if answer is not None else None)


def _answer_to(session: Session, signal: Signal, question_id: int | None) -> CaseEvent | None:
    rows = session.exec(select(CaseEvent).where(CaseEvent.signal_id == signal.id,
                                                CaseEvent.kind == REPORTER_ANSWER)
                        .order_by(col(CaseEvent.id))).all()
    return next((r for r in rows if r.data.get("question") == question_id), None)


# ------------------------------------------------------------------------------ partners


@dataclass(frozen=True)
class PartnerBrief:
    """A signal as a partner may see it. Option labels are msgids; None: not asked in this questionnaire."""

    reference: str
    municipality: str | None
    form: str | None
    signals: tuple[str, ...] | None  # () when none of the options was chosen
    sector: str | None
    acute: bool
    minor: str | None
    description_shared: bool  # the AF chose to share the description (which may be empty)
    description: str | None  # only when shared


def partner_brief(session: Session, questionnaire: Questionnaire, signal: Signal, *,
                  share_description: bool) -> PartnerBrief:
    """What a partner may see: no reporter, no source, no location; the description only when shared."""
    q, answers = questionnaire, signal.answers

    def label(key: str) -> str | None:
        if not q.has(key) or answers.get(key) is None:
            return None
        opt = q.get(key).option(str(answers[key]))
        return opt.label if opt else None

    def labels(key: str) -> tuple[str, ...] | None:
        chosen: Any = answers.get(key, [])
        if not q.has(key) or not isinstance(chosen, list):
            return None
        return tuple(o.label for o in q.get(key).options if o.key in chosen)

    muni = session.get(Municipality, signal.municipality_id) if signal.municipality_id else None
    return PartnerBrief(
        reference=signal.reference, municipality=muni.name if muni else None, form=label("form"),
        signals=labels("signals"), sector=label("sector"), acute=bool(signal.acute), minor=label("minor"),
        description_shared=share_description, description=signal.description if share_description else None,
    )
