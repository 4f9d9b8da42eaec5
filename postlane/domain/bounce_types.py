"""Postmark's bounce-type table, plus the seed's SMTP API Error labels.

Kept as data so that API filters, payloads and the dashboard all read one table.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from postlane.domain.types import SuppressionReason


@dataclass(frozen=True)
class BounceType:
    type: str
    code: int
    name: str
    description: str


_TABLE: tuple[BounceType, ...] = (
    BounceType("HardBounce", 1, "Hard bounce",
               "The server was unable to deliver your message (ex: unknown user, mailbox not "
               "found)."),
    BounceType("Transient", 2, "Message delayed",
               "The server could not temporarily deliver your message (ex: Message is delayed "
               "due to network troubles)."),
    BounceType("Unsubscribe", 16, "Unsubscribe request", "Unsubscribe or Remove request."),
    BounceType("Subscribe", 32, "Subscribe request",
               "Subscribe request from someone wanting to get added to the mailing list."),
    BounceType("AutoResponder", 64, "Auto responder",
               "Automatic email responder (ex: \"Out of Office\" or \"On Vacation\")."),
    BounceType("AddressChange", 128, "Address change",
               "The recipient has requested an address change."),
    BounceType("DnsError", 256, "DNS error", "A temporary DNS error."),
    BounceType("SpamNotification", 512, "Spam notification",
               "The message was delivered, but was either blocked by the user, or classified as "
               "spam, bulk mail, or had rejected content."),
    BounceType("OpenRelayTest", 1024, "Open relay test",
               "The NDR is actually a test email message to see if the mail server is an open "
               "relay."),
    BounceType("Unknown", 2048, "Unknown", "Unable to classify the NDR."),
    BounceType("SoftBounce", 4096, "Soft bounce/Undeliverable",
               "Unable to temporarily deliver message (i.e. mailbox full, account disabled, "
               "exceeds quota, out of disk space)."),
    BounceType("VirusNotification", 8192, "Virus notification",
               "The bounce is actually a virus notification warning about a virus/code infected "
               "message."),
    BounceType("ChallengeVerification", 16384, "Spam challenge verification",
               "The bounce is a challenge asking for verification you actually sent the email."),
    BounceType("BadEmailAddress", 100000, "Invalid email address",
               "The address is not a valid email address."),
    BounceType("SpamComplaint", 100001, "Spam complaint",
               "The subscriber explicitly marked this message as spam."),
    BounceType("ManuallyDeactivated", 100002, "Manually deactivated",
               "The email was manually deactivated."),
    BounceType("Unconfirmed", 100003, "Registration not confirmed",
               "The subscriber has not clicked on the confirmation link upon registration or "
               "import."),
    BounceType("Blocked", 100006, "ISP block",
               "Blocked from this ISP due to content or blacklisting."),
    BounceType("SMTPApiError", 100007, "SMTP API Error", "Recipient is on the suppression list"),
    BounceType("InboundError", 100008, "Processing failed",
               "Unable to deliver inbound message to destination inbound hook."),
    BounceType("DMARCPolicy", 100009, "DMARC Policy", "Email rejected due DMARC Policy."),
    BounceType("TemplateRenderingFailed", 100010, "Template rendering failed",
               "An error occurred while attempting to render your template."),
)

#: The seed's labels for an SMTP API Error (the default; see DESIGN.md).
SEED_SMTP_API_ERROR = BounceType(
    "InternalError", 4003, "SMTP API Error", "Recipient is on the suppression list"
)


class SmtpApiErrorLabels(StrEnum):
    """Which labels an SMTP API Error bounce carries.

    ``seed`` is the documented contract; ``postmark`` matches the live service for SDKs
    that reject Types they do not know.
    """

    SEED = "seed"
    POSTMARK = "postmark"


BY_TYPE: dict[str, BounceType] = {bt.type: bt for bt in _TABLE}
BY_TYPE[SEED_SMTP_API_ERROR.type] = SEED_SMTP_API_ERROR
BY_CODE: dict[int, BounceType] = {bt.code: bt for bt in BY_TYPE.values()}
ALL_TYPES: tuple[BounceType, ...] = (*_TABLE, SEED_SMTP_API_ERROR)


@dataclass(frozen=True)
class Deactivation:
    """What a bounce of some type does to its address: Inactive and CanActivate on the
    bounce, and the suppression it adds to the message's stream (None: none)."""

    inactive: bool
    can_activate: bool
    suppress: SuppressionReason | None


#: Postmark deactivates on hard bounces and spam complaints (a spam complaint's address
#: cannot be reactivated); every other type leaves the address active.
_DEACTIVATES: dict[str, Deactivation] = {
    "HardBounce": Deactivation(True, True, SuppressionReason.HARD_BOUNCE),
    "SpamComplaint": Deactivation(True, False, SuppressionReason.SPAM_COMPLAINT),
}
_STAYS_ACTIVE = Deactivation(False, False, None)


def deactivation(kind: BounceType) -> Deactivation:
    """The one home of "which bounces deactivate": received reports (domain.reports) and
    bounce-testing addresses (domain.bounce_testing) both read it."""
    return _DEACTIVATES.get(kind.type, _STAYS_ACTIVE)


def smtp_api_error_type(labels: SmtpApiErrorLabels) -> BounceType:
    """The bounce type recorded when SMTP mail meets a suppressed recipient."""
    if labels is SmtpApiErrorLabels.POSTMARK:
        return BY_TYPE["SMTPApiError"]
    return SEED_SMTP_API_ERROR


def is_smtp_api_error(type_name: str) -> bool:
    return type_name in (SEED_SMTP_API_ERROR.type, "SMTPApiError")


def lookup(type_name: str) -> BounceType | None:
    """Case-insensitive lookup, because Bounce API filters come from URLs."""
    for bt in ALL_TYPES:
        if bt.type.lower() == type_name.lower():
            return bt
    return None
