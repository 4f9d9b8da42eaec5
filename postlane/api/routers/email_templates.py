"""POST /email/withTemplate and /email/batchWithTemplates: the message's Subject,
HtmlBody and TextBody come from a stored template rendered with TemplateModel
(services.template_sending); everything else is an /email request, validated and sent
exactly as /email sends it (api.email_request, api.sends)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request

from postlane.accept import Submission
from postlane.api import deps, sends
from postlane.api.auth import ServerContext, send_token
from postlane.api.email_request import request as email_request
from postlane.api.email_request import to_submission
from postlane.api.errors import ApiError, ErrorCode
from postlane.api.models import member
from postlane.api.request import decode, read_body, read_json, sized
from postlane.domain.errors import PostlaneError, TemplateChanged
from postlane.domain.types import DeliveryType
from postlane.services import template_cache, template_sending
from postlane.services.template_cache import TemplateCache
from postlane.store import Transaction
from postlane.store.database import Database

router = APIRouter()

MAX_BATCH = 500
#: Keys of a template send that do not pass to the /email request as given: the template's
#: own, and the parts the template renders.
_NOT_PASSED = frozenset({"templateid", "templatealias", "templatemodel", "inlinecss",
                         "subject", "htmlbody", "textbody"})


def _invalid(message: str) -> ApiError:
    return ApiError(ErrorCode.INVALID_EMAIL_REQUEST, message)


def _template_key(data: Any) -> tuple[int | None, str | None]:
    template_id, alias = member(data, "templateid"), member(data, "templatealias")
    if template_id is not None and (isinstance(template_id, bool)
                                    or not isinstance(template_id, int)):
        raise _invalid("TemplateId must be a number.")
    if alias is not None and not isinstance(alias, str):
        raise _invalid("TemplateAlias must be a string.")
    return template_id, alias or None


#: Finds what a send renders from its TemplateId and TemplateAlias.
Finder = Callable[[int | None, str | None], template_sending.Sources]

#: How many times a send is rendered again when its template changed under it before
#: the request is answered 503 (TemplateChanged).
TEMPLATE_TRIES = 3


class _Miss(Exception):
    """The send's template is not in the cache: it is read, then the send checked again."""

    def __init__(self, template_id: int | None, alias: str | None) -> None:
        super().__init__()
        self.template_id, self.alias = template_id, alias


def _checked(find: Finder, data: Any, server_id: int,
             max_bytes: int) -> tuple[Submission, str]:
    """One template send rendered and validated as an /email request."""
    if not isinstance(data, dict):
        raise _invalid("Each message must be a JSON object.")
    model = member(data, "templatemodel")
    if model is None:
        raise _invalid("The 'TemplateModel' field is required.")
    inline = member(data, "inlinecss")
    found = find(*_template_key(data))
    rendered = template_sending.render_sources(found, model, inline is not False)
    fields = {k: v for k, v in data.items()
              if not (isinstance(k, str) and k.lower() in _NOT_PASSED)}
    fields.update({"Subject": rendered.subject, "HtmlBody": rendered.html_body,
                   "TextBody": rendered.text_body})
    req = email_request(fields)
    sub = to_submission(req, server_id, DeliveryType.LIVE, max_bytes)
    sub.render_error = rendered.error
    sub.rendered_from = found.records
    return sub, req.to


def _reader(conn: Transaction, server_id: int) -> Finder:
    return functools.partial(template_sending.sources, conn, server_id)


def _cached(cache: TemplateCache, server_id: int) -> Finder:
    def find(template_id: int | None, alias: str | None) -> template_sending.Sources:
        found = cache.cached(server_id, template_sending.template_key(template_id, alias))
        if found is None:
            raise _Miss(template_id, alias)
        return found
    return find


def _each(db: Database, items: list[Any], server_id: int,
          max_bytes: int) -> list[sends.Checked]:
    out: list[sends.Checked] = []
    with db.read() as conn:
        for item in items:
            try:
                out.append(_checked(_reader(conn, server_id), item, server_id, max_bytes))
            except ApiError as exc:
                out.append(sends.refused(exc.code, exc.message, sends.given_to(item)))
            except PostlaneError as exc:
                out.append(sends.refusal(exc, sends.given_to(item)))
    return out


async def _prepared(request: Request, cache: TemplateCache, data: Any, server_id: int,
                    max_bytes: int) -> tuple[Submission, str]:
    """The send rendered on the event loop from the cached template; on a miss the
    template is read (on a thread) into the cache first."""
    try:
        return _checked(_cached(cache, server_id), data, server_id, max_bytes)
    except _Miss as miss:
        db = deps.db(request)
        found = await db.run(template_cache.read, db, server_id, miss.template_id, miss.alias)
        cache.remember(server_id, template_sending.template_key(miss.template_id, miss.alias),
                       found)
        return _checked(lambda *_: found, data, server_id, max_bytes)


@router.post("/email/withtemplate")  # paths are matched lower-cased (asgi.normalize)
async def send_with_template(request: Request,
                             ctx: ServerContext = Depends(send_token)) -> dict[str, Any]:
    """A template changed under the send (TemplateChanged from the accepting transaction)
    is forgotten and the send rendered again, up to TEMPLATE_TRIES times."""
    settings, cache = deps.settings(request), deps.template_cache(request)
    body = await read_body(request)
    data = await sized(body, decode, ErrorCode.INVALID_EMAIL_REQUEST)
    for attempt in range(1, TEMPLATE_TRIES + 1):
        sub, to_field = await _prepared(request, cache, data, ctx.server_id,
                                        settings.smtp_max_message_bytes)
        try:
            return await sends.commit_one(request, ctx, sub, to_field)
        except TemplateChanged:
            cache.forget_server(ctx.server_id)
            if attempt == TEMPLATE_TRIES:
                raise
    raise AssertionError("unreachable")


@router.post("/email/batchwithtemplates")
async def send_batch_with_templates(request: Request, ctx: ServerContext = Depends(send_token)
                                    ) -> list[dict[str, Any]]:
    db, settings = deps.db(request), deps.settings(request)
    data = await read_json(request)
    items = member(data, "messages") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ApiError(ErrorCode.INCOMPATIBLE_JSON,
                       "The body must be an object with a 'Messages' array.")
    if len(items) > MAX_BATCH:
        raise ApiError(ErrorCode.TOO_MANY_BATCH_MESSAGES,
                       f"A batch may contain at most {MAX_BATCH} messages.")
    checked = await db.run(_each, db, items, ctx.server_id, settings.smtp_max_message_bytes)
    return await sends.commit_batch(request, ctx, checked)
