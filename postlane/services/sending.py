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
from postlane.domain.errors import InactiveRecipients, Refused
from postlane.domain.suppression import Outcome
from postlane.domain.types import Source
from postlane.services import streams as stream_service
from postlane.store import Transaction, servers


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


def send(conn: Transaction, sub: Submission) -> Sent:
    """Check the stream and the suppressions and accept, in the caller's transaction (no
    suppression can slip in between). ``sub.recipients`` loses the inactive addresses."""
    stream_service.require_sending(conn, sub.server_id, sub.stream)
    server = servers.get(conn, sub.server_id)
    assert server is not None
    fates = screening.screen(conn, sub.server_id, sub.stream, Source.API,
                             server.enable_smtp_api_error_hooks, sub.recipients)
    inactive = [key for key, fate in fates.items() if fate.outcome is Outcome.REJECT]
    if len(inactive) == len(fates):
        raise InactiveRecipients(inactive)
    sub.recipients = [r for r in sub.recipients if addresses.normalize(r) not in inactive]
    return Sent(accept(conn, sub), tuple(inactive))


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
