"""The submission listener: the SMTP engine on the shared event loop, with AUTH before
MAIL, optional STARTTLS, size and recipient limits, session caps and deadlines."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable
from typing import Any

from postlane.config import Settings
from postlane.smtp import engine
from postlane.smtp import trusted as trusted_peers
from postlane.smtp.admission import Admission
from postlane.smtp.handler import SubmissionHandler
from postlane.smtp.tls import ensure_self_signed, server_context
from postlane.store.database import Database
from postlane.store.group_commit import GroupCommitter

#: The listen backlog: connections the kernel queues before we accept them, and so the
#: most a loop pass accepts at once (runtime.session_caps keeps descriptors for them).
BACKLOG = 100


def tls_context(settings: Settings) -> ssl.SSLContext:
    if settings.tls_cert_file and settings.tls_key_file:
        return server_context(settings.tls_cert_file, settings.tls_key_file)
    cert, key = ensure_self_signed(settings.data_dir / "tls", settings.smtp_hostname)
    return server_context(cert, key)


def options(settings: Settings, ident: str, **listener: Any) -> engine.Options:
    """What both listeners share: the settings' limits and deadlines; ``listener``
    overrides some of them (the bounce MX has its own size cap)."""
    shared: dict[str, Any] = {
        "hostname": settings.smtp_hostname, "ident": ident,
        "max_message_bytes": settings.smtp_max_message_bytes,
        "tls_context": tls_context(settings),
        "idle_timeout": settings.smtp_idle_timeout_seconds,
        "command_timeout": settings.smtp_command_timeout_seconds,
        "data_timeout": settings.smtp_data_timeout_seconds,
        "session_timeout": settings.smtp_session_timeout_seconds}
    return engine.Options(**(shared | listener))


def admission(settings: Settings, max_sessions: int | None,
              exempt: Callable[[Any], bool] | None = None) -> Admission:
    """The session caps; ``max_sessions`` as the runtime sized it to the descriptor limit."""
    caps = Admission(max_sessions or settings.smtp_max_sessions,
                     settings.smtp_max_sessions_per_client)
    if exempt is not None:
        caps.exempt = exempt
    return caps


async def start(db: Database, settings: Settings, committer: GroupCommitter,
                on_accepted: Callable[[], None] | None = None,
                sock: socket.socket | None = None,
                max_sessions: int | None = None) -> asyncio.Server:
    trusted = trusted_peers.load(db, settings.smtp_trusted_networks,
                                 settings.smtp_trusted_server_token)
    handler = SubmissionHandler(db, committer, settings.smtp_max_recipients, trusted,
                                on_accepted)
    settings_options = options(settings, "Postlane ESMTP", auth=True,
                               auth_require_tls=settings.auth_requires_tls)
    caps = admission(settings, max_sessions, trusted.covers if trusted else None)
    return await serve(engine.factory(settings_options, handler, caps), settings.smtp_host,
                       settings.smtp_port, sock)


async def serve(factory: Callable[[], asyncio.Protocol], host: str, port: int,
                sock: socket.socket | None) -> asyncio.Server:
    """Listen on ``sock`` when the caller bound one already (see runtime.Postlane.bind)."""
    loop = asyncio.get_running_loop()
    if sock is not None:
        return await loop.create_server(factory, sock=sock, backlog=BACKLOG)
    return await loop.create_server(factory, host=host, port=port, backlog=BACKLOG)
