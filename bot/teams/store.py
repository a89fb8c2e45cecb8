"""Where the Teams edge sends: the conversations it learned from activities (models.teams)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from models.teams import TeamsConversation


def remember(session: Session, conversation: str, service_url: str, tenant: str, kind: str,
             user_id: str | None, member_id: str | None, now: datetime) -> None:
    """Record (or bring up to date) a conversation's address; safe when two requests do it at once."""
    values = {"conversation_id": conversation[:500], "service_url": service_url[:500], "tenant": tenant[:255],
              "kind": kind[:20], "user_id": user_id, "member_id": member_id, "updated_at": now}
    dialect = session.get_bind().dialect.name
    insert = (sqlite_insert if dialect == "sqlite" else postgresql_insert)(TeamsConversation).values(**values)
    session.execute(insert.on_conflict_do_update(
        index_elements=["conversation_id"],
        set_={k: v for k, v in values.items() if k != "conversation_id" and (v is not None or k == "updated_at")}))


def address(session: Session, conversation: str) -> TeamsConversation | None:
    """A conversation by its id; a channel's reply chain (`…;messageid=…`) by its channel."""
    base = conversation.split(";messageid=", 1)[0]
    return session.exec(select(TeamsConversation).where(TeamsConversation.conversation_id == base)).first()


def personal_chat(session: Session, user_id: str) -> TeamsConversation | None:
    return session.exec(select(TeamsConversation).where(
        TeamsConversation.user_id == user_id, TeamsConversation.kind == "personal")
        .order_by(col(TeamsConversation.updated_at).desc())).first()


def service_url_of_tenant(session: Session, tenant: str) -> str | None:
    """The address Teams last used for this tenant (it is per region, the same for its conversations)."""
    return session.exec(select(TeamsConversation.service_url).where(TeamsConversation.tenant == tenant)
                        .order_by(col(TeamsConversation.updated_at).desc())).first()
