"""MessageIDs: GUIDs whose first 48 bits are the time in milliseconds (RFC 9562 UUIDv7).

Postmark's MessageIDs are random (version 4) GUIDs, and clients only rely on the GUID
form. Time-ordered ones are inserted at the end of every index keyed on them (messages,
recipients, jobs) instead of at a random page each: a commit of a batch of accepts then
writes a few pages, not several per message. The other 74 bits stay random.
"""

from __future__ import annotations

import os
import time
import uuid


def message_id(now_ns: int | None = None) -> str:
    millis = (time.time_ns() if now_ns is None else now_ns) // 1_000_000
    value = (millis & (2**48 - 1)) << 80 | int.from_bytes(os.urandom(10)) & (2**80 - 1)
    value = value & ~(0xF << 76) | 0x7 << 76  # version 7
    value = value & ~(0x3 << 62) | 0x2 << 62  # RFC 4122 variant
    return str(uuid.UUID(int=value))
