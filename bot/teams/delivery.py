"""The Teams side of the outbox: render a MessageRef as an Adaptive Card and post, update or redact
it through the Bot Connector, at the `serviceUrl` stored for its conversation (bot/teams/store.py).
A person's message goes to their 1:1 chat with the bot (opened through the connector when the bot
has none yet); 1:1 chats have no threads, so a reply goes into its root's conversation, and in a
channel into the root's reply chain."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
from sqlmodel import Session, col, select

from bot.config import Settings
from bot.core import people, platforms, reach
from bot.core.outbox import Delivered, NotReady, PermanentError, Refusal
from bot.i18n import translator
from bot.teams import (
    cards,
    case_cards,  # noqa: F401 - registers the case's cards (case_card, case_event, …)
    network_cards,  # noqa: F401 - registers the network's cards (reminders, partners, trainings, digest)
    store,
    words,  # noqa: F401 - registers the cards of the words training, netwerk and cijfers
)
from bot.teams.auth import BotToken
from bot.teams.connector import Connector
from flows.knowledge import Knowledge
from flows.questionnaire import Questionnaire
from models import Identity, MessageRef, Person

log = logging.getLogger(__name__)
TIMEOUT = 15.0


class TeamsDeliverer:
    def __init__(self, settings: Settings, questionnaire: Questionnaire,
                 now: Callable[[], datetime] | None = None, http: httpx.Client | None = None,
                 knowledge: Knowledge | None = None) -> None:
        self.settings = settings
        self.questionnaire = questionnaire
        self.knowledge = knowledge
        self.now = now or (lambda: datetime.now(UTC))
        # trust_env: HTTPS_PROXY is honoured (a municipality's proxy).
        self.http = http or httpx.Client(timeout=TIMEOUT, trust_env=True)
        self.token = BotToken(settings, self.http)
        self.connector = Connector(self.token, self.http)

    def close(self) -> None:
        self.token.close()
        self.http.close()

    def probe(self) -> None:
        """Whether the token endpoint takes our credentials again (Unauthorized while it does not)."""
        self.token.get(fresh=True)

    def __call__(self, session: Session, op: str, msg: MessageRef) -> Delivered:
        if msg.platform != platforms.TEAMS:
            raise PermanentError(f"not a Teams message: {msg.platform}"[:60])
        lang = people.language_of(session, msg.recipient, self.settings.language)
        _ = translator(lang)
        if op in ("update", "redact"):
            address = store.address(session, msg.conversation or "")
            if address is None or not msg.message_id:
                raise PermanentError("teams: conversation unknown", Refusal.PLACE_UNREACHABLE)
            # Once a tombstone, always a tombstone: a late update must not bring details back.
            out = (cards.tombstone(_) if op == "redact" or msg.redacted_at is not None
                   else cards.render(session, self.settings, self.questionnaire, msg, _, self.now, self.knowledge))
            self.connector.update(address.service_url, msg.conversation or "", msg.message_id, out.activity())
            return Delivered(msg.conversation, msg.message_id)
        out = cards.render(session, self.settings, self.questionnaire, msg, _, self.now, self.knowledge)
        conversation, post_to, service_url = self._where(session, msg)
        activity_id = self.connector.send(service_url, post_to, out.activity())
        return Delivered(conversation, activity_id)

    def _where(self, session: Session, msg: MessageRef) -> tuple[str, str, str]:
        """(the conversation the message is recorded in, where it is posted, its serviceUrl)."""
        if msg.parent_id:
            parent = session.get(MessageRef, msg.parent_id)
            if parent is None or not parent.message_id or not parent.conversation:
                raise NotReady()
            address = store.address(session, parent.conversation)
            if address is None:
                raise PermanentError("teams: conversation unknown", Refusal.PLACE_UNREACHABLE)
            if address.kind == "channel":  # a reply in the root post's reply chain
                return parent.conversation, f"{parent.conversation};messageid={parent.message_id}", address.service_url
            return parent.conversation, parent.conversation, address.service_url
        if msg.conversation:
            # A channel the bot has not heard from yet (the app was added to its team, but nobody wrote
            # there): Teams' address is the same for all of a tenant's conversations. When the app is
            # not in that team, the connector refuses (403): unreachable, the AFs get it directly.
            address = store.address(session, msg.conversation)
            service_url = (address.service_url if address is not None
                           else store.service_url_of_tenant(session, self.settings.teams_tenant_id or ""))
            if service_url is None:
                raise PermanentError("teams: no conversation with this tenant yet", Refusal.PLACE_UNREACHABLE)
            return msg.conversation, msg.conversation, service_url
        if not msg.recipient:
            raise PermanentError("teams: no recipient")
        chat = store.personal_chat(session, msg.recipient)
        if chat is not None:
            return chat.conversation_id, chat.conversation_id, chat.service_url
        return self._open_chat(session, msg.recipient)

    def _open_chat(self, session: Session, person: str) -> tuple[str, str, str]:
        """A 1:1 chat with someone who never wrote to the bot (an AF from the network file). Teams
        allows it only when the app is installed for them (an admin's app setup policy)."""
        identity = session.exec(select(Identity).join(Person, col(Identity.person_id) == Person.id).where(
            Person.user_id == person, Identity.platform == platforms.TEAMS).order_by(col(Identity.id))).first()
        if identity is None:
            raise PermanentError("teams: no Teams identity for this person")
        tenant = identity.tenant or self.settings.teams_tenant_id or ""
        service_url = store.service_url_of_tenant(session, tenant)
        if service_url is None:
            reach.mark_unreachable(session, person, platforms.TEAMS, self.now())
            raise PermanentError("teams: no conversation with this tenant yet", Refusal.PLACE_UNREACHABLE)
        member = identity.external_id
        try:
            conversation = self.connector.create_conversation(service_url, {
                "isGroup": False, "bot": {"id": f"28:{self.settings.teams_app_id}"}, "members": [{"id": member}],
                "tenantId": tenant, "channelData": {"tenant": {"id": tenant}}})
        except PermanentError as exc:
            if exc.refusal is Refusal.PLACE_UNREACHABLE:  # the app is not installed for them (403/404)
                reach.mark_unreachable(session, person, platforms.TEAMS, self.now())
            raise
        store.remember(session, conversation, service_url, tenant, "personal", person, member, self.now())
        reach.mark_reachable(session, person, platforms.TEAMS)
        return conversation, conversation, service_url
