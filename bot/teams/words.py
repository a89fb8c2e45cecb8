"""The words "training", "training cijfers", "netwerk" and "cijfers" in the bot's 1:1 chat in Teams: what
Slack's `/signaal training`, `/signaal training cijfers`, `/signaal netwerk` and `/signaal cijfers` show,
as Adaptive Cards, and the verbs of their forms. Who may see or do what is the core's
(`bot.core.training`, `bot.core.members`, `bot.core.figures`), every time; this module lays it out and
reads the forms' inputs.

- **training**: the trainings ahead for the person, with Ik kom / Ik kan niet; for an organiser (the
  ketenregisseur, an AF or backup) also the form to plan one (`Action.ShowCard`: Teams has no modal
  without a dialog) and their own upcoming trainings, each with Wijzigen (the same form, filled in)
  and Training afzeggen. Who may see the training figures gets a button for them.
- **training cijfers**: who was trained in the last 12 months, per municipality the core allowed (an
  AF: their own; the ketenregisseur: all), small counts as "< N".
- **netwerk**: the members the person manages, a form to add or change one (Teams' people picker),
  and one to remove one.
- **cijfers** (or "cijfers 2026", "cijfers 2026-03"): the figures of the period, for the
  municipality of an AF or the region of the ketenregisseur.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any

from babel.dates import format_date
from sqlmodel import col, select

from bot.core import access, chat, members, outbox, platforms, presenters, stats
from bot.core import training as core_training
from bot.core.context import Core
from bot.core.figures import View
from bot.core.result import Result
from bot.core.training import MEMBER_ROLES, TrainingInput
from bot.teams.cards import WORD, WORD_TITLES, Ctx, Out, _md_safe, execute, fact_set, small, template, text
from bot.teams.network_cards import (
    _audience,
    _details,
    _link,
    _rsvp,
    _status,
    figure_blocks,
    people_picker,
    teams_people,
)
from models import Partner, Person
from models.db import session_scope
from models.training import TrainingSession

LIST_MAX = 60  # members on the card (each a fact): the card stays well within Teams' ~28 KB
NEW = "n_"  # the inputs' prefix of the form that plans a training; a change's is "t<id>_"


def _plain(value: str | None) -> str:
    return _md_safe(value or "") or "—"


# ------------------------------------------------------------------------------ training


def _form(ctx: Ctx, prefix: str, t: TrainingSession | None) -> list[dict[str, Any]]:
    """The training's inputs (as Slack's modal): title, start and end (date and time, in the bot's
    timezone), location, link, audience (a new training only) and the number of places."""
    _ = ctx._
    tz = ctx.settings.tz

    def moment(name: str, label: str, value: datetime | None) -> list[dict[str, Any]]:
        local = value.astimezone(tz) if value else None
        day: dict[str, Any] = {"type": "Input.Date", "id": prefix + name + "_date", "label": label,
                               "isRequired": True, "errorMessage": _("Choose a date.")}
        hour: dict[str, Any] = {"type": "Input.Time", "id": prefix + name + "_time", "isRequired": True,
                                "errorMessage": _("Choose a time.")}
        if local:
            day["value"], hour["value"] = local.date().isoformat(), local.strftime("%H:%M")
        return [day, hour]

    def line(name: str, label: str, limit: int, value: str | None, *, required: bool = True,
             placeholder: str | None = None) -> dict[str, Any]:
        field_: dict[str, Any] = {"type": "Input.Text", "id": prefix + name, "label": label, "maxLength": limit}
        if required:
            field_.update({"isRequired": True, "errorMessage": _("Please fill this in.")})
        if value:
            field_["value"] = value
        if placeholder:
            field_["placeholder"] = placeholder
        return field_

    body = [line("title", _("Title"), core_training.TITLE_LIMIT, t.title if t else None,
                 placeholder=_("For example: FairWork training for counter staff, e-learning, network meeting.")),
            *moment("starts", _("Starts"), t.starts_at if t else None),
            *moment("ends", _("Ends"), t.ends_at if t else None),
            line("location", _("Location"), core_training.LOCATION_LIMIT, t.location if t else None,
                 placeholder=_("An address, a room, or 'online'.")),
            line("url", _("Link"), core_training.URL_LIMIT, t.url if t else None, required=False,
                 placeholder="https://…")]
    if t is None:
        actor = access.actor(ctx.session, ctx.msg.recipient or "")
        choices = [{"title": _audience(_, key), "value": key}
                   for key in core_training.audience_choices(ctx.session, actor)][:100]
        audience: dict[str, Any] = {"type": "Input.ChoiceSet", "id": prefix + "audience", "style": "compact",
                                    "label": _("For whom"), "choices": choices, "isRequired": True,
                                    "errorMessage": _("Choose an answer")}
        if choices:
            audience["value"] = choices[0]["value"]
        body += [audience, small(_("Everyone in this audience gets the invitation in a private message."))]
    else:
        body.append(small(_("For {audience}", audience=_audience(_, t.audience))))
    places: dict[str, Any] = {"type": "Input.Number", "id": prefix + "capacity", "label": _("Number of places"),
                              "min": 1}
    if t and t.capacity:
        places["value"] = t.capacity
    body += [places, small(_("When it is full, people go on a waiting list and move up automatically."))]
    return body


@template("teams_training")
def training_card(ctx: Ctx) -> Out:
    """"training": the trainings ahead for this person; for an organiser the form to plan one and their own."""
    _ = ctx._
    uid = ctx.msg.recipient or ""
    now = ctx.now()
    title = _("Trainings")
    body: list[dict[str, Any]] = [text(title, weight="Bolder", size="Medium")]
    upcoming = core_training.upcoming_for(ctx.session, uid, now, limit=5)
    if upcoming:
        body.append(text(_("Trainings for you"), weight="Bolder"))
    for t in upcoming:
        body += [*_details(ctx, t), text(_status(ctx, t, uid)),
                 {"type": "ActionSet", "actions": _rsvp(ctx, t) + _link(ctx, t)}]
    if not upcoming:
        body.append(text(_("No trainings are planned for you right now.")))
    actor = access.actor(ctx.session, uid)
    # The training figures, for who may see them (the word asks the core again, and records the look).
    figures = ([execute(_(WORD_TITLES[chat.TRAINING_FIGURES]), WORD, {"w": chat.TRAINING_FIGURES})]
               if core_training.may_see_figures(actor) else [])
    if not core_training.is_organiser(actor):
        body.append(small(_("Trainings are planned by the attention officer of your municipality and the "
                            "ketenregisseur.")))
        return Out(title, body, figures)
    own = [t for t in core_training.organised_by(ctx.session, actor, now, limit=5) if t.starts_at > now]
    if own:
        body.append(text(_("Trainings you organise"), weight="Bolder"))
    for t in own:
        prefix = f"t{t.id}_"
        change = {"type": "AdaptiveCard", "version": "1.5", "body": _form(ctx, prefix, t),
                  "actions": [execute(_("Save"), "training_change", {"t": t.id, "p": prefix}, style="positive")]}
        cancel = {"type": "AdaptiveCard", "version": "1.5", "body": [
            text(_("Everyone who said they would come gets a message that it is cancelled."))],
            "actions": [execute(_("Cancel training"), "training_cancel", {"t": t.id}, style="destructive")]}
        body += [{"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": t.title, "weight": "Bolder"}]},
                 small(format_date(t.starts_at.astimezone(ctx.settings.tz).date(), "d MMM yyyy", locale=_.lang)
                       + t.starts_at.astimezone(ctx.settings.tz).strftime(" %H:%M") + " · "
                       + _training_places(ctx, t)),
                 {"type": "ActionSet", "actions": [
                     {"type": "Action.ShowCard", "title": _("Change"), "card": change},
                     {"type": "Action.ShowCard", "title": _("Cancel training"), "card": cancel}]}]
    plan = {"type": "AdaptiveCard", "version": "1.5", "body": _form(ctx, NEW, None),
            "actions": [execute(_("Plan and invite"), "training_plan", {"p": NEW}, style="positive")]}
    return Out(title, body, [{"type": "Action.ShowCard", "title": _("New training"), "card": plan}, *figures])


@template("teams_training_figures")
def training_figures_card(ctx: Ctx) -> Out:
    """"training cijfers": who was trained in the last 12 months, in the scope the core allowed (ref:
    region, municipalities); aggregates only, small counts as "< N"."""
    _ = ctx._
    ref = ctx.msg.ref
    title = _("Trained in the last 12 months")
    shown = core_training.trained_figures(ctx.session, ctx.msg.created_at, bool(ref.get("region")),
                                          list(ref.get("municipalities") or []))
    limit = stats.threshold(ctx.settings)
    facts = [(_plain(name), words) for name, words in
             (presenters.trained_line(_, f, limit) for f in shown)]
    body = [text(title, weight="Bolder", size="Medium"),
            fact_set(facts) if facts else text(_("No figures yet.")),
            small(_("Trained: was at a training. The total also counts former members and people who came "
                    "without signing up."))]
    return Out(title, body)


def _training_places(ctx: Ctx, t: TrainingSession) -> str:
    return presenters.training_places(ctx._, ctx.session, t)


def _moment(data: dict[str, Any], prefix: str, name: str, tz: Any) -> datetime | None:
    """A date and a time from the form, in the bot's timezone; None when either is missing or wrong."""
    try:
        day = date.fromisoformat(str(data.get(prefix + name + "_date") or ""))
        hour = time.fromisoformat(str(data.get(prefix + name + "_time") or ""))
    except ValueError:
        return None
    return datetime.combine(day, hour.replace(second=0, microsecond=0, tzinfo=None), tzinfo=tz)


