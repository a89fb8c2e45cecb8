"""One result type for the core's services (cases, triage, training, members) and one enumeration
of their errors, with the words for each error as English msgids: an edge translates the msgid
(gettext) and formats it for its platform, it does not decide what a refusal means.

`message(result)` → (msgid, params). A `who` parameter is a person's id: the edge shows it as a
mention. Texts are msgids (`N_`), so `scripts/update_catalogs.py` finds them here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.i18n import N_
from flows.cases import Reason
from flows.permissions import Denial


class Error(StrEnum):
    # a case (bot.core.cases)
    UNKNOWN_SIGNAL = "unknown_signal"  # gone, or purged by retention
    DENIED = "denied"  # flows.permissions said no; `reason` is a Denial
    REFUSED = "refused"  # flows.cases said no in this state; `reason` is a Reason
    ALREADY_CLAIMED = "already_claimed"  # `claimed_by` holds who did
    INVALID = "invalid"  # a step's input; `reason`: required | too_long | date_past | partner_required
    ALREADY_ANSWERED = "already_answered"
    UNKNOWN_PARTNER = "unknown_partner"
    # reporting (bot.core.triage)
    NOT_CONFIGURED = "not_configured"  # no municipality place set up for the reporter
    NOT_YOURS = "not_yours"
    MOVED_ON = "moved_on"  # an answer to a question that is no longer the current one
    NOT_DRAFT = "not_draft"  # `data["status"]`: the signal's status (sent, cancelled)
    INVALID_ANSWER = "invalid_answer"  # `reason`: flows.questionnaire's Verdict.error
    # trainings and members (bot.core.training, bot.core.members)
    UNKNOWN = "unknown"  # the training or person is not known
    CANCELLED = "cancelled"
    STARTED = "started"
    NOT_STARTED = "not_started"
    LEFT = "left"
    NOT_INVITED = "not_invited"
    # a reminder's Snooze (bot.core.reminders)
    UNKNOWN_REMINDER = "unknown_reminder"
    ESCALATION = "escalation"  # an escalation cannot be snoozed
    SETTLED = "settled"  # nothing left to remind of


@dataclass(frozen=True)
class Problem:
    """A user-fixable problem with one field of a form; `message` is an English msgid, `params` fill it in."""

    field: str  # title | starts | ends | location | url | audience | capacity | member | role | ...
    message: str
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, _: Any) -> str:
        return _(self.message, **self.params)


@dataclass(frozen=True)
class Result:
    """What a core service did: `ok`, or `error` (+ `reason`) and nothing changed."""

    ok: bool
    signal_id: int | None = None
    reference: str | None = None
    error: Error | None = None
    reason: str | None = None  # a flows.permissions.Denial, a flows.cases.Reason, or the INVALID* detail
    claimed_by: str | None = None
    session_id: int | None = None  # a training
    status: str | None = None  # a training RSVP: yes | no | waitlist
    until: datetime | None = None  # a snoozed reminder: when it is due again
    problems: tuple[Problem, ...] = ()  # a form's fixable problems, per field
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.error is not None and not isinstance(self.error, Error):
            object.__setattr__(self, "error", Error(self.error))  # a typo is a ValueError here, not a silent text


SOMETHING_WRONG = N_("Something went wrong. Please try again; if it keeps happening, contact your attention officer.")
GONE = N_("This signal no longer exists (it may have been removed according to the retention period).")

DENIALS = {
    Denial.NOT_AF_OF_MUNICIPALITY: N_("Only the attention officers (AF and backup) of this signal's municipality can "
                                   "do this. Nothing was changed."),
    Denial.AGGREGATES_ONLY: N_("As ketenregisseur you see figures, not the content of cases. Nothing was changed."),
    Denial.PARTNER_RECORDS_ONLY: N_("Partners give advice or report an outcome with the button in the request the "
                                 "bot sent them in a direct message, not through the case card. Nothing was "
                                 "changed."),
    Denial.PARTNER_NOT_INVOLVED: N_("This case was not sent to your organisation."),
    Denial.NOT_YOUR_SIGNAL: N_("This is not your signal."),
    Denial.REPORTER_VIEW_ONLY: N_("You reported this signal; the attention officer handles it. Nothing was changed."),
    Denial.OTHER_MUNICIPALITY: N_("Signals of different municipalities cannot be linked. Nothing was changed."),
    Denial.NOT_TRAINING_MANAGER: N_("Only the ketenregisseur and attention officers plan trainings; an attention "
                                    "officer only for their own municipality."),
    Denial.NO_STATS_ROLE: N_("Only attention officers (for their own municipality) and the ketenregisseur (for the "
                             "region) see these figures. Ask the attention officer of your municipality or the "
                             "ketenregisseur."),
    Denial.NOT_NETWORK_MANAGER: N_("Only the ketenregisseur and attention officers manage the network. Should "
                                   "someone be added or removed? Ask the attention officer of your municipality."),
}
DENIED_OTHERWISE = N_("You cannot do this. Nothing was changed.")
REFUSALS = {
    Reason.CLOSED: N_("This case is closed. Reopen it first if you need to change something."),
    Reason.NOT_CLOSED: N_("This case is not closed, so it cannot be reopened."),
    Reason.NOT_SUBMITTED: N_("This signal has not been sent yet."),
    Reason.ALREADY_CLAIMED: N_("{who} already handles this case."),
    Reason.NEEDS_CONCLUSION: N_("Record a conclusion before closing the case."),
    Reason.FEEDBACK_MISSING: N_("The reporter asked for feedback and has had none yet. Give feedback first, or "
                             "say why not when closing."),
    Reason.ROUTE_MISSING: N_("The conclusion is \"human trafficking\", so the case is routed to a partner before "
                          "it is closed. Use *Route to partner* first, or say why not when closing."),
}
REFUSED_OTHERWISE = N_("This is not possible in the current state of the case. Nothing was changed.")
TOO_LONG = N_("Your text is {length} characters; at most {limit} are allowed. Please shorten it.")
# (error, reason) → msgid; (error, None) is the error's text whatever the reason.
MESSAGES: dict[tuple[Error, str | None], str] = {
    (Error.UNKNOWN_SIGNAL, None): GONE,
    (Error.DENIED, None): DENIED_OTHERWISE,
    **{(Error.DENIED, str(d)): text for d, text in DENIALS.items()},
    (Error.REFUSED, None): REFUSED_OTHERWISE,
    **{(Error.REFUSED, str(r)): text for r, text in REFUSALS.items()},
    (Error.ALREADY_CLAIMED, None): REFUSALS[Reason.ALREADY_CLAIMED],
    (Error.ALREADY_CLAIMED, "already_claimed_by_you"): N_("You have already claimed this signal."),
    (Error.REFUSED, "already_routed"): N_("This case was already routed to {partners}. Nothing was sent. To send "
                                          "the same hand-over again, tick \"Send again\" in the form."),
    (Error.ALREADY_ANSWERED, None): N_("This has already been answered. Nothing was changed."),
    (Error.UNKNOWN_PARTNER, None): N_("That partner is not known to the bot. Nothing was changed."),
    (Error.INVALID, None): SOMETHING_WRONG,
    (Error.INVALID, "required"): N_("Please write something first."),
    (Error.INVALID, "too_long"): TOO_LONG,
    (Error.INVALID, "date_past"): N_("The expected outcome date cannot be in the past."),
    (Error.INVALID, "partner_required"): N_("Choose at least one partner."),
    (Error.INVALID, "date_future"): N_("The date of the case meeting cannot be in the future."),
    (Error.INVALID, "date_required"): N_("Choose a date."),
    (Error.INVALID, "form_sent"): N_("This form was already sent. Nothing was sent twice."),
    (Error.INVALID, "unknown_outcome"): N_("Choose what the hand-over led to from the list."),
    (Error.INVALID, "nothing_changed"): N_("Nothing changed: the details were already like this."),
    (Error.INVALID, "unknown_form"): N_("Choose a form from the list."),
    (Error.INVALID, "unknown_minor"): N_("Choose whether a minor is involved."),
    (Error.INVALID, "unknown_sector"): N_("Choose a sector from the list."),
    (Error.INVALID, "unknown_target_group"): N_("Choose a target group from the list."),
    (Error.INVALID, "period"): N_("Give a year or a month, such as “cijfers 2026” or “cijfers 2026-03”."),
    (Error.NOT_YOURS, None): N_("This is not your signal, so you cannot answer here."),
    (Error.MOVED_ON, None): N_("This question has already been answered. Continue with the latest question at the "
                               "bottom of the thread; you can change answers in the summary."),
    (Error.NOT_DRAFT, None): N_("This signal has already been sent, so answers can no longer be changed. To add "
                                "something, reply in this thread."),
    (Error.NOT_DRAFT, "cancelled"): N_("This signal was cancelled. Start a new one with /signaal."),
    # Versturen clicked again (bot.core.triage.send): said to the reporter, about their own click.
    (Error.NOT_DRAFT, "already_sent"): N_("This signal has already been sent. To add something, reply in this "
                                          "thread."),
    (Error.NOT_CONFIGURED, None): N_("The bot has not been set up for your municipality yet, so it cannot take "
                                     "signals. Please contact your attention officer or the administrator of this "
                                     "Slack workspace."),
    (Error.INVALID_ANSWER, None): N_("That answer is not one of the options. Please choose again."),
    (Error.INVALID_ANSWER, "too_long"): N_("Your text is {length} characters; at most {limit} are allowed. Please "
                                           "shorten it and try again."),
    (Error.INVALID_ANSWER, "required"): N_("This question needs an answer."),
    (Error.INVALID_ANSWER, "no_choice"): N_("Choose the answer you want to change."),
    (Error.UNKNOWN, None): N_("This training no longer exists."),
    (Error.CANCELLED, None): N_("This training has been cancelled."),
    (Error.STARTED, None): N_("This training has already started, so this is no longer possible."),
    (Error.NOT_STARTED, None): N_("Attendance can be recorded once the training has started."),
    (Error.LEFT, None): N_("You are no longer a member of the network, so you cannot sign up."),
    (Error.NOT_INVITED, None): N_("This training is meant for another group, so you cannot sign up for it."),
    (Error.UNKNOWN_REMINDER, None): N_("This button no longer works (the message is out of date)."),
    (Error.ESCALATION, None): N_("An escalation cannot be snoozed."),
    (Error.SETTLED, None): N_("This reminder is settled already: there is nothing to snooze."),
}


def message(result: Result) -> tuple[str, dict[str, Any]]:
    """The msgid and its parameters that tell a user why `result` failed (`who`: a person's id)."""
    error = result.error
    if error is None:
        return SOMETHING_WRONG, {}
    text = MESSAGES.get((error, result.reason)) or MESSAGES.get((error, None), SOMETHING_WRONG)
    params: dict[str, Any] = dict(result.data)
    if error is Error.INVALID and result.reason == "too_long":
        params.setdefault("length", 0)
        params.setdefault("limit", 0)
    if "{who}" in text:
        params["who"] = result.claimed_by or ""
    return text, params


def text_problem(value: str | None, *, required: bool = True, limit: int) -> Result | None:
    """The one check of a free-text input: None when fine, else an INVALID result (required, too_long)."""
    text = (value or "").strip()
    if required and not text:
        return Result(False, error=Error.INVALID, reason="required")
    if len(text) > limit:
        return Result(False, error=Error.INVALID, reason="too_long", data={"length": len(text), "limit": limit})
    return None
