"""Suppression rules: what happens to a recipient, and what a customer may undo.

This is the single place the REST and SMTP paths learn a recipient's fate, so the
two front doors can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from postlane.domain.records import Suppression
from postlane.domain.types import Source, SuppressionReason


class Outcome(StrEnum):
    DELIVER = "deliver"
    #: SMTP mail to a suppressed address on a server with EnableSmtpApiErrorHooks.
    SMTP_API_ERROR = "smtp_api_error"
    #: Suppressed and nobody asked to hear about it: not delivered, event only.
    SILENT = "silent"
    #: REST mail to a suppressed address: refused in the response (ErrorCode 406).
    REJECT = "reject"


@dataclass(frozen=True, slots=True)
class Fate:
    """A recipient's outcome, and the suppression that decided it (None to deliver)."""

    outcome: Outcome
    suppression: Suppression | None


def outcome(suppression: Suppression | None, source: Source, hooks_enabled: bool) -> Outcome:
    """Decide a recipient's fate from its suppression (if any) and the front door used."""
    if suppression is None:
        return Outcome.DELIVER
    if source is Source.API:
        return Outcome.REJECT
    return Outcome.SMTP_API_ERROR if hooks_enabled else Outcome.SILENT


def customer_can_delete(reason: SuppressionReason) -> bool:
    """Spam complaints are the recipient's decision; the sender may not override them."""
    return reason is not SuppressionReason.SPAM_COMPLAINT


def smtp_api_error_details(suppression: Suppression) -> str:
    """The bounce's Details: names the suppression reason, as the seed requires."""
    return (
        f"The recipient {suppression.email} is on the suppression list of message stream "
        f"'{suppression.stream}'. Suppression reason: {suppression.reason.value}."
    )


def inactive_recipients_message(addresses: list[str]) -> str:
    """ErrorCode 406 wording; the Ruby SDK parses the address list out of it."""
    return (
        "You tried to send to recipient(s) that have been marked as inactive. "
        f"Found inactive addresses: {', '.join(addresses)}. Inactive recipients are ones that "
        "have generated a hard bounce, a spam complaint, or a manual suppression."
    )
