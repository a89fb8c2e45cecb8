"""App Home: what each person needs at a glance. The AF and backup see their municipality's open
cases (reference, status, age, next deadline, overdue, a link to the case card); a reporter their
own signals; the ketenregisseur this month's figures (aggregates only); then every feature's own
section (`@hooks.home_section`, e.g. trainings). References only, never case content; each view that
shows case references is audited."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlmodel import Session, col, select

from bot.core import access, audit, stats
from bot.i18n import Translate
from bot.slack import hooks
from bot.slack import mrkdwn as m
from bot.slack.case_views import STATUS_LABELS as CASE_STATUS_LABELS
from bot.slack.common import SlackContext
from bot.slack.stats_views import stats_blocks
from bot.slack.triage import status_blocks
from flows.permissions import Actor, Role
from models import MessageRef, Municipality, Signal
from models.db import session_scope

log = logging.getLogger(__name__)
MAX_BLOCKS = 100
CASES_SHOWN = 15


def case_link(ctx: SlackContext, session: Session, signal: Signal, user: str, channel: str | None) -> str | None:
    """A link to the signal's case card: the one in the municipality's channel, else the user's own DM."""
    cards = session.exec(select(MessageRef).where(MessageRef.signal_id == signal.id, MessageRef.kind == "case_card",
                                                  col(MessageRef.message_id).is_not(None))).all()
    card = next((c for c in cards if channel and c.conversation == channel), None) or next(
        (c for c in cards if c.recipient == user), None)
    if card is None or not card.conversation or not card.message_id:
        return None
    try:
        return str(ctx.client.chat_getPermalink(channel=card.conversation, message_ts=card.message_id)["permalink"])
    except SlackApiError as exc:
        log.warning("chat.getPermalink failed: %s", exc.response.get("error"))
        return f"https://slack.com/archives/{card.conversation}/p{card.message_id.replace('.', '')}"


def case_line(ctx: SlackContext, session: Session, _: Translate, signal: Signal, link: str | None,
              now: datetime) -> str:
    cal = stats.calendar_for(ctx.core.settings)
    ref = f"<{link}|{signal.reference}>" if link else signal.reference
    submitted = signal.submitted_at or signal.created_at
    days = max(0, (now - submitted).days)
    parts = [f"*{ref}*", _(CASE_STATUS_LABELS.get(signal.status, signal.status)),
             _.ngettext("{count} day old", "{count} days old", days)]
    due = stats.next_due(session, signal, now, cal)
    if due is not None:
        parts.append(_("next deadline {when}", when=m.date(due, ctx.core.settings.tz)))
    if signal.acute:
        parts.insert(1, "🚨 " + _("acute"))
    line = " · ".join(parts)
    if stats.is_overdue(session, signal, now, cal):
        overdue = _("overdue")
        return f"⚠️ {line} · *{overdue}*"
    return line


def af_section(ctx: SlackContext, session: Session, _: Translate, user: str, actor: Actor, now: datetime,
               shown: list[str]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    for muni in session.exec(select(Municipality).order_by(col(Municipality.name))).all():
        if not actor.handles(muni.name):
            continue
        cases = session.exec(select(Signal).where(
            Signal.municipality_id == muni.id, col(Signal.status).in_(["new", "in_progress"]),
            col(Signal.purged_at).is_(None)).order_by(col(Signal.submitted_at))).all()
        blocks.append(m.header(_("Open cases — {municipality}", municipality=muni.name)))
        if not cases:
            blocks.append(m.section(_("No open cases. New signals appear here and in the case channel.")))
            continue
        for signal in cases[:CASES_SHOWN]:
            link = case_link(ctx, session, signal, user, muni.conversation)
            blocks.append(m.section(case_line(ctx, session, _, signal, link, now)))
            shown.append(signal.reference)
        if len(cases) > CASES_SHOWN:
            blocks.append(m.context(_.ngettext("And {count} more: the oldest are shown first.",
                                               "And {count} more: the oldest are shown first.",
                                               len(cases) - CASES_SHOWN)))
    return blocks


def reporter_section(ctx: SlackContext, session: Session, _: Translate, user: str,
                     shown: list[str]) -> list[dict[str, Any]]:
    own = list(session.exec(select(Signal).where(
        Signal.reporter_id == user, col(Signal.status).in_(["draft", "new", "in_progress", "closed"]),
        col(Signal.purged_at).is_(None)).order_by(col(Signal.id).desc()).limit(10)).all())
    shown += [s.reference for s in own]
    if not own:
        return [m.section("*" + _("Your signals") + "*"), *status_blocks(ctx, _, own)]
    return status_blocks(ctx, _, own)


def figures_section(ctx: SlackContext, session: Session, _: Translate, now: datetime) -> list[dict[str, Any]]:
    settings = ctx.core.settings
    start, end = stats.month_bounds(now.astimezone(settings.tz).date(), settings.tz)
    report = stats.compute(session, start, end, now, limit=stats.threshold(settings),
                           cal=stats.calendar_for(settings))
    return [m.header(_("This month's figures")), *stats_blocks(_, report, ctx.core.questionnaire, settings.tz)]


def build_home(ctx: SlackContext, user: str) -> dict[str, Any]:
    _ = ctx.tr(user)
    now = ctx.core.clock.now()
    shown: list[str] = []
    with session_scope(ctx.core.engine) as session:
        actor = access.actor(session, user)
        blocks: list[dict[str, Any]] = [m.section("*Signaalbot* — " + _(
            "report a suspicion of human trafficking with /signaal. If a life is in danger, call 112 first."))]
        if actor.has(Role.AF) or actor.has(Role.BACKUP):
            blocks += af_section(ctx, session, _, user, actor, now, shown)
        if actor.has(Role.KETENREGISSEUR):
            blocks += figures_section(ctx, session, _, now)
        blocks += [m.divider(), *reporter_section(ctx, session, _, user, shown)]
        for section in ctx.registry.home_sections:
            try:
                blocks += section(ctx, user, actor) or []
            except Exception:  # noqa: BLE001 - one broken section must not blank the whole Home tab
                log.exception("App Home section %s failed", getattr(section, "__name__", section))
        if shown:
            audit.record(session, user, "home.viewed", subject=user, at=now, references=shown)
    if len(blocks) > MAX_BLOCKS:
        blocks = [*blocks[:MAX_BLOCKS - 1], m.context(_("Not everything fits here; see the case channel."))]
    return {"type": "home", "blocks": blocks}


@hooks.thread_reply("app_home")
def on_home(ctx: SlackContext, event: dict, _root: Any) -> None:
    if event.get("tab", "home") != "home":
        return
    user = event["user"]
    ctx.refresh_locale(user)
    view = build_home(ctx, user)
    try:
        ctx.client.views_publish(user_id=user, view=view)
    except SlackApiError as exc:
        log.warning("views.publish failed: %s", exc.response.get("error"))

