"""The one ASGI app the HTTP listener serves: the dashboard's paths go to the dashboard,
everything else to the API.

A prefix test on the path as the apps normalise it, not Starlette's ``Mount``: a mount
moves its prefix into ``root_path``, so the dashboard's routes, links and redirects
(all written as full ``/dashboard/...`` paths) would have to change."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

from postlane.asgi.normalize import normalize_path


class Frontends:
    def __init__(self, api: ASGIApp, dashboard: ASGIApp, dashboard_prefixes: Sequence[str]
                 ) -> None:
        self.api = api
        self.dashboard = dashboard
        self.prefixes = tuple(dashboard_prefixes)
        self._under = tuple(prefix + "/" for prefix in self.prefixes)

    def is_dashboard(self, path: str) -> bool:
        path = normalize_path(path)
        return path in self.prefixes or path.startswith(self._under)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.is_dashboard(scope["path"]):
            await self.dashboard(scope, receive, send)
        else:
            await self.api(scope, receive, send)
