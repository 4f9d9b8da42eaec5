"""Errors only the API has: request-level validation (JSON shape, body size, tokens,
Postmark's per-endpoint field codes) that carries its own status and ErrorCode.

Domain errors are answered by the one table in postlane.asgi.errors; ErrorCode is
re-exported here so routers name it from one place.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from postlane.asgi import errors as http_errors
from postlane.asgi.errors import ErrorCode

__all__ = ["ApiError", "ErrorCode", "install"]


class ApiError(Exception):
    """A request the API refuses before any rule runs: HTTP status, Postmark ErrorCode and
    the message the client reads."""

    def __init__(self, code: int, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.code = int(code)
        self.message = message
        self.status = status


def install(app: FastAPI) -> None:
    """The API's error handlers: its own ApiError, then everything both apps share."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return http_errors.error_response(exc.status, exc.code, exc.message)

    http_errors.install(app)
