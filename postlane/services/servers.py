"""Creating and editing servers: the field rules the API and the dashboard share."""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from postlane.api.models import PostmarkModel
from postlane.domain import limits
from postlane.domain.errors import Entity, InvalidField, NameTaken, NotFound
from postlane.domain.records import Server
from postlane.domain.types import DeliveryType
from postlane.store import Transaction, servers

COLORS = ("Purple", "Blue", "Turquoise", "Green", "Red", "Yellow", "Grey", "Orange")


class ServerFields(PostmarkModel):
    """A server's settable fields, as Postmark names them; unset fields stay unchanged."""

    name: str | None = Field(default=None, max_length=200)  # column sizes, as below
    color: str | None = None
    smtp_api_activated: bool | None = None
    raw_email_enabled: bool | None = None
    delivery_type: str | None = None
    inbound_hook_url: str | None = Field(default=None, max_length=2000)
    bounce_hook_url: str | None = Field(default=None, max_length=2000)
    open_hook_url: str | None = Field(default=None, max_length=2000)
    delivery_hook_url: str | None = Field(default=None, max_length=2000)
    click_hook_url: str | None = Field(default=None, max_length=2000)
    post_first_open_only: bool | None = None
    inbound_domain: str | None = Field(default=None, max_length=255)
    inbound_spam_threshold: int | None = Field(default=None, ge=0, le=2**31 - 1)
    track_opens: bool | None = None
    track_links: str | None = None
    include_bounce_content_in_hook: bool | None = None
    enable_smtp_api_error_hooks: bool | None = None

    @field_validator("inbound_hook_url", "bounce_hook_url", "open_hook_url",
                     "delivery_hook_url", "click_hook_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("color")
    @classmethod
    def _color(cls, value: str | None) -> str | None:
        if value is None:
            return None
        for color in COLORS:
            if color.lower() == value.lower():
                return color
        raise ValueError(f"must be one of {', '.join(COLORS)}")

    @field_validator("track_links")
    @classmethod
    def _track_links(cls, value: str | None) -> str | None:
        if value is not None and value not in limits.TRACK_LINKS:
            raise ValueError(f"must be one of {', '.join(limits.TRACK_LINKS)}")
        return value

    @field_validator("delivery_type")
    @classmethod
    def _delivery_type(cls, value: str | None) -> str | None:
        if value is None:
            return None
        for kind in DeliveryType:
            if kind.value.lower() == value.lower():
                return kind.value
        raise ValueError("must be Live or Sandbox")

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set
                if getattr(self, name) is not None}


def not_found(server_id: int) -> NotFound:
    return NotFound(Entity.SERVER, server_id)


def _check_name(conn: Transaction, name: str, server_id: int | None) -> str:
    name = name.strip()
    if not name:
        raise InvalidField("Name", "Server name is required.")
    existing = servers.by_name(conn, name)
    if existing is not None and existing.id != server_id:
        raise NameTaken(Entity.SERVER, name)
    return name


def create(conn: Transaction, fields: ServerFields) -> Server:
    changes = fields.changes()
    changes["name"] = _check_name(conn, fields.name or "", None)
    row = servers.get(conn, servers.create(conn, changes["name"], changes))
    assert row is not None
    return row


def update(conn: Transaction, server_id: int, fields: ServerFields) -> Server:
    changes = fields.changes()
    row = servers.get(conn, server_id)
    if row is None:
        raise not_found(server_id)
    if "name" in changes:
        changes["name"] = _check_name(conn, changes["name"], server_id)
    if changes.get("delivery_type", row.delivery_type) != row.delivery_type:
        raise InvalidField("DeliveryType",
                           "DeliveryType can only be chosen when a server is created.")
    servers.update(conn, server_id, changes)
    updated = servers.get(conn, server_id)
    assert updated is not None
    return updated
