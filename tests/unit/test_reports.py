"""Reading bounce reports (RFC 3464 DSNs, RFC 5965 ARF) and classifying them into Postmark
bounce types: pure, on realistic sample reports in tests/data/reports/."""

from __future__ import annotations

from pathlib import Path

import pytest

from postlane.domain import reports
from postlane.domain.bounce_types import BY_TYPE
from postlane.domain.reports import ReportItem, ReportKind
from postlane.domain.types import SuppressionReason

DATA = Path(__file__).parents[1] / "data" / "reports"
#: The message id every sample report quotes (the end-to-end tests substitute a real one).
SAMPLE_ID = "5f0c2a8e-7b1d-4c3a-9e6f-0d4b8a2c1e7f"


def sample(name: str) -> reports.Report:
    return reports.parse((DATA / name).read_bytes())


def only_verdict(report: reports.Report) -> tuple[ReportItem, reports.Verdict]:
    found = list(reports.outcomes(report))
    assert len(found) == 1, found
    return found[0]


def test_postfix_unknown_user_is_a_hard_bounce() -> None:
    report = sample("postfix_unknown_user.eml")
    assert report.kind is ReportKind.DSN
    assert report.message_ids == (SAMPLE_ID,)
    item, verdict = only_verdict(report)
    assert item.final_recipient == item.original_recipient == "nobody@example.net"
    assert (item.action, item.status, item.remote_mta) == ("failed", "5.1.1", "mail.example.net")
    assert verdict.kind.type == "HardBounce" and verdict.kind.code == 1
    assert verdict.inactive and verdict.can_activate
    assert verdict.suppress is SuppressionReason.HARD_BOUNCE
    # Details: the diagnostic, unfolded, without its "smtp;" type.
    assert verdict.details == ("550 5.1.1 <nobody@example.net>: Recipient address rejected: "
                               "User unknown in local recipient table")


def test_exim_mailbox_full_reads_the_precise_code_from_the_diagnostic() -> None:
    report = sample("exim_mailbox_full.eml")
    item, verdict = only_verdict(report)
    assert item.final_recipient == "full@example.org"
    assert item.status == "5.0.0"
    assert reports.effective_status(item) == "5.2.2"
    assert verdict.kind.type == "SoftBounce" and verdict.kind.code == 4096
    assert not verdict.inactive and verdict.suppress is None
    # The original is quoted as message/rfc822: its X-PM-Message-Id names the message.
    assert report.message_ids == (SAMPLE_ID,)


def test_delayed_dsn_is_transient_and_suppresses_nothing() -> None:
    item, verdict = only_verdict(sample("postfix_delayed.eml"))
    assert item.recipient == "slow@example.com" and item.action == "delayed"
    assert verdict.kind.type == "Transient" and verdict.kind.code == 2
    assert (verdict.inactive, verdict.can_activate, verdict.suppress) == (False, False, None)
    assert "Connection timed out" in verdict.details


def test_multi_recipient_dsn_gives_one_item_per_block() -> None:
    report = sample("sendmail_multi_recipient.eml")
    assert [i.recipient for i in report.items] == ["gone@example.com", "alias@example.com",
                                                   "late@example.com", "kept@example.com"]
    # The forwarded address keeps its Original-Recipient as the one that was sent to.
    assert report.items[1].final_recipient == "real@internal.example.com"
    found = {item.recipient: verdict.kind.type for item, verdict in reports.outcomes(report)}
    # failed 5.x.x -> HardBounce, failed 4.x.x -> SoftBounce, relayed -> not a bounce.
    assert found == {"gone@example.com": "HardBounce", "alias@example.com": "HardBounce",
                     "late@example.com": "SoftBounce"}


def test_microsoft_policy_block_is_blocked_not_a_hard_bounce() -> None:
    item, verdict = only_verdict(sample("microsoft_block.eml"))
    assert item.recipient == "someone@outlook.com" and item.status == "5.7.1"
    assert verdict.kind.type == "Blocked" and verdict.kind.code == 100006
    assert verdict.suppress is None and not verdict.inactive
    assert "block list (S3150)" in verdict.details


def test_arf_abuse_report_is_a_spam_complaint() -> None:
    report = sample("arf_abuse.eml")
    assert report.kind is ReportKind.ARF
    assert report.message_ids == (SAMPLE_ID,)
    item, verdict = only_verdict(report)
    assert item.recipient == "complainer@example.com" and item.feedback_type == "abuse"
    assert verdict.kind.type == "SpamComplaint" and verdict.kind.code == 100001
    assert verdict.inactive and not verdict.can_activate
    assert verdict.suppress is SuppressionReason.SPAM_COMPLAINT
    assert verdict.details.startswith("This is an email abuse report")