def training_input(core: Core, data: dict[str, Any]) -> TrainingInput:
    prefix = str(data.get("p") or NEW)
    tz = core.settings.tz

    def value(name: str) -> str | None:
        raw = data.get(prefix + name)
        return raw if isinstance(raw, str) and raw.strip() else None

    return TrainingInput(title=value("title"), starts=_moment(data, prefix, "starts", tz),
                         ends=_moment(data, prefix, "ends", tz), location=value("location"), url=value("url"),
                         audience=value("audience"), capacity=value("capacity"))


def training_plan(core: Core, person: str, data: dict[str, Any], tenant: str = "") -> Result:
    result = core_training.create(core, person, training_input(core, data))
    if result.ok:
        note(core, person, {"note": "training_planned", "count": result.data.get("announced", 0)})
    return result


def training_change(core: Core, person: str, data: dict[str, Any], tenant: str = "") -> Result:
    sid = _id(data, "t")
    prefix = f"t{sid}_"
    result = core_training.update(core, sid, person, training_input(core, {**data, "p": prefix}))
    if result.ok:
        note(core, person, {"note": "training_changed", "count": result.data.get("told", 0)})
    return result


def training_cancel(core: Core, person: str, data: dict[str, Any], tenant: str = "") -> Result:
    result = core_training.cancel(core, _id(data, "t"), person)
    if result.ok:
        note(core, person, {"note": "training_cancelled", "count": result.data.get("told", 0)})
    return result


