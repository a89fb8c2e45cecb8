"""Slack edge of the network's trainings: `/signaal training` (plan, list, figures), the invitation
with Ik kom / Ik kan niet, reminders and notices, edit / cancel, the attendance form, and the
trainings section of App Home."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from slack_bolt import Ack, App
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.core import access, presenters, training
from bot.core.result import Error, Result
from bot.core.training import TrainingInput
from bot.i18n import Translate
from bot.slack import hooks
from bot.slack import mrkdwn as m
from bot.slack.common import SlackContext, container_channel, container_thread, result_text
from bot.slack.render import RenderContext, Rendered, template
from flows.permissions import Actor, Denial
from models.training import TrainingSession

log = logging.getLogger(__name__)

CREATE_CALLBACK = "training:create"
EDIT_CALLBACK = "training:edit"
ATTENDANCE_CALLBACK = "training:attendance"
FIELDS = ("title", "starts", "ends", "location", "url", "audience", "capacity")


# --- shared pieces -------------------------------------------------------------------------------


def audience_label(_: Translate, audience: str) -> str:
    kind, _sep, arg = audience.partition(":")
    if kind == "network":
        return _("the whole network")
    if kind == "all":
        return _("everyone in the network and all role holders")
    if kind == "municipality":
        return _("network members of {municipality}", municipality=arg)
    if kind == "role":
        return _("role: {role}", role=_(training.MEMBER_ROLES.get(arg, arg)))
    return audience


def when(t: TrainingSession, tz: Any) -> str:
    """Start and end in every reader's own local time (Slack date formatting)."""
    same_day = t.starts_at.astimezone(tz).date() == t.ends_at.astimezone(tz).date()
    end = m.date(t.ends_at, tz, "{time}") if same_day else m.date(t.ends_at, tz)
    return f"{m.date(t.starts_at, tz, '{date_long_pretty} {time}')} – {end}"


def details(_: Translate, t: TrainingSession, tz: Any) -> str:
    lines = [f"*{m.esc(t.title)}*", f"📅 {when(t, tz)}", f"📍 {m.esc(t.location)}"]
    if t.url:
        lines.append(f"🔗 <{m.esc(t.url)}|{_('Link to the training')}>")
    return "\n".join(lines)


def status_line(_: Translate, session: Session, t: TrainingSession, user_id: str | None) -> str:
    status = training.status_of(session, t.id or 0, user_id) if user_id else None
    if status == "yes":
        return "✅ " + _("You are coming.")
    if status == "waitlist":
        rank = training.waitlist_rank(session, t.id or 0, user_id or "")
        return "⏳ " + _("You are on the waiting list (place {rank}). You get a message when a place opens up.",
                        rank=rank)
    if status == "no":
        return "➖ " + _("You are not coming.")
    return _("Will you come? Let us know.")


def rsvp_block(_: Translate, session: Session, t: TrainingSession, user_id: str | None, prefix: str) -> dict:
    status = training.status_of(session, t.id or 0, user_id) if user_id else None
    value = str(t.id)
    return m.actions(f"{prefix}:{t.id}", [
        m.button(_("I'll come"), "training:yes", value, style=None if status in {"yes", "waitlist"} else "primary"),
        m.button(_("I can't come"), "training:no", value),
    ])


# --- message templates ---------------------------------------------------------------------------


def _training(rc: RenderContext) -> TrainingSession:
    t = rc.session.get(TrainingSession, int(rc.msg.ref.get("session", 0)))
    if t is None:
        raise LookupError("training session gone")
    return t


@template(training.INVITE_TEMPLATE)
def render_invite(rc: RenderContext) -> Rendered:
    _, t, tz = rc._, _training(rc), rc.tz
    reminder = rc.msg.ref.get("step") == "remind"
    head = _("Reminder: training") if reminder else _("New training for the network")
    text = (_("Reminder: {title}", title=t.title) if reminder else _("New training: {title}", title=t.title))
    blocks: list[dict] = [{**m.header(head), "block_id": f"trinv:{t.id}"}, m.section(details(_, t, tz)),
                          m.context(_("For {audience}", audience=audience_label(_, t.audience)),
                                    presenters.training_places(_, rc.session, t))]
    if t.cancelled_at is not None:
        blocks.append(m.section("❌ *" + _("This training has been cancelled.") + "*"))
    else:  # answers after the start are refused with an explanation (templates have no clock)
        blocks.append(m.section(status_line(_, rc.session, t, rc.msg.recipient)))
        blocks.append(rsvp_block(_, rc.session, t, rc.msg.recipient, "tri"))
    return Rendered(text, blocks)


