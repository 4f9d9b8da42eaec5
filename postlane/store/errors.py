"""The store's error boundary: driver errors that mean "the database is not there now"
become :class:`~postlane.domain.errors.DatabaseUnavailable`, so the layers above tell an
outage from a bug without knowing SQLAlchemy or psycopg.

What counts: the database refused or dropped the connection, timed out, or could not do
the work for a reason outside the request (SQLite's "database is locked", a full disk,
PostgreSQL shutting down). Errors in the work itself (a constraint violated, bad SQL) stay
what they are: retrying would not help.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import exc as driver

from postlane.domain.errors import DatabaseUnavailable

_UNAVAILABLE = (driver.OperationalError, driver.InterfaceError, driver.TimeoutError,
                driver.DisconnectionError)


#: PostgreSQL's "try the transaction again" states: deadlock detected, serialization failure.
_CONFLICT_STATES = frozenset({"40P01", "40001"})


def is_conflict(error: BaseException) -> bool:
    """True when the database aborted the transaction only because another one held what
    it needed (a deadlock or a serialization failure): running it again is expected to
    succeed (PostgreSQL's manual, 13.6), unlike an outage."""
    cause = error.__cause__ if isinstance(error, DatabaseUnavailable) else error
    original = getattr(cause, "orig", None)
    return getattr(original, "sqlstate", None) in _CONFLICT_STATES


def is_unavailable(error: BaseException) -> bool:
    """True for a driver error that means the database cannot be used right now."""
    if isinstance(error, _UNAVAILABLE):
        return True
    return isinstance(error, driver.DBAPIError) and error.connection_invalidated


def translated(error: BaseException) -> BaseException:
    """``error`` as the layers above should see it: DatabaseUnavailable (caused by the
    driver's error, with its text) for an outage, else ``error`` itself."""
    if not is_unavailable(error):
        return error
    unavailable = DatabaseUnavailable(str(error))
    unavailable.__cause__ = error
    return unavailable


@contextlib.contextmanager
def translating() -> Iterator[None]:
    """Raise DatabaseUnavailable in place of an outage's driver error from the block."""
    try:
        yield
    except Exception as error:
        if is_unavailable(error):
            raise DatabaseUnavailable(str(error)) from error
        raise
