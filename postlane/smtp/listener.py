"""The submission listener: the SMTP engine on the shared event loop, with AUTH before
MAIL, optional STARTTLS, and size and recipient limits."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable

from postlane.config import Settings
from postlane.smtp import engine
from postlane.smtp import trusted as trusted_peers
from postlane.smtp.handler import SubmissionHandler
from postlane.smtp.tls import ensure_self_signed, server_context
from postlane.store.database import Database
from postlane.store.group_commit import GroupCommitter


def tls_context(settings: Settings) -> ssl.SSLContext:
    if settings.tls_cert_file and settings.tls_key_file:
        return server_context(settings.tls_cert_file, settings.tls_key_file)
    cert, key = ensure_self_signed(settings.data_dir / "tls", settings.smtp_hostname)
    return server_context(cert, key)


async def start(db: Database, settings: Settings, committer: GroupCommitter,
                on_accepted: Callable[[], None] | None = None,
                sock: socket.socket | None = None) -> asyncio.Server:
    trusted = trusted_peers.load(db, settings.smtp_trusted_networks,
                                 settings.smtp_trusted_server_token)
    handler = SubmissionHandler(db, committer, settings.smtp_max_recipients, trusted,
                                on_accepted)
    options = engine.Options(
        hostname=settings.smtp_hostname, ident="Postlane ESMTP",
        max_message_bytes=settings.smtp_max_message_bytes, tls_context=tls_context(settings),
        idle_timeout=settings.smtp_idle_timeout_seconds,
        auth=True, auth_require_tls=settings.auth_requires_tls)
    return await serve(engine.factory(options, handler), settings.smtp_host,
                       settings.smtp_port, sock)


async def serve(factory: Callable[[], asyncio.Protocol], host: str, port: int,
                sock: socket.socket | None) -> asyncio.Server:
    """Listen on ``sock`` when the caller bound one already (see runtime.Postlane.bind)."""
    loop = asyncio.get_running_loop()
    if sock is not None:
        return await loop.create_server(factory, sock=sock)
    return await loop.create_server(factory, host=host, port=port)
