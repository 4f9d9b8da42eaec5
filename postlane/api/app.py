"""The FastAPI application: routers, Postmark-shaped errors, request normalisation."""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from postlane import __version__
from postlane.api import openapi
from postlane.api.routers import (
    bounces,
    email,
    health,
    message_streams,
    messages,
    servers,
    suppressions,
    webhooks,
)
from postlane.asgi.normalize import NormalizeRequest
from postlane.config import Settings
from postlane.domain.errors import ApiError, DatabaseUnavailable, ErrorCode
from postlane.store.database import Database

log = logging.getLogger(__name__)


def error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse({"ErrorCode": code, "Message": message}, status_code=status)


#: A malformed or out-of-range id in the path names nothing: answer "not found".
_NOT_FOUND_BY_PARAM: dict[str, tuple[ErrorCode, str]] = {
    "bounce_id": (ErrorCode.BOUNCE_NOT_FOUND, "Bounce {} was not found."),
    "server_id": (ErrorCode.SERVER_NOT_FOUND, "Server {} was not found."),
    "webhook_id": (ErrorCode.WEBHOOK_NOT_FOUND, "Webhook {} was not found."),
    "delivery_id": (ErrorCode.WEBHOOK_NOT_FOUND, "Webhook delivery {} was not found."),
    "stream_id": (ErrorCode.STREAM_NOT_FOUND,
                  "The message stream for the provided 'ID' ({}) was not found."),
    "message_id": (ErrorCode.MESSAGE_NOT_FOUND, "Message {} was not found."),
}


def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    for item in errors:
        loc = item.get("loc", ())
        if len(loc) == 2 and loc[0] == "path" and loc[1] in _NOT_FOUND_BY_PARAM:
            code, template = _NOT_FOUND_BY_PARAM[str(loc[1])]
            return error(422, code, template.format(request.path_params.get(str(loc[1]), "")))
    details = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
                        for e in errors[:3])
    return error(422, ErrorCode.INCOMPATIBLE_JSON, f"Invalid request: {details}")


def create_app(db: Database, settings: Settings,
               on_accepted: Callable[[], None] | None = None) -> FastAPI:
    app = FastAPI(title="Postlane", version=__version__,
                  description="Postmark-compatible transactional mail server API.")
    app.state.db = db
    app.state.settings = settings
    app.state.on_accepted = on_accepted or (lambda: None)

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_error(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error(exc.status_code, exc.status_code, str(exc.detail))

    @app.exception_handler(DatabaseUnavailable)
    async def _db_down(_: Request, exc: DatabaseUnavailable) -> JSONResponse:
        log.error("database unavailable: %s", exc)
        return error(503, ErrorCode.SERVER_ERROR,
                     "The database is temporarily unavailable; nothing was stored. Retry later.")

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return error(500, ErrorCode.SERVER_ERROR, "Internal server error.")

    for module in (email, bounces, suppressions, servers, message_streams, webhooks, messages,
                   health):
        app.include_router(module.router)
    openapi.install(app)
    app.add_middleware(NormalizeRequest)
    return app
