"""The dashboard as an ASGI app of its own: its pages, static files, signed session
cookie (with its server-side session), form tokens and login throttle. The runtime serves
it beside the API (postlane.asgi.frontends); it never imports the API, nor the API it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from postlane.asgi.normalize import NormalizeRequest
from postlane.config import Settings
from postlane.store.database import Database
from postlane.web import (
    cookies,
    csrf,
    errors,
    pages,
    pages_lists,
    pages_login,
    pages_mail,
    pages_templates,
    session,
)
from postlane.web.throttle import LoginThrottle

#: Where the runtime sends requests to this app (paths as normalised); the rest is the API's.
PATH_PREFIXES = ("/dashboard", "/static")
#: Every page of the dashboard (the CSRF tests walk their forms' actions).
ROUTERS = (pages_login.router, pages.router, pages_mail.router, pages_lists.router,
           pages_templates.router)

_STATIC = Path(__file__).with_name("static")


def create_dashboard(db: Database, settings: Settings,
                     on_accepted: Callable[[], None] | None = None) -> FastAPI:
    """``on_accepted`` wakes the worker (a retried webhook delivery is due at once)."""
    app = FastAPI(title="Postlane dashboard", openapi_url=None, docs_url=None,
                  redoc_url=None, dependencies=[Depends(csrf.protect)])
    app.state.db = db
    app.state.settings = settings
    app.state.on_accepted = on_accepted or (lambda: None)
    app.state.login_throttle = LoginThrottle()
    app.state.signing_key = session.signing_key(db, settings)
    errors.install(app)
    for router in ROUTERS:
        app.include_router(router, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=str(_STATIC)), name="static")
    app.add_middleware(SessionMiddleware, secret_key=app.state.signing_key,
                       session_cookie="postlane_session", same_site="strict",
                       max_age=session.SESSION_SECONDS)
    app.add_middleware(cookies.SecureCookies, settings=settings)
    app.add_middleware(NormalizeRequest)
    return app
