"""Dashboard entry: the servers list and a server's settings (login: pages_login.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.responses import Response

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
    return page(request, "server.html", section="settings", checkboxes=CHECKBOXES, **context)


def _save(db: Database, server_id: int, fields: server_service.ServerFields,
          allow_private: bool) -> None:
    webhook_service.check_hook_urls(fields, allow_private)
    with db.write() as conn:
        server_service.update(conn, server_id, fields)


#: The settings form's checkboxes (field, label). The form names each box it shows in a
#: hidden ``checkboxes`` field, since a browser sends nothing for an unticked box: only a
#: box so named and absent is switched off; a POST that does not name it leaves it alone.
CHECKBOXES = (
    ("enable_smtp_api_error_hooks",
     "SMTP API Error hooks: raise a bounce when SMTP mail goes to a suppressed recipient"),
    ("smtp_api_activated", "SMTP enabled"),
    ("include_bounce_content_in_hook", "Include message content in the bounce hook"),
)
#: The form's text fields; one the POST leaves out stays as it is.
TEXT_FIELDS = ("bounce_hook_url",)


def settings_fields(form: FormData) -> server_service.ServerFields:
    shown = set(form.getlist("checkboxes"))
    values: dict[str, Any] = {name: form.get(name) == "true"
                              for name, _ in CHECKBOXES if name in shown}
    values.update({name: str(value) for name in TEXT_FIELDS
                   if (value := form.get(name)) is not None})
    return server_service.ServerFields(**values)


@router.post("/servers/{server_id}/settings", dependencies=authed)
async def save_settings(request: Request, server_id: int) -> Response:
    fields = settings_fields(await request.form())
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
