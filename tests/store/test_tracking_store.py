"""Opens and clicks on both databases: they go with their message (retention, a deleted
server), and the searches read each with its message's stream, tag and metadata."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from postlane.store import retention
from postlane.store import tracking as store
from postlane.store.database import Database
from postlane.store.schema import clicks, messages, opens, servers, utcnow
from tests.store.test_ids_never_reused import ROWS, insert_server_and_message


def _fill(db: Database) -> tuple[int, str]:
    with db.write() as conn:
        sid, mid = insert_server_and_message(conn)
        conn.execute(messages.update().where(messages.c.id == mid)
                     .values(tag="t", metadata={"k": "v"}))
        for n in (1, 2):
            store.add_open(conn, {**ROWS["opens"](sid, mid, n),
                                  "client": {"Name": "Chrome 1", "Family": "Chrome"},
                                  "platform": "Desktop"})
        store.add_click(conn, ROWS["clicks"](sid, mid, 1))
    return sid, mid


def test_searches_read_the_messages_fields_and_filter(db: Database) -> None:
    sid, mid = _fill(db)
    with db.read() as conn:
        page = store.search_opens(conn, sid, count=10, offset=0)
        assert page.total == 2
        assert {(o.tag, o.stream, o.metadata["k"]) for o in page.items} == {("t", "outbound",
                                                                          "v")}
        assert store.search_opens(conn, sid, count=10, offset=0, client_family="chrome",
                                  platform="DESKTOP", tag="t").total == 2
        assert store.search_opens(conn, sid, count=10, offset=0, tag="x").total == 0
        assert store.search_opens(conn, sid, count=1, offset=1).items[0].recipient_id == 1
        assert store.search_clicks(conn, sid, count=10, offset=0,
                                   message_id=mid.upper()).total == 1
        assert store.opened_before(conn, mid, 1) and not store.opened_before(conn, mid, 9)


def test_opens_and_clicks_go_with_their_message_and_server(db: Database) -> None:
    sid, _ = _fill(db)
    retention.purge(db, utcnow() + timedelta(days=1))
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(opens)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(clicks)).scalar() == 0
    sid, _ = _fill(db)
    with db.write() as conn:
        conn.execute(servers.delete().where(servers.c.id == sid))
    with db.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(opens)).scalar() == 0
