"""Creating and editing servers: the field rules the API, the dashboard and the CLI share.

Callers hand over a plain ServerFields value (the API converts its request model, the
dashboard its form); create and update check it here, so no front door can store a
value another would have refused. The API's request model runs the same per-field rules
as pydantic validators, which keeps its error messages pydantic's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from postlane.domain import limits
from postlane.domain.errors import (
    Entity,
    FieldProblem,
    InvalidField,
    InvalidFields,
    NameTaken,
    NotFound,
)
from postlane.domain.records import Server
from postlane.domain.types import DeliveryType
from postlane.store import Transaction, jobs, servers
from postlane.store.database import Database

COLORS = ("Purple", "Blue", "Turquoise", "Green", "Red", "Yellow", "Grey", "Orange")
HOOK_URLS = ("inbound_hook_url", "bounce_hook_url", "open_hook_url", "delivery_hook_url",
             "click_hook_url")


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerFields:
    """A server's settable fields (Postmark's names, in snake_case); None leaves a field
    as it is."""

    name: str | None = None
    color: str | None = None
    smtp_api_activated: bool | None = None
    raw_email_enabled: bool | None = None
    delivery_type: str | None = None
    inbound_hook_url: str | None = None
    bounce_hook_url: str | None = None
    open_hook_url: str | None = None
    delivery_hook_url: str | None = None
    click_hook_url: str | None = None
    post_first_open_only: bool | None = None
    inbound_domain: str | None = None
    inbound_spam_threshold: int | None = None
    track_opens: bool | None = None
    track_links: str | None = None
    include_bounce_content_in_hook: bool | None = None
    enable_smtp_api_error_hooks: bool | None = None

    def changes(self) -> dict[str, Any]:
        return {field.name: value for field in dataclasses.fields(self)
                if (value := getattr(self, field.name)) is not None}


# --- the rules for one field: the value to store, or ValueError with the reason ---------

def color(value: str) -> str:
    """Any case of a known colour, kept as given: Postmark echoes Color as sent ("red")."""
    if value.lower() in (known.lower() for known in COLORS):
        return value
    raise ValueError(f"must be one of {', '.join(COLORS)}")


def hook_url(value: str) -> str:
    if value and not value.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return value


def delivery_type(value: str) -> str:
    for kind in DeliveryType:
        if kind.value.lower() == value.lower():
            return kind.value
    raise ValueError("must be Live or Sandbox")


def track_links(value: str) -> str:
    """Any case of a TrackLinks value, kept as given (the Color rule)."""
    known = limits.track_links_as_given(value)
    if known is None:
        raise ValueError(f"must be one of {limits.track_links_choices()}")
    return known


def _at_most(length: int) -> Callable[[str], str]:
    def check(value: str) -> str:
        if len(value) > length:
            raise ValueError(f"String should have at most {length} characters")
        return value
    return check


def _spam_threshold(value: int) -> int:
    if value < 0:
        raise ValueError("Input should be greater than or equal to 0")
    if value > limits.SPAM_THRESHOLD_MAX:
        raise ValueError(f"Input should be less than or equal to {limits.SPAM_THRESHOLD_MAX}")
    return value


_RULES: dict[str, tuple[Callable[[Any], Any], ...]] = {
    "name": (_at_most(limits.SERVER_NAME_LENGTH),),
    "color": (color,),
    "delivery_type": (delivery_type,),
    **{name: (_at_most(limits.HOOK_URL_LENGTH), hook_url) for name in HOOK_URLS},
    "inbound_domain": (_at_most(limits.INBOUND_DOMAIN_LENGTH),),
    "inbound_spam_threshold": (_spam_threshold,),
    "track_links": (track_links,),
}


def validated(fields: ServerFields) -> ServerFields:
    """``fields`` with each value as stored (Color and TrackLinks as given, canonical
    DeliveryType); InvalidFields when any breaks its rule."""
    problems: list[FieldProblem] = []
    values: dict[str, Any] = {}
    for name, value in fields.changes().items():
        try:
            for rule in _RULES.get(name, ()):
                value = rule(value)
        except ValueError as exc:
            problems.append(FieldProblem(name, str(exc)))
        values[name] = value
    if problems:
        raise InvalidFields(problems)
    return ServerFields(**values)


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
    changes = validated(fields).changes()
    changes["name"] = _check_name(conn, fields.name or "", None)
    row = servers.get(conn, servers.create(conn, changes["name"], changes))
    assert row is not None
    return row


def update(conn: Transaction, server_id: int, fields: ServerFields) -> Server:
    changes = validated(fields).changes()
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


def delete(db: Database, server_id: int) -> Server:
    """Delete a server and everything it owns; the deleted server is returned.

    The cascade locks the server row before its children while pipeline steps lock a
    child before the server row, so on PostgreSQL the two can deadlock: the delete is
    retried rather than answered with 503."""
    def work(conn: Transaction) -> Server:
        row = servers.get(conn, server_id)
        if row is None:
            raise not_found(server_id)
        jobs.finish_for_server(conn, server_id, f"server {server_id} was deleted")
        servers.delete(conn, server_id)
        return row
    return db.write_retrying(work)