def test_garbage_is_one_unknown_item() -> None:
    report = sample("garbage.eml")
    assert report.kind is ReportKind.UNKNOWN and report.message_ids == ()
    item, verdict = only_verdict(report)
    assert item.recipient is None
    assert verdict.kind.type == "Unknown" and verdict.kind.code == 2048
    assert verdict.suppress is None and not verdict.inactive


@pytest.mark.parametrize("raw", [
    b"",
    b"\x00\xff\xfe\x80" * 50,
    (b"Content-Type: multipart/report; report-type=delivery-status; boundary=x\n\n--x\n"
     b"Content-Type: text/plain\n\nno status part\n--x--\n"),
    (b"Content-Type: multipart/report; report-type=disposition-notification; boundary=x\n\n"
     b"--x\nContent-Type: message/disposition-notification\n\nDisposition: displayed\n--x--\n"),
    b"Content-Type: multipart/report; boundary=x\n\n--x\nContent-Type: message/delivery-sta",
])
def test_unreadable_reports_never_raise(raw: bytes) -> None:
    report = reports.parse(raw)
    assert report.kind is ReportKind.UNKNOWN
    assert [v.kind.type for _, v in reports.outcomes(report)] == ["Unknown"]


def _dsn(per_recipient: str, per_message: str = "Reporting-MTA: dns; mx.example.net\n\n",
         quoted: str = "") -> bytes:
    text = ("Content-Type: multipart/report; report-type=delivery-status; boundary=B\n\n"
            "--B\nContent-Type: text/plain\n\nreport\n"
            f"--B\nContent-Type: message/delivery-status\n\n{per_message}{per_recipient}\n")
    if quoted:
        text += f"--B\nContent-Type: text/rfc822-headers\n\n{quoted}\n"
    return (text + "--B--\n").encode()


def test_envelope_id_names_the_message_when_no_headers_are_quoted() -> None:
    raw = _dsn("Final-Recipient: rfc822; a@example.com\nAction: failed\nStatus: 5.1.1\n",
               f"Reporting-MTA: dns; mx.example.net\nOriginal-Envelope-Id: {SAMPLE_ID}\n\n")
    assert reports.parse(raw).message_ids == (SAMPLE_ID,)


def test_ids_that_are_not_ours_are_ignored() -> None:
    raw = _dsn("Final-Recipient: rfc822; a@example.com\nAction: failed\nStatus: 5.1.1\n",
               "Reporting-MTA: dns; mx\nOriginal-Envelope-Id: QQ12345\n\n",
               "X-PM-Message-Id: not-a-uuid\nSubject: hi\n")
    assert reports.parse(raw).message_ids == ()


def test_dsn_without_a_per_message_block_still_reads_its_recipient() -> None:
    raw = _dsn("Final-Recipient: rfc822;<b@example.com>\nAction: failed\nStatus: 5.1.2\n",
               per_message="")
    (item,) = reports.parse(raw).items
    assert item.recipient == "b@example.com"
    assert reports.bounce_type(item) == BY_TYPE["HardBounce"]


def _arf(feedback: str, quoted_to: str = "") -> bytes:
    quoted = f"To: {quoted_to}\nSubject: hi\n" if quoted_to else "Subject: hi\n"
    return ("Content-Type: multipart/report; report-type=feedback-report; boundary=B\n\n"
            "--B\nContent-Type: text/plain\n\nA complaint.\n"
            f"--B\nContent-Type: message/feedback-report\n\n{feedback}\n"
            f"--B\nContent-Type: text/rfc822-headers\n\n{quoted}\n--B--\n").encode()


def test_arf_quoted_to_is_not_the_complainer() -> None:
    """The quoted To lists everyone the message was addressed to: none of them is named
    the complainer (the VERP token decides whose complaint it is)."""
    report = reports.parse(_arf("Feedback-Type: abuse\nVersion: 1\n",
                                quoted_to="Someone <someone@example.com>, other@example.com"))
    assert [i.recipient for i in report.items] == [None]


def test_reports_quote_our_return_paths() -> None:
    """Original-Mail-From and the quoted Return-Path, for reports sent to an address of
    their own; other senders are not ours."""
    tokened = f"pm_bounces+{SAMPLE_ID}.abcdefghijklmnop@bounces.example.com"
    feedback = f"Feedback-Type: abuse\nVersion: 1\nOriginal-Mail-From: <{tokened}>\n"
    assert reports.parse(_arf(feedback)).return_paths == (tokened,)
    assert reports.parse(_arf("Feedback-Type: abuse\nOriginal-Mail-From: <a@b.example>\n")
                         ).return_paths == ()
    assert sample("postfix_unknown_user.eml").return_paths == (
        f"pm_bounces+{SAMPLE_ID}@bounces.postlane.local",)
    # Only the first few: each one costs the dsn step a lookup.
    many = "".join(f"Original-Mail-From: <pm_bounces+{SAMPLE_ID}.{c * 16}@b.example>\n"
                   for c in "abcdefgh")
    assert len(reports.parse(_arf(f"Feedback-Type: abuse\n{many}")).return_paths) == \
        reports.MAX_RETURN_PATHS


