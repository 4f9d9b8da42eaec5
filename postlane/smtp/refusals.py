"""How the SMTP front doors answer a domain error: the one table from each PostlaneError
class to an SMTP reply (RFC 5321 code, RFC 3463 enhanced code, the error's message).

A refusal is permanent (5xx: the client must not retry it unchanged); anything that kept
the message from being stored is temporary (4xx: the client keeps it and retries).
"""

from __future__ import annotations

from collections.abc import Mapping

from postlane.domain import errors as e

#: Nothing was stored: the client keeps the message and retries.
TEMPORARY_FAILURE = "451 4.3.0 Temporary failure storing the message; please retry"
#: A rule refused the message; the error's message says which.
REFUSED = "550 5.7.1 {message}"

#: The one table; a reply is a format string over the error's ``message``.
SMTP_REPLIES: Mapping[type[e.PostlaneError], str] = {
    e.PostlaneError: TEMPORARY_FAILURE,
    e.DatabaseUnavailable: TEMPORARY_FAILURE,
    e.TemplateChanged: TEMPORARY_FAILURE,
    e.Refused: REFUSED,
    e.StreamNotFound: REFUSED,
    e.SendingStreamNotFound: REFUSED,
    e.StreamArchived: REFUSED,
    e.StreamCannotSend: REFUSED,
    # Message Streams API rules: refused alike should one reach SMTP.
    e.StreamPermanent: REFUSED,
    e.StreamNotArchived: REFUSED,
    e.StreamLimit: REFUSED,
    e.StreamTypeTaken: REFUSED,
    # Not raised on the SMTP path today (suppressed recipients are screened after 250,
    # nothing is looked up by id, names or fields set), refused alike should they be.
    e.NotFound: REFUSED,
    e.InactiveRecipients: REFUSED,
    e.StaleToken: "535 5.7.8 {message}",
    e.NameTaken: REFUSED,
    e.InvalidField: REFUSED,
    e.InvalidFields: REFUSED,
    e.SuppressionFinal: REFUSED,
    e.BounceCannotActivate: REFUSED,
    e.AlreadyDelivered: REFUSED,
    e.TargetRefused: REFUSED,
    # Templates are an API area: refused alike should one reach SMTP.
    e.TemplateQueryInvalid: REFUSED,
    e.TemplateLimit: REFUSED,
    e.TemplateNoData: REFUSED,
    e.TemplateFieldMissing: REFUSED,
    e.TemplateFieldTooLarge: REFUSED,
    e.TemplateInvalid: REFUSED,
    e.TemplateFieldNotAllowed: REFUSED,
    e.TemplatePushEmpty: REFUSED,
    e.TemplatePushTypeMismatch: REFUSED,
    e.LayoutInUse: REFUSED,
    e.LayoutPlaceholder: REFUSED,
}


def reply(error: e.PostlaneError) -> str:
    """The table's reply for ``error``: its own class's entry, else its nearest parent's."""
    for cls in type(error).__mro__:
        template = SMTP_REPLIES.get(cls) if issubclass(cls, e.PostlaneError) else None
        if template is not None:
            return template.format(message=error.message)
    raise AssertionError("unreachable: PostlaneError itself has an entry")
