"""Whether a server's message stream exists, and whether it can send: the one check every
front door (API, dashboard, SMTP, CLI) makes before it uses a stream."""

from __future__ import annotations

from postlane.domain.errors import StreamArchived, StreamCannotSend, StreamNotFound
from postlane.domain.records import Stream
from postlane.domain.types import StreamType
from postlane.store import Transaction, streams


def require(conn: Transaction, server_id: int, stream_id: str) -> Stream:
    """The server's stream ``stream_id`` (archived or not); StreamNotFound if it has none."""
    stream = streams.get(conn, server_id, stream_id)
    if stream is None:
        raise StreamNotFound(stream_id)
    return stream


def require_sending(conn: Transaction, server_id: int, stream_id: str) -> Stream:
    """A stream mail can be sent into: it exists, is not archived and is not inbound."""
    stream = require(conn, server_id, stream_id)
    if stream.archived_at is not None:
        raise StreamArchived(stream_id)
    if stream.stream_type is StreamType.INBOUND:
        raise StreamCannotSend(stream_id)
    return stream
