"""Turn a received MIME message plus its envelope into a Submission.

Postmark's X-PM-* headers choose the stream, tag, metadata and tracking.
"""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage

from postlane.accept import Submission
from postlane.domain import addresses
from postlane.domain.types import DeliveryType, Source

_META_PREFIX = "x-pm-metadata-"


class MalformedMessage(ValueError):
    pass


def _header(msg: EmailMessage, name: str, default: str = "") -> str:
    value = msg.get(name)
    return default if value is None else str(value).strip()


def _body(msg: EmailMessage, subtype: str) -> str | None:
    part = msg.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_subtype() != subtype:
        return None
    content = part.get_content()
    return content if isinstance(content, str) else None


def to_submission(raw: bytes, mail_from: str, rcpt_tos: list[str], server_id: int,
                  delivery_type: DeliveryType) -> Submission:
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        to_field, cc_field = _header(msg, "To"), _header(msg, "Cc")
        visible = {addresses.normalize(a) for _, a in
                   addresses.parse_list(to_field) + addresses.parse_list(cc_field)}
        metadata = {k[len(_META_PREFIX):]: str(v).strip() for k, v in msg.items()
                    if k.lower().startswith(_META_PREFIX)}
        attachments = [{"Name": part.get_filename() or "", "ContentType": part.get_content_type(),
                        "ContentLength": len(part.get_payload(decode=True) or b"")}
                       for part in msg.iter_attachments()]
        text_body, html_body = _body(msg, "plain"), _body(msg, "html")
    except (ValueError, TypeError, LookupError, AssertionError) as exc:
        raise MalformedMessage(str(exc) or "unparseable message") from exc
    return Submission(
        server_id=server_id, delivery_type=delivery_type,
        stream=_header(msg, "X-PM-Message-Stream", "outbound").lower() or "outbound",
        source=Source.SMTP, from_field=_header(msg, "From", mail_from) or mail_from,
        recipients=list(rcpt_tos), to_field=to_field, cc_field=cc_field,
        bcc_field=", ".join(r for r in rcpt_tos if addresses.normalize(r) not in visible),
        reply_to=_header(msg, "Reply-To"), subject=_header(msg, "Subject"),
        tag=_header(msg, "X-PM-Tag"), metadata=metadata,
        text_body=text_body, html_body=html_body, attachments=attachments, raw=raw,
        size=len(raw), track_opens=_header(msg, "X-PM-TrackOpens").lower() == "true",
        track_links=_header(msg, "X-PM-TrackLinks", "None") or "None",
    )
