"""A message's MIME form, the one home of "what bytes is this message".

SMTP messages arrive as bytes and keep them. A REST message is stored as its fields (the
request as validated, attachments as base64) and composed from them when its bytes are
needed: at delivery, for a dump or a bounce's content. Composition is the costliest part
of a REST send (the email package's header objects, about a millisecond); doing it after
the 200, in the worker, is what lets the API answer at the rate of its group commit.
It is deterministic, so every reader sees the same bytes: the Date is the time the
message was accepted and the Message-ID comes from its id (domain.headers' rule).
"""

from __future__ import annotations

import base64
from typing import Any

from postlane.domain import headers as identity_headers
from postlane.domain import mime
from postlane.domain.records import Message


def raw(message: Message) -> bytes:
    """The message as stored (SMTP) or as composed from its fields (REST)."""
    if message.raw is not None:
        return message.raw
    return mime.compose(
        from_field=message.from_field, to_field=message.to_field, cc_field=message.cc_field,
        reply_to=message.reply_to, subject=message.subject, text_body=message.text_body,
        html_body=message.html_body, headers=message.headers,
        attachments=[_decoded(att) for att in message.attachments], message_id=message.id,
        domain=identity_headers.MESSAGE_ID_DOMAIN, sent_at=message.received_at.timestamp())


def stored_attachment(name: str, content_type: str, content_id: str | None,
                      content: str, length: int) -> dict[str, Any]:
    """An attachment as a REST message keeps it: ``content`` is its base64 (validated,
    without line breaks), decoded again when the message is composed."""
    return {"Name": name, "ContentType": content_type, "ContentID": content_id,
            "ContentLength": length, "Content": content}


def _decoded(att: dict[str, Any]) -> dict[str, Any]:
    return {**att, "Data": base64.b64decode(att.get("Content") or "")}
