"""Dashboard login: the account token, or an admin password when one is configured.

The session cookie is signed (Starlette's SessionMiddleware) and carries flashes, the
form token and a random session id. Being logged in is that id's row in the database
(postlane.store.dashboard_sessions), checked on every request: logout deletes the row, so
the cookie, copied or replayed, no longer logs anyone in, in any process. The signing key
is configured or derived from the account tokens, so every process of a scaled-out
deployment agrees on it without extra set-up.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from fastapi import Request
from starlette.responses import RedirectResponse

from postlane.asgi.state import db as app_db
from postlane.config import Settings
from postlane.services import identity
from postlane.store import dashboard_sessions, tokens
from postlane.store.database import Database
from postlane.web import csrf

#: A login lasts this long (the cookie's Max-Age and the row's expiry alike).
SESSION_SECONDS = 12 * 3600
_SESSION_ID = "sid"


def signing_key(db: Database, settings: Settings) -> str:
    if settings.dashboard_secret:
        return settings.dashboard_secret
    with db.read() as conn:
        material = "|".join(sorted(tokens.account_tokens_list(conn)))
    return hashlib.sha256(f"postlane-dashboard|{material}".encode()).hexdigest()


def credentials_ok(db: Database, settings: Settings, secret: str) -> bool:
    secret = secret.strip()
    if not secret:
        return False
    if settings.admin_password and hmac.compare_digest(secret.encode(),
                                                       settings.admin_password.encode()):
        return True
    return identity.is_account_token(db, secret)


def _key(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _start(db: Database, previous: str | None) -> str:
    session_id = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with db.write() as conn:
        if previous:
            dashboard_sessions.revoke(conn, _key(previous))
        dashboard_sessions.purge_expired(conn, now)
        dashboard_sessions.create(conn, _key(session_id),
                                  now + timedelta(seconds=SESSION_SECONDS))
    return session_id


def _end(db: Database, session_id: str) -> None:
    with db.write() as conn:
        dashboard_sessions.revoke(conn, _key(session_id))


def _live(db: Database, session_id: str) -> bool:
    with db.read() as conn:
        return dashboard_sessions.is_live(conn, _key(session_id), datetime.now(UTC))


def _session_id(request: Request) -> str | None:
    value = request.session.get(_SESSION_ID)
    return value if isinstance(value, str) else None


async def log_in(request: Request) -> None:
    """A new session (new id, new form token), replacing whatever the browser had."""
    db = app_db(request)
    session_id = await db.run(_start, db, _session_id(request))
    request.session.clear()
    request.session[_SESSION_ID] = session_id
    csrf.token(request)


async def log_out(request: Request) -> None:
    session_id = _session_id(request)
    if session_id:
        db = app_db(request)
        await db.run(_end, db, session_id)
    request.session.clear()


class LoginRequired(Exception):
    """Raised by page handlers; turned into a redirect to the login page."""


async def require_login(request: Request) -> None:
    session_id = _session_id(request)
    db = app_db(request)
    if session_id is None or not await db.run(_live, db, session_id):
        raise LoginRequired


def login_redirect(request: Request) -> RedirectResponse:
    """To the login form, then back to the page asked for (its query too, e.g. filters);
    a form posted by a session that has ended goes back to the start instead."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET":
        target = "/dashboard"
    return RedirectResponse(f"/dashboard/login?{urlencode({'next': target})}", status_code=303)
