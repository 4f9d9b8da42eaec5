"""What every send route shares once its messages are validated: the commit through the
group committer (concurrent sends share transactions; a batch is one), the cached token
checked again in that transaction, the worker woken, and Postmark's per-message answer.
/email, /email/batch and the template routes all end here."""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import Request

from postlane.accept import Submission
from postlane.api import deps
from postlane.api.auth import ServerContext
from postlane.api.models import member
from postlane.asgi import errors as http_errors
from postlane.domain.errors import DatabaseUnavailable, PostlaneError
from postlane.domain.payloads import iso
from postlane.services import sending
from postlane.services.identity import SendTokens
from postlane.store import Transaction

#: A batch item after validation: the submission and its To field, or its error answer.
Checked = tuple[Submission, str] | dict[str, Any]

#: The MessageID of a batch item that was refused: no message exists for it. A string, as
#: both SDKs' models require one on every item; empty, so no client can take it for a
#: message's id.
NO_MESSAGE = ""


def answer(sent: sending.Sent, to_field: str) -> dict[str, Any]:
    return {"To": to_field, "SubmittedAt": iso(sent.accepted.received_at),
            "MessageID": sent.accepted.message_id, "ErrorCode": 0, "Message": sent.message}


def test_answer(to_field: str) -> dict[str, Any]:
    """Postmark's answer to a valid send with POSTMARK_API_TEST: a fresh MessageID that
    names nothing, since nothing is stored or sent."""
    return {"To": to_field, "SubmittedAt": iso(datetime.now(UTC)),
            "MessageID": str(uuid.uuid4()), "ErrorCode": 0, "Message": "Test job accepted"}


def given_to(item: Any) -> str:
    """A batch item's To field as the client sent it ("" when it is missing or no string),
    for the answer to an item refused before it became a submission."""
    to = member(item, "to")
    return to if isinstance(to, str) else ""


def refused(code: int, message: str, to_field: str,
            at: datetime | None = None) -> dict[str, Any]:
    """A refused batch item's answer. Postmark's own example of a batch with refused items
    gives them only ErrorCode and Message, but postmark-python's SendResponse and
    postmark.js's MessageSendingResponse require To, SubmittedAt and MessageID on every
    item, so a refused one carries them too: its To as given, when it was refused, and no
    MessageID (NO_MESSAGE)."""
    return {"To": to_field, "SubmittedAt": iso(at or datetime.now(UTC)),
            "MessageID": NO_MESSAGE, "ErrorCode": code, "Message": message}


def refusal(error: PostlaneError, to_field: str,
            at: datetime | None = None) -> dict[str, Any]:
    if isinstance(error, DatabaseUnavailable):
        raise error  # the whole request is answered 503: nothing more can be stored
    body = http_errors.body(error)
    return refused(int(body["ErrorCode"]), str(body["Message"]), to_field, at)


def _many(conn: Transaction, sends: list[tuple[Submission, SendTokens]]
          ) -> list[sending.Sent | PostlaneError]:
    """The group committer's batch form of concurrent sends (one function object, so
    they share a transaction): each submission with the token cache it was taken from
    (the app's: one for all of them)."""
    return sending.send_many(conn, [sub for sub, _ in sends], sends[0][1] if sends else None)


async def commit_one(request: Request, ctx: ServerContext, sub: Submission,
                     to_field: str) -> dict[str, Any]:
    """Concurrent requests share the group committer's transactions: one commit (one
    fsync) makes many of them durable, each answered only after its own is committed."""
    if ctx.test:
        return test_answer(to_field)
    sub.token = ctx.token
    tokens = deps.send_tokens(request)
    sent = await deps.committer(request).submit(
        functools.partial(sending.send, sub=sub, tokens=tokens), many=_many, payload=(sub, tokens))
    deps.wake_worker(request)
    return answer(sent, to_field)


async def commit_batch(request: Request, ctx: ServerContext,
                       checked: list[Checked]) -> list[dict[str, Any]]:
    """The valid messages of a batch in one item of the committer (one transaction, one
    commit); every message answered in its place."""
    if ctx.test:
        return [test_answer(item[1]) if isinstance(item, tuple) else item
                for item in checked]
    subs = [item[0] for item in checked if isinstance(item, tuple)]
    for sub in subs:
        sub.token = ctx.token
    tokens = deps.send_tokens(request)
    sent = iter(await deps.committer(request).submit(
        functools.partial(_many, sends=[(sub, tokens) for sub in subs])))
    deps.wake_worker(request)
    now = datetime.now(UTC)
    results: list[dict[str, Any]] = []
    for item in checked:
        if not isinstance(item, tuple):
            results.append(item)
            continue
        outcome = next(sent)
        results.append(refusal(outcome, item[1], now) if isinstance(outcome, PostlaneError)
                       else answer(outcome, item[1]))
    return results
