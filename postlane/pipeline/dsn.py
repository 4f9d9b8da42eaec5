"""The `dsn` job: read a received bounce or complaint report, find the message it is about
and record one bounce per reported recipient through the shared bounce step.

Runs in one transaction with the job's completion and only acts on a report still
queued, so a re-run never duplicates a bounce. A report that matches nothing is kept as
``unmatched``, never dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from postlane.domain import addresses, reports, verp
from postlane.domain.records import InboundReport, Message, Recipient, Server
from postlane.domain.types import RecipientStatus, ReportState
from postlane.pipeline import bounce
from postlane.store import Transaction, jobs, messages, servers
from postlane.store import reports as stored_reports

log = logging.getLogger(__name__)

#: A bounce may settle a recipient in these states (not one already bounced or suppressed).
_SETTLEABLE = frozenset({RecipientStatus.QUEUED, RecipientStatus.SENT})


def run(conn: Transaction, job: jobs.Job) -> None:
    report = stored_reports.get(conn, int(job.ref), for_update=True)
    if report is not None and report.state is ReportState.QUEUED:
        _process(conn, report)
    jobs.complete(conn, job)


def _process(conn: Transaction, report: InboundReport) -> None:
    raw = report.raw or b""
    try:
        parsed = reports.parse(raw)
    except Exception as exc:  # the email package gave up: re-running will not help
        log.warning("report %s could not be parsed: %s", report.id, exc)
        stored_reports.finish(conn, report.id, ReportState.FAILED,
                              f"Could not be parsed: {type(exc).__name__}: {exc}")
        return
    message = find_message(conn, report.rcpt_to or [], parsed.message_ids)
    server = servers.get(conn, message.server_id) if message is not None else None
    if message is None or server is None:
        stored_reports.finish(conn, report.id, ReportState.UNMATCHED,
                              "No message of this server matches the report.",
                              kind=parsed.kind.value)
        return
    recorded, unmatched = _record_all(conn, server, message, parsed,
                                      raw.decode("utf-8", "replace"))
    state = ReportState.UNMATCHED if unmatched and not recorded else ReportState.PROCESSED
    stored_reports.finish(conn, report.id, state, _note(recorded, unmatched),
                          kind=parsed.kind.value, server_id=server.id,
                          message_id=message.id)


def find_message(conn: Transaction, rcpt_to: Sequence[str],
                 quoted_ids: Sequence[str]) -> Message | None:
    """The VERP recipient names the message most reliably; then what the report quotes."""
    verp_ids = [mid for mid in (verp.message_id_from(a) for a in rcpt_to) if mid]
    for message_id in (*verp_ids, *quoted_ids):
        message = messages.get(conn, None, message_id)
        if message is not None:
            return message
    return None


def _record_all(conn: Transaction, server: Server, message: Message,
                parsed: reports.Report, content: str) -> tuple[list[str], list[str]]:
    """Record each failure or complaint; returns (types recorded, addresses not found)."""
    rows = messages.recipients_of(conn, message.id)
    status = {r.id: r.status for r in rows}
    recorded: list[str] = []
    unmatched: list[str] = []
    for item, verdict in reports.outcomes(parsed):
        recipient = _recipient_for(item, rows)
        if recipient is None:
            unmatched.append(item.recipient or "(no recipient named)")
            continue
        settles = (verdict.kind.type != "Transient"
                   and status[recipient.id] in _SETTLEABLE)
        if settles:
            status[recipient.id] = RecipientStatus.BOUNCED
        bounce.record(conn, server, message, bounce.BounceFacts(
            kind=verdict.kind, email=recipient.email, details=verdict.details,
            inactive=verdict.inactive, can_activate=verdict.can_activate,
            suppress=verdict.suppress, content=content,
            recipient_id=recipient.id if settles else None,
            event_details=_event_details(item), address=recipient.address,
        ))
        recorded.append(f"{verdict.kind.type} {recipient.email}")
    return recorded, unmatched


def _recipient_for(item: reports.ReportItem,
                   rows: Sequence[Recipient]) -> Recipient | None:
    """The message's recipient the item is about. Only the message's own recipients can
    bounce (a forged report cannot suppress arbitrary addresses); an item naming nobody,
    or a complaint with a redacted address, is the sole recipient's when there is one."""
    by_email = {r.email: r for r in rows}
    for named in (item.original_recipient, item.final_recipient):
        if named and addresses.normalize(named) in by_email:
            return by_email[addresses.normalize(named)]
    if len(rows) == 1 and (item.recipient is None or item.feedback_type):
        return rows[0]
    return None


def _event_details(item: reports.ReportItem) -> dict[str, str]:
    details: dict[str, str] = {}
    if item.status:
        details["Status"] = item.status
    if item.remote_mta:
        details["DestinationServer"] = item.remote_mta
    if item.feedback_type:
        details["FeedbackType"] = item.feedback_type
    return details


def _note(recorded: list[str], unmatched: list[str]) -> str:
    parts = []
    if recorded:
        parts.append("Recorded: " + ", ".join(recorded) + ".")
    if unmatched:
        parts.append("Not a recipient of the message: " + ", ".join(unmatched) + ".")
    return " ".join(parts) or "The report states no failure or complaint."
