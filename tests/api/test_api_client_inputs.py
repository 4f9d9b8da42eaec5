"""What official client libraries send to /email and /email/batch in normal use, accepted
as Postmark accepts it: their own Message-ID and Date in Headers (the Ruby mail gem,
Nodemailer and Symfony Mailer), base64 wrapped in lines (Ruby's pack('m'), Python's email
package) and ContentID "cid:..." inline images (every SDK). The request bodies are the
libraries' bytes, written out; postmarker, Postmark's Python client, sends its own to a
real server. Each stored message is parsed back with the email package."""

from __future__ import annotations

import base64
import email
import email.policy
import json
from collections.abc import Iterator
from email.message import EmailMessage
from email.mime.image import MIMEImage
from pathlib import Path
from typing import Any

import httpx
import pytest
from postmarker.core import PostmarkClient

from postlane.domain import headers, mime
from tests.support.harness import RunningServer, start_server, test_settings
from tests.support.in_process import InProcessServer

#: A 1x1 PNG and a binary blob with every byte value: what the decoded parts must equal.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg==")
BLOB = bytes(range(256)) * 8
HTML = '<p>Hi</p><img src="cid:logo" alt="logo">'


def post_raw(api: httpx.Client, path: str, body: str) -> httpx.Response:
    """The body exactly as written, as a library's HTTP layer sends it."""
    return api.post(path, content=body.encode(), headers={"Content-Type": "application/json"})


def stored(api: httpx.Client, message_id: str) -> EmailMessage:
    """The stored MIME of a message (GET .../dump), parsed."""
    r = api.get(f"/messages/outbound/{message_id}/dump")
    assert r.status_code == 200, r.text
    return parse(r.json()["Body"].encode())


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def delivered(api: httpx.Client, message_id: str) -> bytes:
    """What leaves for the recipients: the stored copy through mime.for_delivery, the
    function the deliver job applies."""
    raw = api.get(f"/messages/outbound/{message_id}/dump").json()["Body"].encode()
    return mime.for_delivery(raw, message_id)


def sent_ok(r: httpx.Response) -> str:
    assert r.status_code == 200, r.text
    assert r.json()["ErrorCode"] == 0, r.text
    message_id: str = r.json()["MessageID"]
    return message_id


def only(msg: EmailMessage, name: str) -> str:
    values = msg.get_all(name) or []
    assert len(values) == 1, f"{name}: {values}"
    return str(values[0])


# --- Message-ID and Date in Headers ---------------------------------------------------

#: Symfony Mailer's PostmarkApiTransport: every prepared header but From/To/Cc/Bcc/
#: Subject/Content-Type/Sender/Reply-To goes into Headers, Date and Message-ID included.
SYMFONY = """{"From":"app@example.com","To":"user@example.com","Subject":"Hello",
"TextBody":"Hello","HtmlBody":"<p>Hello</p>",
"Headers":[{"Name":"Date","Value":"Tue, 01 Dec 2026 10:00:00 +0000"},
{"Name":"Message-ID","Value":"<8c3a0f6d2b1e4f7a9c5d3e2f1a0b9c8d@example.com>"},
{"Name":"X-Transport","Value":"postmark"}]}"""

#: Nodemailer (mailcomposer's headers handed to the Postmark API, lowercase names as it
#: keeps them) asking Postmark to keep its Message-ID.
NODEMAILER = """{"From":"app@example.com","To":"user@example.com","Subject":"Hello",
"TextBody":"Hello",
"Headers":[{"Name":"message-id","Value":"<4f2b9c1e-7d3a-4e0b-8a6c-1b2c3d4e5f60@example.com>"},
{"Name":"date","Value":"Tue, 01 Dec 2026 10:00:00 +0000"},
{"Name":"X-PM-KeepID","Value":"true"}]}"""

#: The Ruby mail gem through the postmark gem: Message-ID from the mail gem, no Date.
RUBY = """{"From":"app@example.com","To":"user@example.com","Subject":"Hello",
"TextBody":"Hello","Headers":[{"Name":"Message-Id","Value":"<5f3c2a1b9e8d7_4a2b1c0d9@app.mail>"},
{"Name":"X-PM-KeepID","Value":"true"}],"TrackOpens":false}"""


def test_symfony_s_message_id_is_replaced_by_postmark_s_own(server: InProcessServer) -> None:
    api = server.api()
    message_id = sent_ok(post_raw(api, "/email", SYMFONY))
    msg = stored(api, message_id)
    assert only(msg, "Message-ID") == f"<{message_id}@{headers.MESSAGE_ID_DOMAIN}>"
    assert "Tue, 01 Dec 2026 10:00:00" not in only(msg, "Date")  # Postmark's own Date
    assert only(msg, "X-Transport") == "postmark"


