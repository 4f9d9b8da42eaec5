"""Shared request helpers for routers: the database, settings, and query parsing (the
last shared with the dashboard, from postlane.asgi.query)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Request

from postlane.asgi.query import paging as paging
from postlane.asgi.query import query as query
from postlane.asgi.query import query_bool as query_bool
from postlane.asgi.query import query_date as query_date
from postlane.asgi.query import query_int as query_int
from postlane.asgi.state import db as db
from postlane.asgi.state import settings as settings
from postlane.asgi.state import wake_worker as wake_worker
from postlane.services.identity import SendTokens
from postlane.services.template_cache import TemplateCache
from postlane.store.group_commit import GroupCommitter


def committer(request: Request) -> GroupCommitter:
    """The group committer REST sends share (api.app.create_app)."""
    value: GroupCommitter = request.app.state.committer
    return value


def send_tokens(request: Request) -> SendTokens:
    """The send endpoints' server-token cache (api.auth.send_token)."""
    value: SendTokens = request.app.state.send_tokens
    return value


def template_cache(request: Request) -> TemplateCache:
    """The templates /email/withTemplate sends from (services.template_cache)."""
    value: TemplateCache = request.app.state.template_cache
    return value


#: Numeric ids are 64-bit; anything else in the path cannot name a resource.
MAX_ID = 2**63 - 1
ResourceId = Annotated[int, Path(ge=1, le=MAX_ID)]
#: Stream ids as they can be created; message ids are GUIDs. Anything else names nothing.
StreamId = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,29}$")]
MessageId = Annotated[str, Path(pattern=r"^[0-9A-Za-z-]{1,64}$")]


