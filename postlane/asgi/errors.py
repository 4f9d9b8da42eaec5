"""How both HTTP apps answer a domain error: the one table from each PostlaneError class to
(HTTP status, Postmark ErrorCode), rendered as ``{"ErrorCode": n, "Message": "..."}``.

It lives here, beside the query parsing both apps share, because the dashboard answers
what its pages do not handle exactly as the API does, and neither app imports the other.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from postlane.domain import errors as e

log = logging.getLogger(__name__)


class ErrorCode(IntEnum):
    """Postmark's API error codes (and Postlane's for what Postmark has no code for)."""

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
    TEMPLATE_QUERY_INVALID = 1100
    TEMPLATE_NOT_FOUND = 1101
    TEMPLATE_LIMIT = 1105
    TEMPLATE_NO_DATA = 1109
    TEMPLATE_FIELD_MISSING = 1120
    TEMPLATE_FIELD_TOO_LARGE = 1121
    TEMPLATE_INVALID = 1122
    TEMPLATE_FIELD_NOT_ALLOWED = 1123
    TEMPLATE_PUSH_EMPTY = 1124
    TEMPLATE_PUSH_TYPE_MISMATCH = 1125
    LAYOUT_IN_USE = 1130
    LAYOUT_PLACEHOLDER = 1131
    SUPPRESSION_LIMIT = 1300
    # Message streams: Postmark's 12xx range (its API overview's error table).
    STREAM_TYPE_INVALID = 1221
    STREAM_ID_REQUIRED = 1222
    STREAM_NAME_REQUIRED = 1223
    STREAM_NAME_TOO_LONG = 1224
    STREAM_LIMIT = 1225
    STREAM_NOT_FOUND = 1226
    STREAM_ID_INVALID = 1227
    STREAM_ONE_INBOUND = 1228
    STREAM_PERMANENT = 1229
    STREAM_ID_TAKEN = 1230
    STREAM_DESCRIPTION_TOO_LONG = 1231
    STREAM_NOT_ARCHIVED = 1232
    STREAM_ID_PM_PREFIX = 1233
    STREAM_DESCRIPTION_HTML = 1234
    SENDING_STREAM_NOT_FOUND = 1235
    SENDING_NOT_SUPPORTED = 1236
    STREAM_ID_RESERVED = 1237
    WEBHOOK_INVALID = 1400
    WEBHOOK_NOT_FOUND = 1402


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP error answer; ``message`` replaces the error's own text when set (an outage's
    driver details are for the log, not the client)."""

    status: int
    code: ErrorCode
    message: str | None = None


#: Postmark's wording for the stream errors its clients see (the error table's titles);
#: the domain errors' own messages, which name the stream, are the SMTP replies' text.
STREAM_WORDING = {
    ErrorCode.STREAM_NOT_FOUND: "The message stream for the provided 'ID' was not found.",
    ErrorCode.SENDING_STREAM_NOT_FOUND:
        "The 'MessageStream' provided does not exist on this server.",
    ErrorCode.SENDING_NOT_SUPPORTED:
        "Sending is not supported on the supplied 'MessageStream'.",
    ErrorCode.STREAM_PERMANENT:
        "You cannot archive the default transactional and inbound streams.",
    ErrorCode.STREAM_NOT_ARCHIVED: "You cannot unarchive this message stream anymore.",
    ErrorCode.STREAM_LIMIT:
        "You have reached the maximum number of message streams for this server.",
    ErrorCode.STREAM_ONE_INBOUND: "A server can only have one inbound stream.",
    ErrorCode.STREAM_ID_TAKEN: "The 'ID' provided already exists for this server.",
}


def _stream(code: ErrorCode) -> Answer:
    return Answer(422, code, STREAM_WORDING[code])


UNAVAILABLE = Answer(503, ErrorCode.SERVER_ERROR,
                     "The database is temporarily unavailable; nothing was stored. Retry later.")

