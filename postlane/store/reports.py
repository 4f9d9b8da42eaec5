"""Bounce and complaint reports received on the bounce domain (raw bytes plus their fate)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection, RowMapping

from postlane.domain.records import InboundReport
from postlane.domain.types import ReportState
from postlane.store.rows import record
from postlane.store.schema import inbound_reports, utcnow

NOTE_LENGTH = 500


def insert(conn: Connection, raw: bytes, mail_from: str, rcpt_to: Sequence[str]) -> int:
    return int(conn.execute(inbound_reports.insert().values(
        mail_from=mail_from[:320], rcpt_to=list(rcpt_to), raw=raw, size=len(raw),
        received_at=utcnow(), state=ReportState.QUEUED.value, note="",
    ).returning(inbound_reports.c.id)).scalar_one())


def _report(row: RowMapping, raw: bytes | None) -> InboundReport:
    return record(InboundReport, row, raw=raw, state=ReportState(row["state"]))


def get(conn: Connection, report_id: int, for_update: bool = False) -> InboundReport | None:
    """``for_update`` locks the row on PostgreSQL (SQLite's write lock covers it)."""
    query = sa.select(inbound_reports).where(inbound_reports.c.id == report_id)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    return _report(row, bytes(row["raw"])) if row is not None else None


def finish(conn: Connection, report_id: int, state: ReportState, note: str, *,
           kind: str | None = None, server_id: int | None = None,
           message_id: str | None = None) -> None:
    # The note quotes the report (addresses it names): NUL, which PostgreSQL text cannot
    # hold, becomes U+FFFD.
    note = note.replace("\0", "\ufffd")[:NOTE_LENGTH]
    conn.execute(inbound_reports.update().where(inbound_reports.c.id == report_id).values(
        state=state.value, note=note, kind=kind, server_id=server_id,
        message_id=message_id, processed_at=utcnow()))


def listing(conn: Connection, *, state: ReportState | None = None, server_id: int | None = None,
            limit: int = 50) -> list[InboundReport]:
    """Newest first, without the raw bytes (``raw`` is None)."""
    columns = [c for c in inbound_reports.c if c.name != "raw"]
    where = []
    if state is not None:
        where.append(inbound_reports.c.state == state.value)
    if server_id is not None:
        where.append(inbound_reports.c.server_id == server_id)
    rows = conn.execute(sa.select(*columns).where(*where)
                        .order_by(inbound_reports.c.received_at.desc(),
                                  inbound_reports.c.id.desc())
                        .limit(limit)).mappings()
    return [_report(row, None) for row in rows]
