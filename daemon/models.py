"""The database schema as typed SQLAlchemy 2 models; Alembic (``migrations/``) creates it.

Events are appended, decisions derived: ``messages`` (raw bytes kept), ``locations`` (where
each message was seen on the server, and whether it was moved), ``outcomes`` (one per
recipient per message) and ``address_actions`` (manual suppress/release) are never rewritten
except by ``reclassify``; ``addresses`` is the policy's current decision per address, and can
always be recomputed from those events. Unique keys make double counting impossible.
"""
from __future__ import annotations

from datetime import datetime, timezone
from enum import StrEnum

from sqlalchemy import (
    BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, MetaData, String,
    Text, UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Disposition(StrEnum):
    """Where a message goes on the server once it is recorded."""

    PROCESSED = "processed"   # bounce, delay, delivered, complaint, autoreply
    UNPARSED = "unparsed"     # the matcher could not decode it, it was too big, or it failed
    OTHER = "other"           # not a bounce: leave it, or move it to ``other_folder``


class AddressState(StrEnum):
    ACTIVE = "active"
    SUPPRESSED = "suppressed"
    RELEASED = "released"     # released by hand; only new evidence suppresses it again


class ManualAction(StrEnum):
    SUPPRESS = "suppress"
    RELEASE = "release"


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: use an aware UTC datetime")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Message(Base):
    """One stored message, unique by content; ``raw`` is kept for evidence and reclassify."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    kind: Mapped[str] = mapped_column(String(32))           # a Kind, or "oversized" / "error"
    decoded_by: Mapped[str] = mapped_column(Text, default="")
    disposition: Mapped[str] = mapped_column(String(16))     # a Disposition
    message_id: Mapped[str] = mapped_column(Text, default="")           # the NDR's Message-ID
    original_message_id: Mapped[str] = mapped_column(Text, default="")  # the bounced message's
    list_id: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")     # why it could not be classified
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # Date:, <= recorded_at
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    classified_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_mailbox: Mapped[str] = mapped_column(String(512))  # where it was first seen

    outcomes: Mapped[list[Outcome]] = relationship(
        back_populates="message", cascade="all, delete-orphan", passive_deletes=True,
        order_by="Outcome.id",
    )
    locations: Mapped[list[Location]] = relationship(back_populates="message")


class Location(Base):
    """A message seen at (mailbox, UIDVALIDITY, UID); ``moved_at`` is set once it was moved."""

    __tablename__ = "locations"
    __table_args__ = (UniqueConstraint("mailbox", "uidvalidity", "uid"),
                      Index("ix_locations_pending", "mailbox", "uidvalidity", "moved_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    mailbox: Mapped[str] = mapped_column(String(512))        # "account/folder"
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    uid: Mapped[int] = mapped_column(BigInteger)
    message_pk: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"), index=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    moved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    message: Mapped[Message] = relationship(back_populates="locations")


class Outcome(Base):
    """What one message says happened to one recipient."""

    __tablename__ = "outcomes"
    __table_args__ = (UniqueConstraint("message_pk", "recipient"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_pk: Mapped[int] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    recipient: Mapped[str] = mapped_column(String(320), index=True)  # normalised when valid
    valid: Mapped[bool] = mapped_column(Boolean)             # a well-formed address
    reason: Mapped[str] = mapped_column(String(32))
    hard: Mapped[bool] = mapped_column(Boolean)
    action: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(Text, default="")
    reply_code: Mapped[str] = mapped_column(Text, default="")
    diagnostic: Mapped[str] = mapped_column(Text, default="")
    remote_mta: Mapped[str] = mapped_column(Text, default="")
    command: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    message: Mapped[Message] = relationship(back_populates="outcomes")


class Address(Base):
    """The policy's current decision for one address (derived; see ``daemon.policy``)."""

    __tablename__ = "addresses"
    __table_args__ = (Index("ix_addresses_state_reason", "state", "reason"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(320), unique=True)
    state: Mapped[str] = mapped_column(String(16))               # an AddressState
    reason: Mapped[str] = mapped_column(String(32), default="")  # why suppressed
    status: Mapped[str] = mapped_column(Text, default="")
    reply_code: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    manual: Mapped[bool] = mapped_column(Boolean, default=False)  # the state was set by hand
    first_seen: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    bounce_count: Mapped[int] = mapped_column(Integer, default=0)  # hard + soft failures
    soft_count: Mapped[int] = mapped_column(Integer, default=0)
    suppressed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    source_message_pk: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), nullable=True)
    source_message_id: Mapped[str] = mapped_column(Text, default="")  # Message-ID of that NDR
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AddressAction(Base):
    """A manual suppress or release, kept forever (the policy replays them)."""

    __tablename__ = "address_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(320), index=True)
    action: Mapped[str] = mapped_column(String(16))           # a ManualAction
    reason: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MailboxState(Base):
    """Cursor and poll health of one mailbox ("account/folder")."""

    __tablename__ = "mailbox_state"

    mailbox: Mapped[str] = mapped_column(String(512), primary_key=True)
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    last_poll_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_error_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    backlog: Mapped[int] = mapped_column(Integer, default=0)


class Counter(Base):
    """A running count that ``status`` reads instead of counting history (``daemon.counters``)."""

    __tablename__ = "counters"

    scope: Mapped[str] = mapped_column(String(512), primary_key=True)   # "", "addresses", a mailbox
    name: Mapped[str] = mapped_column(String(128), primary_key=True)    # e.g. "kind:bounce"
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class OutboxEvent(Base):
    """A suppression or a release to push to the webhook, written in the same transaction as
    the decision (see ``daemon.webhook``); ``delivered_at`` is set once the receiver took it."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event: Mapped[str] = mapped_column(String(16))            # "suppressed" or "released"
    address: Mapped[str] = mapped_column(String(320))
    payload: Mapped[str] = mapped_column(Text)                # the JSON body, less its "id"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)


__all__ = [
    "Address", "AddressAction", "AddressState", "Base", "Counter", "Disposition", "Location",
    "MailboxState", "ManualAction", "Message", "NAMING_CONVENTION", "Outcome", "OutboxEvent",
    "UTCDateTime",
]
