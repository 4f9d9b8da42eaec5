"""How the dashboard answers what its pages do not handle: a page that needs a login
redirects to the login form; anything else is answered as the API answers it, a
Postmark-shaped ``{"ErrorCode": n, "Message": "..."}`` with the same status (the shared
table in postlane.asgi.errors), so the dashboard and the API fail alike."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response

from postlane.asgi import errors as http_errors
from postlane.web import session


def install(app: FastAPI) -> None:
    @app.exception_handler(session.LoginRequired)
    async def _login(request: Request, _: session.LoginRequired) -> Response:
        return session.login_redirect(request)

    http_errors.install(app)
