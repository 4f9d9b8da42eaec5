"""Limits on the fields the front doors store: the sizes of their columns (PostgreSQL
enforces them, SQLite does not; Postmark's own Subject limit is 2000), the NUL character,
which PostgreSQL text cannot hold, and the tracking switches' vocabulary.

One rule per field for both front doors (SMTP and the REST API). Where they answer
differently it is because an SMTP header cannot be refused like a JSON field: a REST
request with NUL or an unknown TrackLinks value is refused (422), while SMTP stores NUL
as U+FFFD (without_nul) and reads an unknown X-PM-TrackLinks as "None", like any header
it does not know. Over-long fields are refused by both (422 and 554).
"""

from __future__ import annotations

from collections.abc import Iterator

#: Postmark's field names and the most characters each may have.
MAX_LENGTH = {"From": 1000, "ReplyTo": 1000, "Subject": 2000, "Tag": 1000}
TRACK_LINKS = ("None", "HtmlAndText", "HtmlOnly", "TextOnly")
#: The server settings' columns.
SERVER_NAME_LENGTH = 200
HOOK_URL_LENGTH = 2000
INBOUND_DOMAIN_LENGTH = 255
SPAM_THRESHOLD_MAX = 2**31 - 1
#: How deep a JSON request body may nest. A Postmark body needs five levels (a batch of
#: messages with Headers); this leaves room for any TemplateModel and none for a body
#: built to make every walk over it expensive.
MAX_JSON_DEPTH = 64


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


def _nodes(value: object) -> Iterator[tuple[object, int]]:
    """Every string, number and container of decoded JSON with its depth (the top is 1),
    walked with a stack: a body nested a thousand deep is no RecursionError."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        yield node, depth
        if isinstance(node, dict):
            stack.extend((item, depth + 1) for pair in node.items() for item in pair)
        elif isinstance(node, list):
            stack.extend((item, depth + 1) for item in node)


def holds_nul(value: object) -> bool:
    """Whether decoded JSON (a string, or one inside objects and arrays) holds NUL."""
    return any(isinstance(node, str) and "\0" in node for node, _ in _nodes(value))


def nesting_depth(value: object) -> int:
    """How deep decoded JSON nests: 1 for a scalar or an empty container, one more for
    each container around it (an object's keys count as its members)."""
    return max(depth for _, depth in _nodes(value))


def without_nul(text: str) -> str:
    """Text for storage: NUL, which no valid message holds, becomes U+FFFD."""
    return text.replace("\0", "\ufffd")


def track_links(value: str) -> str | None:
    """A TrackLinks value as Postmark spells it, in whatever case it was given (as the
    server settings' Color and DeliveryType are read); None when it is not one."""
    wanted = value.strip().lower()
    return next((option for option in TRACK_LINKS if option.lower() == wanted), None)


def track_links_choices() -> str:
    """The values, for the message that refuses another one."""
    return ", ".join(TRACK_LINKS)


def header_switch(value: str) -> bool:
    """An on/off header such as X-PM-TrackOpens: "true" in any case is on, all else off."""
    return value.strip().lower() == "true"
