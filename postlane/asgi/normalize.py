"""ASGI middleware: Postmark's paths and query keys are case-insensitive and tolerate a
trailing slash; FastAPI's routing is neither, so requests are normalised on the way in."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from starlette.types import ASGIApp, Receive, Scope, Send

#: Paths under these prefixes keep their case (static files, dashboard assets).
_KEEP_CASE = ("/static/",)


def normalize_path(path: str) -> str:
    """The path as the apps route it: lower case (but for static files), no trailing
    slash."""
    if not path.startswith(_KEEP_CASE):
        path = path.lower()
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return path


class NormalizeRequest:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope = dict(scope)
            path = normalize_path(scope["path"])
            scope["path"] = path
            scope["raw_path"] = path.encode()
            query = scope.get("query_string", b"").decode("latin-1")
            if query:
                pairs = [(k.lower(), v) for k, v in parse_qsl(query, keep_blank_values=True)]
                scope["query_string"] = urlencode(pairs).encode("latin-1")
        await self.app(scope, receive, send)
