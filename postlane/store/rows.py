"""From the driver's rows to domain records: the one place a row's column names meet a
record's fields (they are the same names, so most columns pass straight through)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

R = TypeVar("R")


def record(cls: type[R], row: Mapping[Any, Any], **typed: Any) -> R:
    """``cls`` built from a row whose keys are its fields; ``typed`` replaces the values
    the driver returns as plain strings where the record has an enum."""
    values = dict(row)
    values.update(typed)
    return cls(**values)


def column_values(item: DataclassInstance, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """A record's fields as column values, for an insert (shallow: the driver serialises
    the JSON columns and mutates nothing)."""
    skip = set(exclude)
    return {f.name: getattr(item, f.name) for f in fields(item) if f.name not in skip}
