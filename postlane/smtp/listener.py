"""The submission listener: aiosmtpd on the shared event loop, with AUTH before MAIL,
optional STARTTLS, and size and recipient limits."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable

from postlane.config import Settings
from postlane.smtp import trusted as trusted_peers
from postlane.smtp.handler import SubmissionHandler, TokenAuthenticator
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
    handler = SubmissionHandler(committer, settings.smtp_max_recipients, on_accepted)
    authenticator = TokenAuthenticator(db)
    context = tls_context(settings)
    loop = asyncio.get_running_loop()
    trusted = trusted_peers.load(db, settings.smtp_trusted_networks,
                                 settings.smtp_trusted_server_token)

    factory = trusted_peers.SubmissionSMTP.factory(
        handler, trusted=trusted, hostname=settings.smtp_hostname, ident="Postlane ESMTP",
        data_size_limit=settings.smtp_max_message_bytes, enable_SMTPUTF8=True,
        tls_context=context, require_starttls=False, authenticator=authenticator,
        auth_required=True, auth_require_tls=settings.auth_requires_tls, loop=loop)

    if sock is not None:
        return await loop.create_server(factory, sock=sock)
    return await loop.create_server(factory, host=settings.smtp_host, port=settings.smtp_port)