def test_arf_with_redacted_recipients_names_nobody() -> None:
    report = reports.parse(_arf("Feedback-Type: fraud\nVersion: 1\n"))
    (item,) = report.items
    assert item.recipient is None and item.feedback_type == "fraud"
    assert reports.bounce_type(item) == BY_TYPE["SpamComplaint"]


def test_arf_original_mail_from_names_the_message_by_verp() -> None:
    feedback = ("Feedback-Type: abuse\nVersion: 1\nOriginal-Mail-From: "
                f"<pm_bounces+{SAMPLE_ID}@bounces.example.com>\n")
    assert reports.parse(_arf(feedback)).message_ids == (SAMPLE_ID,)


@pytest.mark.parametrize(("item", "expected"), [
    (ReportItem(action="failed", status="5.1.1"), "HardBounce"),
    (ReportItem(action="failed", status="5.2.2 (mailbox full)"), "SoftBounce"),
    (ReportItem(action="failed", status="5.0.0", diagnostic="552 Mailbox is full"), "SoftBounce"),
    (ReportItem(action="failed", status="5.7.1",
                diagnostic="554 5.7.1 Service unavailable; Client host [203.0.113.5] blocked "
                           "using zen.spamhaus.org"), "Blocked"),
    (ReportItem(action="failed", status="5.7.1",
                diagnostic="550 5.7.1 Message rejected as spam by Content Filtering"), "Blocked"),
    (ReportItem(action="failed", status="5.7.1", diagnostic="550 5.7.1 Relaying denied"),
     "HardBounce"),
    (ReportItem(action="failed", status="5.7.1"), "HardBounce"),
    (ReportItem(action="failed", status="4.4.7"), "SoftBounce"),
    (ReportItem(action="delayed", status="4.4.1"), "Transient"),
    (ReportItem(action="delayed", status="5.0.0"), "Transient"),
    (ReportItem(status="4.2.0"), "Transient"),
    (ReportItem(status="5.1.1"), "HardBounce"),  # no Action: failure implied by the class
    (ReportItem(diagnostic="smtp; 550 no such user"), "HardBounce"),  # bare reply code
    (ReportItem(action="failed"), "Unknown"),
    (ReportItem(), "Unknown"),
    (ReportItem(action="delivered", status="2.0.0"), None),
    (ReportItem(action="relayed", status="2.0.0"), None),
    (ReportItem(action="expanded", status="2.0.0"), None),
    (ReportItem(feedback_type="abuse"), "SpamComplaint"),
    (ReportItem(feedback_type="Fraud"), "SpamComplaint"),
    (ReportItem(feedback_type="virus"), "VirusNotification"),
    (ReportItem(feedback_type="not-spam"), None),
    (ReportItem(feedback_type="auth-failure"), "Unknown"),
])
def test_classification_table(item: ReportItem, expected: str | None) -> None:
    found = reports.bounce_type(item)
    assert (found.type if found else None) == expected


@pytest.mark.parametrize(("type_name", "inactive", "can_activate", "suppress"), [
    ("HardBounce", True, True, SuppressionReason.HARD_BOUNCE),
    ("SpamComplaint", True, False, SuppressionReason.SPAM_COMPLAINT),
    ("SoftBounce", False, False, None),
    ("Transient", False, False, None),
    ("Blocked", False, False, None),
    ("Unknown", False, False, None),
])
def test_only_hard_bounces_and_complaints_deactivate(
        type_name: str, inactive: bool, can_activate: bool,
        suppress: SuppressionReason | None) -> None:
    item = {
        "HardBounce": ReportItem(action="failed", status="5.1.1"),
        "SpamComplaint": ReportItem(feedback_type="abuse"),
        "SoftBounce": ReportItem(action="failed", status="5.2.2"),
        "Transient": ReportItem(action="delayed", status="4.4.1"),
        "Blocked": ReportItem(action="failed", status="5.7.1", diagnostic="blocked"),
        "Unknown": ReportItem(),
    }[type_name]
    verdict = reports.verdict(item)
    assert verdict is not None and verdict.kind.type == type_name
    assert (verdict.inactive, verdict.can_activate, verdict.suppress) == (
        inactive, can_activate, suppress)


def test_details_are_capped() -> None:
    verdict = reports.verdict(ReportItem(action="failed", status="5.1.1",
                                         diagnostic="550 " + "x" * 5000))
    assert verdict is not None and len(verdict.details) == reports.MAX_DETAILS
