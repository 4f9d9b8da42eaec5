"""The `dsn` job: read a received bounce or complaint report, find the one recipient its
VERP token binds, and record the report's outcome for that recipient through the shared
bounce step.

Anyone can write a report, so nothing it says is taken on trust: a report affects only
the recipient whose signed token (postlane.domain.verp) it arrived with, at the envelope
recipient or, for feedback loops that report to an address of their own, quoted as the
original envelope sender. A report without a token that verifies (a forged or old-style
return path, a token moved to another message) or one that names another recipient of
the same message than the token's is kept as ``unmatched`` and changes nothing.

Runs in one transaction with the job's completion and only acts on a report still
queued, so a re-run never duplicates a bounce. Nothing that arrives is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from postlane.domain import addresses, limits, reports, verp
from postlane.domain.records import InboundReport, Message, Recipient, Server
from postlane.domain.types import RecipientStatus, ReportState
from postlane.pipeline import bounce
from postlane.store import Transaction, jobs, messages, servers
from postlane.store import reports as stored_reports

log = logging.getLogger(__name__)

#: A bounce may settle a recipient in these states (not one already bounced or suppressed).
_SETTLEABLE = frozenset({RecipientStatus.QUEUED, RecipientStatus.SENT})


@dataclass(frozen=True)
class Binding:
    """The message, its server and the one recipient a verified token names."""

    server: Server
    message: Message
    recipient: Recipient
    #: Every recipient of the message (to tell "another recipient" from a stranger).
    rows: tuple[Recipient, ...]


def run(conn: Transaction, job: jobs.Job, key: bytes) -> None:
    """``key`` checks the reports' VERP tokens (postlane.store.signing_keys)."""
    report = stored_reports.get(conn, int(job.ref), for_update=True)
    if report is not None and report.state is ReportState.QUEUED:
        _process(conn, report, key)
    jobs.complete(conn, job)


def _process(conn: Transaction, report: InboundReport, key: bytes) -> None:
    raw = report.raw or b""
    try:
        parsed = reports.parse(raw)
    except Exception as exc:  # the email package gave up: re-running will not help
        log.warning("report %s could not be parsed: %s", report.id, exc)
        stored_reports.finish(conn, report.id, ReportState.FAILED,
                              f"Could not be parsed: {type(exc).__name__}: {exc}")
        return
    candidates = [*(report.rcpt_to or []), *parsed.return_paths]
    binding = bind(conn, key, candidates)
    if binding is None:
        stored_reports.finish(conn, report.id, ReportState.UNMATCHED,
                              _why_unbound(candidates, parsed.message_ids),
                              kind=parsed.kind.value)
        return
    # The bounce's dump is text: NUL, which PostgreSQL text cannot hold, becomes U+FFFD.
    content = limits.without_nul(raw.decode("utf-8", "replace"))
    state, note = _apply(conn, binding, parsed, content)
    stored_reports.finish(conn, report.id, state, note, kind=parsed.kind.value,
                          server_id=binding.server.id, message_id=binding.message.id)


def bind(conn: Transaction, key: bytes, candidates: Sequence[str]) -> Binding | None:
    """The recipient named by the first of ``candidates`` (envelope recipients first, then
    what the report quotes) whose token verifies for a recipient of its message."""
    for address in candidates:
        token = verp.token_from(address)
        message = messages.get(conn, None, token.message_id) if token is not None else None
        server = servers.get(conn, message.server_id) if message is not None else None
        if token is None or message is None or server is None:
            continue
        rows = tuple(messages.recipients_of(conn, message.id))
        bound = next((r for r in rows if verp.binds(key, token, r.email)), None)
        if bound is not None:
            return Binding(server, message, bound, rows)
    return None


def _why_unbound(candidates: Sequence[str], quoted_ids: Sequence[str]) -> str:
    if any(verp.token_from(a) for a in candidates):
        why = ("Its return path's recipient token does not verify for any recipient of "
               "the message it names; nobody was affected.")
    elif any(verp.legacy_message_id(a) for a in candidates):
        why = ("Its return path names a message but carries no recipient token (the old "
               "form), so it binds no recipient; nobody was affected.")
    else:
        why = "It names no return path with a recipient token; nobody was affected."
    # What the report quotes is for the operator reading it: it binds nothing.
    return why + (f" It quotes message {quoted_ids[0]}." if quoted_ids else "")


def _named(item: reports.ReportItem) -> list[str]:
    return [addresses.normalize(a) for a in (item.original_recipient, item.final_recipient)
            if a]


def _apply(conn: Transaction, binding: Binding, parsed: reports.Report,
           content: str) -> tuple[ReportState, str]:
    """Record the report's failures for the bound recipient; (state, note) to store."""
    others = {r.email for r in binding.rows} - {binding.recipient.email}
    named_others = sorted({n for item in parsed.items for n in _named(item) if n in others})
    if named_others:  # a copy's report names only its own recipient: this one is forged
        return ReportState.UNMATCHED, (
            f"Its return path is {binding.recipient.email}'s but it names other recipients "
            f"of the message ({', '.join(named_others)}); nobody was affected.")
    recorded, strangers = _record_all(conn, binding, parsed, content)
    state = ReportState.UNMATCHED if strangers and not recorded else ReportState.PROCESSED
    return state, _note(recorded, strangers)


def _record_all(conn: Transaction, binding: Binding, parsed: reports.Report,
                content: str) -> tuple[list[str], list[str]]:
    """Record each failure or complaint about the bound recipient (an item that names
    nobody is about the token's recipient); returns (recorded, addresses not bound)."""
    recipient, message = binding.recipient, binding.message
    settled = recipient.status not in _SETTLEABLE
    recorded: list[str] = []
    strangers: list[str] = []
    for item, verdict in reports.outcomes(parsed):
        named = _named(item)
        if named and recipient.email not in named:
            strangers.append(item.recipient or named[0])
            continue
        settles = verdict.kind.type != "Transient" and not settled
        settled = settled or settles
        bounce.record(conn, binding.server, message, bounce.BounceFacts(
            kind=verdict.kind, email=recipient.email,
            details=limits.without_nul(verdict.details),
            inactive=verdict.inactive, can_activate=verdict.can_activate,
            suppress=verdict.suppress, content=content,
            recipient_id=recipient.id if settles else None,
            event_details=_event_details(item), address=recipient.address,
        ))
        recorded.append(f"{verdict.kind.type} {recipient.email}")
    return recorded, strangers


def _event_details(item: reports.ReportItem) -> dict[str, str]:
    details: dict[str, str] = {}
    if item.status:
        details["Status"] = item.status
    if item.remote_mta:
        details["DestinationServer"] = item.remote_mta
    if item.feedback_type:
        details["FeedbackType"] = item.feedback_type
    return details


def _note(recorded: list[str], strangers: list[str]) -> str:
    parts = []
    if recorded:
        parts.append("Recorded: " + ", ".join(recorded) + ".")
    if strangers:
        parts.append("Not the recipient its return path is for: " + ", ".join(strangers)
                     + ".")
    return " ".join(parts) or "The report states no failure or complaint."
