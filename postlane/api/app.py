"""The FastAPI application: routers, Postmark-shaped errors, request normalisation."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from postlane import __version__
from postlane.api import errors, openapi
from postlane.api.fast import FastSends
from postlane.api.routers import (
    bounces,
    email,
    email_templates,
    health,
    message_streams,
    messages,
    servers,
    suppressions,
    templates,
    tracking,
    webhooks,
)
from postlane.asgi.normalize import NormalizeRequest
from postlane.config import Settings
from postlane.services import identity
from postlane.services.template_cache import TemplateCache
from postlane.store.database import Database
from postlane.store.group_commit import GroupCommitter


def create_app(db: Database, settings: Settings,
               on_accepted: Callable[[], None] | None = None,
               committer: GroupCommitter | None = None) -> FastAPI:
    """The REST API. Sends share ``committer``'s transactions (the SMTP listener's, when
    the runtime has one; else one of the app's own, started on the first send)."""
    app = FastAPI(title="Postlane", version=__version__,
                  description="Postmark-compatible transactional mail server API.",
                  docs_url=None, redoc_url=None)  # openapi.install_docs serves them
    app.state.db = db
    app.state.settings = settings
    app.state.on_accepted = on_accepted or (lambda: None)
    app.state.committer = committer or GroupCommitter(db)
    app.state.send_tokens = identity.SendTokens()
    app.state.template_cache = TemplateCache()

    errors.install(app)
    for module in (email, email_templates, bounces, suppressions, servers, message_streams,
                   webhooks, templates, tracking, messages, health):
        app.include_router(module.router)
    openapi.install(app)
    openapi.install_docs(app)
    app.add_middleware(FastSends, routes={  # inside NormalizeRequest: normalised paths
        "/email": email.send_email, "/email/withtemplate": email_templates.send_with_template})
    app.add_middleware(NormalizeRequest)
    return app
