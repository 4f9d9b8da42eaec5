"""Tables (SQLAlchemy Core). Alembic migrations are generated from this metadata."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

#: 64-bit ids on PostgreSQL; SQLite needs plain INTEGER for rowid aliasing.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: the same on SQLite (no tz) and PostgreSQL."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stored: datetime = value
        return stored.replace(tzinfo=UTC) if stored.tzinfo is None else stored.astimezone(UTC)


def _id() -> sa.Column[Any]:
    return sa.Column("id", BigId, primary_key=True, autoincrement=True)


def _int_keyed(name: str, *items: Any) -> sa.Table:
    """A table whose primary key is an integer ``id``: on SQLite it is AUTOINCREMENT, so an
    id is never handed out again after its row is deleted (issue 9). Without it SQLite
    gives the next row max(rowid)+1, and a client holding the id of a deleted server,
    webhook or bounce would silently reach the new row. PostgreSQL identity sequences
    never go back, so the flag only changes SQLite's DDL."""
    return sa.Table(name, metadata, _id(), *items, sqlite_autoincrement=True)


def _created() -> sa.Column[Any]:
    return sa.Column("created_at", UTCDateTime(), nullable=False)


account_tokens = sa.Table(
    "account_tokens", metadata,
    sa.Column("token", sa.String(64), primary_key=True),
    _created(),
)

servers = _int_keyed(
    "servers",
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("color", sa.String(20), nullable=False, default="Blue"),
    sa.Column("delivery_type", sa.String(10), nullable=False),
    sa.Column("smtp_api_activated", sa.Boolean, nullable=False, default=True),
    sa.Column("enable_smtp_api_error_hooks", sa.Boolean, nullable=False, default=False),
    sa.Column("raw_email_enabled", sa.Boolean, nullable=False, default=False),
    sa.Column("bounce_hook_url", sa.String(2000), nullable=False, default=""),
    sa.Column("delivery_hook_url", sa.String(2000), nullable=False, default=""),
    sa.Column("open_hook_url", sa.String(2000), nullable=False, default=""),
    sa.Column("click_hook_url", sa.String(2000), nullable=False, default=""),
    sa.Column("inbound_hook_url", sa.String(2000), nullable=False, default=""),
    sa.Column("post_first_open_only", sa.Boolean, nullable=False, default=False),
    sa.Column("track_opens", sa.Boolean, nullable=False, default=False),
    sa.Column("track_links", sa.String(20), nullable=False, default="None"),
    sa.Column("include_bounce_content_in_hook", sa.Boolean, nullable=False, default=False),
    sa.Column("inbound_domain", sa.String(255), nullable=False, default=""),
    sa.Column("inbound_hash", sa.String(64), nullable=False),
    sa.Column("inbound_spam_threshold", sa.Integer, nullable=False, default=0),
    _created(),
)

server_tokens = sa.Table(
    "server_tokens", metadata,
    sa.Column("token", sa.String(64), primary_key=True),
    sa.Column("server_id", BigId, sa.ForeignKey("servers.id", ondelete="CASCADE"),
              nullable=False, index=True),
    _created(),
)

