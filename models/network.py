"""The regional network: municipalities, partner organisations, people and their roles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import UTCDateTime, utcnow


class Municipality(SQLModel, table=True):
    """A gemeente (municipality); (`platform`, `conversation`) is its optional private place for case
    cards (a Slack channel, a Teams channel)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, index=True, max_length=100)
    platform: str = Field(default="slack", max_length=20, sa_column_kwargs={"server_default": "slack"})
    conversation: str | None = Field(default=None, max_length=255)


class Partner(SQLModel, table=True):
    """A chain partner (ketenpartner) such as AVIM, ZoCo or the Arbeidsinspectie."""

    key: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)


class Person(SQLModel, table=True):
    """Someone the bot knows and what we remember of them. `user_id` is the person key every other
    table names them by (`reporter_id`, `claimed_by`, `actor_id`…): opaque and platform-neutral. How
    a platform knows them are their `Identity` rows (bot.core.people.resolve maps one to the key)."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(unique=True, index=True, max_length=255)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=254)
    locale: str | None = Field(default=None, max_length=10)
    locale_checked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    municipality_id: int | None = Field(default=None, foreign_key="municipality.id")
    in_network: bool = Field(default=False)
    network_role: str | None = Field(default=None, max_length=40)
    left_network_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Identity(SQLModel, table=True):
    """How one platform knows a person: (`platform`, `tenant`, `external_id`): ('slack', team id,
    user id), ('teams', Entra tenant id, AAD object id). `tenant` is '' while not known (rows made
    from the network file or from a person key). Deleted with the person."""

    __table_args__ = (UniqueConstraint("platform", "external_id", "tenant"),)

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", ondelete="CASCADE", index=True)
    platform: str = Field(max_length=20)
    tenant: str = Field(default="", max_length=255)
    external_id: str = Field(max_length=255)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Since when the bot cannot open a conversation with this person on this platform (Teams: the app is
    # not installed for them); None while reachable or not known otherwise (bot.core.reach).
    unreachable_since: datetime | None = Field(default=None, sa_type=UTCDateTime)


class RoleAssignment(SQLModel, table=True):
    """A role a person holds: af / backup for a municipality, partner member, ketenregisseur."""

    __table_args__ = (UniqueConstraint("user_id", "role", "municipality_id", "partner_key"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: str = Field(index=True, max_length=255)
    role: str = Field(max_length=40)
    municipality_id: int | None = Field(default=None, foreign_key="municipality.id", index=True)
    partner_key: str | None = Field(default=None, foreign_key="partner.key")
