"""`/signaal netwerk`: the ketenregisseur (everyone) and AFs (their municipality) add, change or
remove network members; `/signaal netwerk lijst` lists them."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk.errors import SlackApiError
from sqlmodel import Session, col, select

from bot.core import access, members, people
from bot.core.training import MEMBER_ROLES
from bot.i18n import Translate
from bot.slack import hooks
from bot.slack import mrkdwn as m
from bot.slack.common import SlackContext
from bot.slack.render import RenderContext, Rendered, template
from flows.permissions import Actor, can_manage_members
from models import Partner, Person

log = logging.getLogger(__name__)
MEMBER_CALLBACK = "members:save"
BLOCKS = ("member", "role", "municipality", "partner", "action")


def member_modal(_: Translate, session: Session, actor: Actor) -> dict:
    def select_block(block_id: str, label: str, options: list[dict], optional: bool) -> dict:
        element: dict[str, Any] = {"type": "static_select", "action_id": "value", "options": options[:100]}
        return {"type": "input", "block_id": block_id, "label": m.plain(label), "element": element,
                "optional": optional}

    roles = [m.option(_(label), key) for key, label in MEMBER_ROLES.items()]
    munis = [m.option(mu.name, mu.name) for mu in people.municipalities(session)
             if can_manage_members(actor, mu.name)]
    partners = [m.option(p.name, p.key) for p in session.exec(select(Partner).order_by(col(Partner.name))).all()]
    blocks: list[dict] = [
        {"type": "input", "block_id": "member", "label": m.plain(_("Person")),
         "element": {"type": "users_select", "action_id": "value"}},
        select_block("role", _("Role in the network"), roles, optional=False),
    ]
    if munis:
        regional = bool(can_manage_members(actor, ""))  # the ketenregisseur may leave it empty
        blocks.append(select_block("municipality", _("Municipality"), munis, optional=regional))
    if partners:
        blocks.append(select_block("partner", _("Partner organisation"), partners, optional=True))
    save = m.option(_("Add or change"), "save")
    blocks.append({"type": "input", "block_id": "action", "label": m.plain(_("What do you want to do?")),
                   "element": {"type": "radio_buttons", "action_id": "value", "initial_option": save,
                               "options": [save, m.option(_("Remove from the network"), "remove",
                                                          _("Their training history is kept anonymously."))]}})
    return {"type": "modal", "callback_id": MEMBER_CALLBACK, "private_metadata": json.dumps({}),
            "title": m.plain(m.clip(_("Network member"), 24)), "submit": m.plain(m.clip(_("Save"), 24)),
            "close": m.plain(m.clip(_("Cancel"), 24)), "blocks": blocks}


def member_lines(_: Translate, session: Session, actor: Actor) -> list[str]:
    lines = []
    for mem in members.members(session, actor):
        parts = [_(MEMBER_ROLES.get(mem.role or "", "")) if mem.role in MEMBER_ROLES else (mem.role or "-"),
                 mem.municipality or _("regional"), mem.partner or ""]
        lines.append(f"• {m.mention(mem.user_id)} — " + ", ".join(p for p in parts if p))
    return lines


@hooks.subcommand("netwerk", "network")
def network_command(ctx: SlackContext, ack: Ack, command: dict, respond: Any, rest: str) -> None:
    user = command["user_id"]
    _ = ctx.tr(user)
    with Session(ctx.core.engine) as session:
        actor = access.actor(session, user)
        if not members.may_manage_someone(actor):
            ack(text=_("Only the ketenregisseur and attention officers manage the network."))
            return
        if rest.strip().lower() in {"lijst", "list"}:
            lines = member_lines(_, session, actor)
            text = "*" + _("Network members") + f" ({len(lines)})*\n" + ("\n".join(lines) or "—")
            ack(text=_("Network members"), blocks=[m.section(text)])
            return
        view = member_modal(_, session, actor)
    ack()
    try:
        ctx.client.views_open(trigger_id=command["trigger_id"], view=view)
    except SlackApiError as exc:
        log.warning("views.open failed: %s", exc.response.get("error"))
        ctx.ephemeral_after_ack(command.get("channel_id"), user,
                                _("The form could not be opened (Slack was too slow). Please try again."))


@hooks.feature
def register(ctx: SlackContext, app: App) -> None:
    @app.view(MEMBER_CALLBACK)
    def on_save(ack: Ack, body: dict, view: dict) -> None:
        """Checked here, so the form shows what is wrong; saved after the ack."""
        user = body["user"]["id"]
        _ = ctx.tr(user)
        values = (view.get("state") or {}).get("values") or {}

        def value(block: str) -> str | None:
            state = (values.get(block) or {}).get("value") or {}
            if "selected_user" in state:
                return state.get("selected_user")
            return (state.get("selected_option") or {}).get("value")

        chosen = {block: value(block) for block in BLOCKS}
        if chosen["action"] == "remove":
            checked = members.check_remove(ctx.core, user, chosen["member"] or "")
        else:
            checked = members.check_save(ctx.core, user, member_input(chosen))
        if not checked.ok:
            errors: dict[str, str] = {}
            for p in checked.problems:
                block = p.field if p.field in values else "member"
                errors.setdefault(block, m.clip(p.text(_), 2000))
            if not errors:
                errors["member"] = _("Only the ketenregisseur and attention officers manage the network.")
            ack(response_action="errors", errors=errors)
            return
        ack()
        ctx.after_ack(_save, user, chosen)

    @ctx.work_fn
    def _save(user: str, chosen: dict[str, str | None]) -> None:
        _ = ctx.tr(user)
        removing = chosen["action"] == "remove"
        if removing:
            outcome = members.remove(ctx.core, user, chosen["member"] or "")
        else:
            outcome = members.save(ctx.core, user, member_input(chosen))
        who = m.mention(outcome.data.get("user", ""))
        if not outcome.ok:  # changed since the check
            text = " ".join(p.text(_) for p in outcome.problems) or _(
                "Only the ketenregisseur and attention officers manage the network.")
        elif removing:
            text = _("{member} was removed from the network.", member=who)
        else:
            text = _("{member} is in the network.", member=who)
        ctx.ephemeral(None, user, text)


@template("unreachable_report")
def unreachable_report(ctx: RenderContext) -> Rendered:
    """To the ketenregisseur, once per person (bot.core.reach): whom the bot cannot send a message."""
    _ = ctx._
    text = _("Some people cannot be reached by the bot")
    lines = []
    for platform, user_id in ctx.msg.ref.get("people", []):
        name = ctx.session.exec(select(Person.name).where(Person.user_id == user_id)).first()
        lines.append(f"• {m.esc(name or user_id)} ({m.esc(platform)})")
    return Rendered(text, [
        m.section("*" + text + "*\n" + _(
            "The bot could not send these people a message: the app is not installed for them. Until it is, they "
            "get no case cards, reminders or invitations. Ask your IT department to install the app for them (an "
            "app setup policy in Teams).")),
        m.section("\n".join(lines) or "—"),
        m.context(_("You get this message once per person. `signaalbot network show` lists everyone the bot cannot "
                    "reach now.")),
    ])


def member_input(chosen: dict[str, str | None]) -> members.MemberInput:
    return members.MemberInput(user_id=chosen["member"], role=chosen["role"], municipality=chosen["municipality"],
                               partner=chosen["partner"])
