"""Query parameters as both front doors read them: by case-insensitive name (the keys
arrive lower-cased), blank meaning absent, and Postmark's errors for bad values."""

from __future__ import annotations

from datetime import UTC, datetime, time

from starlette.requests import Request

from postlane.domain.errors import InvalidField


def query(request: Request, name: str) -> str | None:
    """A query parameter by case-insensitive name (keys arrive lower-cased); blank is None."""
    value = request.query_params.get(name.lower())
    if value and "\0" in value:
        raise InvalidField(name, f"'{name}' cannot contain NUL characters.")
    return value if value not in (None, "") else None


def query_int(request: Request, name: str, default: int | None = None, *, minimum: int = 0,
              maximum: int | None = None) -> int:
    raw = query(request, name)
    if raw is None:
        if default is None:
            raise InvalidField(name, f"The '{name}' query parameter is required.")
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise InvalidField(name, f"'{name}' must be a whole number.") from exc
    if value < minimum or (maximum is not None and value > maximum):
        upper = f" and {maximum}" if maximum is not None else ""
        raise InvalidField(name, f"'{name}' must be between {minimum}{upper}.")
    return value


def query_bool(request: Request, name: str) -> bool | None:
    raw = query(request, name)
    if raw is None:
        return None
    if raw.lower() in ("true", "1", "yes"):
        return True
    if raw.lower() in ("false", "0", "no"):
        return False
    raise InvalidField(name, f"'{name}' must be true or false.")


def query_date(request: Request, name: str, end_of_day: bool = False) -> datetime | None:
    """Dates as Postmark takes them: "2024-01-15" or a full ISO timestamp (UTC if naive).

    Returned in UTC, as the store compares them: a time whose offset moves it past year 1
    or 9999 (9999-12-31T23:59:59-01:00) is refused here, not overflowed in the driver."""
    raw = query(request, name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)  # takes a trailing Z since 3.11
        if len(raw) == 10 and end_of_day:
            value = datetime.combine(value.date(), time.max)
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except (ValueError, OverflowError) as exc:
        raise InvalidField(name, f"'{name}' must be a date like 2024-01-15 or "
                                 "2024-01-15T10:30:00Z.") from exc


def paging(request: Request, max_count: int = 500, max_window: int = 10_000) -> tuple[int, int]:
    count = query_int(request, "count", 100, minimum=1, maximum=max_count)
    offset = query_int(request, "offset", 0, minimum=0)
    if count + offset > max_window:
        raise InvalidField("count", f"count + offset cannot exceed {max_window}.")
    return count, offset
