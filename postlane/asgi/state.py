"""What both HTTP apps keep on their ``app.state``: the database, the settings and the
worker's wake-up. Read through these so that neither app's pages need to know how."""

from __future__ import annotations

from fastapi import Request

from postlane.config import Settings
from postlane.store.database import Database


def db(request: Request) -> Database:
    value: Database = request.app.state.db
    return value


def settings(request: Request) -> Settings:
    value: Settings = request.app.state.settings
    return value


def wake_worker(request: Request) -> None:
    """Work was queued for now (an accept, a retried webhook): wake the worker instead of
    letting it wait for its next poll."""
    request.app.state.on_accepted()
