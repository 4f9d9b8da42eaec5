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

from collections.abc import Iterable, Iterator, Mapping

#: Postmark's field names and the most characters each may have. To, Cc and Bcc hold at
#: most 50 addresses together (MAX_RECIPIENTS), each at most 254 characters with a display
#: name: 64,000 characters is room for that, and a field past it is refused unparsed.
MAX_LENGTH = {"From": 1000, "ReplyTo": 1000, "Subject": 2000, "Tag": 1000,
              "To": 64_000, "Cc": 64_000, "Bcc": 64_000}
#: Postmark's limits on a message (its API documentation and support articles): 50
#: recipients over To, Cc and Bcc; TextBody and HtmlBody up to 5 MB each (the whole
#: message, attachments base64-encoded, is the smtp_max_message_bytes setting, 10 MB);
#: Metadata up to 10 fields, names up to 20 characters, values up to 80.
MAX_RECIPIENTS = 50
MAX_BODY_BYTES = 5 * 1024 * 1024
METADATA_FIELDS = 10
METADATA_NAME_LENGTH = 20
METADATA_VALUE_LENGTH = 80
#: Postmark documents no count for these; they bound the MIME parts and header lines
#: one request makes the server build. No application sends a hundred custom headers or
#: a hundred files in one message; 200,000 headers froze the event loop for 28 s.
MAX_HEADERS = 100
MAX_ATTACHMENTS = 100
TRACK_LINKS = ("None", "HtmlAndText", "HtmlOnly", "TextOnly")
#: Message streams (Postmark's message streams API and its 12xx errors): per server, and
#: the lengths of a stream's ID, Name and Description.
MAX_STREAMS = 10
STREAM_ID_LENGTH = 30
STREAM_NAME_LENGTH = 100
STREAM_DESCRIPTION_LENGTH = 1000
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


#: The lists and objects of a message whose entries are counted, and their limits.
MAX_COUNT = {"Headers": MAX_HEADERS, "Attachments": MAX_ATTACHMENTS,
             "Metadata": METADATA_FIELDS}


def too_many(**counts: int) -> str | None:
    """Why the first over-full list is refused (keyword names as in MAX_COUNT), or None."""
    for name, count in counts.items():
        limit = MAX_COUNT[name]
        if count > limit:
            return f"{name} can have at most {limit} entries; {count} were given."
    return None


def too_large(**bodies: str | None) -> str | None:
    """Why the first body over MAX_BODY_BYTES (UTF-8) is refused, or None."""
    for name, body in bodies.items():
        if body is not None and len(body.encode("utf-8", "surrogatepass")) > MAX_BODY_BYTES:
            return f"{name} is larger than {MAX_BODY_BYTES // (1024 * 1024)} MB."
    return None


def metadata_problem(metadata: Mapping[str, str]) -> str | None:
    """Why Metadata is refused, or None: too many fields, a name or value too long, or
    two names that differ only in letter case (Postmark refuses those on its API)."""
    problem = too_many(Metadata=len(metadata))
    if problem:
        return problem
    seen: dict[str, str] = {}
    for name, value in metadata.items():
        if len(name) > METADATA_NAME_LENGTH:
            return (f"Metadata field name '{name[:METADATA_NAME_LENGTH]}...' is longer than "
                    f"{METADATA_NAME_LENGTH} characters.")
        if len(value) > METADATA_VALUE_LENGTH:
            return (f"Metadata value of '{name}' is longer than {METADATA_VALUE_LENGTH} "
                    "characters.")
        first = seen.setdefault(name.lower(), name)
        if first != name:
            return f"Metadata field names differ only in letter case: '{first}' and '{name}'."
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
    each container around it (an object's keys count as its members). Only containers
    are walked: a send's body is checked on every request (api.request.decode)."""
    deepest = 1
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        members: Iterable[object]
        if isinstance(node, dict):
            members = node.values()
        elif isinstance(node, list):
            members = node
        else:
            continue
        if node:
            deepest = max(deepest, depth + 1)
        stack.extend((item, depth + 1) for item in members if isinstance(item, dict | list))
    return deepest


def without_nul(text: str) -> str:
    """Text for storage: NUL, which no valid message holds, becomes U+FFFD."""
    return text.replace("\0", "\ufffd")


def track_links(value: str) -> str | None:
    """A TrackLinks value as Postmark spells it, in whatever case it was given (as the
    server settings' Color and DeliveryType are read); None when it is not one. What
    acts on the setting reads this spelling."""
    wanted = value.strip().lower()
    return next((option for option in TRACK_LINKS if option.lower() == wanted), None)


def track_links_as_given(value: str) -> str | None:
    """A TrackLinks value to store and echo: as the client gave it (its case kept, only
    surrounding spaces dropped), when it is one in any case; None when it is not.
    The DESIGN rule for enum inputs is "echoed as given", as Color is: an SDK sends the
    canonical spelling and its strict enum reads that back; a client that sent
    "htmlonly" reads back "htmlonly". What acts on the setting reads track_links()."""
    return value.strip() if track_links(value) is not None else None


#: Postmark's refusal of an unknown TrackLinks in a send (its wording, as Postmark's
#: API answers it; null is the JSON value, which Postlane reads as absent).
TRACK_LINKS_INVALID = ("The value for 'TrackLinks' is not valid. Valid options are: null, "
                       + ", ".join(f"'{option}'" for option in TRACK_LINKS))


def track_links_choices() -> str:
    """The values, for the message that refuses another one."""
    return ", ".join(TRACK_LINKS)


def header_switch(value: str) -> bool:
    """An on/off header such as X-PM-TrackOpens: "true" in any case is on, all else off."""
    return value.strip().lower() == "true"