@template(training.NOTICE_TEMPLATE)
def render_notice(rc: RenderContext) -> Rendered:
    _, t, tz = rc._, _training(rc), rc.tz
    notice = rc.msg.ref.get("notice")
    if notice == "cancelled":
        text = _("Training cancelled: {title}", title=t.title)
        blocks = [m.section("❌ " + _("*This training has been cancelled.* You had said you would come; you do not "
                                     "need to do anything.")), m.section(details(_, t, tz))]
    elif notice == "changed":
        text = _("Training changed: {title}", title=t.title)
        blocks = [m.section("✏️ " + _("*A training you are coming to has changed.* These are the new details:")),
                  m.section(details(_, t, tz))]
    elif notice == "moved_up":
        text = _("A place opened up: {title}", title=t.title)
        blocks = [m.section("🎉 " + _("*A place opened up: you are now signed up.* Can you no longer come? "
                                     "Click I can't come in the invitation, so the next person gets the place.")),
                  m.section(details(_, t, tz))]
    else:  # attendance_request
        text = _("Who attended {title}?", title=t.title)
        blocks = [m.section(_("*The training is over.* Please record who attended: their training history and "
                              "the region's figures depend on it.")), m.section(details(_, t, tz)),
                  m.actions(f"tratt:{t.id}", [m.button(_("Record attendance"), "training:attendance", str(t.id),
                                                       style="primary")])]
    return Rendered(text, blocks)


@template(training.REFRESHER_TEMPLATE)
def render_refresher(rc: RenderContext) -> Rendered:
    _, tz = rc._, rc.tz
    at = datetime.fromisoformat(rc.msg.ref.get("at") or datetime.now(UTC).isoformat())
    uid = rc.msg.recipient or ""
    text = _("Time for a refresher training?")
    blocks: list[dict] = [m.section("👋 " + _(
        "*Time for a refresher?* It has been a while since you attended a training on human trafficking. "
        "Signalling starts with trained people, and knowledge fades: a short refresher helps."))]
    upcoming = training.upcoming_for(rc.session, uid, at, limit=5)
    if not upcoming:
        blocks.append(m.section(_("No trainings are planned right now. Your attention officer or the "
                                  "ketenregisseur will let you know when there is one.")))
    for t in upcoming:
        blocks.append(m.section(details(_, t, tz)))
        blocks.append(rsvp_block(_, rc.session, t, uid, "trr"))
    return Rendered(text, blocks)


# --- modals --------------------------------------------------------------------------------------


def _input(block_id: str, label: str, element: dict, optional: bool = False, hint: str | None = None) -> dict:
    block = {"type": "input", "block_id": block_id, "label": m.plain(m.clip(label, 2000)), "element": element,
             "optional": optional}
    if hint:
        block["hint"] = m.plain(m.clip(hint, 2000))
    return block


