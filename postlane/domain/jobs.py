"""A claimed pipeline job, as the worker and its steps see it."""

from __future__ import annotations

from dataclasses import dataclass

from postlane.domain.types import JobKind


@dataclass(frozen=True)
class Job:
    """One attempt at one job: ``attempts`` counts this one, and ``lease_owner`` is the
    worker whose lease it runs under (its result counts only while that lease holds)."""

    id: int
    kind: JobKind
    ref: str
    attempts: int
    max_attempts: int
    lease_owner: str
    #: The server it works for, where claims limit jobs per server (notify); else None.
    server_id: int | None = None
