"""Request bodies: Postmark clients send PascalCase, others don't; we accept any case,
explicit nulls (treated as absent) and unknown keys (ignored)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic.alias_generators import to_pascal

from postlane.api.errors import ApiError, ErrorCode
from postlane.domain import limits

M = TypeVar("M", bound="PostmarkModel")


class PostmarkModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_pascal, populate_by_name=True, extra="ignore")

    @model_validator(mode="before")
    @classmethod
    def _case_insensitive_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        canonical = {(field.alias or name).lower(): field.alias or name
                     for name, field in cls.model_fields.items()}
        out = {canonical.get(key.lower(), key) if isinstance(key, str) else key: value
               for key, value in data.items() if value is not None}
        for key, value in out.items():  # no valid text holds one; PostgreSQL cannot store it
            if limits.holds_nul(value):
                raise ValueError(f"{key} cannot contain NUL characters")
        return out


def member(data: Any, name: str) -> Any:
    """A decoded JSON object's member by case-insensitive ``name`` (lower case), before
    any model reads it; None when absent or when ``data`` is not an object."""
    if not isinstance(data, dict):
        return None
    return next((v for k, v in data.items() if isinstance(k, str) and k.lower() == name), None)


def describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors()[:5]:
        where = ".".join(str(p) for p in item["loc"]) or "body"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def parse(model: type[M], data: Any, code: ErrorCode = ErrorCode.INCOMPATIBLE_JSON) -> M:
    """Validate ``data`` or raise a 422 with Postmark's error shape."""
    if data is None:
        data = {}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(code, f"Invalid request: {describe(exc)}") from exc