def test_nodemailer_s_message_id_and_date_are_kept_with_x_pm_keepid(
        server: InProcessServer) -> None:
    api = server.api()
    message_id = sent_ok(post_raw(api, "/email", NODEMAILER))
    msg = stored(api, message_id)
    assert only(msg, "Message-ID") == "<4f2b9c1e-7d3a-4e0b-8a6c-1b2c3d4e5f60@example.com>"
    assert only(msg, "Date") == "Tue, 01 Dec 2026 10:00:00 +0000"
    out = parse(delivered(api, message_id))
    assert out.get_all("X-PM-KeepID") is None  # a control header: never delivered
    assert only(out, "Message-ID") == "<4f2b9c1e-7d3a-4e0b-8a6c-1b2c3d4e5f60@example.com>"
    assert only(out, "X-PM-Message-Id") == message_id


def test_ruby_keepid_without_a_date_gets_one(server: InProcessServer) -> None:
    api = server.api()
    message_id = sent_ok(post_raw(api, "/email", RUBY))
    msg = stored(api, message_id)
    assert only(msg, "Message-ID") == "<5f3c2a1b9e8d7_4a2b1c0d9@app.mail>"
    assert only(msg, "Date")


def test_batch_takes_the_same_headers(server: InProcessServer) -> None:
    api = server.api()
    r = post_raw(api, "/email/batch", f"[{SYMFONY},{NODEMAILER}]")
    assert r.status_code == 200, r.text
    first, second = r.json()
    assert first["ErrorCode"] == 0 and second["ErrorCode"] == 0, r.text
    assert only(stored(api, first["MessageID"]), "Message-ID").startswith(
        f"<{first['MessageID']}@")
    assert only(stored(api, second["MessageID"]), "Message-ID").startswith("<4f2b9c1e")


# --- line-wrapped base64 --------------------------------------------------------------

def _wrapped(data: bytes, width: int, newline: str) -> str:
    flat = base64.b64encode(data).decode()
    return newline.join(flat[i:i + width] for i in range(0, len(flat), width)) + newline


@pytest.mark.parametrize(("library", "content"), [
    ("ruby pack('m')", _wrapped(BLOB, 60, "\n")),
    ("python email, LF", base64.encodebytes(BLOB).decode()),
    ("python email, CRLF", _wrapped(BLOB, 76, "\r\n")),
    ("spaces and tabs", " " + _wrapped(BLOB, 64, " \t ")),
])
def test_line_wrapped_base64_is_decoded(server: InProcessServer, library: str,
                                        content: str) -> None:
    api = server.api()
    body = json.dumps({"From": "app@example.com", "To": "user@example.com", "Subject": library,
                       "TextBody": "see attached", "Attachments": [
                           {"Name": "blob.bin", "Content": content,
                            "ContentType": "application/octet-stream"}]})
    message_id = sent_ok(post_raw(api, "/email", body))
    msg = stored(api, message_id)
    (part,) = msg.iter_attachments()
    assert part.get_payload(decode=True) == BLOB
    lines = part.get_payload().splitlines()  # re-encoded at the standard 76 characters
    assert max(len(line) for line in lines) == 76


@pytest.mark.parametrize("content", ["!!not base64!!", "QUJD\nRA", "QUJ=\nRA==", "QU$J"])
def test_invalid_base64_is_still_refused(server: InProcessServer, content: str) -> None:
    r = server.api().post("/email", json={
        "From": "app@example.com", "To": "user@example.com", "TextBody": "x",
        "Attachments": [{"Name": "a.bin", "Content": content}]})
    assert r.status_code == 422, r.text
    assert r.json()["ErrorCode"] == 300 and "base64" in r.json()["Message"]


# --- ContentID inline images ----------------------------------------------------------

def _tree(msg: EmailMessage) -> Any:
    """The MIME structure as nested (type, [children]) / type."""
    if msg.is_multipart():
        return (msg.get_content_type(), [_tree(p) for p in msg.iter_parts()])  # type: ignore[arg-type]
    return msg.get_content_type()


def _clean_parameters(msg: EmailMessage) -> None:
    for part in msg.walk():
        for name in ("Content-Type", "Content-Disposition"):
            value = " ".join(str(part.get(name, "")).split())
            if value:
                assert not value.endswith(";") and ";;" not in value and "; ;" not in value
                assert '=""' not in value and "=;" not in value, value


