"""The triage questionnaire (uitvraag): data from YAML, plus pure functions to walk it.

Plain inputs (answers so far, context) in; plain decisions (next question, validation result) out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_PATH = Path(__file__).with_name("questionnaire.yaml")
QUESTION_TYPES = {"municipality", "choice", "multi", "text"}
NOTICE_KINDS = {"emergency", "minor", "minor_unknown", "info"}
# Free-text answers are stored only in the signal's encrypted columns (`models.Signal.description`,
# `.location`); a text question under any other key would keep its answer readable in the database.
ENCRYPTED_TEXT_KEYS = frozenset({"description", "location"})


class QuestionnaireError(ValueError):
    """The questionnaire file is invalid; the message names the file and the field."""


@dataclass(frozen=True)
class Option:
    key: str
    label: str
    description: str | None = None


@dataclass(frozen=True)
class Condition:
    answer: str | None = None
    equals: str | None = None
    context: str | None = None

    def holds(self, answers: dict[str, Any], context: dict[str, Any]) -> bool:
        if self.context is not None:
            return bool(context.get(self.context))
        value = answers.get(self.answer or "")
        if isinstance(value, list):
            return self.equals in value
        return value == self.equals


@dataclass(frozen=True)
class Notice:
    when: Condition
    kind: str
    text: str


@dataclass(frozen=True)
class Question:
    key: str
    type: str
    prompt: str
    hint: str | None = None
    options: tuple[Option, ...] = ()
    when: Condition | None = None
    notices: tuple[Notice, ...] = ()
    required: bool = True
    max_length: int | None = None
    multiline: bool = False
    button: str | None = None
    default: str | None = None

    def option(self, key: str) -> Option | None:
        return next((o for o in self.options if o.key == key), None)

    def applies(self, answers: dict[str, Any], context: dict[str, Any]) -> bool:
        return self.when is None or self.when.holds(answers, context)


@dataclass(frozen=True)
class Verdict:
    """The result of checking one answer."""

    ok: bool
    value: Any = None
    error: str | None = None  # "required" | "too_long" | "unknown_option"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Questionnaire:
    version: str
    questions: tuple[Question, ...]

    def get(self, key: str) -> Question:
        for q in self.questions:
            if q.key == key:
                return q
        raise KeyError(key)

    def has(self, key: str) -> bool:
        return any(q.key == key for q in self.questions)

    def applicable(self, answers: dict[str, Any], context: dict[str, Any]) -> list[Question]:
        return [q for q in self.questions if q.applies(answers, context)]

    def next_question(self, answers: dict[str, Any], context: dict[str, Any]) -> Question | None:
        """The first applicable question without an answer; None means: show the summary."""
        for q in self.applicable(answers, context):
            if q.key not in answers:
                return q
        return None

    def check(self, key: str, raw: Any, municipalities: list[str] | None = None) -> Verdict:
        q = self.get(key)
        if q.type == "text":
            text = (raw or "").strip() if isinstance(raw, str) or raw is None else str(raw)
            if not text:
                return Verdict(True, "") if not q.required else Verdict(False, error="required")
            if q.max_length and len(text) > q.max_length:
                return Verdict(False, error="too_long", params={"length": len(text), "limit": q.max_length})
            return Verdict(True, text)
        if q.type == "multi":
            values = list(raw or [])
            unknown = [v for v in values if q.option(v) is None]
            if unknown:
                return Verdict(False, error="unknown_option")
            order = [o.key for o in q.options]
            return Verdict(True, sorted(set(values), key=order.index))
        if q.type == "municipality":
            if raw in (municipalities or []):
                return Verdict(True, raw)
            return Verdict(False, error="unknown_option")
        if q.option(str(raw)) is None:
            return Verdict(False, error="unknown_option")
        return Verdict(True, str(raw))

    def answer(self, answers: dict[str, Any], key: str, value: Any, context: dict[str, Any]) -> dict[str, Any]:
        """New answers with `key` set, dropping answers to questions that no longer apply."""
        new = dict(answers)
        new[key] = value
        return {k: v for k, v in new.items() if not self.has(k) or self.get(k).applies(new, context)}

    def notices_for(self, key: str, answers: dict[str, Any], context: dict[str, Any]) -> list[Notice]:
        return [n for n in self.get(key).notices if n.when.holds(answers, context)]


def _condition(raw: Any, where: str) -> Condition:
    if not isinstance(raw, dict) or not ({"answer", "context"} & raw.keys()):
        raise QuestionnaireError(f"{where}: a condition needs 'answer' (with 'equals') or 'context'.")
    extra = set(raw) - {"answer", "equals", "context"}
    if extra:
        raise QuestionnaireError(f"{where}: unknown key(s) {sorted(extra)} in condition.")
    if "answer" in raw and "equals" not in raw:
        raise QuestionnaireError(f"{where}: a condition on an answer needs 'equals'.")
    return Condition(answer=raw.get("answer"), equals=None if raw.get("equals") is None else str(raw["equals"]),
                     context=raw.get("context"))


_QUESTION_KEYS = {"key", "type", "prompt", "hint", "options", "when", "notices", "required", "max_length",
                  "multiline", "button", "default"}


def _question(raw: Any, where: str) -> Question:
    if not isinstance(raw, dict):
        raise QuestionnaireError(f"{where}: each question must be a mapping.")
    unknown = set(raw) - _QUESTION_KEYS
    if unknown:
        raise QuestionnaireError(f"{where}: unknown key(s) {sorted(unknown)}.")
    for required in ("key", "type", "prompt"):
        if not raw.get(required):
            raise QuestionnaireError(f"{where}: '{required}' is missing.")
    key, qtype = str(raw["key"]), str(raw["type"])
    where = f"{where} ({key})"
    if qtype not in QUESTION_TYPES:
        raise QuestionnaireError(f"{where}: type must be one of {sorted(QUESTION_TYPES)}, got {qtype!r}.")
    options: list[Option] = []
    for i, opt in enumerate(raw.get("options") or []):
        if not isinstance(opt, dict) or not opt.get("key") or not opt.get("label"):
            raise QuestionnaireError(f"{where}.options[{i}]: needs 'key' and 'label'.")
        options.append(Option(str(opt["key"]), str(opt["label"]), opt.get("description")))
    if qtype in {"choice", "multi"} and not options:
        raise QuestionnaireError(f"{where}: a {qtype} question needs options.")
    if len({o.key for o in options}) != len(options):
        raise QuestionnaireError(f"{where}: option keys must be unique.")
    if qtype == "multi" and len(options) > 10:
        raise QuestionnaireError(f"{where}: at most 10 options for checkboxes (a Slack limit).")
    if len(options) > 100:
        raise QuestionnaireError(f"{where}: at most 100 options.")
    max_length = raw.get("max_length")
    if qtype == "text" and key not in ENCRYPTED_TEXT_KEYS:
        raise QuestionnaireError(
            f"{where}: a text question must have key {' or '.join(repr(k) for k in sorted(ENCRYPTED_TEXT_KEYS))}: "
            "only their answers are stored encrypted. Ask for other details in the description, or use a choice "
            "question.")
    if qtype == "text" and (not isinstance(max_length, int) or not 1 <= max_length <= 3000):
        raise QuestionnaireError(f"{where}: a text question needs max_length from 1 to 3000.")
    notices = []
    for i, n in enumerate(raw.get("notices") or []):
        nw = f"{where}.notices[{i}]"
        if not isinstance(n, dict) or "when" not in n or not n.get("text"):
            raise QuestionnaireError(f"{nw}: needs 'when' and 'text'.")
        kind = n.get("kind", "info")
        if kind not in NOTICE_KINDS:
            raise QuestionnaireError(f"{nw}: kind must be one of {sorted(NOTICE_KINDS)}.")
        notices.append(Notice(_condition(n["when"], nw), kind, str(n["text"])))
    default = raw.get("default")
    if default is not None and not any(o.key == str(default) for o in options):
        raise QuestionnaireError(f"{where}: default {default!r} is not one of the options.")
    return Question(
        key=key, type=qtype, prompt=str(raw["prompt"]), hint=raw.get("hint"), options=tuple(options),
        when=_condition(raw["when"], f"{where}.when") if raw.get("when") is not None else None,
        notices=tuple(notices), required=bool(raw.get("required", True)), max_length=max_length,
        multiline=bool(raw.get("multiline", False)), button=raw.get("button"),
        default=None if default is None else str(default),
    )


REQUIRED_KEYS = ("form", "signals", "acute", "minor", "description")


def parse(data: Any, source: str = "questionnaire") -> Questionnaire:
    if not isinstance(data, dict):
        raise QuestionnaireError(f"{source}: the file must be a mapping with 'version' and 'questions'.")
    if not data.get("version"):
        raise QuestionnaireError(f"{source}: 'version' is missing.")
    raw_questions = data.get("questions")
    if not isinstance(raw_questions, list) or not raw_questions:
        raise QuestionnaireError(f"{source}: 'questions' must be a non-empty list.")
    questions = tuple(_question(q, f"{source}: questions[{i}]") for i, q in enumerate(raw_questions))
    keys = [q.key for q in questions]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise QuestionnaireError(f"{source}: duplicate question key(s) {dupes}.")
    missing = [k for k in REQUIRED_KEYS if k not in keys]
    if missing:
        raise QuestionnaireError(f"{source}: the bot needs question(s) {missing} (used for routing and reminders).")
    for q in questions:
        conds = ([q.when] if q.when else []) + [n.when for n in q.notices]
        for c in conds:
            if c.answer and c.answer not in keys:
                raise QuestionnaireError(f"{source}: question {q.key!r} refers to unknown answer {c.answer!r}.")
    return Questionnaire(version=str(data["version"]), questions=questions)


def load(path: Path | None = None) -> Questionnaire:
    path = path or DEFAULT_PATH
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise QuestionnaireError(f"{path}: cannot read the questionnaire ({exc.strerror}).") from exc
    except yaml.YAMLError as exc:
        raise QuestionnaireError(f"{path}: not valid YAML ({exc}).") from exc
    return parse(data, str(path))
