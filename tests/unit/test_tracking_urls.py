"""Tracking tokens (domain.tracking_urls) and the rewriting of a tracked message
(domain.tracking): what is tracked under which settings, the pixel, the links and their
numbering."""

from __future__ import annotations

import email
import email.policy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from postlane.domain import ids, mime, tracking
from postlane.domain.tracking_urls import Kind, Token, Urls, sign, verify

KEY = b"k" * 32
MID = "0190c0de-7b1e-7aaa-8bbb-123456789abc"


def test_a_token_round_trips_and_stays_lower_case() -> None:
    token = Token(Kind.CLICK, MID, 42, 3)
    text = sign(KEY, token)
    assert text == text.lower()  # the API lower-cases request paths
    assert verify(KEY, text) == token
    assert verify(KEY, text.upper()) is None  # upper-cased hex is another MAC
    assert verify(KEY, sign(KEY, Token(Kind.OPEN, ids.message_id(), 1, 0))) is not None


@pytest.mark.parametrize("edit", [
    lambda t: t.replace(".42.", ".43."),           # another recipient
    lambda t: "c4" + t[2:],                        # another link
    lambda t: "o" + t[1:],                         # a click token as an open
    lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"),  # the MAC
    lambda t: t[:-2],                              # truncated
    lambda t: t + "0",
    lambda t: "",
    lambda t: "../../etc/passwd",
])
def test_an_edited_token_verifies_to_nothing(edit: object) -> None:
    text = sign(KEY, Token(Kind.CLICK, MID, 42, 3))
    assert callable(edit)
    assert verify(KEY, edit(text)) is None


def test_another_keys_token_verifies_to_nothing() -> None:
    assert verify(b"other", sign(KEY, Token(Kind.OPEN, MID, 1, 0))) is None


@given(st.text(max_size=200))
def test_no_text_makes_verify_raise(text: str) -> None:
    assert verify(KEY, text) is None


def test_urls_sit_under_the_public_base() -> None:
    urls = Urls(KEY, "https://track.example.com/")
    opened = urls.open_url(MID, 7)
    assert opened.startswith("https://track.example.com/track/open/o0.7.")
    token = urls.click_url(MID, 7, 2).rsplit("/", 1)[1]
    assert verify(KEY, token) == Token(Kind.CLICK, MID, 7, 2)


# --- what is tracked --------------------------------------------------------------------

@pytest.mark.parametrize(("server", "message", "expected"), [
    ((False, "None"), (False, "None"), (False, False, False)),
    ((False, "None"), (True, "None"), (True, False, False)),
    # Postmark: a server with open tracking on tracks every message, whatever it says.
    ((True, "None"), (False, "None"), (True, False, False)),
    ((False, "HtmlAndText"), (False, "None"), (False, True, True)),
    ((False, "None"), (False, "htmlonly"), (False, True, False)),
    ((False, "None"), (False, "TextOnly"), (False, False, True)),
    # The message's mode wins over the server's when it names one.
    ((False, "HtmlAndText"), (False, "TextOnly"), (False, False, True)),
    ((False, "TextOnly"), (False, "HtmlOnly"), (False, True, False)),
])
def test_plan_follows_postmarks_precedence(server: tuple[bool, str], message: tuple[bool, str],
                                           expected: tuple[bool, bool, bool]) -> None:
    what = tracking.plan(*server, *message)
    assert (what.opens, what.html_links, what.text_links) == expected


# --- rewriting ----------------------------------------------------------------------------

HTML = ('<html><body><p>Hi</p><a href="https://example.com/a?x=1&amp;y=2">a</a> '
        "<a class='b' href='http://example.org/b'>b</a> <a href=\"mailto:x@example.com\">m"
        "</a></body></html>")
TEXT = "Read https://example.com/t. Or (https://example.com/u)"


def _composed(html: str | None = HTML, text: str | None = TEXT) -> bytes:
    return mime.compose(from_field="a@example.com", to_field="b@example.com", cc_field="",
                        reply_to="", subject="Hi", text_body=text, html_body=html,
                        headers=[], attachments=[{"Name": "a.txt", "ContentType": "text/plain",
                                                  "ContentID": None,
                                                  "Data": b"see https://attached.example"}],
                        message_id=MID, domain="postlane.local", sent_at=0)


def _bodies(raw: bytes) -> dict[str, str]:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    found: dict[str, str] = {}
    for part in parsed.walk():
        if not part.is_multipart() and not part.is_attachment():
            content = part.get_content()  # type: ignore[attr-defined]
            found[part.get_content_type()] = content.replace("\r\n", "\n")
    return found


def test_links_are_numbered_across_the_message_and_attachments_left_alone() -> None:
    found = tracking.links(_composed())
    assert [(link.url, link.location.value) for link in found] == [
        ("https://example.com/t", "Text"), ("https://example.com/u", "Text"),
        ("https://example.com/a?x=1&y=2", "HTML"), ("http://example.org/b", "HTML")]


def test_every_mode_rewrites_what_it_names_and_keeps_the_numbering() -> None:
    raw = _composed()
    both = tracking.rewrite(raw, tracking.Plan(True, True, True), "https://t/open/o",
                            lambda i: f"https://t/click/{i}")
    bodies = _bodies(both)
    assert bodies["text/plain"] == "Read https://t/click/0. Or (https://t/click/1)\n"
    html = bodies["text/html"]
    assert '<a href="https://t/click/2">a</a>' in html
    assert "<a class='b' href='https://t/click/3'>b</a>" in html
    assert 'href="mailto:x@example.com"' in html
    assert html.endswith('<img src="https://t/open/o" width="1" height="1" alt="" />'
                         "</body></html>\n")
    html_only = _bodies(tracking.rewrite(raw, tracking.Plan(False, True, False), "-",
                                         lambda i: f"https://t/click/{i}"))
    assert "https://example.com/t" in html_only["text/plain"]
    assert 'href="https://t/click/2"' in html_only["text/html"]
    assert "<img" not in html_only["text/html"]
    text_only = _bodies(tracking.rewrite(raw, tracking.Plan(False, False, True), "-",
                                         lambda i: f"https://t/click/{i}"))
    assert "https://t/click/1" in text_only["text/plain"]
    assert "https://example.com/a" in text_only["text/html"]


def test_a_pixel_goes_at_the_end_of_an_html_part_without_a_body_tag() -> None:
    raw = tracking.rewrite(_composed(html="<p>Hi</p>", text=None),
                           tracking.Plan(True, False, False), "https://t/open/o", str)
    assert _bodies(raw)["text/html"].rstrip("\n").endswith(
        '<p>Hi</p><img src="https://t/open/o" width="1" height="1" alt="" />')


def test_nothing_to_track_leaves_the_bytes_as_they_were() -> None:
    raw = _composed(html=None, text="no links here")
    assert tracking.rewrite(raw, tracking.Plan(True, True, True), "-", str) == raw


def test_an_smtp_message_in_latin1_is_rewritten_readably() -> None:
    raw = (b"From: a@example.com\r\nTo: b@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: text/html; charset=iso-8859-1\r\n"
           b"Content-Transfer-Encoding: 8bit\r\n\r\n"
           b"<p>Caf\xe9 <a href=\"https://example.com/caf\">go</a></p>\r\n")
    out = tracking.rewrite(raw, tracking.Plan(True, True, True), "https://t/o",
                           lambda i: f"https://t/c/{i}")
    html = _bodies(out)["text/html"]
    assert "Café" in html and 'href="https://t/c/0"' in html and "https://t/o" in html
    assert tracking.links(raw)[0].url == "https://example.com/caf"
