"""Template rendering with the per-request context every page needs (flashes, the form
token)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import RedirectResponse, Response

from postlane.web import csrf

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))


def flash(request: Request, text: str, kind: str = "") -> None:
    """A message for the next page, kept short: the session cookie holds 4 KB at most."""
    text = text if len(text) <= 300 else text[:299] + "…"
    request.session.setdefault("flashes", []).append([kind, text])


#: The dashboard runs no scripts (but the template editor: SCRIPTED_HEADERS), and is never
#: framed. The Sandbox viewer's srcdoc frame inherits this policy and the referrer policy:
#: no scripts, and no dashboard URL in the Referer of a message's remote images.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'none'; object-src 'none'; "
                               "style-src 'self' 'unsafe-inline'; img-src * data:; "
                               "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


#: The template editor's policy: the same, but the dashboard's own script files may run
#: (its live preview); no inline script, no other origin's, no eval. The preview's srcdoc
#: frame is sandboxed without allow-scripts, so the template's HTML runs none either.
SCRIPTED_HEADERS = {
    **SECURITY_HEADERS,
    "Content-Security-Policy": SECURITY_HEADERS["Content-Security-Policy"].replace(
        "script-src 'none'", "script-src 'self'"),
}


def page(request: Request, name: str, *, allow_scripts: bool = False,
         **context: Any) -> Response:
    """A page; its forms carry the session's token as ``csrf_token`` (postlane.web.csrf).
    Only a page that needs its script says ``allow_scripts``."""
    flashes = request.session.pop("flashes", [])
    return templates.TemplateResponse(
        request, name, {"flashes": flashes, "csrf_token": csrf.token(request), **context},
        headers=SCRIPTED_HEADERS if allow_scripts else SECURITY_HEADERS)


def back_to(url: str) -> RedirectResponse:
    """POST-redirect-GET, so a reload never repeats an action."""
    return RedirectResponse(url, status_code=303)