# ------------------------------------------------------------------------------ netwerk


def _member_line(ctx: Ctx, member: members.Member, partners: dict[str, str]) -> tuple[str, str]:
    _ = ctx._
    role = _(MEMBER_ROLES[member.role]) if member.role in MEMBER_ROLES else (member.role or "—")
    parts = [role, _plain(member.municipality) if member.municipality else _("regional")]
    if member.partner:
        parts.append(_plain(partners.get(member.partner, member.partner)))
    return _plain(member.name or member.user_id), ", ".join(parts)


@template("teams_network")
def network_card(ctx: Ctx) -> Out:
    """"netwerk": the members the core let this person see (its list in the ref), and the two forms."""
    _ = ctx._
    ref = ctx.msg.ref
    actor = access.actor(ctx.session, ctx.msg.recipient or "")
    listed = set(ref.get("members") or [])
    rows = [m for m in members.members(ctx.session, actor) if m.user_id in listed]
    partners = dict(ctx.session.exec(select(Partner.key, Partner.name).order_by(col(Partner.name))).all())
    title = _("Network members") + f" ({len(rows)})"
    body: list[dict[str, Any]] = [text(title, weight="Bolder", size="Medium")]
    body.append(fact_set([_member_line(ctx, m, partners) for m in rows[:LIST_MAX]]) if rows else text("—"))
    if len(rows) > LIST_MAX:
        body.append(small(_.ngettext("And {count} more member: `signaalbot network show` lists everyone.",
                                     "And {count} more members: `signaalbot network show` lists everyone.",
                                     len(rows) - LIST_MAX)))
    body.append(small(_("Case access (attention officers, backups, partners) is set in the network file, not "
                        "here.")))
    roles = [{"title": _(label), "value": key} for key, label in MEMBER_ROLES.items()]
    munis = [{"title": name, "value": name} for name in ref.get("municipalities") or []]
    add: list[dict[str, Any]] = [
        people_picker(ctx, "member", _("Person"), [], many=False, required=True),
        {"type": "Input.ChoiceSet", "id": "role", "style": "compact", "label": _("Role in the network"),
         "choices": roles, "isRequired": True, "errorMessage": _("Choose a role.")}]
    if munis:
        muni: dict[str, Any] = {"type": "Input.ChoiceSet", "id": "municipality", "style": "compact",
                                "label": _("Municipality"), "choices": munis}
        if not ref.get("regional"):  # an AF adds members to their own municipality only
            muni.update({"isRequired": True, "errorMessage": _("Choose an answer"), "value": munis[0]["value"]})
        add.append(muni)
    if partners:
        add.append({"type": "Input.ChoiceSet", "id": "partner", "style": "compact",
                    "label": _("Partner organisation"),
                    "choices": [{"title": name, "value": key} for key, name in partners.items()][:100]})
    actions: list[dict[str, Any]] = [{"type": "Action.ShowCard", "title": _("Add or change"), "card": {
        "type": "AdaptiveCard", "version": "1.5", "body": add,
        "actions": [execute(_("Save"), "member_save", {}, style="positive")]}}]
    if rows:
        leaving = {"type": "Input.ChoiceSet", "id": "leaving", "style": "compact", "label": _("Person"),
                   "isRequired": True, "errorMessage": _("Choose a person"),
                   "choices": [{"title": _plain(m.name or m.user_id), "value": m.user_id} for m in rows[:100]]}
        actions.append({"type": "Action.ShowCard", "title": _("Remove from the network"), "card": {
            "type": "AdaptiveCard", "version": "1.5",
            "body": [leaving, small(_("Their training history is kept anonymously."))],
            "actions": [execute(_("Remove from the network"), "member_remove", {}, style="destructive")]}})
    return Out(_("Network members"), body, actions)