def training_modal(_: Translate, session: Session, actor: Actor, t: TrainingSession | None) -> dict:
    def text_el(initial: str | None, max_length: int) -> dict:
        el = {"type": "plain_text_input", "action_id": "value", "max_length": max_length}
        if initial:
            el["initial_value"] = initial
        return el

    def moment_el(initial: datetime | None) -> dict:
        el: dict[str, Any] = {"type": "datetimepicker", "action_id": "value"}
        if initial:
            el["initial_date_time"] = int(initial.timestamp())
        return el

    url_el: dict[str, Any] = {"type": "url_text_input", "action_id": "value"}
    if t and t.url:
        url_el["initial_value"] = t.url
    cap_el: dict[str, Any] = {"type": "number_input", "action_id": "value", "is_decimal_allowed": False}
    if t and t.capacity:
        cap_el["initial_value"] = str(t.capacity)
    blocks = [
        _input("title", _("Title"), text_el(t.title if t else None, training.TITLE_LIMIT),
               hint=_("For example: FairWork training for counter staff, e-learning, network meeting.")),
        _input("starts", _("Starts"), moment_el(t.starts_at if t else None)),
        _input("ends", _("Ends"), moment_el(t.ends_at if t else None)),
        _input("location", _("Location"), text_el(t.location if t else None, training.LOCATION_LIMIT),
               hint=_("An address, a room, or 'online'.")),
        _input("url", _("Link"), url_el, optional=True),
    ]
    if t is None:
        choices = training.audience_choices(session, actor)
        options = [m.option(audience_label(_, key), key) for key in choices][:100]
        blocks.append(_input("audience", _("For whom"), {
            "type": "static_select", "action_id": "value", "options": options,
            **({"initial_option": options[0]} if options else {})},
            hint=_("Everyone in this audience gets the invitation in a private message.")))
    else:
        blocks.append(m.context(_("For {audience}", audience=audience_label(_, t.audience))))
    blocks.append(_input("capacity", _("Number of places"), cap_el, optional=True,
                         hint=_("When it is full, people go on a waiting list and move up automatically.")))
    return {
        "type": "modal",
        "callback_id": EDIT_CALLBACK if t else CREATE_CALLBACK,
        "private_metadata": json.dumps({"s": t.id} if t else {}),
        "title": m.plain(m.clip(_("Change training") if t else _("New training"), 24)),
        "submit": m.plain(m.clip(_("Save") if t else _("Plan and invite"), 24)),
        "close": m.plain(m.clip(_("Cancel"), 24)),
        "blocks": blocks,
    }


def _values(view: dict) -> dict[str, dict]:
    return ((view.get("state") or {}).get("values")) or {}


def training_input(values: dict[str, dict]) -> TrainingInput:
    """The training form's input from its state values (`_values(view)`)."""

    def value(block: str) -> Any:
        state = (values.get(block) or {}).get("value") or {}
        if "selected_date_time" in state:
            ts = state.get("selected_date_time")
            return datetime.fromtimestamp(int(ts), UTC) if ts not in (None, "") else None
        if "selected_option" in state:
            return (state.get("selected_option") or {}).get("value")
        return state.get("value")

    return TrainingInput(title=value("title"), starts=value("starts"), ends=value("ends"),
                         location=value("location"), url=value("url"), audience=value("audience"),
                         capacity=value("capacity"))


def attendance_modal(_: Translate, t: TrainingSession, yes: list[str], attended: list[str],
                     walk_ins: list[str], tz: Any) -> dict:
    blocks: list[dict] = [m.section(f"*{m.esc(t.title)}*\n{when(t, tz)}")]
    if not yes:
        blocks.append(m.context(_("Nobody had said they would come. Add who came below.")))
    for i in range(0, len(yes), 10):  # Slack: at most 10 checkboxes per group
        chunk = yes[i:i + 10]
        options = [{"text": m.md(m.mention(uid)), "value": uid} for uid in chunk]
        element: dict[str, Any] = {"type": "checkboxes", "action_id": "value", "options": options}
        chosen = [o for o in options if o["value"] in attended]
        if chosen:
            element["initial_options"] = chosen
        label = _("Who said yes and came") if i == 0 else _("Who said yes and came (continued)")
        blocks.append(_input(f"att:{i // 10}", label, element, optional=True))
    walk_el: dict[str, Any] = {"type": "multi_users_select", "action_id": "value"}
    if walk_ins:
        walk_el["initial_users"] = walk_ins
    blocks.append(_input("walkins", _("Walk-ins (came without saying yes)"), walk_el, optional=True))
    return {
        "type": "modal", "callback_id": ATTENDANCE_CALLBACK, "private_metadata": json.dumps({"s": t.id}),
        "title": m.plain(m.clip(_("Attendance"), 24)), "submit": m.plain(m.clip(_("Save"), 24)),
        "close": m.plain(m.clip(_("Cancel"), 24)), "blocks": blocks[:100],
    }


# --- texts for outcomes --------------------------------------------------------------------------


DENIED = Result(False, error=Error.DENIED, reason=Denial.NOT_TRAINING_MANAGER)


def outcome_message(_: Translate, outcome: Result) -> str:
    """Why a training step was refused (the core's words), or what an RSVP did."""
    if outcome.error is not None:
        return result_text(_, outcome)
    if outcome.status == "yes":
        return _("Thanks! You are signed up.")
    if outcome.status == "waitlist":
        return _("The training is full: you are on the waiting list (place {rank}). You get a message when a "
                 "place opens up.", rank=outcome.data.get("position"))
    if outcome.status == "no":
        return _("Thanks for letting us know. You are not signed up.")
    return _("Done.")