@pytest.mark.parametrize("cid", ["cid:logo", "logo", "<logo>"])
def test_content_id_makes_an_inline_part_of_the_html(server: InProcessServer, cid: str) -> None:
    api = server.api()
    body = json.dumps({
        "From": "app@example.com", "To": "user@example.com", "Subject": "inline",
        "TextBody": "Hi", "HtmlBody": HTML, "Attachments": [
            {"Name": "logo.png", "Content": base64.b64encode(PNG).decode(),
             "ContentType": "image/png", "ContentID": cid},
            {"Name": "report.pdf", "Content": base64.b64encode(BLOB).decode(),
             "ContentType": "application/pdf"}]})
    message_id = sent_ok(post_raw(api, "/email", body))
    msg = stored(api, message_id)
    assert _tree(msg) == ("multipart/mixed", [
        ("multipart/related", [("multipart/alternative", ["text/plain", "text/html"]),
                               "image/png"]),
        "application/pdf"])
    related = next(p for p in msg.walk() if p.get_content_type() == "multipart/related")
    assert related.get_param("type") == "multipart/alternative"  # RFC 2387's root type
    image = list(related.iter_parts())[1]
    assert image["Content-ID"] == "<logo>"
    assert image.get_content_disposition() == "inline" and image.get_filename() == "logo.png"
    assert image.get_payload(decode=True) == PNG
    (pdf,) = msg.iter_attachments()
    assert pdf.get_content_disposition() == "attachment" and pdf["Content-ID"] is None
    assert pdf.get_payload(decode=True) == BLOB
    _clean_parameters(msg)
    html = msg.get_body(preferencelist=("html",))
    assert html is not None and 'src="cid:logo"' in html.get_content()


def test_html_only_with_an_inline_image_is_related(server: InProcessServer) -> None:
    api = server.api()
    message_id = sent_ok(api.post("/email", json={
        "From": "app@example.com", "To": "user@example.com", "HtmlBody": HTML,
        "Attachments": [{"Name": "logo.png", "Content": base64.encodebytes(PNG).decode(),
                         "ContentType": "image/png; name=logo.png", "ContentID": "cid:logo"}]}))
    msg = stored(api, message_id)
    assert _tree(msg) == ("multipart/related", ["text/html", "image/png"])
    assert msg.get_param("type") == "text/html"
    _clean_parameters(msg)
    assert list(msg.iter_parts())[1]["Content-ID"] == "<logo>"


# --- postmarker, against a real server ------------------------------------------------

@pytest.fixture
def real_server(database_url: str, tmp_path: Path) -> Iterator[RunningServer]:
    running = start_server(test_settings(database_url, tmp_path / "data"))
    yield running
    running.stop()


def test_postmarker_attachment_from_a_file_and_an_inline_image(
        real_server: RunningServer, tmp_path: Path) -> None:
    report = tmp_path / "report.pdf"
    report.write_bytes(BLOB)
    logo = MIMEImage(PNG, "png")  # base64 in 76-character lines, as postmarker sends it
    logo.add_header("Content-ID", "<logo>")
    logo.add_header("Content-Disposition", "inline", filename="logo.png")
    client = PostmarkClient(server_token=real_server.server_token,
                            root_api_url=real_server.api_url + "/")
    try:
        email_ = client.emails.Email(
            From="app@example.com", To="user@example.com", Subject="postmarker",
            TextBody="Hi", HtmlBody=HTML,
            Headers={"Message-ID": "<postmarker-1@example.com>", "X-PM-KeepID": "true"})
        email_.attach(str(report))
        email_.attach(logo)
        response = email_.send()
    finally:
        client.session.close()
    assert response["ErrorCode"] == 0, response
    api = real_server.api()
    try:
        msg = stored(api, response["MessageID"])
    finally:
        api.close()
    assert only(msg, "Message-ID") == "<postmarker-1@example.com>"
    assert _tree(msg) == ("multipart/mixed", [
        ("multipart/related", [("multipart/alternative", ["text/plain", "text/html"]),
                               "image/png"]),
        "application/pdf"])
    parts = {p.get_filename(): p for p in msg.walk() if p.get_filename()}
    assert parts["logo.png"]["Content-ID"] == "<logo>"
    assert parts["logo.png"].get_payload(decode=True) == PNG
    assert parts["report.pdf"].get_payload(decode=True) == BLOB
    _clean_parameters(msg)
