"""Reading request bodies within a size limit, leniently: Postmark accepts bodyless
POST/PUT and does not insist on a Content-Type.

Decoding and validating a body up to api_max_body_bytes (50 MB) is CPU work, seconds of
it for a hostile one (orjson, the NUL scan, pydantic): it runs on a worker thread, never
on the event loop that every other request and the SMTP listener share (issue 12, item 6).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from fastapi import Request
from starlette.concurrency import run_in_threadpool

from postlane.api.errors import ApiError, ErrorCode
from postlane.api.models import PostmarkModel, parse
from postlane.domain import limits

M = TypeVar("M", bound=PostmarkModel)
T = TypeVar("T")


async def read_body(request: Request) -> bytes:
    """The body, refused with 413 as soon as it passes the limit."""
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
    return b"".join(chunks)


def decode(body: bytes, code: ErrorCode = ErrorCode.INCOMPATIBLE_JSON) -> Any:
    """JSON, or None for an empty body. Nesting past MAX_JSON_DEPTH is refused with the
    route's ``code``: no Postmark body comes near it, and deeper data is only a way to
    make every later walk over it expensive."""
    body = body.strip()
    if not body:
        return None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(ErrorCode.INVALID_JSON,
                       f"The request body is not valid JSON: {exc}") from exc
    if limits.nesting_depth(data) > limits.MAX_JSON_DEPTH:
        raise ApiError(code, f"The request body nests deeper than {limits.MAX_JSON_DEPTH} "
                             "levels.")
    return data


#: Bodies up to this size are decoded and composed on the event loop: their work takes
#: about a millisecond, less than the hand-off to a thread and the GIL contention of
#: many threads (benchmarks/bench_rest.py). Larger ones go to a thread, so a 10 MB
#: attachment never stalls the loop.
INLINE_BODY_BYTES = 32 * 1024


async def off_loop(fn: Callable[..., T], *args: Any) -> T:
    """Run CPU work (decoding, validation, MIME composition) on a worker thread."""
    return await run_in_threadpool(fn, *args)


async def sized(body: bytes, fn: Callable[..., T], *args: Any) -> T:
    """``fn(body, *args)``: inline for a small body, else on a worker thread."""
    if len(body) <= INLINE_BODY_BYTES:
        return fn(body, *args)
    return await off_loop(fn, body, *args)


async def read_json(request: Request, code: ErrorCode = ErrorCode.INCOMPATIBLE_JSON) -> Any:
    return await off_loop(decode, await read_body(request), code)


def _decode_model(body: bytes, model: type[M], code: ErrorCode,
                  check: Callable[[Any], None] | None) -> M:
    data = decode(body, code)
    if check is not None:
        check(data)
    return parse(model, data, code)


async def read_model(request: Request, model: type[M],
                     code: ErrorCode = ErrorCode.INCOMPATIBLE_JSON,
                     check: Callable[[Any], None] | None = None) -> M:
    """The body validated as ``model`` (422 with ``code`` if it is not one), decoded off
    the loop; ``check`` sees the decoded JSON first, to refuse an oversized list before
    pydantic walks it."""
    return await off_loop(_decode_model, await read_body(request), model, code, check)


def _too_large(limit: int) -> ApiError:
    return ApiError(ErrorCode.PAYLOAD_TOO_LARGE,
                    f"The request body exceeds the limit of {limit} bytes.", status=413)
