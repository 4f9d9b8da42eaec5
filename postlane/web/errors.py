"""How the dashboard answers what its pages do not handle: a page that needs a login
redirects to the login form; a form that did not come from the dashboard's own page gets
a 403 page (postlane.web.csrf); anything else is answered as the API answers it, a
Postmark-shaped ``{"ErrorCode": n, "Message": "..."}`` with the same status (the shared
table in postlane.asgi.errors), so the dashboard and the API fail alike."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from postlane.asgi import errors as http_errors
from postlane.web import csrf, session
from postlane.web.render import page


def install(app: FastAPI) -> None:
    @app.exception_handler(session.LoginRequired)
    async def _login(request: Request, _: session.LoginRequired) -> Response:
        return session.login_redirect(request)

    @app.exception_handler(csrf.Refused)
    async def _forged(request: Request, exc: csrf.Refused) -> Response:
        response = page(request, "refused.html", reason=exc.reason)
        response.status_code = 403
        return response

    http_errors.install(app)
