"""How the dashboard answers what its pages do not handle: a page that needs a login
redirects to the login form; anything else is answered as the API answers it, a
Postmark-shaped ``{"ErrorCode": n, "Message": "..."}`` with the same status, so the
dashboard and the API fail alike."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from postlane.domain.errors import ApiError, DatabaseUnavailable, ErrorCode
from postlane.web import session

log = logging.getLogger(__name__)

#: A malformed or out-of-range id in a dashboard path names nothing: "not found".
_NOT_FOUND_BY_PARAM: dict[str, tuple[ErrorCode, str]] = {
    "server_id": (ErrorCode.SERVER_NOT_FOUND, "Server {} was not found."),
    "message_id": (ErrorCode.MESSAGE_NOT_FOUND, "Message {} was not found."),
    "bounce_id": (ErrorCode.BOUNCE_NOT_FOUND, "Bounce {} was not found."),
    "delivery_id": (ErrorCode.WEBHOOK_NOT_FOUND, "Webhook delivery {} was not found."),
}


def _error(status: int, code: int, message: str) -> JSONResponse:
    return JSONResponse({"ErrorCode": code, "Message": message}, status_code=status)


def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = exc.errors()
    for item in errors:
        loc = item.get("loc", ())
        if len(loc) == 2 and loc[0] == "path" and loc[1] in _NOT_FOUND_BY_PARAM:
            code, template = _NOT_FOUND_BY_PARAM[str(loc[1])]
            return _error(422, code, template.format(request.path_params.get(str(loc[1]), "")))
    details = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
                        for e in errors[:3])
    return _error(422, ErrorCode.INCOMPATIBLE_JSON, f"Invalid request: {details}")


def install(app: FastAPI) -> None:
    @app.exception_handler(session.LoginRequired)
    async def _login(request: Request, _: session.LoginRequired) -> Response:
        return session.login_redirect(request)

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _invalid(request, exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, exc.status_code, str(exc.detail))

    @app.exception_handler(DatabaseUnavailable)
    async def _db_down(_: Request, exc: DatabaseUnavailable) -> JSONResponse:
        log.error("database unavailable: %s", exc)
        return _error(503, ErrorCode.SERVER_ERROR,
                      "The database is temporarily unavailable; nothing was stored. Retry later.")

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error")
        return _error(500, ErrorCode.SERVER_ERROR, "Internal server error.")
