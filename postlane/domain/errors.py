"""Postmark API error codes and the one exception type the API layer renders.

Domain and store code raise :class:`ApiError`; the API turns it into
``{"ErrorCode": n, "Message": "..."}`` with the HTTP status Postmark clients expect.
"""

from __future__ import annotations

from enum import IntEnum


class ErrorCode(IntEnum):
    OK = 0
    SERVER_ERROR = 1
    BAD_TOKEN = 10
    INVALID_EMAIL_REQUEST = 300
    INVALID_JSON = 402
    INCOMPATIBLE_JSON = 403
    NOT_ALLOWED_TO_SEND = 405
    INACTIVE_RECIPIENT = 406
    BOUNCE_NOT_FOUND = 407
    BOUNCE_QUERY_EXCEPTION = 408
    TOO_MANY_BATCH_MESSAGES = 410
    PAYLOAD_TOO_LARGE = 413
    INVALID_FIELD = 511
    SERVER_NOT_FOUND = 601
    SERVER_NAME_TAKEN = 603
    MESSAGE_NOT_FOUND = 701
    BOUNCE_CANNOT_ACTIVATE = 703
    SUPPRESSION_LIMIT = 1300
    STREAM_ID_TAKEN = 1221
    STREAM_INVALID = 1222
    STREAM_ARCHIVED = 1227
    STREAM_NOT_FOUND = 1226
    WEBHOOK_INVALID = 1400
    WEBHOOK_NOT_FOUND = 1402


class PostlaneError(Exception):
    """The root of every failure Postlane reports to a client; front doors map each kind
    to their own answer (an HTTP status and ErrorCode, or an SMTP reply)."""


class DatabaseUnavailable(PostlaneError):
    """The database could not be reached or refused the work: nothing was stored, and the
    client should retry (SMTP 451, HTTP 503). The store raises it in place of driver
    errors, so no layer above it needs to know the driver."""


class ApiError(Exception):
    """A client-visible failure: HTTP status, Postmark ErrorCode and a clear message."""

    def __init__(self, code: int, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.code = int(code)
        self.message = message
        self.status = status
