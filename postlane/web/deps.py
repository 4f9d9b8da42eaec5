"""What the dashboard's pages take from their app: the database, settings, the worker's
wake-up, the login throttle and the cookie signing key; and query parsing, shared with
the API."""

from __future__ import annotations

from fastapi import Request

from postlane.asgi.query import query as query
from postlane.asgi.state import db as db
from postlane.asgi.state import settings as settings
from postlane.asgi.state import wake_worker as wake_worker
from postlane.web.throttle import LoginThrottle


def login_throttle(request: Request) -> LoginThrottle:
    value: LoginThrottle = request.app.state.login_throttle
    return value


def signing_key(request: Request) -> str:
    value: str = request.app.state.signing_key
    return value