def refusal_text(_: Translate, outcome: Result) -> str:
    """Why a step was refused after its form closed: its problems, or the reason."""
    return " ".join(p.text(_) for p in outcome.problems) or outcome_message(_, outcome)


def _date_text(t: TrainingSession, tz: Any) -> str:
    return m.date(t.starts_at, tz, "{date_short} {time}")


def list_blocks(ctx: SlackContext, _: Translate, user_id: str, actor: Actor) -> list[dict]:
    """Upcoming trainings for the user with answer buttons; for organisers their own to manage."""
    now = ctx.core.clock.now()
    tz = ctx.core.settings.tz
    blocks: list[dict] = []
    with Session(ctx.core.engine) as session:
        upcoming = training.upcoming_for(session, user_id, now, limit=5)
        if upcoming:
            blocks.append(m.section("*" + _("Trainings for you") + "*"))
        for t in upcoming:
            blocks.append(m.section(details(_, t, tz) + "\n" + status_line(_, session, t, user_id)))
            blocks.append(rsvp_block(_, session, t, user_id, "trh"))
        if not upcoming:
            blocks.append(m.section(_("No trainings are planned for you right now.")))
        if training.is_organiser(actor):
            blocks.append(m.divider())
            blocks.append(m.section("*" + _("Trainings you organise") + "*"))
            for t in training.organised_by(session, actor, now, limit=5):
                line = f"*{m.esc(t.title)}* — {_date_text(t, tz)}\n{presenters.training_places(_, session, t)}"
                blocks.append(m.section(line))
                buttons = []
                if t.starts_at > now:
                    buttons.append(m.button(_("Change"), "training:edit", str(t.id)))
                    buttons.append(m.button(_("Cancel training"), "training:cancel", str(t.id), style="danger",
                                            confirm=_confirm(_)))
                else:
                    buttons.append(m.button(_("Record attendance"), "training:attendance", str(t.id),
                                            style="primary"))
                blocks.append(m.actions(f"trm:{t.id}", buttons))
            blocks.append(m.actions("trnew", [m.button(_("New training"), "training:new", style="primary")]))
        done = training.history(session, user_id)[:3]
        if done:
            items = ", ".join(f"{m.esc(h.title)} ({m.date(h.starts_at, tz, '{date_short}')})" for h in done)
            blocks.append(m.context(_("Your latest trainings: {items}", items=items)))
    return blocks


def _confirm(_: Translate) -> dict:
    return {"title": m.plain(_("Cancel training?")),
            "text": m.plain(_("Everyone who said they would come gets a message that it is cancelled.")),
            "confirm": m.plain(_("Cancel training")), "deny": m.plain(_("Keep it"))}


@hooks.home_section
def home_section(ctx: SlackContext, user_id: str, actor: Actor) -> list[dict]:
    _ = ctx.tr(user_id)
    return [m.header(_("Trainings")), *list_blocks(ctx, _, user_id, actor)][:30]


def figures_blocks(ctx: SlackContext, _: Translate, shown: Result) -> list[dict]:
    """`/signaal training cijfers`: the figures the core allowed (and recorded): `training.figures`."""
    from bot.core.stats import threshold

    limit = threshold(ctx.core.settings)  # small counts as "< N", like the stats and the digest
    lines = ["• " + m.esc(name) + ": " + m.esc(words)
             for name, words in (presenters.trained_line(_, f, limit) for f in shown.data["figures"])]
    head = "*" + _("Trained in the last 12 months") + "*"
    return [m.section(head + "\n" + ("\n".join(lines) or _("No figures yet.")))]


# --- listeners -----------------------------------------------------------------------------------