#: The one table. Errors about an Entity (NotFound, NameTaken) answer per entity.
HTTP_ANSWERS: Mapping[type[e.PostlaneError], Answer | Mapping[e.Entity, Answer]] = {
    e.PostlaneError: Answer(500, ErrorCode.SERVER_ERROR, "Internal server error."),
    e.DatabaseUnavailable: UNAVAILABLE,
    e.TemplateChanged: Answer(503, ErrorCode.SERVER_ERROR),
    e.Refused: Answer(422, ErrorCode.INVALID_FIELD),
    e.StaleToken: Answer(401, ErrorCode.BAD_TOKEN),
    e.NotFound: {
        e.Entity.BOUNCE: Answer(422, ErrorCode.BOUNCE_NOT_FOUND),
        e.Entity.SERVER: Answer(422, ErrorCode.SERVER_NOT_FOUND),
        e.Entity.WEBHOOK: Answer(422, ErrorCode.WEBHOOK_NOT_FOUND),
        e.Entity.WEBHOOK_DELIVERY: Answer(422, ErrorCode.WEBHOOK_NOT_FOUND),
        e.Entity.MESSAGE: Answer(422, ErrorCode.MESSAGE_NOT_FOUND),
        e.Entity.STREAM: _stream(ErrorCode.STREAM_NOT_FOUND),
        e.Entity.TEMPLATE: Answer(422, ErrorCode.TEMPLATE_NOT_FOUND),
    },
    e.StreamNotFound: _stream(ErrorCode.STREAM_NOT_FOUND),
    # Sending into a stream the server lacks, or into one it archived (an archived stream
    # is on its way to deletion: Postmark's table has no code of its own for it), or into
    # the inbound stream.
    e.SendingStreamNotFound: _stream(ErrorCode.SENDING_STREAM_NOT_FOUND),
    e.StreamArchived: _stream(ErrorCode.SENDING_STREAM_NOT_FOUND),
    e.StreamCannotSend: _stream(ErrorCode.SENDING_NOT_SUPPORTED),
    e.StreamPermanent: _stream(ErrorCode.STREAM_PERMANENT),
    e.StreamNotArchived: _stream(ErrorCode.STREAM_NOT_ARCHIVED),
    e.StreamLimit: _stream(ErrorCode.STREAM_LIMIT),
    e.StreamTypeTaken: _stream(ErrorCode.STREAM_ONE_INBOUND),
    e.InactiveRecipients: Answer(422, ErrorCode.INACTIVE_RECIPIENT),
    e.NameTaken: {
        e.Entity.SERVER: Answer(422, ErrorCode.SERVER_NAME_TAKEN),
        e.Entity.STREAM: _stream(ErrorCode.STREAM_ID_TAKEN),
    },
    e.InvalidField: Answer(422, ErrorCode.INVALID_FIELD),
    e.InvalidFields: Answer(422, ErrorCode.INCOMPATIBLE_JSON),
    e.SuppressionFinal: Answer(422, ErrorCode.BOUNCE_CANNOT_ACTIVATE),
    e.BounceCannotActivate: Answer(422, ErrorCode.BOUNCE_CANNOT_ACTIVATE),
    e.AlreadyDelivered: Answer(422, ErrorCode.WEBHOOK_INVALID),
    e.TargetRefused: Answer(422, ErrorCode.WEBHOOK_INVALID),
    e.TemplateQueryInvalid: Answer(422, ErrorCode.TEMPLATE_QUERY_INVALID),
    e.TemplateLimit: Answer(422, ErrorCode.TEMPLATE_LIMIT),
    e.TemplateNoData: Answer(422, ErrorCode.TEMPLATE_NO_DATA),
    e.TemplateFieldMissing: Answer(422, ErrorCode.TEMPLATE_FIELD_MISSING),
    e.TemplateFieldTooLarge: Answer(422, ErrorCode.TEMPLATE_FIELD_TOO_LARGE),
    e.TemplateInvalid: Answer(422, ErrorCode.TEMPLATE_INVALID),
    e.TemplateFieldNotAllowed: Answer(422, ErrorCode.TEMPLATE_FIELD_NOT_ALLOWED),
    e.TemplatePushEmpty: Answer(422, ErrorCode.TEMPLATE_PUSH_EMPTY),
    e.TemplatePushTypeMismatch: Answer(422, ErrorCode.TEMPLATE_PUSH_TYPE_MISMATCH),
    e.LayoutInUse: Answer(422, ErrorCode.LAYOUT_IN_USE),
    e.LayoutPlaceholder: Answer(422, ErrorCode.LAYOUT_PLACEHOLDER),
}


def answer(error: e.PostlaneError) -> Answer:
    """The table's answer for ``error``: its own class's entry, else its nearest parent's."""
    for cls in type(error).__mro__:
        entry = HTTP_ANSWERS.get(cls) if issubclass(cls, e.PostlaneError) else None
        if isinstance(entry, Answer):
            return entry
        if entry is not None and isinstance(error, e.NotFound | e.NameTaken):
            return entry[error.kind]
    raise AssertionError("unreachable: PostlaneError itself has an entry")


def body(error: e.PostlaneError) -> dict[str, int | str]:
    """``{"ErrorCode", "Message"}`` as a batch item or a response body carries it."""
    found = answer(error)
    return {"ErrorCode": int(found.code), "Message": found.message or error.message}


def error_response(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse({"ErrorCode": code, "Message": message}, status_code=status)


def domain_error_response(error: e.PostlaneError) -> JSONResponse:
    found = answer(error)
    if isinstance(error, e.DatabaseUnavailable):
        log.error("database unavailable: %s", error)
    return error_response(found.status, found.code, found.message or error.message)


def unexpected_response(exc: Exception) -> JSONResponse:
    """Anything no rule answers: logged, and a 500 that tells nothing more."""
    log.error("unhandled error", exc_info=exc)
    return error_response(500, ErrorCode.SERVER_ERROR, "Internal server error.")


#: A malformed or out-of-range id in a path names nothing: answer "not found".
_NOT_FOUND_BY_PARAM: Mapping[str, e.Entity] = {
    "bounce_id": e.Entity.BOUNCE,
    "server_id": e.Entity.SERVER,
    "webhook_id": e.Entity.WEBHOOK,
    "delivery_id": e.Entity.WEBHOOK_DELIVERY,
    "stream_id": e.Entity.STREAM,
    "message_id": e.Entity.MESSAGE,
}


def validation_response(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    for item in errors:
        loc = item.get("loc", ())
        if len(loc) == 2 and loc[0] == "path" and loc[1] in _NOT_FOUND_BY_PARAM:
            name = str(loc[1])
            return domain_error_response(
                e.NotFound(_NOT_FOUND_BY_PARAM[name], request.path_params.get(name, "")))
    details = "; ".join(f"{'.'.join(str(p) for p in item.get('loc', ()))}: "
                        f"{item.get('msg', '')}" for item in errors[:3])
    return error_response(422, ErrorCode.INCOMPATIBLE_JSON, f"Invalid request: {details}")


def install(app: FastAPI) -> None:
    """The handlers both apps share: domain errors by the table, request validation,
    Starlette's HTTP errors, and anything unexpected as a 500."""

    @app.exception_handler(e.PostlaneError)
    async def _domain(_: Request, exc: e.PostlaneError) -> JSONResponse:
        return domain_error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_response(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        return unexpected_response(exc)
