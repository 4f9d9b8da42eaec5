"""The seed's step: after a message is accepted, check each recipient against its stream's
suppression list and decide: deliver, raise an SMTP API Error bounce, or drop silently.
A template send whose template could not be rendered is bounced here for every recipient
as TemplateRenderingFailed, as Postmark reports it, and never delivered.

Runs in one transaction with the job's completion, so a crash re-runs it whole, and only
recipients still Queued are looked at: re-running never duplicates a bounce. The worker
screens a batch of messages at once, with a few statements for the whole batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from postlane import screening
from postlane.domain import bounce_types, rendering, suppression
from postlane.domain.records import Message, Recipient, Server, Suppression
from postlane.domain.suppression import Outcome
from postlane.domain.types import EventType, JobKind, RecipientStatus
from postlane.pipeline import bounce
from postlane.store import Transaction, jobs, messages, servers


@dataclass(frozen=True)
class _Silenced:
    """A recipient dropped without a bounce (suppressed, and nobody asked to hear)."""

    message: Message
    recipient: Recipient
    suppression: Suppression


@dataclass
class _Verdicts:
    """What a batch decided, gathered so each table is written once."""

    bounces: list[bounce.BounceCase] = field(default_factory=list)
    silenced: list[_Silenced] = field(default_factory=list)
    deliverable: list[str] = field(default_factory=list)  # message ids


def run(conn: Transaction, job: jobs.Job, labels: bounce_types.SmtpApiErrorLabels) -> None:
    run_many(conn, [job], labels)


def run_many(conn: Transaction, batch: Sequence[jobs.Job],
             labels: bounce_types.SmtpApiErrorLabels) -> list[None]:
    """Screen the batch's messages and complete its jobs. A message deleted with its
    server meanwhile has nothing left to screen: its job just completes."""
    found = messages.get_many(conn, sorted({job.ref for job in batch}))
    owners = servers.get_many(conn, {m.server_id for m in found.values()})
    live = {mid: m for mid, m in found.items() if m.server_id in owners}
    pending = messages.recipients_by_message(conn, sorted(live), RecipientStatus.QUEUED)
    verdicts = _Verdicts()
    for message in live.values():
        if message.render_error is not None:
            verdicts.bounces.extend(_render_failed(owners[message.server_id], message, r)
                                    for r in pending[message.id])
    screened = [m for m in live.values() if m.render_error is None]
    for group in _by_list(screened, owners):
        _judge(conn, group, owners, pending, labels, verdicts)
    _write(conn, verdicts)
    jobs.complete_many(conn, batch)
    return [None] * len(batch)


def _by_list(found: Iterable[Message], owners: Mapping[int, Server]) -> list[list[Message]]:
    """Messages that share a suppression list and the rules applied to it (server,
    stream, front door, hooks setting): each group is looked up in one query."""
    groups: dict[tuple[int, str, str, bool], list[Message]] = {}
    for message in found:
        server = owners[message.server_id]
        key = (server.id, message.stream, message.source,
               bool(server.enable_smtp_api_error_hooks))
        groups.setdefault(key, []).append(message)
    return list(groups.values())


def _judge(conn: Transaction, group: list[Message], owners: Mapping[int, Server],
           pending: Mapping[str, list[Recipient]], labels: bounce_types.SmtpApiErrorLabels,
           verdicts: _Verdicts) -> None:
    first = group[0]
    server = owners[first.server_id]
    fates = screening.screen(conn, server.id, first.stream, first.source,
                             server.enable_smtp_api_error_hooks,
                             [r.email for m in group for r in pending[m.id]])
    for message in group:
        deliverable = False
        for recipient in pending[message.id]:
            fate = fates[recipient.email]
            hit = fate.suppression
            if fate.outcome is Outcome.DELIVER:
                deliverable = True
            elif fate.outcome is Outcome.SMTP_API_ERROR and hit is not None:
                verdicts.bounces.append(bounce.BounceCase(
                    server, message, _smtp_api_error(message, recipient, hit, labels)))
            elif hit is not None:
                verdicts.silenced.append(_Silenced(message, recipient, hit))
        if deliverable:
            verdicts.deliverable.append(message.id)


def _smtp_api_error(message: Message, recipient: Recipient, hit: Suppression,
                    labels: bounce_types.SmtpApiErrorLabels) -> bounce.BounceFacts:
    raw = rendering.raw(message)
    return bounce.BounceFacts(
        kind=bounce_types.smtp_api_error_type(labels), email=recipient.email,
        details=suppression.smtp_api_error_details(hit), inactive=True,
        can_activate=suppression.customer_can_delete(hit.reason),
        content=raw.decode("utf-8", "replace") if raw else None,
        recipient_id=recipient.id, address=recipient.address,
        event_details={"SuppressionReason": hit.reason.value},
        settles_as=RecipientStatus.SUPPRESSED)


def _render_failed(server: Server, message: Message,
                   recipient: Recipient) -> bounce.BounceCase:
    """Postmark's TemplateRenderingFailed: nothing was sent, so the recipient's outcome is
    Failed, and the address stays active (the fault is the template's, not the inbox's)."""
    return bounce.BounceCase(server, message, bounce.BounceFacts(
        kind=bounce_types.BY_TYPE["TemplateRenderingFailed"], email=recipient.email,
        details=message.render_error or "", inactive=False, can_activate=False,
        recipient_id=recipient.id, address=recipient.address,
        settles_as=RecipientStatus.FAILED))


def _write(conn: Transaction, verdicts: _Verdicts) -> None:
    bounce.record_many(conn, verdicts.bounces)
    messages.set_recipient_status(conn, [s.recipient.id for s in verdicts.silenced],
                                  RecipientStatus.SUPPRESSED)
    messages.add_events(conn, [messages.event_row(
        s.message.id, s.recipient.address, EventType.SUPPRESSED, {
            "Summary": "Not delivered: the recipient is on the suppression list.",
            "SuppressionReason": s.suppression.reason.value,
        }) for s in verdicts.silenced])
    # A re-run must not add a second deliver job: two could send the same message twice.
    already = jobs.refs_with(conn, JobKind.DELIVER, verdicts.deliverable)
    from postlane import pipeline  # the registry imports this module: looked up when run

    pipeline.enqueue_many(conn, JobKind.DELIVER,
                          [mid for mid in verdicts.deliverable if mid not in already])
