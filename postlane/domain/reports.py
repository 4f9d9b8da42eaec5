"""Bounce and complaint reports that come back to the bounce domain, read into items and
classified into Postmark bounce types. Pure: bytes in, values out.

Delivery status notifications (RFC 3464) give one item per per-recipient block; abuse
reports (ARF, RFC 5965) give one item per reported recipient. Whatever cannot be read as
either is one Unknown item, so nothing that arrives is silently ignored.

Everything here is what the report claims; anyone can write a report. Which recipient it
may affect is decided by the VERP token it arrives with (postlane.pipeline.dsn).
"""

from __future__ import annotations

import email
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32
from email.utils import collapse_rfc2231_value
from enum import StrEnum

from postlane.domain import bounce_types, verp
from postlane.domain.bounce_types import BY_TYPE, BounceType
from postlane.domain.types import SuppressionReason
from postlane.domain.verp import MESSAGE_ID_HEADER

#: Details are stored as text; a diagnostic longer than this is cut.
MAX_DETAILS = 1000


class ReportKind(StrEnum):
    DSN = "dsn"
    ARF = "arf"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class ReportItem:
    """One recipient's outcome as the report states it (fields as found, trimmed)."""

    original_recipient: str | None = None
    final_recipient: str | None = None
    action: str = ""
    status: str = ""
    diagnostic: str = ""
    remote_mta: str = ""
    #: ARF only: abuse, fraud, virus, not-spam, other, ...
    feedback_type: str = ""

    @property
    def recipient(self) -> str | None:
        return self.original_recipient or self.final_recipient


@dataclass(frozen=True)
class Report:
    kind: ReportKind
    items: tuple[ReportItem, ...]
    #: Ids of the original message the report quotes, most trustworthy first (what a
    #: report quotes binds nothing: they only tell the operator what it claims).
    message_ids: tuple[str, ...] = ()
    #: The human-readable part (ARF), for a complaint's Details.
    summary: str = ""
    #: Our return paths the report quotes (an ARF's Original-Mail-From, the quoted
    #: Return-Path), for reports sent elsewhere than to the return path itself.
    return_paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    kind: BounceType
    inactive: bool
    can_activate: bool
    suppress: SuppressionReason | None
    details: str


# --- Classification -------------------------------------------------------------------

_STATUS_RE = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_BASIC_CODE_RE = re.compile(r"^\s*(?:[\w-]+\s*;\s*)?([245])\d\d\b")
_MAILBOX_FULL = re.compile(r"mailbox (?:is )?full|over ?quota|quota exceeded|exceed\w* (?:\w+ )?"
                           r"quota|insufficient (?:storage|disk)|mailbox size limit",
                           re.IGNORECASE)
_BLOCK_WORDING = re.compile(r"block\w*|spam\w*|black-?list\w*|deny-?list\w*|reputation|"
                            r"\brbl\b|dnsbl", re.IGNORECASE)


@dataclass(frozen=True)
class Rule:
    """A DSN item whose action is among ``actions`` (None: any), whose status starts with
    ``status`` and whose diagnostic matches ``wording`` (None: any) is of type ``bounce``
    (None: not a bounce at all, e.g. a success notice)."""

    bounce: str | None
    actions: frozenset[str] | None = None
    status: str = ""
    wording: re.Pattern[str] | None = None


_FAILED = frozenset({"failed"})

#: First match wins.
DSN_RULES: tuple[Rule, ...] = (
    Rule(None, frozenset({"delivered", "relayed", "expanded"})),
    Rule("Transient", frozenset({"delayed"})),
    Rule("SoftBounce", _FAILED, "5.2.2"),
    Rule("SoftBounce", _FAILED, "5.", _MAILBOX_FULL),
    Rule("Blocked", _FAILED, "5.7.", _BLOCK_WORDING),
    Rule("HardBounce", _FAILED, "5."),
    Rule("SoftBounce", _FAILED, "4."),
    Rule("Transient", None, "4."),
)

#: ARF Feedback-Type -> bounce type (None: not a complaint); any other type is Unknown.
FEEDBACK_TYPES: dict[str, str | None] = {
    "abuse": "SpamComplaint",
    "fraud": "SpamComplaint",
    "virus": "VirusNotification",
    "not-spam": None,
}

