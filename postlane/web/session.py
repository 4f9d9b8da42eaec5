"""Dashboard login: the account token, or an admin password when one is configured.

Sessions are signed cookies (Starlette's SessionMiddleware). The signing key is
configured or derived from the account tokens, so every process of a scaled-out
deployment agrees on it without extra set-up.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlencode

from fastapi import Request
from starlette.responses import RedirectResponse

from postlane.config import Settings
from postlane.services import identity
from postlane.store import tokens
from postlane.store.database import Database

SESSION_KEY = "postlane_user"


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


class LoginRequired(Exception):
    """Raised by page handlers; turned into a redirect to the login page."""


def require_login(request: Request) -> None:
    if not request.session.get(SESSION_KEY):
        raise LoginRequired


def login_redirect(request: Request) -> RedirectResponse:
    """To the login form, then back to the page asked for (its query too, e.g. filters)."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/dashboard/login?{urlencode({'next': target})}", status_code=303)
