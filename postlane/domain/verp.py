"""The envelope sender of outgoing mail names the message (VERP), so a bounce report that
comes back can be tied to it even when the report quotes nothing of the original."""

from __future__ import annotations

import re

PREFIX = "pm_bounces"
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_VERP_RE = re.compile(rf"^{PREFIX}\+({_UUID})@", re.IGNORECASE)

#: Header added to every delivered message, as Postmark does; reports often quote it.
MESSAGE_ID_HEADER = "X-PM-Message-Id"


def return_path(message_id: str, bounce_domain: str) -> str:
    return f"{PREFIX}+{message_id}@{bounce_domain}"


def message_id_from(address: str) -> str | None:
    match = _VERP_RE.match(address.strip().strip("<>"))
    return match.group(1).lower() if match else None
