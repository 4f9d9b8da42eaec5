"""Dashboard pages for a server's templates: the list (Standard templates and Layouts),
the editor (create and edit) and its live preview.

The editor page is the one page of the dashboard that runs a script
(static/template-preview.js, same-origin only; see render.SCRIPTED_HEADERS): as the user
types, it posts the form (with its CSRF token, like any form) to ``templates/preview``
and shows the JSON answer: the rendered HTML in a sandboxed srcdoc frame (no scripts,
an opaque origin), the subject and text, and every validation error. Without scripts the
editor still works: the preview is rendered with the page, and saving shows the errors.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, Response

from postlane.domain.errors import NotFound, Refused
from postlane.domain.records import Server, Template
from postlane.services import templates as service
from postlane.store.database import Database
from postlane.web import deps, session
from postlane.web.pages import load_server
from postlane.web.render import SECURITY_HEADERS, back_to, flash, page
from postlane.web.template_forms import Draft, draft_from_form, draft_of, preview

router = APIRouter(prefix="/dashboard/servers/{server_id}",
                   dependencies=[Depends(session.require_login)])
#: Postmark's limit per server is 300 (services.templates.MAX_TEMPLATES): one page.
LIST_SIZE = 500


def _templates(db: Database, server_id: int) -> list[Template]:
    with db.read() as conn:
        return service.listing(conn, server_id, None, None, LIST_SIZE, 0)[1]


@router.get("/templates")
async def template_list(request: Request, server_id: int) -> Response:
    db = deps.db(request)
    server = await db.run(load_server, db, server_id)
    rows = await db.run(_templates, db, server_id)
    return page(request, "templates.html", server=server, section="templates",
                standard=[t for t in rows if t.template_type == service.STANDARD],
                layouts=[t for t in rows if t.template_type == service.LAYOUT])


def _editor_context(db: Database, server_id: int, draft: Draft) -> dict[str, Any]:
    """What the editor shows besides the draft: the Layouts it may name, its preview."""
    with db.read() as conn:
        layouts = [t for t in service.listing(conn, server_id, service.LAYOUT, None,
                                              LIST_SIZE, 0)[1] if t.alias]
        return {"layouts": layouts, "preview": preview(conn, server_id, draft)}


async def _editor(request: Request, server: Server, draft: Draft, template: Template | None,
                  errors: list[str] | None = None, status: int = 200) -> Response:
    db = deps.db(request)
    context = await db.run(_editor_context, db, server.id, draft)
    response = page(request, "template.html", allow_scripts=True, server=server,
                    section="templates", draft=draft, template=template,
                    errors=errors or [], **context)
    response.status_code = status
    return response


def _kind(request: Request) -> str:
    """The type a new template gets (``?type=layout``); anything else is Standard."""
    return service.LAYOUT if (deps.query(request, "type") or "").lower() == "layout" \
        else service.STANDARD


@router.get("/templates/new")
async def new_template(request: Request, server_id: int) -> Response:
    db = deps.db(request)
    server = await db.run(load_server, db, server_id)
    return await _editor(request, server, Draft(template_type=_kind(request)), None)


def _preview(db: Database, server_id: int, draft: Draft) -> dict[str, Any]:
    with db.read() as conn:
        return preview(conn, server_id, draft).answer()


@router.post("/templates/preview")
async def preview_draft(request: Request, server_id: int) -> Response:
    """The live preview's answer (JSON): declared before ``/templates/{template_id}``."""
    db = deps.db(request)
    await db.run(load_server, db, server_id)
    form = await request.form()
    kind = service.LAYOUT if form.get("template_type") == service.LAYOUT else service.STANDARD
    answer = await db.run(_preview, db, server_id, draft_from_form(form, kind))
    return JSONResponse(answer, headers={**SECURITY_HEADERS, "Cache-Control": "no-store"})


def _create(db: Database, server_id: int, draft: Draft) -> Template:
    with db.write() as conn:
        return service.create(conn, server_id, draft.fields())


@router.post("/templates")
async def create_template(request: Request, server_id: int) -> Response:
    db = deps.db(request)
    server = await db.run(load_server, db, server_id)
    form = await request.form()
    kind = service.LAYOUT if form.get("template_type") == service.LAYOUT else service.STANDARD
    draft = draft_from_form(form, kind)
    try:
        created = await db.run(_create, db, server_id, draft)
    except Refused as exc:
        return await _editor(request, server, draft, None, [exc.message], 422)
    flash(request, f"Created the {created.template_type} template \"{created.name}\".")
    return back_to(f"/dashboard/servers/{server_id}/templates/{created.id}")


def _template(db: Database, server_id: int, template_id: int) -> Template:
    """The server's template with this id. Another server's is not found: a plain 404,
    as for a page of a server that does not exist (the API answers 422 with 1101)."""
    try:
        with db.read() as conn:
            return service.find(conn, server_id, template_id)
    except NotFound as exc:
        raise HTTPException(404, f"Template {template_id} was not found.") from exc


@router.get("/templates/{template_id}")
async def edit_template(request: Request, server_id: int, template_id: int) -> Response:
    db = deps.db(request)
    server = await db.run(load_server, db, server_id)
    template = await db.run(_template, db, server_id, template_id)
    return await _editor(request, server, draft_of(template), template)


def _save(db: Database, server_id: int, template_id: int, draft: Draft) -> Template:
    with db.write() as conn:
        return service.edit(conn, server_id, template_id, draft.fields(clear_blank=True))


@router.post("/templates/{template_id}")
async def save_template(request: Request, server_id: int, template_id: int) -> Response:
    db = deps.db(request)
    server = await db.run(load_server, db, server_id)
    template = await db.run(_template, db, server_id, template_id)
    draft = draft_from_form(await request.form(), template.template_type)
    try:
        saved = await db.run(_save, db, server_id, template_id, draft)
    except Refused as exc:
        return await _editor(request, server, draft, template, [exc.message], 422)
    flash(request, f"Saved the template \"{saved.name}\".")
    return back_to(f"/dashboard/servers/{server_id}/templates/{saved.id}")
