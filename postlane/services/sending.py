"""Sending a message: the stream must be able to send, and (for REST) suppressed
recipients are refused up front. Every front door that sends calls these, so the
partial-406 rule and the stream check have one home.

The REST rule: recipients on the stream's suppression list are dropped from the message;
if that leaves none, nothing is sent and the whole request fails (InactiveRecipients,
ErrorCode 406); otherwise the message goes to the rest and the response names the
dropped addresses.
"""

from __future__ import annotations

from dataclasses import dataclass

from postlane import screening
from postlane.accept import Accepted, Submission, accept, accept_many
from postlane.domain import addresses
from postlane.domain.errors import (
    InactiveRecipients,
    PostlaneError,
    Refused,
    StaleToken,
    TemplateChanged,
)
from postlane.domain.records import Server, Stream
from postlane.domain.suppression import Outcome
from postlane.domain.types import Source
from postlane.services import streams as stream_service
from postlane.services.identity import SendTokens
from postlane.store import Transaction, servers, templates


@dataclass(frozen=True, slots=True)
class Sent:
    """An accepted REST message, and the suppressed recipients it will not go to."""

    accepted: Accepted
    inactive: tuple[str, ...]

    @property
    def message(self) -> str:
        """The response's Message: "OK", or which inactive addresses were left out."""
        if not self.inactive:
            return "OK"
        return ("Message OK, but will not deliver to these inactive addresses: "
                f"{', '.join(self.inactive)}.")


def send(conn: Transaction, sub: Submission, tokens: SendTokens | None = None) -> Sent:
    """Check the stream and the suppressions and accept, in the caller's transaction (no
    suppression can slip in between). ``sub.recipients`` loses the inactive addresses.
    The refusal, if any, is raised (send_many's answer for one message)."""
    result = send_many(conn, [sub], tokens)[0]
    if isinstance(result, PostlaneError):
        raise result
    return result


def send_many(conn: Transaction, subs: list[Submission], tokens: SendTokens | None = None
              ) -> list[Sent | PostlaneError]:
    """send for several messages in one transaction (a batch, or a group commit of
    concurrent requests): their tokens (``tokens``' cached guesses) are checked in one
    query, each server and stream once, each stream's suppressions in one query, and the
    messages that pass are accepted together. A refused message is its own result; the
    others still go."""
    checked: dict[tuple[int, str], tuple[Server, Stream] | PostlaneError] = {}
    stale = _stale(conn, subs, tokens)
    changed = _changed(conn, subs)
    for sub in subs:
        key = (sub.server_id, sub.stream)
        if key not in checked:
            checked[key] = _sendable(conn, *key)
    fates = _fates(conn, subs, checked)
    results: list[Sent | PostlaneError | None] = []
    going: list[Submission] = []
    inactive_of: list[tuple[str, ...]] = []
    for sub in subs:
        verdict = checked[(sub.server_id, sub.stream)]
        if sub.token in stale:
            verdict = StaleToken(sub.server_id)
        elif id(sub) in changed:
            verdict = TemplateChanged()
        if isinstance(verdict, PostlaneError):
            results.append(verdict)
            continue
        sub.delivery_type = verdict[0].delivery_type
        keys = list(dict.fromkeys(addresses.normalize(r) for r in sub.recipients))
        inactive = [k for k in keys if fates[(sub.server_id, sub.stream)].get(k)]
        if len(inactive) == len(keys):
            results.append(InactiveRecipients(inactive))
            continue
        sub.recipients = [r for r in sub.recipients if addresses.normalize(r) not in inactive]
        results.append(None)
        going.append(sub)
        inactive_of.append(tuple(inactive))
    stored = iter(zip(accept_many(conn, going) if going else [], inactive_of, strict=True))
    return [result if result is not None else Sent(*next(stored)) for result in results]


def _stale(conn: Transaction, subs: list[Submission], tokens: SendTokens | None) -> set[str]:
    """The submissions' tokens that no longer name their server."""
    claims = {sub.token: sub.server_id for sub in subs if sub.token is not None}
    if tokens is None or not claims:
        return set()
    return set(claims) - tokens.still_valid(conn, claims)


def _changed(conn: Transaction, subs: list[Submission]) -> set[int]:
    """The submissions (by id()) rendered from a template or layout that is no longer as
    it was (edited or deleted meanwhile): all of them checked in one query."""
    ids = {record.id for sub in subs for record in sub.rendered_from}
    if not ids:
        return set()
    current = templates.by_ids(conn, list(ids))
    return {id(sub) for sub in subs
            if any(current.get(record.id) != record for record in sub.rendered_from)}


def _sendable(conn: Transaction, server_id: int, stream: str
              ) -> tuple[Server, Stream] | PostlaneError:
    server, found = servers.with_stream(conn, server_id, stream)
    if server is None:  # deleted while the request was on its way
        return StaleToken(server_id)
    try:
        return server, stream_service.sendable(found, stream)
    except Refused as exc:
        return exc


def _fates(conn: Transaction, subs: list[Submission],
           checked: dict[tuple[int, str], tuple[Server, Stream] | PostlaneError]
           ) -> dict[tuple[int, str], dict[str, bool]]:
    """Per (server, stream): which of its messages' recipients the REST rule refuses."""
    wanted: dict[tuple[int, str], list[str]] = {}
    for sub in subs:
        wanted.setdefault((sub.server_id, sub.stream), []).extend(sub.recipients)
    refused: dict[tuple[int, str], dict[str, bool]] = {}
    for key, emails in wanted.items():
        verdict = checked[key]
        if isinstance(verdict, PostlaneError):
            refused[key] = {}
            continue
        found = screening.screen(conn, key[0], key[1], Source.API,
                                 verdict[0].enable_smtp_api_error_hooks, emails)
        refused[key] = {k: fate.outcome is Outcome.REJECT for k, fate in found.items()}
    return refused


def accept_checked(conn: Transaction, sub: Submission) -> Accepted:
    """Accept a message whose suppressions are screened later (SMTP): only the stream is
    checked here."""
    stream_service.require_sending(conn, sub.server_id, sub.stream)
    return accept(conn, sub)


def accept_checked_many(conn: Transaction, subs: list[Submission]) -> list[Accepted | Refused]:
    """accept_checked for a group commit: each distinct stream is checked once, the good
    messages are accepted together, and a refused stream is its messages' own error."""
    verdicts: dict[tuple[int, str], Refused | None] = {}
    for sub in subs:
        key = (sub.server_id, sub.stream)
        if key not in verdicts:
            try:
                stream_service.require_sending(conn, *key)
                verdicts[key] = None
            except Refused as exc:
                verdicts[key] = exc
    good = [sub for sub in subs if verdicts[(sub.server_id, sub.stream)] is None]
    stored = iter(accept_many(conn, good))
    return [verdicts[(sub.server_id, sub.stream)] or next(stored) for sub in subs]
