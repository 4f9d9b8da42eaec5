"""Cross-site request forgery: every state-changing request (any method but GET, HEAD
and OPTIONS) must come from one of this dashboard's own pages.

Two checks, each enough on its own against a browser, together against the gaps of each:
- the origin: a request whose Origin (or, without one, Referer) names another site, another
  scheme or port, or "null" (sandboxed frames, privacy redirects) is refused. A request
  with neither header is left to the token: some privacy tools strip both;
- the token: every form carries the session's random token in a hidden field
  (``csrf_token``), compared in constant time. Another site can make the browser send the
  cookie (or, SameSite=Strict, not even that) but cannot read the page to learn the token.

The check runs for every route (an app-wide dependency), so a new form cannot forget it.
Refusals are 403 pages that change nothing.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request

from postlane.asgi.state import settings as app_settings
from postlane.web import cookies

FIELD = "csrf_token"
_SESSION_KEY = "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_DEFAULT_PORTS = {"http": 80, "https": 443}


class Refused(Exception):
    """A state-changing request that did not come from this dashboard's own page."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def token(request: Request) -> str:
    """This session's token for its forms (made on first use)."""
    value = request.session.get(_SESSION_KEY)
    if not isinstance(value, str):
        value = request.session[_SESSION_KEY] = secrets.token_urlsafe(32)
    return value


async def protect(request: Request) -> None:
    if request.method in SAFE_METHODS:
        return
    if not same_origin(request):
        raise Refused("it was sent from another site")
    expected = request.session.get(_SESSION_KEY)
    if not isinstance(expected, str):
        raise Refused("its page has expired (or cookies are blocked)")
    given = (await request.form()).get(FIELD)
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(),
                                                             expected.encode()):
        raise Refused("its page has expired")


def same_origin(request: Request) -> bool:
    claimed = request.headers.get("origin") or request.headers.get("referer")
    if claimed is None:
        return True
    scheme = "https" if cookies.over_tls(request.scope, app_settings(request)) else "http"
    own = _origin(f"{scheme}://{request.headers.get('host', '')}")
    return own is not None and _origin(claimed) == own


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a URL, the default port filled in; None if it has none."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname, port or _DEFAULT_PORTS[parts.scheme]
