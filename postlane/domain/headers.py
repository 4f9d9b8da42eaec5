"""Which Message-ID and Date a message gets: Postmark's rule, in one place.

Client libraries put their own Message-ID (and often a Date) in every message they build:
the Ruby mail gem, Nodemailer and Symfony Mailer always do, in the REST request's
``Headers``. Postmark answers with a MessageID of its own and, by default, writes that one
into the Message-ID header (``<MessageID@domain>``), with a Date of its own; a request
whose headers say ``X-PM-KeepID: true`` keeps the client's Message-ID instead, and the
client's Date when it gave one (a Date is generated when it did not). Either way the
message has exactly one of each: the client's entries are taken out of the custom headers,
whatever their letter case, and the chosen values are written once.

X-PM-KeepID itself stays among the stored headers, like every X-PM-* control, and is
withheld at delivery (mime.for_delivery), so recipients never see it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.utils import formatdate

from postlane.domain import limits

#: The right-hand side of the Message-IDs Postlane writes (Postmark's is mtasv.net).
MESSAGE_ID_DOMAIN = "postlane.local"
KEEP_ID = "x-pm-keepid"
#: Header names the composer writes itself: a client's entry is replaced, never doubled.
_IDENTITY = ("message-id", "date")


@dataclass(frozen=True)
class Identity:
    """The Message-ID and Date to write, and the custom headers without either."""

    message_id: str
    date: str
    headers: tuple[dict[str, str], ...]


def keeps_id(headers: Sequence[dict[str, str]]) -> bool:
    """Whether the headers ask for the client's Message-ID (X-PM-KeepID: true, any case)."""
    return any(h["Name"].strip().lower() == KEEP_ID and limits.header_switch(h["Value"])
               for h in headers)


def _first(headers: Sequence[dict[str, str]], name: str) -> str | None:
    return next((h["Value"].strip() for h in headers
                 if h["Name"].strip().lower() == name and h["Value"].strip()), None)


def message_id_header(message_id: str, domain: str = MESSAGE_ID_DOMAIN) -> str:
    """Postmark's own Message-ID for the MessageID it answered with."""
    return f"<{message_id}@{domain}>"


def identity(headers: Sequence[dict[str, str]], message_id: str,
             now: float | None = None, domain: str = MESSAGE_ID_DOMAIN) -> Identity:
    """The Message-ID and Date for a message whose MessageID is ``message_id``
    (``now``: the time for a generated Date, seconds since the epoch; default now)."""
    rest = tuple(h for h in headers if h["Name"].strip().lower() not in _IDENTITY)
    generated = formatdate(now, usegmt=True)
    if keeps_id(headers):
        kept_id = _first(headers, "message-id")
        return Identity(kept_id or message_id_header(message_id, domain),
                        _first(headers, "date") or generated, rest)
    return Identity(message_id_header(message_id, domain), generated, rest)
