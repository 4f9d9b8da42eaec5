"""Token authentication. Server endpoints take only X-Postmark-Server-Token, account
endpoints only X-Postmark-Account-Token: the two are never interchangeable. Who a token
is, is decided in services.identity; here only the headers and the 401 answers."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from postlane.api.errors import ApiError, ErrorCode
from postlane.services import identity
from postlane.store.database import Database

SERVER_HEADER = "X-Postmark-Server-Token"
ACCOUNT_HEADER = "X-Postmark-Account-Token"


#: The server id of a POSTMARK_API_TEST send: none (ids start at 1), so a template
#: lookup for it finds nothing.
NO_SERVER = 0


@dataclass(frozen=True)
class ServerContext:
    server_id: int
    token: str
    #: POSTMARK_API_TEST: validate and answer, store and send nothing (api.sends).
    test: bool = False


def _unauthorized(message: str) -> ApiError:
    return ApiError(ErrorCode.BAD_TOKEN, message, status=401)


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _given_server_token(request: Request) -> str:
    token = request.headers.get(SERVER_HEADER, "").strip()
    if not token:
        raise _unauthorized(f"No API token was supplied. Add the {SERVER_HEADER} header.")
    return token


def _server_context(server_id: int | None, token: str) -> ServerContext:
    if server_id is None:
        raise _unauthorized(f"Request does not contain a valid Server token ({SERVER_HEADER}).")
    return ServerContext(server_id, token)


async def server_token(request: Request) -> ServerContext:
    token = _given_server_token(request)
    if identity.is_api_test(token):  # a send-only token, even if a server had it
        return _server_context(None, token)
    return _server_context(
        await _db(request).run(identity.api_server_id, _db(request), token), token)


async def send_token(request: Request) -> ServerContext:
    """server_token for the send endpoints: a token seen before is taken from the app's
    SendTokens cache without a read, and checked again in the transaction that accepts
    the message (services.sending.send_many), so a revoked one still fails (401).
    POSTMARK_API_TEST is accepted here, and only here, as a test context."""
    token = _given_server_token(request)
    if identity.is_api_test(token):
        return ServerContext(NO_SERVER, token, test=True)
    tokens: identity.SendTokens = request.app.state.send_tokens
    server_id = tokens.cached(token)
    if server_id is None:
        server_id = await _db(request).run(tokens.server_id, _db(request), token)
    return _server_context(server_id, token)


async def account_token(request: Request) -> str:
    token = request.headers.get(ACCOUNT_HEADER, "").strip()
    if not token:
        raise _unauthorized(f"No API token was supplied. Add the {ACCOUNT_HEADER} header.")
    if not await _db(request).run(identity.is_account_token, _db(request), token):
        raise _unauthorized(f"Request does not contain a valid Account token ({ACCOUNT_HEADER}).")
    return token
