"""The error tree and the front doors' tables: every domain error class has its own HTTP
answer and SMTP reply (a new error cannot be added without both), and the answers and
messages are the ones clients have always seen."""

from __future__ import annotations

import pytest

from postlane.asgi.errors import HTTP_ANSWERS, Answer, ErrorCode, answer, body
from postlane.domain import errors as e
from postlane.smtp.refusals import SMTP_REPLIES, TEMPORARY_FAILURE, reply


def every_error_class() -> list[type[e.PostlaneError]]:
    """PostlaneError and all its subclasses, at any depth."""
    found: list[type[e.PostlaneError]] = []
    pending: list[type[e.PostlaneError]] = [e.PostlaneError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


ERROR_CLASSES = every_error_class()


def test_the_walk_finds_the_tree() -> None:
    assert {e.DatabaseUnavailable, e.Refused, e.NotFound, e.StreamNotFound,
            e.InactiveRecipients} <= set(ERROR_CLASSES)


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_every_error_has_its_own_http_answer(cls: type[e.PostlaneError]) -> None:
    entry = HTTP_ANSWERS.get(cls)
    assert entry is not None, f"{cls.__name__} needs an entry in asgi.errors.HTTP_ANSWERS"
    if not isinstance(entry, Answer):  # answered per entity: every entity it can name
        assert issubclass(cls, e.NotFound | e.NameTaken)
        assert set(entry) == cls.KINDS


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_every_error_has_its_own_smtp_reply(cls: type[e.PostlaneError]) -> None:
    assert cls in SMTP_REPLIES, f"{cls.__name__} needs an entry in smtp.refusals.SMTP_REPLIES"


def test_no_http_status_in_the_domain() -> None:
    assert not hasattr(e, "ApiError") and not hasattr(e, "ErrorCode")


#: One instance of each error as the raise sites make them, with what HTTP clients see.
HTTP_CASES: list[tuple[e.PostlaneError, int, int, str]] = [
    (e.NotFound(e.Entity.BOUNCE, 7), 422, 407, "Bounce 7 was not found."),
    (e.NotFound(e.Entity.SERVER, 7), 422, 601, "Server 7 was not found."),
    (e.NotFound(e.Entity.WEBHOOK, 7), 422, 1402, "Webhook 7 was not found."),
    (e.NotFound(e.Entity.WEBHOOK_DELIVERY, 7), 422, 1402, "Webhook delivery 7 was not found."),
    (e.NotFound(e.Entity.MESSAGE, "m-1"), 422, 701, "Message m-1 was not found."),
    # Message streams: Postmark's 12xx codes and wording.
    (e.NotFound(e.Entity.STREAM, "s"), 422, 1226,
     "The message stream for the provided 'ID' was not found."),
    (e.StreamNotFound("s"), 422, 1226,
     "The message stream for the provided 'ID' was not found."),
    (e.SendingStreamNotFound("s"), 422, 1235,
     "The 'MessageStream' provided does not exist on this server."),
    (e.StreamArchived("s"), 422, 1235,
     "The 'MessageStream' provided does not exist on this server."),
    (e.StreamCannotSend("inbound"), 422, 1236,
     "Sending is not supported on the supplied 'MessageStream'."),
    (e.StreamPermanent("outbound"), 422, 1229,
     "You cannot archive the default transactional and inbound streams."),
    (e.StreamNotArchived("s"), 422, 1232, "You cannot unarchive this message stream anymore."),
    (e.StreamLimit(10), 422, 1225,
     "You have reached the maximum number of message streams for this server."),
    (e.StreamTypeTaken(), 422, 1228, "A server can only have one inbound stream."),
    (e.NameTaken(e.Entity.SERVER, "Mine"), 422, 603, "This server name already exists."),
    (e.NameTaken(e.Entity.STREAM, "s"), 422, 1230,
     "The 'ID' provided already exists for this server."),
    (e.InvalidField("Name", "Server name is required."), 422, 511, "Server name is required."),
    (e.BounceCannotActivate(7), 422, 703,
     "Bounce 7 cannot be activated (spam complaints are final)."),
    (e.AlreadyDelivered(7), 422, 1400, "Webhook delivery 7 was already delivered."),
    (e.TargetRefused("Url", "webhook host ::1 resolves to a loopback address (::1); refused"),
     422, 1400, "Url: webhook host ::1 resolves to a loopback address (::1); refused (this "
     "server does not post webhooks to non-public addresses)."),
    (e.DatabaseUnavailable("connection refused"), 503, 1,
     "The database is temporarily unavailable; nothing was stored. Retry later."),
]


@pytest.mark.parametrize(("error", "status", "code", "message"), HTTP_CASES,
                         ids=lambda value: type(value).__name__)
def test_http_answers(error: e.PostlaneError, status: int, code: int, message: str) -> None:
    assert answer(error).status == status
    assert body(error) == {"ErrorCode": code, "Message": message}


def test_inactive_recipients_keep_the_406_wording() -> None:
    error = e.InactiveRecipients(["a@example.com", "b@example.com"])
    assert error.addresses == ("a@example.com", "b@example.com")
    assert body(error) == {"ErrorCode": ErrorCode.INACTIVE_RECIPIENT, "Message": (
        "You tried to send to recipient(s) that have been marked as inactive. Found inactive "
        "addresses: a@example.com, b@example.com. Inactive recipients are ones that have "
        "generated a hard bounce, a spam complaint, or a manual suppression.")}


def test_errors_carry_their_data() -> None:
    assert e.StreamArchived("s").stream_id == "s"
    missing = e.NotFound(e.Entity.BOUNCE, 7)
    assert (missing.kind, missing.id) == (e.Entity.BOUNCE, 7)
    invalid = e.InvalidField("count", "'count' must be a whole number.")
    assert (invalid.field, invalid.message) == ("count", "'count' must be a whole number.")
    assert e.SuppressionFinal("a@example.com").email == "a@example.com"
    with pytest.raises(ValueError):
        e.NameTaken(e.Entity.BOUNCE, "x")


def test_smtp_replies() -> None:
    assert reply(e.StreamArchived("s")) == (
        "550 5.7.1 The message stream 's' is archived and cannot send.")
    assert reply(e.StreamNotFound("s")) == (
        "550 5.7.1 The message stream for the provided 'ID' (s) was not found.")
    assert reply(e.SendingStreamNotFound("s")) == (
        "550 5.7.1 The message stream for the provided 'ID' (s) was not found.")
    assert reply(e.StreamPermanent("outbound")) == (
        "550 5.7.1 The default 'outbound' stream cannot be archived.")
    assert reply(e.StreamCannotSend("inbound")) == (
        "550 5.7.1 The message stream 'inbound' is an inbound stream and cannot send.")
    assert reply(e.DatabaseUnavailable("down")) == TEMPORARY_FAILURE
    assert TEMPORARY_FAILURE.startswith("451 4.3.0 ")


def test_a_subclass_without_its_own_entry_falls_back_to_its_parent() -> None:
    """What the walk tests forbid in the tree, the lookups still survive (the walks ran
    when this module was imported, before this class exists)."""

    class Unlisted(e.StreamArchived):
        pass

    assert body(Unlisted("s"))["ErrorCode"] == ErrorCode.SENDING_STREAM_NOT_FOUND
    assert reply(Unlisted("s")).startswith("550 5.7.1 ")
