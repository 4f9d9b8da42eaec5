"""What the dashboard's pages take from their app: the database, settings, the worker's
wake-up and the login throttle; and query parsing, shared with the API."""

from __future__ import annotations

from fastapi import Request

from postlane.asgi.query import query as query
from postlane.config import Settings
from postlane.store.database import Database
from postlane.web.throttle import LoginThrottle


def db(request: Request) -> Database:
    value: Database = request.app.state.db
    return value


def settings(request: Request) -> Settings:
    value: Settings = request.app.state.settings
    return value


def wake_worker(request: Request) -> None:
    """A retried webhook delivery is due now: the worker should not wait for its poll."""
    request.app.state.on_accepted()


def login_throttle(request: Request) -> LoginThrottle:
    value: LoginThrottle = request.app.state.login_throttle
    return value
