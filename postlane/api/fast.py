"""The send endpoints' short way through the app: POST /email and /email/withTemplate
reach their route functions straight from here, without FastAPI's routing, dependency
solving and response validation, which cost about as much per request as the send itself
(benchmarks/bench_rest.py, a py-spy profile of it).

Nothing of the rules lives here: the route functions (api.routers.email and
email_templates), their token check (api.auth.send_token) and the error answers
(api.errors, asgi.errors) are the ones the routed requests use; this only calls them and
writes the dict they return as FastAPI's JSONResponse would. Every other request, and
these paths with another method, go through FastAPI as before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from fastapi import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from postlane.api.auth import ServerContext, send_token
from postlane.api.errors import response_for

#: A send route: the request and its token's server, to Postmark's answer.
Route = Callable[[Request, ServerContext], Awaitable[Any]]


def _json(content: Any) -> Response:
    """JSONResponse's bytes (compact, UTF-8) for the str/int dicts the routes return."""
    return Response(orjson.dumps(content), media_type="application/json")


class FastSends:
    """ASGI middleware, inside NormalizeRequest (paths already lower-cased, no trailing
    slash): POST to one of ``routes`` is answered by that route function directly."""

    def __init__(self, app: ASGIApp, routes: Mapping[str, Route]) -> None:
        self.app = app
        self.routes = dict(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.routes.get(scope["path"]) if scope["type"] == "http" else None
        if route is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = _json(await route(request, await send_token(request)))
        except Exception as exc:
            response = response_for(exc)
        await response(scope, receive, send)