def effective_status(item: ReportItem) -> str:
    """The Status field, sharpened by the diagnostic when Status is only a class (x.0.0)
    or missing; a bare SMTP reply code gives at least the class."""
    stated = _STATUS_RE.search(item.status)
    quoted = _STATUS_RE.search(item.diagnostic)
    if stated and stated.group(2, 3) != ("0", "0"):
        return stated.group(0)
    if quoted and (stated is None or quoted.group(1) == stated.group(1)):
        return quoted.group(0)
    if stated:
        return stated.group(0)
    basic = _BASIC_CODE_RE.match(item.diagnostic)
    return f"{basic.group(1)}.0.0" if basic else ""


def _implied_action(status: str) -> str:
    return {"5": "failed", "4": "delayed"}.get(status[:1], "")


def bounce_type(item: ReportItem) -> BounceType | None:
    """Postmark's type for one item, or None when the item reports no failure."""
    if item.feedback_type:
        name = FEEDBACK_TYPES.get(item.feedback_type.lower(), "Unknown")
        return BY_TYPE[name] if name else None
    status = effective_status(item)
    action = item.action.lower() or _implied_action(status)
    for rule in DSN_RULES:
        if rule.actions is not None and action not in rule.actions:
            continue
        if not status.startswith(rule.status):
            continue
        if rule.wording is not None and not rule.wording.search(item.diagnostic):
            continue
        return BY_TYPE[rule.bounce] if rule.bounce else None
    return BY_TYPE["Unknown"]


def details(item: ReportItem, summary: str = "") -> str:
    """The bounce's Details: the diagnostic text as the remote server gave it."""
    if item.feedback_type:
        text = summary or f"Feedback-Type: {item.feedback_type}"
    elif item.diagnostic:
        text = item.diagnostic
    elif item.action or item.status:
        text = f"Action: {item.action or 'unknown'}; Status: {item.status or 'unknown'}"
    else:
        text = "The report could not be read as a delivery status or feedback report."
    return text[:MAX_DETAILS]


def verdict(item: ReportItem, summary: str = "") -> Verdict | None:
    kind = bounce_type(item)
    if kind is None:
        return None
    rule = bounce_types.deactivation(kind)
    return Verdict(kind, rule.inactive, rule.can_activate, rule.suppress,
                   details(item, summary))


# --- Parsing --------------------------------------------------------------------------

def _clean(value: object) -> str:
    """A header value unfolded, with runs of whitespace collapsed."""
    return " ".join(str(value or "").split())


def _typed_value(value: object) -> str:
    """``rfc822; bob@example.net`` -> ``bob@example.net`` (the type prefix dropped)."""
    text = _clean(value)
    if ";" in text:
        text = text.split(";", 1)[1].strip()
    return text


def _address(value: object) -> str | None:
    text = _typed_value(value).strip("<>").strip()
    return text if "@" in text else None


def _as_uuid(value: object) -> str | None:
    text = _clean(value).strip("<>").strip()
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


def _decode(payload: object, charset: str | None) -> str:
    if not isinstance(payload, bytes):
        return ""
    try:
        return payload.decode(charset or "utf-8", "replace")
    except LookupError:  # a charset Python does not know
        return payload.decode("utf-8", "replace")


def _header_blocks(part: Message) -> list[Message]:
    """The field blocks of a message/delivery-status or message/feedback-report part."""
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, Message)]
    if isinstance(payload, str):
        return [HeaderParser(policy=compat32).parsestr(block.strip() + "\n")
                for block in re.split(r"\r?\n\s*\r?\n", payload) if block.strip()]
    return []


def _quoted_headers(report: Message) -> Message | None:
    """The original message's headers, as the report quotes them."""
    for part in report.walk():
        ctype = part.get_content_type()
        if ctype == "text/rfc822-headers":
            text = _decode(part.get_payload(decode=True), part.get_content_charset())
            return HeaderParser(policy=compat32).parsestr(text)
        if ctype == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                return inner[0]
    return None


def _text_summary(report: Message) -> str:
    for part in report.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            return _clean(_decode(payload, part.get_content_charset()))
    return ""


_QUOTED_ID_RE = re.compile(rb"^" + MESSAGE_ID_HEADER.encode() + rb":\s*<?([0-9a-f-]{36})",
                           re.IGNORECASE | re.MULTILINE)


