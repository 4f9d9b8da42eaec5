"""domain.headers: Postmark's Message-ID and Date rule (X-PM-KeepID), in isolation."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import pytest

from postlane.domain import headers, mime

GUID = "0b6f7c1e-2f4a-4c1b-9d0e-7a2b3c4d5e6f"
NOW = 1_700_000_000.0  # Tue, 14 Nov 2023 22:13:20 GMT


def h(name: str, value: str) -> dict[str, str]:
    return {"Name": name, "Value": value}


def test_without_keep_id_postmark_s_own_id_and_date_replace_the_client_s() -> None:
    given = [h("Message-ID", "<client@app.test>"), h("date", "Mon, 01 Jan 2001 00:00:00 +0000"),
             h("X-Custom", "kept")]
    chosen = headers.identity(given, GUID, now=NOW)
    assert chosen.message_id == f"<{GUID}@{headers.MESSAGE_ID_DOMAIN}>"
    assert chosen.date == "Tue, 14 Nov 2023 22:13:20 GMT"
    assert chosen.headers == (h("X-Custom", "kept"),)


@pytest.mark.parametrize("switch", [h("X-PM-KeepID", "true"), h("x-pm-keepid", " TRUE ")])
def test_keep_id_keeps_the_client_s_message_id_and_date(switch: dict[str, str]) -> None:
    given = [h("MESSAGE-ID", " <client@app.test> "), h("Date", "Mon, 01 Jan 2001 00:00:00 +0000"),
             switch]
    chosen = headers.identity(given, GUID, now=NOW)
    assert chosen.message_id == "<client@app.test>"
    assert chosen.date == "Mon, 01 Jan 2001 00:00:00 +0000"
    assert chosen.headers == (switch,)  # the switch is withheld at delivery, not here


def test_keep_id_without_a_date_generates_one_and_without_an_id_uses_postmark_s() -> None:
    chosen = headers.identity([h("X-PM-KeepID", "true"), h("Message-Id", "<c@a.test>")], GUID,
                              now=NOW)
    assert chosen.message_id == "<c@a.test>" and chosen.date == "Tue, 14 Nov 2023 22:13:20 GMT"
    chosen = headers.identity([h("X-PM-KeepID", "true")], GUID, now=NOW)
    assert chosen.message_id == f"<{GUID}@{headers.MESSAGE_ID_DOMAIN}>"


@pytest.mark.parametrize("value", ["false", "", "yes", "1"])
def test_keep_id_is_only_true(value: str) -> None:
    given = [h("X-PM-KeepID", value), h("Message-ID", "<client@app.test>")]
    assert not headers.keeps_id(given)
    assert headers.identity(given, GUID).message_id.startswith(f"<{GUID}@")


def test_the_first_of_duplicate_client_entries_is_kept_and_none_is_doubled() -> None:
    given = [h("X-PM-KeepID", "true"), h("Message-ID", "<one@a.test>"),
             h("message-id", "<two@a.test>"), h("Date", "Mon, 01 Jan 2001 00:00:00 +0000"),
             h("DATE", "Tue, 02 Jan 2001 00:00:00 +0000")]
    chosen = headers.identity(given, GUID)
    assert chosen.message_id == "<one@a.test>"
    assert chosen.date.startswith("Mon, 01 Jan 2001")
    assert [x["Name"] for x in chosen.headers] == ["X-PM-KeepID"]


@pytest.mark.parametrize("keep", [True, False])
def test_a_composed_message_has_one_message_id_and_one_date(keep: bool) -> None:
    given = [h("Message-ID", "<client@app.test>"), h("Date", "Mon, 01 Jan 2001 00:00:00 +0000")]
    if keep:
        given.append(h("X-PM-KeepID", "true"))
    raw = mime.compose(from_field="a@example.com", to_field="b@example.com", cc_field="",
                       reply_to="", subject="s", text_body="t", html_body=None,
                       headers=given, attachments=[], message_id=GUID, domain="example.com")
    head = raw.split(b"\n\n", 1)[0].lower()
    assert head.count(b"\nmessage-id:") == 1 and head.count(b"\ndate:") == 1
    delivered = mime.for_delivery(raw, GUID)
    assert b"x-pm-keepid" not in delivered.lower()
    expected = b"<client@app.test>" if keep else f"<{GUID}@example.com>".encode()
    assert b"Message-ID: " + expected in delivered
    date = next(line for line in raw.split(b"\n") if line.startswith(b"Date: "))
    assert (parsedate_to_datetime(date[6:].decode()).year == 2001) is keep


def test_an_smtp_message_s_keepid_is_withheld_and_its_message_id_kept() -> None:
    """SMTP stores a message as sent (its Message-ID and Date are the client's, as
    X-PM-KeepID: true asks); the switch itself never reaches the recipients."""
    raw = (b"From: a@example.com\r\nTo: b@example.com\r\nMessage-ID: <smtp@app.test>\r\n"
           b"X-PM-KeepID: true\r\nx-pm-keepid:\r\n true\r\nSubject: s\r\n\r\nbody\r\n")
    out = mime.for_delivery(raw, GUID)
    assert b"keepid" not in out.lower()
    assert out.count(b"Message-ID: <smtp@app.test>\r\n") == 1 and out.endswith(b"\r\n\r\nbody\r\n")