@hooks.subcommand("training", "trainingen", "trainings")
def training_command(ctx: SlackContext, ack: Ack, command: dict, respond: Any, rest: str) -> None:
    user = command["user_id"]
    _ = ctx.tr(user)
    word = rest.strip().lower()
    with Session(ctx.core.engine) as session:
        actor = access.actor(session, user)
    if word in {"lijst", "list"} or (not word and not training.is_organiser(actor)):
        ack(text=_("Trainings"), blocks=list_blocks(ctx, _, user, actor)[:50])
        return
    if word in {"cijfers", "stats"}:
        shown = training.figures(ctx.core, user)  # who may see them, and the audit entry: the core's
        if not shown.ok:
            ack(text=outcome_message(_, shown))
        else:
            ack(text=_("Trained in the last 12 months"), blocks=figures_blocks(ctx, _, shown))
        return
    if not training.is_organiser(actor):
        ack(text=outcome_message(_, DENIED))
        return
    ack()
    _open(ctx, command["trigger_id"], user, None, command.get("channel_id"))


def _open(ctx: SlackContext, trigger_id: str, user: str, session_id: int | None, channel: str | None) -> None:
    """In the listener: the trigger_id expires 3 s after the click. Only a refusal waits for the ack."""
    _ = ctx.tr(user)
    with Session(ctx.core.engine) as session:
        actor = access.actor(session, user)
        t = session.get(TrainingSession, session_id) if session_id else None
        if session_id and (t is None or not training.may_manage(actor, t)):
            ctx.ephemeral_after_ack(channel, user, outcome_message(_, Result(False, error=Error.UNKNOWN if t is None
                                                                               else "denied")))
            return
        view = training_modal(_, session, actor, t)
    try:
        ctx.client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as exc:
        log.warning("views.open failed: %s", exc.response.get("error"))
        ctx.ephemeral_after_ack(channel, user, _("The form could not be opened (Slack was too slow). Please try "
                                                 "again."))


def _session_id(body: dict) -> int | None:
    value = (body.get("actions") or [{}])[0].get("value") or ""
    return int(value) if value.isdigit() else None


