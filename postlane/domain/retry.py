"""Retry schedules as pure functions, so tests and operators can reason about them."""

from __future__ import annotations

from collections.abc import Callable, Sequence

#: When to try a job again after its n-th attempt failed (seconds), or None: no more tries.
RetryIn = Callable[[int], float | None]

#: Postmark-like webhook retry schedule (seconds): 1, 5, 10, 10, 10, 15, 30 min, 1, 2, 6 h.
WEBHOOK_SCHEDULE: tuple[float, ...] = (60, 300, 600, 600, 600, 900, 1800, 3600, 7200, 21600)
#: Delivery retries for temporary failures (seconds).
DELIVERY_SCHEDULE: tuple[float, ...] = (60, 300, 900, 1800, 3600, 7200, 14400, 28800)
#: Internal steps (screen) retry fast: their failures are database hiccups.
INTERNAL_SCHEDULE: tuple[float, ...] = (1, 5, 15, 60, 300)


def next_delay(attempts_made: int, schedule: Sequence[float], scale: float = 1.0) -> float | None:
    """Seconds to wait before the next attempt, or None when the schedule is exhausted.

    ``attempts_made`` counts attempts already run (1 after the first failure).
    """
    if attempts_made < 1 or attempts_made > len(schedule):
        return None
    return schedule[attempts_made - 1] * scale


def max_attempts(schedule: Sequence[float]) -> int:
    """First try plus one per schedule step."""
    return len(schedule) + 1