message_streams = sa.Table(
    "message_streams", metadata,
    sa.Column("server_id", BigId, sa.ForeignKey("servers.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("id", sa.String(30), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("description", sa.String(1000), nullable=True),
    sa.Column("stream_type", sa.String(20), nullable=False),
    sa.Column("unsubscribe_handling", sa.String(20), nullable=False, default="None"),
    _created(),
    sa.Column("updated_at", UTCDateTime(), nullable=True),
    sa.Column("archived_at", UTCDateTime(), nullable=True),
)

messages = sa.Table(
    "messages", metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("server_id", BigId, sa.ForeignKey("servers.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("stream", sa.String(30), nullable=False),
    sa.Column("source", sa.String(8), nullable=False),
    sa.Column("from_field", sa.String(1000), nullable=False),
    sa.Column("to_field", sa.Text, nullable=False, default=""),
    sa.Column("cc_field", sa.Text, nullable=False, default=""),
    sa.Column("bcc_field", sa.Text, nullable=False, default=""),
    sa.Column("reply_to", sa.String(1000), nullable=False, default=""),
    sa.Column("subject", sa.String(2000), nullable=False, default=""),
    sa.Column("tag", sa.String(1000), nullable=False, default=""),
    sa.Column("metadata", sa.JSON, nullable=False, default=dict),
    sa.Column("headers", sa.JSON, nullable=False, default=list),
    sa.Column("text_body", sa.Text, nullable=True),
    sa.Column("html_body", sa.Text, nullable=True),
    sa.Column("attachments", sa.JSON, nullable=False, default=list),
    sa.Column("raw", sa.LargeBinary, nullable=True),
    sa.Column("size", sa.Integer, nullable=False, default=0),
    sa.Column("track_opens", sa.Boolean, nullable=False, default=False),
    sa.Column("track_links", sa.String(20), nullable=False, default="None"),
    sa.Column("sandboxed", sa.Boolean, nullable=False, default=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    #: Why its template could not be rendered (a template send Postmark accepts and then
    #: bounces as TemplateRenderingFailed); None for every other message.
    sa.Column("render_error", sa.Text, nullable=True),
    sa.Index(None, "server_id", "received_at"),
)

recipients = _int_keyed(
    "recipients",
    sa.Column("message_id", sa.String(36), sa.ForeignKey("messages.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("server_id", BigId, nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("address", sa.String(320), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    sa.Index(None, "server_id", "email"),
)

message_events = _int_keyed(
    "message_events",
    sa.Column("message_id", sa.String(36), sa.ForeignKey("messages.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("recipient", sa.String(320), nullable=False),
    sa.Column("event_type", sa.String(20), nullable=False),
    sa.Column("details", sa.JSON, nullable=False, default=dict),
    sa.Column("occurred_at", UTCDateTime(), nullable=False),
)

suppressions = _int_keyed(
    "suppressions",
    sa.Column("server_id", BigId, sa.ForeignKey("servers.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("stream", sa.String(30), nullable=False),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("reason", sa.String(20), nullable=False),
    sa.Column("origin", sa.String(12), nullable=False),
    _created(),
    sa.UniqueConstraint("server_id", "stream", "email"),
)

bounces = _int_keyed(
    "bounces",
    sa.Column("server_id", BigId, sa.ForeignKey("servers.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("stream", sa.String(30), nullable=False),
    sa.Column("message_id", sa.String(36), nullable=False),
    # Set when a pipeline step raised the bounce: makes re-running that step idempotent.
    sa.Column("recipient_id", BigId, nullable=True, unique=True),
    sa.Column("bounce_type", sa.String(30), nullable=False),
    sa.Column("type_code", sa.Integer, nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("description", sa.String(1000), nullable=False),
    sa.Column("details", sa.Text, nullable=False, default=""),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("from_field", sa.String(1000), nullable=False, default=""),
    sa.Column("subject", sa.String(2000), nullable=False, default=""),
    sa.Column("tag", sa.String(1000), nullable=False, default=""),
    sa.Column("metadata", sa.JSON, nullable=False, default=dict),
    sa.Column("content", sa.Text, nullable=True),
    sa.Column("dump_available", sa.Boolean, nullable=False, default=False),
    sa.Column("inactive", sa.Boolean, nullable=False, default=False),
    sa.Column("can_activate", sa.Boolean, nullable=False, default=False),
    sa.Column("bounced_at", UTCDateTime(), nullable=False),
    sa.Index(None, "server_id", "bounced_at"),
    sa.Index(None, "server_id", "email"),
)

webhooks = _int_keyed(
    "webhooks",
    sa.Column("server_id", BigId, sa.ForeignKey("servers.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("stream", sa.String(30), nullable=False),
    sa.Column("http_auth", sa.JSON, nullable=True),
    sa.Column("http_headers", sa.JSON, nullable=False, default=list),
    sa.Column("triggers", sa.JSON, nullable=False, default=dict),
    _created(),
)

#: Ids never reused (sqlite_autoincrement): a deleted template's id names nothing after.
templates = _int_keyed(
    "templates",
    sa.Column("server_id", BigId, sa.ForeignKey("servers.id", ondelete="CASCADE"),
              nullable=False, index=True),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("alias", sa.String(255), nullable=True),
    #: The alias lower-cased: aliases are unique per server regardless of case.
    sa.Column("alias_key", sa.String(255), nullable=True),
    sa.Column("subject", sa.Text, nullable=True),
    sa.Column("html_body", sa.Text, nullable=True),
    sa.Column("text_body", sa.Text, nullable=True),
    sa.Column("template_type", sa.String(10), nullable=False),
    sa.Column("layout_template", sa.String(255), nullable=True),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    _created(),
    sa.UniqueConstraint("server_id", "alias_key"),
)

webhook_deliveries = _int_keyed(
    "webhook_deliveries",
    sa.Column("server_id", BigId, sa.ForeignKey("servers.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("webhook_id", BigId, nullable=True, index=True),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("record_type", sa.String(30), nullable=False),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("http_auth", sa.JSON, nullable=True),
    sa.Column("http_headers", sa.JSON, nullable=False, default=list),
    sa.Column("state", sa.String(12), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("last_status", sa.Integer, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    _created(),
    sa.Column("delivered_at", UTCDateTime(), nullable=True),
    sa.Index(None, "server_id", "created_at"),
)

jobs = _int_keyed(
    "jobs",
    sa.Column("kind", sa.String(12), nullable=False),
    sa.Column("ref", sa.String(64), nullable=False),
    sa.Column("state", sa.String(8), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("max_attempts", sa.Integer, nullable=False),
    sa.Column("run_at", UTCDateTime(), nullable=False),
    sa.Column("lease_owner", sa.String(64), nullable=True),
    sa.Column("leased_until", UTCDateTime(), nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    _created(),
    sa.Column("finished_at", UTCDateTime(), nullable=True),
    #: The server the job works for where a claim limits jobs per server (notify).
    sa.Column("server_id", BigId, nullable=True),
    sa.Index(None, "state", "run_at"),
    sa.Index(None, "kind", "ref"),
)

def _engagement(name: str, *items: Any) -> sa.Table:
    """An open or a click of a tracked message: who (recipient), with what (the User-Agent
    and what it was read as), from where; deleted with its message."""
    return _int_keyed(
        name,
        sa.Column("server_id", BigId, sa.ForeignKey("servers.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("message_id", sa.String(36),
                  sa.ForeignKey("messages.id", ondelete="CASCADE"), nullable=False,
                  index=True),
        sa.Column("recipient_id", BigId, nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("user_agent", sa.Text, nullable=False, default=""),
        #: {"Name", "Company", "Family"} of the client and of its OS, as parsed.
        sa.Column("client", sa.JSON, nullable=False, default=dict),
        sa.Column("os", sa.JSON, nullable=False, default=dict),
        sa.Column("platform", sa.String(20), nullable=False, default="Unknown"),
        sa.Column("ip", sa.String(64), nullable=False, default=""),
        *items,
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Index(None, "server_id", "received_at"),
    )


#: Opens of tracked messages (the open pixel fetched).
opens = _engagement(
    "opens",
    sa.Column("first_open", sa.Boolean, nullable=False, default=False),
)

#: Clicks of tracked links.
clicks = _engagement(
    "clicks",
    sa.Column("original_link", sa.Text, nullable=False),
    sa.Column("click_location", sa.String(8), nullable=False),
)

#: Bounce and complaint reports received by the inbound listener, kept whatever their fate.
inbound_reports = _int_keyed(
    "inbound_reports",
    sa.Column("mail_from", sa.String(320), nullable=False, default=""),
    sa.Column("rcpt_to", sa.JSON, nullable=False, default=list),
    sa.Column("raw", sa.LargeBinary, nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("received_at", UTCDateTime(), nullable=False),
    sa.Column("state", sa.String(12), nullable=False),
    sa.Column("kind", sa.String(12), nullable=True),
    sa.Column("note", sa.String(500), nullable=False, default=""),
    sa.Column("server_id", BigId, nullable=True),
    sa.Column("message_id", sa.String(36), nullable=True),
    sa.Column("processed_at", UTCDateTime(), nullable=True),
    sa.Index(None, "state", "received_at"),
    sa.Index(None, "server_id", "received_at"),
)

#: Keys the server signs with (the VERP key), made once and shared by every process.
signing_keys = sa.Table(
    "signing_keys", metadata,
    sa.Column("name", sa.String(40), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
    _created(),
)


#: Logged-in dashboard sessions, by the SHA-256 of the id in the session cookie: a row
#: deleted (logout) or expired ends that session in every process, whatever the cookie.
dashboard_sessions = sa.Table(
    "dashboard_sessions", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    _created(),
    sa.Column("expires_at", UTCDateTime(), nullable=False, index=True),
)


def utcnow() -> datetime:
    return datetime.now(UTC)
