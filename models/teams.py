"""What the Teams edge must remember to send to a conversation: Teams answers at the `serviceUrl`
each activity names, not at one fixed address, and a person's 1:1 chat with the bot has an id of its
own. Learned from the activities Teams sends (a message, the app's installation in a team)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow


class TeamsConversation(SQLModel, table=True):
    """A Teams conversation the bot can post to: a person's 1:1 chat (`user_id`, their person key) or a
    channel or group chat. Holds ids and an address only, no content."""

    id: int | None = Field(default=None, primary_key=True)
    conversation_id: str = Field(unique=True, max_length=500)  # Teams' ids are long (a:…, 19:…@thread.tacv2)
    service_url: str = Field(max_length=500)
    tenant: str = Field(default="", max_length=255)
    kind: str = Field(max_length=20)  # personal | channel | groupChat
    user_id: str | None = Field(default=None, max_length=255, index=True)  # personal: whose chat (a person key)
    member_id: str | None = Field(default=None, max_length=255)  # personal: the person's 29: id
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
