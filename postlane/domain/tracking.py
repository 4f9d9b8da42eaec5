"""Open and link tracking as Postmark applies it to an outgoing message.

What is tracked (:func:`plan`): opens when the server's TrackOpens is on or the message
asks for it (Postmark: "There is no way to disable open tracking on a per-email basis
when the server's Open tracking setting is enabled"); links as the message's TrackLinks
says when it names a mode (HtmlAndText, HtmlOnly, TextOnly), else as the server's does
(Postmark: a message "may override the link tracking setting" of its server).

How (:func:`rewrite`): the open pixel is an ``<img>`` at the end of each HTML part (before
``</body>`` when there is one); each tracked ``http(s)`` link of an HTML ``<a href>`` or
of a text part is replaced by its recipient's click URL. Links are numbered across the
whole message in the order :func:`links` finds them, whatever the mode, so a click
token's index always names the same link: the click endpoint reads it back from the
message (:func:`links`), never from the URL.
"""

from __future__ import annotations

import email
import email.policy
import html
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from enum import StrEnum

from postlane.domain import limits


class Location(StrEnum):
    """Postmark's ClickLocation values."""

    HTML = "HTML"
    TEXT = "Text"


@dataclass(frozen=True)
class Plan:
    opens: bool
    html_links: bool
    text_links: bool

    @property
    def any(self) -> bool:
        return self.opens or self.html_links or self.text_links


def plan(server_opens: bool, server_links: str, message_opens: bool,
         message_links: str) -> Plan:
    """What to track for a message of a server (each TrackLinks in any case)."""
    links = limits.track_links(message_links) or "None"
    if links == "None":
        links = limits.track_links(server_links) or "None"
    return Plan(opens=server_opens or message_opens,
                html_links=links in ("HtmlAndText", "HtmlOnly"),
                text_links=links in ("HtmlAndText", "TextOnly"))


@dataclass(frozen=True)
class Link:
    url: str
    location: Location


_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(https?://[^"'\s>]+)\2""",
                   re.IGNORECASE)
_TEXT_URL = re.compile(r"https?://[^\s<>\"'\]\[]+", re.IGNORECASE)
_TRAILING = ".,;:!?)"
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)


def _body_parts(message: EmailMessage) -> Iterator[tuple[EmailMessage, Location]]:
    """The message's text parts that are its bodies (not attachments), in order."""
    for part in message.walk():
        if part.is_multipart() or part.is_attachment():
            continue
        kind = part.get_content_type()
        if kind == "text/html":
            yield part, Location.HTML
        elif kind == "text/plain":
            yield part, Location.TEXT


def _text_url(found: re.Match[str]) -> str:
    return found.group(0).rstrip(_TRAILING)


def _parse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _content(part: EmailMessage) -> str | None:
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # an unknown charset, undecodable bytes
        return None
    return content if isinstance(content, str) else None


def links(raw: bytes) -> list[Link]:
    """Every trackable link of the message, numbered as :func:`rewrite` numbers them."""
    found: list[Link] = []
    for part, location in _body_parts(_parse(raw)):
        text = _content(part)
        if text is None:
            continue
        if location is Location.HTML:
            found.extend(Link(html.unescape(m.group(3)), location) for m in _HREF.finditer(text))
        else:
            found.extend(Link(_text_url(m), location) for m in _TEXT_URL.finditer(text))
    return found


def pixel(url: str) -> str:
    return f'<img src="{html.escape(url)}" width="1" height="1" alt="" />'


def _with_pixel(text: str, url: str) -> str:
    ends = list(_BODY_END.finditer(text))
    if not ends:  # after the content, before the line break that ends the part
        content = text.rstrip()
        return content + pixel(url) + text[len(content):]
    at = ends[-1].start()
    return text[:at] + pixel(url) + text[at:]


def rewrite(raw: bytes, what: Plan, open_url: str, click_url: Callable[[int], str]) -> bytes:
    """The message with its pixel and tracked links; ``click_url(i)`` is link i's URL."""
    message = _parse(raw)
    counter = iter(range(1_000_000))
    changed = False
    for part, location in _body_parts(message):
        text = _content(part)
        if text is None:
            continue
        new = _links_replaced(text, location, what, counter, click_url)
        if location is Location.HTML and what.opens:
            new = _with_pixel(new, open_url)
        if new != text:
            part.set_content(new, subtype="html" if location is Location.HTML else "plain",
                             charset="utf-8")
            del part["MIME-Version"]  # set_content adds one; only the top needs it
            changed = True
    if not changed:
        return raw
    return message.as_bytes(policy=email.policy.SMTP)


def _links_replaced(text: str, location: Location, what: Plan, counter: Iterator[int],
                    click_url: Callable[[int], str]) -> str:
    """Every link numbered (so the numbering never depends on the mode), the tracked
    ones replaced."""
    if location is Location.HTML:
        def href(found: re.Match[str]) -> str:
            index = next(counter)
            if not what.html_links:
                return found.group(0)
            quote = found.group(2)
            return f"{found.group(1)}{quote}{html.escape(click_url(index))}{quote}"
        return _HREF.sub(href, text)

    def bare(found: re.Match[str]) -> str:
        index = next(counter)
        url = _text_url(found)
        if not what.text_links:
            return found.group(0)
        return click_url(index) + found.group(0)[len(url):]
    return _TEXT_URL.sub(bare, text)