@hooks.feature
def register(ctx: SlackContext, app: App) -> None:
    core = ctx.core

    @ctx.work_fn
    def _answer(body: dict, answer: str) -> None:
        user = body["user"]["id"]
        sid = _session_id(body)
        outcome = training.rsvp(core, sid, user, answer) if sid else Result(False, error=Error.UNKNOWN)
        ctx.ephemeral(container_channel(body), user, outcome_message(ctx.tr(user), outcome), container_thread(body))

    @app.action("training:yes")
    def on_yes(ack: Ack, body: dict) -> None:
        ack()
        ctx.after_ack(_answer, body, "yes")

    @app.action("training:no")
    def on_no(ack: Ack, body: dict) -> None:
        ack()
        ctx.after_ack(_answer, body, "no")

    @app.action("training:new")
    def on_new(ack: Ack, body: dict) -> None:
        ack()
        user = body["user"]["id"]
        with Session(core.engine) as session:
            actor = access.actor(session, user)
        if not training.is_organiser(actor):
            ctx.ephemeral_after_ack(container_channel(body), user,
                                    outcome_message(ctx.tr(user), DENIED))
            return
        _open(ctx, body["trigger_id"], user, None, container_channel(body))

    @app.action("training:edit")
    def on_edit(ack: Ack, body: dict) -> None:
        ack()
        _open(ctx, body["trigger_id"], body["user"]["id"], _session_id(body) or -1, container_channel(body))

    @app.action("training:cancel")
    def on_cancel(ack: Ack, body: dict) -> None:
        ack()
        ctx.after_ack(_cancel, body)

    @ctx.work_fn
    def _cancel(body: dict) -> None:
        user = body["user"]["id"]
        _ = ctx.tr(user)
        sid = _session_id(body)
        outcome = training.cancel(core, sid, user) if sid else Result(False, error=Error.UNKNOWN)
        text = _.ngettext("The training is cancelled; {count} person who said they would come gets a message.",
                          "The training is cancelled; {count} people who said they would come get a message.",
                          outcome.data.get("told", 0)) if outcome.ok else outcome_message(_, outcome)
        ctx.ephemeral(container_channel(body), user, text, container_thread(body))

    @app.action("training:attendance")
    def on_attendance(ack: Ack, body: dict) -> None:
        ack()
        user = body["user"]["id"]
        _ = ctx.tr(user)
        sid = _session_id(body) or -1
        checked = training.check_attendance(core, sid, user)
        if not checked.ok:
            ctx.ephemeral_after_ack(container_channel(body), user, outcome_message(_, checked),
                                    container_thread(body))
            return
        with Session(core.engine) as session:
            t = session.get(TrainingSession, sid)
            assert t is not None
            yes, attended, walk_ins = training.attendance_candidates(session, sid)
            view = attendance_modal(_, t, yes, attended, walk_ins, core.settings.tz)
        try:
            ctx.client.views_open(trigger_id=body["trigger_id"], view=view)
        except SlackApiError as exc:
            log.warning("views.open failed: %s", exc.response.get("error"))
            ctx.ephemeral_after_ack(container_channel(body), user,
                                    _("The form could not be opened (Slack was too slow). Please try again."))

    def _submit(ack: Ack, body: dict, view: dict, editing: bool) -> None:
        """Checked here, so the form shows what is wrong; planned or changed after the ack (announcing
        a training to its whole audience is the slow part)."""
        user = body["user"]["id"]
        _ = ctx.tr(user)
        values = _values(view)
        data = training_input(values)
        sid = int(json.loads(view.get("private_metadata") or "{}").get("s") or 0) if editing else None
        if sid is None:
            checked = training.check_create(core, user, data)
        else:
            checked = training.check_update(core, sid, user, data)
        if checked.problems:
            errors: dict[str, str] = {}
            for p in checked.problems:
                block = p.field if p.field in FIELDS else "title"
                errors.setdefault(block, m.clip(p.text(_), 2000))
            ack(response_action="errors", errors=errors)
            return
        if not checked.ok:
            ack(response_action="errors", errors={"title": m.clip(outcome_message(_, checked), 2000)})
            return
        ack()
        ctx.after_ack(_save, user, values, sid)

    @ctx.work_fn
    def _save(user: str, values: dict[str, dict], sid: int | None) -> None:
        _ = ctx.tr(user)
        data = training_input(values)
        outcome = training.create(core, user, data) if sid is None else training.update(core, sid, user, data)
        if not outcome.ok:  # changed since the check (it started, was cancelled, or is no longer yours)
            text = refusal_text(_, outcome)
        elif sid is None:
            text = _.ngettext("The training is planned. {count} person gets the invitation.",
                              "The training is planned. {count} people get the invitation.",
                              outcome.data.get("announced", 0))
        else:
            text = _.ngettext("The training is changed; {count} person who said they would come gets a message.",
                              "The training is changed; {count} people who said they would come get a message.",
                              outcome.data.get("told", 0))
        ctx.ephemeral(None, user, text)

    @app.view(CREATE_CALLBACK)
    def on_create(ack: Ack, body: dict, view: dict) -> None:
        _submit(ack, body, view, editing=False)

    @app.view(EDIT_CALLBACK)
    def on_edit_submit(ack: Ack, body: dict, view: dict) -> None:
        _submit(ack, body, view, editing=True)

    @app.view(ATTENDANCE_CALLBACK)
    def on_attendance_submit(ack: Ack, body: dict, view: dict) -> None:
        user = body["user"]["id"]
        _ = ctx.tr(user)
        sid = int(json.loads(view.get("private_metadata") or "{}").get("s") or 0)
        attended: list[str] = []
        walk_ins: list[str] = []
        for block_id, actions in _values(view).items():
            state = actions.get("value") or {}
            if block_id.startswith("att:"):
                attended += [o["value"] for o in state.get("selected_options") or []]
            elif block_id == "walkins":
                walk_ins += list(state.get("selected_users") or [])
        checked = training.check_attendance(core, sid, user)
        if not checked.ok:
            ack(response_action="errors", errors={"walkins": m.clip(outcome_message(_, checked), 2000)})
            return
        ack()
        ctx.after_ack(_save_attendance, user, sid, attended, walk_ins)

    @ctx.work_fn
    def _save_attendance(user: str, sid: int, attended: list[str], walk_ins: list[str]) -> None:
        _ = ctx.tr(user)
        outcome = training.record_attendance(core, sid, user, attended, walk_ins)
        if outcome.ok:
            text = _.ngettext("Attendance saved: {count} person attended.",
                              "Attendance saved: {count} people attended.", outcome.data.get("attended", 0))
        else:  # changed since the check (cancelled, or no longer yours)
            text = refusal_text(_, outcome)
        ctx.ephemeral(None, user, text)

