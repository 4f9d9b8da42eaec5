"""The inbound listener: the MX of the bounce domain, where delivery status notifications
and abuse reports about delivered mail come back.

No AUTH (remote mail servers deliver here), so it is not a relay: only recipients at the
bounce domain are accepted. Each report is stored with its `dsn` job in one transaction
before the 250 reply; reading it, and deciding which recipient (if any) it may affect, is
the worker's business (postlane.pipeline.dsn).

Anyone may connect, so what one client can make us store is bounded: reports are
size-capped (settings.mx_max_report_bytes, 552 5.3.4 over it) and each client address
may start only so many per minute (settings.mx_reports_per_client_per_minute, 450 4.7.1
over it; postlane.mx.ratelimit).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

from postlane import pipeline
from postlane.config import Settings
from postlane.domain import addresses
from postlane.domain.errors import DatabaseUnavailable
from postlane.domain.types import JobKind
from postlane.mx.ratelimit import ClientBuckets
from postlane.smtp import engine
from postlane.smtp.engine import Envelope, Session
from postlane.smtp.listener import admission, options, serve
from postlane.store import reports
from postlane.store.database import Database

log = logging.getLogger(__name__)

#: Nothing was stored: the sending server keeps the report and retries.
TEMPORARY_FAILURE = "451 4.3.0 Temporary failure storing the report; please retry"
#: Reports come one recipient at a time; a few more allow for forwarders.
MAX_RECIPIENTS = 20
#: A client over its rate: a 4xx, so a real MTA keeps the report and retries later.
TOO_MANY = "450 4.7.1 Too many reports from your address; try again later"


class ReportHandler:
    def __init__(self, db: Database, bounce_domain: str,
                 on_accepted: Callable[[], None] | None = None,
                 rate: ClientBuckets | None = None) -> None:
        self.db = db
        self.bounce_domain = bounce_domain.lower().rstrip(".")
        self.on_accepted = on_accepted
        self.rate = rate if rate is not None else ClientBuckets(0)

    def is_local(self, address: str) -> bool:
        domain = address.strip().rpartition("@")[2].lower().rstrip(".")
        return addresses.is_valid(address) and domain == self.bounce_domain

    def connected(self, session: Session) -> None:
        """Anyone may deliver reports (no AUTH)."""

    async def authenticate(self, login: str, password: str) -> None:
        return None  # never called: AUTH is not offered here

    def mail(self, session: Session, address: str) -> str | None:
        """Reports come from anyone, often from the null sender; each one counts against
        its client's rate."""
        return None if self.rate.allow(session.peer) else TOO_MANY

    def rcpt(self, session: Session, envelope: Envelope, address: str) -> str | None:
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return f"452 4.5.3 Too many recipients (at most {MAX_RECIPIENTS} a message)"
        if not self.is_local(address):
            return "550 5.7.1 Relay access denied"
        return None

    async def data(self, session: Session, envelope: Envelope, content: bytes) -> str:
        try:
            report_id = await self.db.run(self._store, content, envelope.mail_from,
                                          list(envelope.rcpt_tos))
        except DatabaseUnavailable as exc:
            log.warning("storing a report failed, the database is unavailable (answering "
                        "451): %s", exc)
            return TEMPORARY_FAILURE
        except Exception:
            log.exception("storing a report failed; answering 451 so the sender retries")
            return TEMPORARY_FAILURE
        if self.on_accepted is not None:
            self.on_accepted()
        return f"250 2.0.0 Ok: report {report_id} queued"

    def _store(self, raw: bytes, mail_from: str, rcpt_to: list[str]) -> int:
        with self.db.write() as conn:
            report_id = reports.insert(conn, raw, mail_from, rcpt_to)
            pipeline.enqueue(conn, JobKind.DSN, str(report_id))
            return report_id


async def start(db: Database, settings: Settings,
                on_accepted: Callable[[], None] | None = None,
                sock: socket.socket | None = None,
                max_sessions: int | None = None) -> asyncio.Server:
    """The listener's deadlines and session caps are the submission listener's (the same
    settings), counted for this listener on its own; its size cap is its own."""
    handler = ReportHandler(db, settings.bounce_domain, on_accepted,
                            ClientBuckets(settings.mx_reports_per_client_per_minute))
    caps = admission(settings, max_sessions)
    listener = options(settings, "Postlane bounce MX",
                       max_message_bytes=settings.mx_max_report_bytes)
    return await serve(engine.factory(listener, handler, caps),
                       settings.inbound_host, settings.inbound_port, sock)
