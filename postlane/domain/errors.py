"""The error tree: every failure Postlane reports to a client, as data.

Services and the store raise these; each front door maps a class to its own answer in
one table (postlane.asgi.errors for HTTP status and Postmark ErrorCode, postlane.smtp.refusals
for SMTP replies). An error carries what it is about (ids, addresses, field names) and the
sentence clients read today, never a status or a protocol's wording.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import ClassVar

from postlane.domain.suppression import inactive_recipients_message


class Entity(StrEnum):
    """What a NotFound or NameTaken is about; the value is how messages name it."""

    BOUNCE = "Bounce"
    SERVER = "Server"
    WEBHOOK = "Webhook"
    WEBHOOK_DELIVERY = "Webhook delivery"
    MESSAGE = "Message"
    STREAM = "Message stream"
    TEMPLATE = "Template"


class PostlaneError(Exception):
    """The root of every failure Postlane reports to a client; front doors map each kind
    to their own answer (an HTTP status and ErrorCode, or an SMTP reply)."""

    @property
    def message(self) -> str:
        """The sentence the client reads."""
        return str(self)


class DatabaseUnavailable(PostlaneError):
    """The database could not be reached or refused the work: nothing was stored, and the
    client should retry (SMTP 451, HTTP 503). The store raises it in place of driver
    errors, so no layer above it needs to know the driver."""


class TemplateChanged(PostlaneError):
    """The template (or its layout) a send was rendered from changed or went away before
    the transaction that would accept the message: nothing was stored. The send is
    rendered again from the new version; this reaches the client (HTTP 503) only when
    that keeps happening (api.routers.email_templates)."""

    def __init__(self) -> None:
        super().__init__("The template changed while the message was being sent; nothing "
                         "was stored. Retry the request.")


class Refused(PostlaneError):
    """A rule refused the request: nothing changed, and repeating it unchanged will not
    help (unlike DatabaseUnavailable). Pages that report a refusal inline catch this."""


class StaleToken(Refused):
    """The token a send was authenticated with no longer holds in the transaction that
    would accept it (its server deleted, the token revoked meanwhile): HTTP 401,
    ErrorCode 10, as for any invalid token."""

    def __init__(self, server_id: int) -> None:
        super().__init__("Request does not contain a valid Server token "
                         "(X-Postmark-Server-Token).")
        self.server_id = server_id


class NotFound(Refused):
    """The entity ``kind`` with id ``ident`` does not exist (or belongs to another
    server)."""

    KINDS: ClassVar[frozenset[Entity]] = frozenset(Entity)

    def __init__(self, kind: Entity, ident: int | str) -> None:
        if kind is Entity.STREAM:
            text = f"The message stream for the provided 'ID' ({ident}) was not found."
        else:
            text = f"{kind.value} {ident} was not found."
        super().__init__(text)
        self.kind = kind
        self.id = ident


class StreamNotFound(NotFound):
    """The server has no message stream ``stream_id``."""

    def __init__(self, stream_id: str) -> None:
        super().__init__(Entity.STREAM, stream_id)
        self.stream_id = stream_id


class SendingStreamNotFound(StreamNotFound):
    """A send names a MessageStream the server does not have (Postmark answers this one
    apart from the Message Streams API's own not-found)."""


class StreamArchived(Refused):
    """The stream exists but is archived: it cannot send."""

    def __init__(self, stream_id: str) -> None:
        super().__init__(f"The message stream '{stream_id}' is archived and cannot send.")
        self.stream_id = stream_id


class StreamCannotSend(Refused):
    """The stream exists but is an inbound stream: it receives, it does not send."""

    def __init__(self, stream_id: str) -> None:
        super().__init__(f"The message stream '{stream_id}' is an inbound stream and cannot send.")
        self.stream_id = stream_id


class StreamPermanent(Refused):
    """The default transactional and inbound streams cannot be archived: every server
    sends transactional mail and receives."""

    def __init__(self, stream_id: str) -> None:
        super().__init__(f"The default '{stream_id}' stream cannot be archived.")
        self.stream_id = stream_id


class StreamNotArchived(Refused):
    """Unarchiving a stream that is not archived, or whose archive was due for purging."""

    def __init__(self, stream_id: str) -> None:
        super().__init__(f"The message stream '{stream_id}' cannot be unarchived: it is "
                         "not archived, or its purge date has passed.")
        self.stream_id = stream_id


class StreamLimit(Refused):
    """The server has as many message streams as it may have (archived ones count)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"A server may have up to {limit} message streams.")
        self.limit = limit


class StreamTypeTaken(Refused):
    """A second inbound stream: a server has exactly one."""

    def __init__(self) -> None:
        super().__init__("A server can only have one inbound stream.")


class InactiveRecipients(Refused):
    """Every recipient of a REST message is suppressed: nothing was sent. The wording is
    fixed (SDKs parse the address list out of it)."""

    def __init__(self, addresses: Sequence[str]) -> None:
        super().__init__(inactive_recipients_message(list(addresses)))
        self.addresses = tuple(addresses)


class NameTaken(Refused):
    """Another entity of ``kind`` already has ``name`` (a server's name, a stream's ID)."""

    KINDS: ClassVar[frozenset[Entity]] = frozenset({Entity.SERVER, Entity.STREAM})

    def __init__(self, kind: Entity, name: str) -> None:
        if kind not in self.KINDS:
            raise ValueError(f"names of {kind.value} are not unique")
        if kind is Entity.SERVER:
            text = "This server name already exists."
        else:
            text = f"A message stream with ID '{name}' already exists."
        super().__init__(text)
        self.kind = kind
        self.name = name


class TargetRefused(Refused):
    """A webhook URL whose host reaches a loopback, link-local, private or other
    non-public address while the operator does not allow private targets: Postlane would
    be a tenant's way into this machine or its network. ``sentence`` says which address."""

    def __init__(self, field: str, sentence: str) -> None:
        super().__init__(f"{field}: {sentence} (this server does not post webhooks to "
                         "non-public addresses).")
        self.field = field


class InvalidField(Refused):
    """A field or parameter holds a value the rule refuses; ``reason`` is the whole
    sentence the client reads."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class FieldProblem:
    """One field of a request and why its rule refuses it."""

    field: str
    message: str


class InvalidFields(Refused):
    """Fields of one request break their rules: every problem is kept, so the dashboard
    can list each one and the API names them all in one message."""

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        super().__init__("Invalid request: " + "; ".join(
            f"{p.field}: {p.message}" for p in problems))
        self.problems = tuple(problems)


class SuppressionFinal(Refused):
    """A spam complaint's suppression: the recipient decided, the sender may not undo it."""

    def __init__(self, email: str) -> None:
        super().__init__("You do not have the required authority to change this suppression "
                         "(SpamComplaint).")
        self.email = email


class BounceCannotActivate(Refused):
    """The bounce's address cannot be reactivated (its suppression is a spam complaint)."""

    def __init__(self, bounce_id: int) -> None:
        super().__init__(f"Bounce {bounce_id} cannot be activated (spam complaints are final).")
        self.bounce_id = bounce_id


class AlreadyDelivered(Refused):
    """A webhook delivery that succeeded cannot be retried."""

    def __init__(self, delivery_id: int) -> None:
        super().__init__(f"Webhook delivery {delivery_id} was already delivered.")
        self.delivery_id = delivery_id


class TemplateFieldMissing(Refused):
    """A template request lacks a field its type needs (Name, a body, a Layout's
    ``{{{ @content }}}``): Postmark's "required template field is missing"."""


class TemplateInvalid(Refused):
    """A template's field holds a value its rule refuses (an Alias, a LayoutTemplate that
    names no Layout, content that does not parse)."""


class TemplateQueryInvalid(Refused):
    """A templates listing's query parameter (TemplateType) holds no valid value."""


class TemplateNoData(Refused):
    """A create or edit came without a body: Postmark's "No Template data received"."""


class TemplateFieldTooLarge(Refused):
    """A template's field is longer than Postmark stores (Name, Alias)."""


class TemplateFieldNotAllowed(Refused):
    """A field the template's type excludes (a Layout's Subject or LayoutTemplate), or a
    TemplateType change: a type is fixed when the template is created."""


class TemplateLimit(Refused):
    """The server already has the most templates Postmark allows (300)."""


class TemplatePushEmpty(Refused):
    """The source server has no template with an alias: nothing can be pushed."""


class TemplatePushTypeMismatch(Refused):
    """A source template and the destination's template of the same alias differ in type."""


class LayoutInUse(Refused):
    """A Layout that Standard templates still name cannot be deleted."""


class LayoutPlaceholder(Refused):
    """A Layout's HtmlBody or TextBody lacks the ``{{{ @content }}}`` placeholder."""
