"""A server's message streams: whether one exists and can send (the one check every front
door makes before it uses a stream), and the Message Streams API's rules for creating,
archiving and unarchiving them, after Postmark's (its message streams API reference and
its 12xx error table):

- a server has at most MAX_STREAMS streams, archived ones included (they can come back);
- it has exactly one inbound stream, its default: no other can be created;
- the default transactional and inbound streams cannot be archived;
- an archived stream cannot send; it can be unarchived until its purge date
  (ExpectedPurgeDate, 45 days after archiving), and a stream that is not archived cannot
  be unarchived.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from postlane.domain import limits
from postlane.domain.errors import (
    Entity,
    NameTaken,
    SendingStreamNotFound,
    StreamArchived,
    StreamCannotSend,
    StreamLimit,
    StreamNotArchived,
    StreamNotFound,
    StreamPermanent,
    StreamTypeTaken,
)
from postlane.domain.payloads import stream_purge_date
from postlane.domain.records import Stream
from postlane.domain.types import StreamType
from postlane.store import Transaction, streams
from postlane.store.schema import utcnow

#: The default streams that must stay: every server sends transactional mail and receives.
PERMANENT = ("outbound", "inbound")


def require(conn: Transaction, server_id: int, stream_id: str) -> Stream:
    """The server's stream ``stream_id`` (archived or not); StreamNotFound if it has none."""
    stream = streams.get(conn, server_id, stream_id)
    if stream is None:
        raise StreamNotFound(stream_id)
    return stream


def require_sending(conn: Transaction, server_id: int, stream_id: str) -> Stream:
    """A stream mail can be sent into: it exists, is not archived and is not inbound."""
    return sendable(streams.get(conn, server_id, stream_id), stream_id)


def sendable(stream: Stream | None, stream_id: str) -> Stream:
    """require_sending for a stream already read (None: the server has no such stream)."""
    if stream is None:
        raise SendingStreamNotFound(stream_id)
    if stream.archived_at is not None:
        raise StreamArchived(stream_id)
    if stream.stream_type is StreamType.INBOUND:
        raise StreamCannotSend(stream_id)
    return stream


@dataclass(frozen=True, slots=True)
class NewStream:
    """A stream to create, its fields already checked for form (the API's rules)."""

    id: str
    name: str
    stream_type: StreamType
    description: str | None
    unsubscribe_handling: str


def create(conn: Transaction, server_id: int, new: NewStream) -> Stream:
    if new.stream_type is StreamType.INBOUND:
        raise StreamTypeTaken
    if streams.get(conn, server_id, new.id) is not None:
        raise NameTaken(Entity.STREAM, new.id)
    if len(streams.listing(conn, server_id, None, True)) >= limits.MAX_STREAMS:
        raise StreamLimit(limits.MAX_STREAMS)
    streams.create(conn, server_id, new.id, new.name, new.stream_type, new.description,
                   new.unsubscribe_handling)
    return require(conn, server_id, new.id)


def archive(conn: Transaction, server_id: int, stream_id: str) -> datetime:
    """Archive the stream (again: it keeps its first date); when it was archived."""
    stream = require(conn, server_id, stream_id)
    if stream.id in PERMANENT:
        raise StreamPermanent(stream.id)
    when = stream.archived_at or utcnow()
    streams.set_archived(conn, server_id, stream.id, when)
    return when


def unarchive(conn: Transaction, server_id: int, stream_id: str) -> Stream:
    stream = require(conn, server_id, stream_id)
    if stream.archived_at is None or stream_purge_date(stream.archived_at) <= utcnow():
        raise StreamNotArchived(stream.id)
    streams.set_archived(conn, server_id, stream.id, None)
    return require(conn, server_id, stream.id)
