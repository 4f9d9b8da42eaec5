"""Opens and clicks of tracked messages, and their searches (the Messages API's
/messages/outbound/opens and /clicks), each read with its message's stream, tag and
metadata."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from postlane.domain import addresses
from postlane.domain.records import Click, Open, Page, Recipient
from postlane.domain.types import RecipientStatus
from postlane.store.rows import record
from postlane.store.schema import clicks, messages, opens, recipients

E = TypeVar("E", Open, Click)


def recipient(conn: Connection, recipient_id: int) -> Recipient | None:
    row = conn.execute(sa.select(recipients).where(recipients.c.id == recipient_id)
                       ).mappings().first()
    if row is None:
        return None
    return record(Recipient, row, status=RecipientStatus(row["status"]))


def opened_before(conn: Connection, message_id: str, recipient_id: int) -> bool:
    return conn.execute(sa.select(opens.c.id).where(
        opens.c.message_id == message_id, opens.c.recipient_id == recipient_id).limit(1)
    ).first() is not None


def _insert(conn: Connection, table: sa.Table, row: Mapping[str, Any]) -> int:
    key = conn.execute(table.insert().values(dict(row))).inserted_primary_key
    assert key is not None
    return int(key[0])


def add_open(conn: Connection, row: Mapping[str, Any]) -> int:
    return _insert(conn, opens, row)


def add_click(conn: Connection, row: Mapping[str, Any]) -> int:
    return _insert(conn, clicks, row)


#: Filters on a record's parsed reader: (query key, column, JSON member or None).
_READER = {
    "client_name": ("client", "Name"), "client_company": ("client", "Company"),
    "client_family": ("client", "Family"), "os_name": ("os", "Name"),
    "os_company": ("os", "Company"), "os_family": ("os", "Family"),
}


def search_opens(conn: Connection, server_id: int, *, count: int, offset: int,
                 **filters: Any) -> Page[Open]:
    return _search(conn, opens, Open, server_id, count, offset, filters)


def search_clicks(conn: Connection, server_id: int, *, count: int, offset: int,
                  **filters: Any) -> Page[Click]:
    return _search(conn, clicks, Click, server_id, count, offset, filters)


def _condition(table: sa.Table, name: str, value: Any) -> Any:
    """One filter as SQL (text filters match in any case, as Postmark's do)."""
    if name in _READER:
        column, member = _READER[name]
        return sa.func.lower(table.c[column][member].as_string()) == str(value).lower()
    simple: dict[str, Callable[[], Any]] = {
        "message_id": lambda: table.c.message_id == str(value).lower(),
        "recipient": lambda: sa.func.lower(table.c.recipient) == addresses.normalize(value),
        "tag": lambda: messages.c.tag == value,
        "stream": lambda: messages.c.stream == value,
        "platform": lambda: sa.func.lower(table.c.platform) == str(value).lower(),
        "from_date": lambda: table.c.received_at >= value,
        "to_date": lambda: table.c.received_at <= value,
    }
    return simple[name]()


def _where(table: sa.Table, server_id: int, filters: Mapping[str, Any]) -> list[Any]:
    return [table.c.server_id == server_id,
            *(_condition(table, name, value) for name, value in filters.items()
              if value is not None and value != "")]


def _search(conn: Connection, table: sa.Table, cls: type[E], server_id: int, count: int,
            offset: int, filters: Mapping[str, Any]) -> Page[E]:
    joined = table.join(messages, messages.c.id == table.c.message_id)
    where = _where(table, server_id, filters)
    total = conn.execute(sa.select(sa.func.count()).select_from(joined).where(*where)
                         ).scalar_one()
    rows = conn.execute(
        sa.select(table, messages.c.stream, messages.c.tag, messages.c.metadata)
        .select_from(joined).where(*where)
        .order_by(table.c.received_at.desc(), table.c.id.desc())
        .limit(count).offset(offset)).mappings()
    return Page(int(total), [record(cls, row) for row in rows])
