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
from postlane.domain.errors import PostlaneError

__all__ = ["ApiError", "ErrorCode", "install", "response_for"]


class ApiError(Exception):
    """A request the API refuses before any rule runs: HTTP status, Postmark ErrorCode and
    the message the client reads."""

    def __init__(self, code: int, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.code = int(code)
        self.message = message
        self.status = status


def api_error_response(exc: ApiError) -> JSONResponse:
    return http_errors.error_response(exc.status, exc.code, exc.message)


def response_for(exc: Exception) -> JSONResponse:
    """What the handlers installed below answer for ``exc``, for code that runs outside
    FastAPI's exception handling (api.fast) and can raise only these kinds."""
    if isinstance(exc, ApiError):
        return api_error_response(exc)
    if isinstance(exc, PostlaneError):
        return http_errors.domain_error_response(exc)
    return http_errors.unexpected_response(exc)


def install(app: FastAPI) -> None:
    """The API's error handlers: its own ApiError, then everything both apps share."""

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return api_error_response(exc)

    http_errors.install(app)
