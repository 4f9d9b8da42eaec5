"""Reading request bodies within a size limit, leniently: Postmark accepts bodyless
POST/PUT and does not insist on a Content-Type."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Request

from postlane.api.errors import ApiError, ErrorCode


async def read_json(request: Request) -> Any:
    limit: int = request.app.state.settings.api_max_body_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    body = b"".join(chunks).strip()
    if not body:
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(ErrorCode.INVALID_JSON,
                       f"The request body is not valid JSON: {exc}") from exc


def _too_large(limit: int) -> ApiError:
    return ApiError(ErrorCode.PAYLOAD_TOO_LARGE,
                    f"The request body exceeds the limit of {limit} bytes.", status=413)
