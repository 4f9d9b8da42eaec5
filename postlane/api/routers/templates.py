"""Templates API (Postmark's): list, create, get, edit, delete by id or alias, validate,
and the account-level push between servers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import Field

from postlane.api import deps, openapi
from postlane.api.auth import ServerContext, account_token, server_token
from postlane.api.errors import ApiError, ErrorCode
from postlane.api.models import PostmarkModel
from postlane.api.request import read_model
from postlane.domain.errors import TemplateNoData
from postlane.domain.records import Template
from postlane.services import template_checks
from postlane.services import templates as service
from postlane.store.database import Database

router = APIRouter()
_LIST = [openapi.query("Count", "integer", minimum=0, maximum=500, default=100),
         openapi.query("Offset", "integer", minimum=0, maximum=deps.MAX_ID, default=0),
         openapi.query("TemplateType"), openapi.query("LayoutTemplate")]


class TemplateRequest(PostmarkModel):
    name: str | None = None
    subject: str | None = None
    html_body: str | None = None
    text_body: str | None = None
    alias: str | None = None
    template_type: str | None = None
    layout_template: str | None = None

    def fields(self) -> service.TemplateFields:
        return service.TemplateFields(
            name=self.name, subject=self.subject, html_body=self.html_body,
            text_body=self.text_body, alias=self.alias, template_type=self.template_type,
            layout_template=self.layout_template)


class ValidateRequest(TemplateRequest):
    test_render_model: Any = None
    inline_css_for_html_test_render: bool = True


class PushRequest(PostmarkModel):
    source_server_id: int | None = Field(default=None, alias="SourceServerID")
    destination_server_id: int | None = Field(default=None, alias="DestinationServerID")
    perform_changes: bool = False


def _some_data(data: Any) -> None:
    if data is None:
        raise TemplateNoData("No Template data received.")


async def _template_request(request: Request) -> TemplateRequest:
    """A create's or edit's body; none at all is Postmark's "No Template data received"."""
    return await read_model(request, TemplateRequest, ErrorCode.TEMPLATE_INVALID, _some_data)


def _key(id_or_alias: str) -> int | str:
    """A path segment of digits is an id, anything else an alias."""
    digits = id_or_alias.isascii() and id_or_alias.isdigit() and len(id_or_alias) < 19
    return int(id_or_alias) if digits else id_or_alias


def _summary(t: Template) -> dict[str, Any]:
    return {"TemplateId": t.id, "Name": t.name, "Active": t.active, "Alias": t.alias,
            "TemplateType": t.template_type, "LayoutTemplate": t.layout_template}


def _full(t: Template) -> dict[str, Any]:
    return {**_summary(t), "Subject": t.subject, "HtmlBody": t.html_body,
            "TextBody": t.text_body, "AssociatedServerId": t.server_id}


def _list(db: Database, server_id: int, kind: str | None, layout: str | None,
          count: int, offset: int) -> dict[str, Any]:
    with db.read() as conn:
        total, rows = service.listing(conn, server_id, kind, layout, count, offset)
    return {"TotalCount": total, "Templates": [_summary(t) for t in rows]}


def _create(db: Database, server_id: int, req: TemplateRequest) -> dict[str, Any]:
    with db.write() as conn:
        return _summary(service.create(conn, server_id, req.fields()))


def _get(db: Database, server_id: int, key: int | str) -> dict[str, Any]:
    with db.read() as conn:
        return _full(service.find(conn, server_id, key))


def _edit(db: Database, server_id: int, key: int | str, req: TemplateRequest) -> dict[str, Any]:
    with db.write() as conn:
        return _summary(service.edit(conn, server_id, key, req.fields()))


def _delete(db: Database, server_id: int, key: int | str) -> dict[str, Any]:
    with db.write() as conn:
        gone = service.delete(conn, server_id, key)
    return {"ErrorCode": 0, "Message": f"Template {gone.id} removed."}


def _validate(db: Database, server_id: int, req: ValidateRequest) -> dict[str, Any]:
    with db.read() as conn:
        return template_checks.validate(conn, server_id, req.fields(), req.test_render_model,
                                        req.inline_css_for_html_test_render)


def _push(db: Database, req: PushRequest) -> dict[str, Any]:
    if req.source_server_id is None or req.destination_server_id is None:
        raise ApiError(ErrorCode.TEMPLATE_FIELD_MISSING,
                       "SourceServerID and DestinationServerID are required.")
    with db.write() as conn:
        done = service.push(conn, req.source_server_id, req.destination_server_id,
                            req.perform_changes)
    return {"TotalCount": len(done),
            "Templates": [{"Action": action, "TemplateId": new_id, "Alias": t.alias,
                           "Name": t.name, "TemplateType": t.template_type}
                          for action, t, new_id in done]}


def _forget(request: Request, server_id: int) -> None:
    """After an edit or delete (done or not), the sends of this process read the server's
    templates afresh (services.template_cache; other processes' sends find out in their
    accepting transaction)."""
    deps.template_cache(request).forget_server(server_id)


@router.get("/templates", openapi_extra=openapi.extra(params=_LIST))
async def list_templates(request: Request,
                         ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    db = deps.db(request)
    count = deps.query_int(request, "Count", 100, minimum=0, maximum=500)
    offset = deps.query_int(request, "Offset", 0, minimum=0, maximum=deps.MAX_ID)
    return await db.run(_list, db, ctx.server_id, deps.query(request, "TemplateType"),
                        deps.query(request, "LayoutTemplate"), count, offset)


@router.post("/templates", openapi_extra=openapi.extra(TemplateRequest))
async def create_template(request: Request,
                          ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    req = await _template_request(request)
    db = deps.db(request)
    return await db.run(_create, db, ctx.server_id, req)


@router.post("/templates/validate", openapi_extra=openapi.extra(ValidateRequest))
async def validate_template(request: Request,
                            ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    req = await read_model(request, ValidateRequest, ErrorCode.TEMPLATE_INVALID)
    db = deps.db(request)
    return await db.run(_validate, db, ctx.server_id, req)


@router.put("/templates/push", openapi_extra=openapi.extra(PushRequest))
async def push_templates(request: Request, _: str = Depends(account_token)) -> dict[str, Any]:
    req = await read_model(request, PushRequest, ErrorCode.TEMPLATE_INVALID)
    db = deps.db(request)
    try:
        return await db.run(_push, db, req)
    finally:
        if req.destination_server_id is not None:
            deps.template_cache(request).forget_server(req.destination_server_id)


@router.get("/templates/{id_or_alias}")
async def get_template(id_or_alias: str, request: Request,
                       ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    db = deps.db(request)
    return await db.run(_get, db, ctx.server_id, _key(id_or_alias))


@router.put("/templates/{id_or_alias}", openapi_extra=openapi.extra(TemplateRequest))
async def edit_template(id_or_alias: str, request: Request,
                        ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    req = await _template_request(request)
    db = deps.db(request)
    try:
        return await db.run(_edit, db, ctx.server_id, _key(id_or_alias), req)
    finally:
        _forget(request, ctx.server_id)


@router.delete("/templates/{id_or_alias}")
async def delete_template(id_or_alias: str, request: Request,
                          ctx: ServerContext = Depends(server_token)) -> dict[str, Any]:
    db = deps.db(request)
    try:
        return await db.run(_delete, db, ctx.server_id, _key(id_or_alias))
    finally:
        _forget(request, ctx.server_id)
