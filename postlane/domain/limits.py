"""Limits on the message fields both front doors store: the sizes of their columns
(PostgreSQL enforces them, SQLite does not; Postmark's own Subject limit is 2000) and the
NUL character, which PostgreSQL text cannot hold."""

from __future__ import annotations

#: Postmark's field names and the most characters each may have.
MAX_LENGTH = {"From": 1000, "ReplyTo": 1000, "Subject": 2000, "Tag": 1000}
TRACK_LINKS = ("None", "HtmlAndText", "HtmlOnly", "TextOnly")


#: Everything Python's str.splitlines() breaks on, and NUL: none may be in a header value.
LINE_BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\0"


def has_line_break(value: str) -> bool:
    return any(ch in value for ch in LINE_BREAKS)


def too_long(**fields: str) -> str | None:
    """Why the first over-long field is refused (keyword names as in MAX_LENGTH), or None."""
    for name, value in fields.items():
        limit = MAX_LENGTH[name]
        if len(value) > limit:
            return f"{name} is longer than {limit} characters."
    return None


def without_nul(text: str) -> str:
    """Text for storage: NUL, which no valid message holds, becomes U+FFFD."""
    return text.replace("\0", "\ufffd")