def _message_ids(raw: bytes, quoted: Message | None, envelope_id: object) -> tuple[str, ...]:
    found: list[str] = []
    candidates = [quoted.get(MESSAGE_ID_HEADER) if quoted is not None else None, envelope_id,
                  *(m.group(1).decode() for m in _QUOTED_ID_RE.finditer(raw))]
    for candidate in candidates:
        value = _as_uuid(candidate) if candidate else None
        if value and value not in found:
            found.append(value)
    return tuple(found)


def _dsn(report: Message, quoted: Message | None) -> tuple[list[ReportItem], object]:
    part = next((p for p in report.walk()
                 if p.get_content_type() == "message/delivery-status"), None)
    blocks = _header_blocks(part) if part is not None else []
    if not blocks:
        return [], None
    per_message, per_recipient = blocks[0], blocks[1:]
    if per_message.get("Final-Recipient") or per_message.get("Action"):
        per_recipient = blocks  # some MTAs leave out the per-message block
    items = [ReportItem(
        original_recipient=_address(b.get("Original-Recipient")),
        final_recipient=_address(b.get("Final-Recipient")),
        action=_clean(b.get("Action")).lower(),
        status=_clean(b.get("Status")),
        diagnostic=_typed_value(b.get("Diagnostic-Code")),
        remote_mta=_typed_value(b.get("Remote-MTA")),
    ) for b in per_recipient if b.get("Final-Recipient") or b.get("Action")]
    return items, per_message.get("Original-Envelope-Id")


def _feedback_fields(report: Message) -> Message | None:
    part = next((p for p in report.walk()
                 if p.get_content_type() == "message/feedback-report"), None)
    blocks = _header_blocks(part) if part is not None else []
    return blocks[0] if blocks else None


def _arf(report: Message) -> tuple[list[ReportItem], object]:
    """The reported recipients, and the original envelope sender (our VERP address).

    Only Original-Rcpt-To names the complainer: the quoted To header lists everyone the
    message was addressed to, so it says nothing about who complained. A report without
    it (feedback loops often redact it) names nobody."""
    fields = _feedback_fields(report)
    if fields is None:
        return [], None
    feedback_type = _clean(fields.get("Feedback-Type")).lower() or "other"
    named = [a for a in (_address(v) for v in fields.get_all("Original-Rcpt-To", [])) if a]
    rcpts: list[str | None] = [*named] or [None]
    items = [ReportItem(original_recipient=r, feedback_type=feedback_type) for r in rcpts]
    return items, verp.message_id_from(_clean(fields.get("Original-Mail-From")))


#: Quoted return paths kept: a real report quotes one; each costs the dsn step a lookup.
MAX_RETURN_PATHS = 4


def _return_paths(report: Message, quoted: Message | None) -> tuple[str, ...]:
    """Our VERP addresses among the report's Original-Mail-From and the quoted message's
    Return-Path, in that order (the first few)."""
    fields = _feedback_fields(report)
    candidates = [*(fields.get_all("Original-Mail-From", []) if fields is not None else []),
                  *(quoted.get_all("Return-Path", []) if quoted is not None else [])]
    found: list[str] = []
    for candidate in candidates:
        address = _clean(candidate).strip("<>").strip()
        if verp.message_id_from(address) and address not in found:
            found.append(address)
    return tuple(found[:MAX_RETURN_PATHS])


def parse(raw: bytes) -> Report:
    """Read a report. Never raises on malformed input: what cannot be read is Unknown."""
    message = email.message_from_bytes(raw, policy=compat32)
    quoted = _quoted_headers(message) if message.is_multipart() else None
    kind, envelope_id = ReportKind.UNKNOWN, None
    items: list[ReportItem] = []
    if message.get_content_type() == "multipart/report":
        report_type = collapse_rfc2231_value(message.get_param("report-type") or "").lower()
        if report_type == "delivery-status":
            items, envelope_id = _dsn(message, quoted)
            kind = ReportKind.DSN if items else kind
        elif report_type == "feedback-report":
            items, envelope_id = _arf(message)
            kind = ReportKind.ARF if items else kind
    summary = _text_summary(message)[:MAX_DETAILS] if kind is ReportKind.ARF else ""
    return_paths = _return_paths(message, quoted) if message.is_multipart() else ()
    return Report(kind, tuple(items) or (ReportItem(),),
                  _message_ids(raw, quoted, envelope_id), summary, return_paths)


def outcomes(report: Report) -> Iterator[tuple[ReportItem, Verdict]]:
    """Each item that reports a failure or complaint, with its verdict."""
    for item in report.items:
        found = verdict(item, report.summary)
        if found is not None:
            yield item, found
