"""The HTTP listener's one app (runtime.http_app): the dashboard's paths reach the
dashboard app, the rest the API app, and neither app answers for the other."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from postlane.api.app import create_app
from postlane.asgi.frontends import Frontends
from postlane.runtime import http_app
from postlane.web.app import PATH_PREFIXES, create_dashboard
from tests.support.in_process import InProcessServer


def exchange(app: ASGIApp, *requests: tuple[str, str, dict[str, str]]) -> list[httpx.Response]:
    """Send the requests in order, in one cookie session."""

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://postlane.test") as c:
            return [await c.request(method, path, headers=headers)
                    for method, path, headers in requests]

    return asyncio.run(run())


def test_dashboard_and_api_behind_one_listener(server: InProcessServer) -> None:
    token = {"X-Postmark-Server-Token": server.server_token}
    login, form, css, own, spec = exchange(
        http_app(server.app.db, server.settings),
        ("GET", "/dashboard", {}), ("GET", "/Dashboard/Login/", {}),
        ("GET", "/static/style.css", {}), ("GET", "/server", token),
        ("GET", "/openapi.json", {}))
    assert (login.status_code, login.headers["location"]) == (
        303, "/dashboard/login?next=%2Fdashboard")
    assert form.status_code == 200 and "text/html" in form.headers["content-type"]
    assert 'name="secret"' in form.text
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert own.status_code == 200 and own.json()["ID"] == server.server_id
    assert spec.status_code == 200
    assert not [path for path in spec.json()["paths"] if path.startswith(PATH_PREFIXES)]


def test_each_app_answers_only_for_itself(server: InProcessServer) -> None:
    token = {"X-Postmark-Server-Token": server.server_token}
    api_only = exchange(create_app(server.app.db, server.settings),
                        ("GET", "/dashboard/login", {}), ("GET", "/static/style.css", {}))
    assert [(r.status_code, r.json()["ErrorCode"]) for r in api_only] == [(404, 404)] * 2
    dashboard_only = exchange(create_dashboard(server.app.db, server.settings),
                              ("GET", "/server", token), ("GET", "/openapi.json", {}),
                              ("GET", "/docs", {}))
    assert [r.status_code for r in dashboard_only] == [404] * 3


async def not_called(scope: Scope, receive: Receive, send: Send) -> None:
    raise AssertionError("only the routing decision is under test")


@pytest.mark.parametrize(("path", "dashboard"), [
    ("/dashboard", True), ("/dashboard/servers/1/activity", True), ("/DASHBOARD/", True),
    ("/static/style.css", True), ("/STATIC/style.css", True), ("/static", True),
    ("/dashboardx", False), ("/statics/x", False), ("/server", False), ("/", False),
    ("/email/batch", False), ("/openapi.json", False),
])
def test_which_app_a_path_reaches(path: str, dashboard: bool) -> None:
    frontends = Frontends(api=not_called, dashboard=not_called,
                          dashboard_prefixes=PATH_PREFIXES)
    assert frontends.is_dashboard(path) is dashboard
