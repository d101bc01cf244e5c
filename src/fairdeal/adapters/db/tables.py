"""The schema. Aggregates are stored as one JSON document per row (loaded in one query, written
in one statement), with the columns that queries filter or sort on projected beside it and
indexed. See docs/adr/0001-aggregate-documents.md."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored with time zone where the database has one, and always read back as
    aware UTC (SQLite hands back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Document: Any = JSON().with_variant(JSONB(), "postgresql")

users = Table(
    "users",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("role", String(20), nullable=False),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False, index=True),
    Column("external_id", String(255)),
    Column("country", String(2)),
    Column("language", String(16)),
    Column("time_zone", String(64)),
    Column("password_hash", String(255)),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
)

orders = Table(
    "orders",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("buyer_id", String(40), nullable=False, index=True),
    Column("seller_id", String(40), nullable=False, index=True),
    Column("status", String(32), nullable=False),
    Column("version", Integer, nullable=False),
    Column("fire_at", UTCDateTime),
    Column("doc", Document, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # The hash of the last entry of this order's ledger chain (ADR 0003): a chain that ends
    # anywhere else lost its tail.
    Column("ledger_head", String(64)),
    # How many entries that chain has (its last entry's chain_seq), read with the order so
    # that an append needs no read of the chain's tail. NULL: not known (a row written by
    # code older than migration 0012, or loaded by hand); the tail is read then.
    Column("ledger_seq", Integer),
    Index("ix_orders_fire_at", "fire_at"),
)

disputes = Table(
    "disputes",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("order_id", String(40), nullable=False, index=True),
    Column("buyer_id", String(40), nullable=False),
    Column("seller_id", String(40), nullable=False),
    Column("status", String(32), nullable=False),
    Column("mediator_id", String(40)),
    Column("version", Integer, nullable=False),
    Column("fire_at", UTCDateTime),
    Column("deadline_at", UTCDateTime),
    Column("doc", Document, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # The hash of the last entry of the timeline chain in ``doc`` (ADR 0003).
    Column("timeline_head", String(64)),
    # What the metrics aggregate (adapters/db/projections.py, docs/metrics.md; migration 0007).
    Column("reason", String(64)),
    Column("escalated_at", UTCDateTime),
    Column("closed_at", UTCDateTime),
    Column("result", String(20)),
    Column("refund_minor", BigInteger),
    Column("buyer_warnings", Integer, nullable=False, server_default=text("0")),
    Column("seller_warnings", Integer, nullable=False, server_default=text("0")),
    # What the inbox and the mediator queue show of the dispute (services.reports.summary_of,
    # as adapters/db/projections.summary_document; migration 0011, docs/web.md).
    Column("summary", Document),
    Index("ix_disputes_fire_at", "fire_at"),
    Index("ix_disputes_buyer_id_created", "buyer_id", "id"),
    Index("ix_disputes_seller_id_created", "seller_id", "id"),
    Index("ix_disputes_status_deadline", "status", "deadline_at"),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("txn_id", String(40), nullable=False, index=True),
    Column("order_id", String(40), nullable=False, index=True),
    Column("dispute_id", String(40)),
    Column("movement", String(16), nullable=False),
    Column("account", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # Each order's entries are a hash chain (ADR 0003): the entry's position in its order's
    # chain (1, 2, ...) and sha256 over the previous entry's hash and this entry's content.
    # The unique pair is also what stops two writers from forking one order's chain.
    Column("chain_seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("order_id", "chain_seq"),
)

events = Table(
    "events",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("id", String(40), nullable=False, unique=True),
    Column("type", String(64), nullable=False),
    Column("aggregate_id", String(40), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("data", Document, nullable=False),
    # Who acted (a role) and the event's class, for the notification relay. Columns rather
    # than keys inside ``data``: the payload stays exactly what the feed and webhooks show,
    # with nothing for every reader to strip. NULL on rows written before migration 0010.
    Column("actor", String(16)),
    Column("event_class", String(64)),
    # The feed's order: assigned after commit by whoever reads the feed, under a lock, so that
    # an event committed late never lands behind a cursor a reader already passed.
    Column("position", BigInteger, unique=True),
    Index(
        "ix_events_unpublished",
        "seq",
        postgresql_where=text("position IS NULL"),
        sqlite_where=text("position IS NULL"),
    ),
)

files = Table(
    "files",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("owner_id", String(40), nullable=False, index=True),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("storage_key", String(255), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

sandbox_clock = Table(
    "sandbox_clock",
    metadata,
    Column("id", Integer, primary_key=True),
    # The sandbox time is the real time plus this offset, so it keeps moving between advances.
    Column("offset_seconds", BigInteger, nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("user_id", String(40), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("request_hash", String(64), nullable=False),
    Column("status_code", Integer),
    Column("response_body", Text),
    Column("response_headers", Document),
    Column("created_at", UTCDateTime, nullable=False, index=True),
)


# --- notifications: the relay's cursor over the event feed, what it fans out (deliveries and
# in-app notifications), the reminder schedule and the marketplace's webhook endpoints. See
# docs/notifications.md.

relay_cursors = Table(
    "relay_cursors",
    metadata,
    Column("name", String(40), primary_key=True),
    # The feed position of the last event fanned out.
    Column("position", BigInteger, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("owner_id", String(40), nullable=False, index=True),
    Column("url", String(2048), nullable=False),
    Column("events", Document, nullable=False),
    Column("secret", String(100), nullable=False),
    Column("status", String(16), nullable=False),  # active | disabled
    # Set by the first failure after the last success; three days of it disable the endpoint.
    Column("failing_since", UTCDateTime),
    Column("disabled_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    # After a rotation the old secret keeps signing (a second v1 signature) until then.
    Column("previous_secret", String(100)),
    Column("previous_secret_until", UTCDateTime),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("event_id", String(40), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("channel", String(16), nullable=False),  # email | webhook
    Column("target", String(40), nullable=False),  # the user (email) or the endpoint (webhook)
    Column("address", String(2048), nullable=False),  # the email address or the URL
    Column("message_id", String(255), nullable=False),  # the same on every attempt
    Column("payload", Text, nullable=False),  # the webhook body as sent, or the email's parts
    Column("status", String(16), nullable=False),  # pending | sent | failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("claim", String(40)),  # the claim of the worker sending it now
    Column("last_error", Text),
    Column("last_status_code", Integer),
    Column("created_at", UTCDateTime, nullable=False),
    Column("first_attempt_at", UTCDateTime),
    Column("sent_at", UTCDateTime),
    UniqueConstraint("event_id", "channel", "target"),
    Index(
        "ix_deliveries_due",
        "next_attempt_at",
        "seq",
        postgresql_where=text("status = 'pending'"),
        sqlite_where=text("status = 'pending'"),
    ),
    Index("ix_deliveries_target_seq", "target", "seq"),
)

reminders = Table(
    "reminders",
    metadata,
    # One reminder at most per deadline: the key is the deadline itself.
    Column("dispute_id", String(40), primary_key=True),
    Column("kind", String(32), primary_key=True),
    Column("due_at", UTCDateTime, primary_key=True),
    Column("party", String(16), nullable=False),
    Column("remind_at", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),  # scheduled | sent | cancelled | skipped
    Column("event_id", String(40)),
    Column("created_at", UTCDateTime, nullable=False),
    Index(
        "ix_reminders_due",
        "remind_at",
        postgresql_where=text("status = 'scheduled'"),
        sqlite_where=text("status = 'scheduled'"),
    ),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("user_id", String(40), nullable=False),
    Column("event_id", String(40), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("dispute_id", String(40)),
    Column("title", String(300), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("read_at", UTCDateTime),
    UniqueConstraint("user_id", "event_id"),
    Index("ix_notifications_user_id_id", "user_id", "id"),
)

# Signed-in web sessions, by the hash of the cookie's random nonce: a cookie is only as good as
# its row, so logging out (or disabling the user) ends it even though the cookie is still
# validly signed (migration 0005).
web_sessions = Table(
    "web_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", String(40), nullable=False, index=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
)

# Consecutive failed sign-ins per email typed (its hash: unknown emails are counted the same
# way, so the lockout does not tell which accounts exist), for the lockout with backoff.
login_failures = Table(
    "login_failures",
    metadata,
    Column("key_hash", String(64), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("last_failed_at", UTCDateTime, nullable=False, index=True),
    Column("locked_until", UTCDateTime),
)

# --- money movements (migration 0006, docs/payments.md) ------------------------------------

# One row per refund or payout: the movement as a document (ADR 0001), with the columns the
# worker claims by (``due_at``: when it next needs a worker) and the lists filter on.
money_movements = Table(
    "money_movements",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("order_id", String(40), nullable=False, index=True),
    Column("dispute_id", String(40)),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("provider", String(16), nullable=False),
    # Claimed: the lease's end in real time; else the next attempt on the clock (sandbox).
    Column("due_at", UTCDateTime),
    # The lease alone, so that a claim judges it in real time (MoneyMovement.claimed_until).
    Column("claimed_until", UTCDateTime),
    Column("expected_by", UTCDateTime),
    Column("version", Integer, nullable=False),
    Column("doc", Document, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_money_movements_due_at", "due_at"),
    Index("ix_money_movements_status_id", "status", "id"),
)

# What the sandbox payment provider holds: its own records, written in its own transactions
# as a real provider's would be -- deliberately without a unique movement id, so that a
# double submission would show as two records (the crash tests count them).
sandbox_payments = Table(
    "sandbox_payments",
    metadata,
    Column("reference", String(40), primary_key=True),
    Column("movement_id", String(40), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("payment_reference", String(255), nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("status", String(16), nullable=False),
    Column("failure", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("confirm_at", UTCDateTime, nullable=False),
)