def member_save(core: Core, person: str, data: dict[str, Any], tenant: str = "") -> Result:
    """Add or change a member: the core checks who may before the picked person is looked up."""
    checked = members.check_manager(core, person)
    if not checked.ok:
        return checked
    picked = teams_people(core, tenant, data.get("member"), limit=1)
    choice = {k: v if isinstance(v, str) and v else None for k, v in
              ((k, data.get(k)) for k in ("role", "municipality", "partner"))}
    result = members.save(core, person, members.MemberInput(
        user_id=picked[0] if picked else None, role=choice["role"], municipality=choice["municipality"],
        partner=choice["partner"]))
    if result.ok:
        note(core, person, {"note": "member_saved", "member": result.data.get("user")})
    return result


def member_remove(core: Core, person: str, data: dict[str, Any], tenant: str = "") -> Result:
    leaving = data.get("leaving")
    result = members.remove(core, person, leaving if isinstance(leaving, str) else "")
    if result.ok:
        note(core, person, {"note": "member_removed", "member": result.data.get("user")})
    return result


# ------------------------------------------------------------------------------ cijfers


@template("teams_figures")
def figures_card(ctx: Ctx) -> Out:
    """"cijfers": the figures of the period the core allowed, per scope it allowed (ref: first, last,
    scopes — None for the region, else a municipality's name); aggregates only."""
    _ = ctx._
    ref = ctx.msg.ref
    start, end = View(date.fromisoformat(ref["first"]), date.fromisoformat(ref["last"]), ()).bounds(ctx.settings.tz)
    body: list[dict[str, Any]] = []
    for scope in ref.get("scopes") or []:
        report = stats.compute(ctx.session, start, end, ctx.msg.created_at, limit=stats.threshold(ctx.settings),
                               cal=stats.calendar_for(ctx.settings),
                               municipalities=None if scope is None else frozenset({scope}))
        name = _("Region") if scope is None else _plain(scope)
        body += [text(_("Figures — {scope}", scope=name), weight="Bolder", size="Medium"),
                 *figure_blocks(ctx, report, groups=30)]
    return Out(_("Figures"), body or [text("—")])


# ------------------------------------------------------------------------------ what was done


@template("teams_note")
def note_card(ctx: Ctx) -> Out:
    """What a form in the chat did (a training planned, a member added): the core's outcome, in words."""
    _ = ctx._
    ref = ctx.msg.ref
    kind, count = str(ref.get("note") or ""), int(ref.get("count") or 0)
    if kind == "training_planned":
        said = _.ngettext("The training is planned. {count} person gets the invitation.",
                          "The training is planned. {count} people get the invitation.", count)
    elif kind == "training_changed":
        said = _.ngettext("The training is changed; {count} person who said they would come gets a message.",
                          "The training is changed; {count} people who said they would come get a message.", count)
    elif kind == "training_cancelled":
        said = _.ngettext("The training is cancelled; {count} person who said they would come gets a message.",
                          "The training is cancelled; {count} people who said they would come get a message.", count)
    else:
        key = str(ref.get("member") or "")
        name = ctx.session.exec(select(Person.name).where(Person.user_id == key)).first()
        who = _plain(name or key)
        said = (_("{member} was removed from the network.", member=who) if kind == "member_removed"
                else _("{member} is in the network.", member=who))
    return Out(said, [text("✅ " + said)])


def note(core: Core, person: str, ref: dict[str, Any]) -> None:
    with session_scope(core.engine) as session:
        outbox.post(session, template="teams_note", recipient=person, platform=platforms.TEAMS, ref=ref,
                    contains_details=False, now=core.clock.now(), priority=outbox.URGENT)
    core.kick()


def _id(data: dict[str, Any], key: str) -> int:
    try:
        return int(data.get(key) or 0)
    except (TypeError, ValueError):
        return 0


VERBS: dict[str, Callable[[Core, str, dict[str, Any], str], Result]] = {
    "training_plan": training_plan, "training_change": training_change, "training_cancel": training_cancel,
    "member_save": member_save, "member_remove": member_remove,
}
