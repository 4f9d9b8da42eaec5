"""Dashboard entry: login, logout, the servers list and a server's settings."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from starlette.exceptions import HTTPException
from starlette.responses import RedirectResponse, Response

from postlane.domain.errors import InvalidFields, Refused
from postlane.domain.records import Server
from postlane.services import servers as server_service
from postlane.services import webhooks as webhook_service
from postlane.store import servers, streams, suppressions, tokens
from postlane.store.database import Database
from postlane.web import deps, session
from postlane.web.render import back_to, flash, page

router = APIRouter(prefix="/dashboard")
authed = [Depends(session.require_login)]


def _safe_next(target: str) -> str:
    """Only local dashboard paths: never an open redirect."""
    return target if target.startswith("/dashboard") and "//" not in target else "/dashboard"


@router.get("/login")
async def login_form(request: Request, next: str = "/dashboard") -> Response:
    return page(request, "login.html", error=None, next=_safe_next(next))


@router.post("/login")
async def login(request: Request, secret: str = Form(""), next: str = Form("/dashboard")
                ) -> Response:
    db, settings = deps.db(request), deps.settings(request)
    throttle = deps.login_throttle(request)
    client = request.client.host if request.client else "unknown"
    wait = throttle.wait_seconds(client)
    if wait > 0:
        response = page(request, "login.html", next=_safe_next(next),
                        error=f"Too many failed logins. Try again in {math.ceil(wait)} s.")
        response.status_code = 429
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    if not await db.run(session.credentials_ok, db, settings, secret):
        throttle.failed(client)
        response = page(request, "login.html", error="That token or password is not valid.",
                        next=_safe_next(next))
        response.status_code = 401
        return response
    throttle.succeeded(client)
    request.session.clear()
    request.session[session.SESSION_KEY] = "admin"
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
async def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse("/dashboard/login", status_code=303)


@dataclass(frozen=True)
class ServerListItem:
    """A row of the servers page: the server and the size of its suppression lists."""

    server: Server
    suppressions: int


def _servers(db: Database) -> list[ServerListItem]:
    with db.read() as conn:
        return [ServerListItem(server, suppressions.count(conn, server.id))
                for server in servers.listing(conn, 500, 0, None).items]


@router.get("", dependencies=authed)
async def server_list(request: Request) -> Response:
    db = deps.db(request)
    return page(request, "servers.html", servers=await db.run(_servers, db), server=None)


def _no_such_server(server_id: int) -> HTTPException:
    """A page of a server that does not exist is a plain 404 (``{"ErrorCode": 404}``)."""
    return HTTPException(404, f"Server {server_id} was not found.")


def load_server(db: Database, server_id: int) -> Server:
    with db.read() as conn:
        row = servers.get(conn, server_id)
    if row is None:
        raise _no_such_server(server_id)
    return row


def _settings_context(db: Database, server_id: int) -> dict[str, Any]:
    with db.read() as conn:
        row = servers.get(conn, server_id)
        if row is None:
            raise _no_such_server(server_id)
        return {"server": row, "streams": streams.listing(conn, server_id, None, True),
                "tokens": tokens.tokens_of(conn, server_id)}


@router.get("/servers/{server_id}", dependencies=authed)
async def server_settings(request: Request, server_id: int) -> Response:
    db = deps.db(request)
    context = await db.run(_settings_context, db, server_id)
    return page(request, "server.html", section="settings", **context)


def _save(db: Database, server_id: int, fields: server_service.ServerFields,
          allow_private: bool) -> None:
    webhook_service.check_hook_urls(fields, allow_private)
    with db.write() as conn:
        server_service.update(conn, server_id, fields)


@router.post("/servers/{server_id}/settings", dependencies=authed)
async def save_settings(request: Request, server_id: int) -> Response:
    form = await request.form()
    fields = server_service.ServerFields(
        enable_smtp_api_error_hooks=form.get("enable_smtp_api_error_hooks") == "true",
        smtp_api_activated=form.get("smtp_api_activated") == "true",
        include_bounce_content_in_hook=form.get("include_bounce_content_in_hook") == "true",
        bounce_hook_url=str(form.get("bounce_hook_url") or ""))
    db = deps.db(request)
    try:
        await db.run(_save, db, server_id, fields,
                     deps.settings(request).webhook_private_targets_allowed)
        flash(request, "Settings saved.")
    except InvalidFields as exc:
        for problem in exc.problems[:3]:
            flash(request, f"Not saved: {problem.field.replace('_', ' ')}: {problem.message}",
                  "error")
    except Refused as exc:
        flash(request, f"Not saved: {exc.message}", "error")
    return back_to(f"/dashboard/servers/{server_id}")
