"""Records that tests store directly (through the store, bypassing the pipeline)."""

from __future__ import annotations

import uuid
from datetime import datetime

from postlane.domain.records import NewBounce


def hard_bounce(server_id: int, email: str, inactive: bool, when: datetime) -> NewBounce:
    """A HardBounce on the outbound stream, about a message nobody sent."""
    return NewBounce(
        server_id=server_id, stream="outbound", message_id=str(uuid.uuid4()),
        recipient_id=None, bounce_type="HardBounce", type_code=1, name="Hard bounce",
        description="Unknown user", details="550 5.1.1 no such user", email=email,
        from_field="", subject="", tag="", metadata={}, content=None, dump_available=False,
        inactive=inactive, can_activate=inactive, bounced_at=when)
