"""OpenAPI for routes that read raw JSON (request.read_json) and their query by hand
(deps.query*): request bodies from the pydantic models, query parameters, Postmark's error
responses and the token headers. Only /openapi.json changes; parsing stays as it is."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request, routing
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

from postlane.api import auth

_REF = "#/components/schemas/{model}"
#: Schemas the request bodies refer to, by name: registered as routers are imported.
_SCHEMAS: dict[str, dict[str, Any]] = {}

#: Where /docs and /redoc load Swagger UI and ReDoc from: this server, never a CDN (a
#: self-hosted server's documentation works offline, and no third party sees who reads
#: it). The files come pinned in the fastapi-offline package.
DOCS_STATIC = "/docs/static"
ASSETS = resources.files("fastapi_offline") / "static"

ERROR_SCHEMA = {"type": "object", "required": ["ErrorCode", "Message"], "properties": {
    "ErrorCode": {"type": "integer"}, "Message": {"type": "string"}}}


def _register(name: str, schema: dict[str, Any]) -> None:
    known = _SCHEMAS.setdefault(name, schema)
    if known != schema:
        raise ValueError(f"two different request schemas are named {name}")


def _ref(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema(by_alias=True, ref_template=_REF)
    for name, nested in schema.pop("$defs", {}).items():
        _register(name, nested)
    _register(model.__name__, schema)
    return {"$ref": _REF.format(model=model.__name__)}


def query(name: str, kind: str = "string", **schema: Any) -> dict[str, Any]:
    """A query parameter as the router reads it (names are case-insensitive)."""
    if kind == "date":
        schema = {"type": "string", "format": "date", **schema}
    else:
        schema = {"type": kind, **schema}
    return {"name": name, "in": "query", "required": False, "schema": schema}


def paging(max_count: int = 500) -> list[dict[str, Any]]:
    return [query("count", "integer", minimum=1, maximum=max_count, default=100),
            query("offset", "integer", minimum=0, default=0)]


def extra(body: type[BaseModel] | None = None, *, batch: int | None = None,
          params: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """``openapi_extra`` for a route: its JSON body (optional, as Postmark accepts bodyless
    POST/PUT; an array of at most ``batch`` when given) and its query parameters."""
    out: dict[str, Any] = {}
    if body is not None:
        schema = _ref(body)
        if batch is not None:
            schema = {"type": "array", "items": schema, "maxItems": batch}
        out["requestBody"] = {"required": False,
                              "content": {"application/json": {"schema": schema}}}
    if params:
        out["parameters"] = params
    return out


def _error(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": _REF.format(model="Error")}}}}


def _security(route: APIRoute) -> list[dict[str, list[str]]]:
    calls = {dep.call for dep in route.dependant.dependencies}
    if auth.server_token in calls:
        return [{"ServerToken": []}]
    if auth.account_token in calls:
        return [{"AccountToken": []}]
    return []


def install(app: FastAPI) -> None:
    """Complete the generated spec: components, token schemes, error responses."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = generate()
        components = spec.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):  # ours are ErrorCode/Message
            schemas.pop(name, None)
        schemas.update(_SCHEMAS)
        schemas["Error"] = ERROR_SCHEMA
        components["securitySchemes"] = {
            "ServerToken": {"type": "apiKey", "in": "header", "name": auth.SERVER_HEADER},
            "AccountToken": {"type": "apiKey", "in": "header", "name": auth.ACCOUNT_HEADER}}
        routes = {(ctx.path, m.lower()): ctx.original_route
                  for ctx in routing.iter_route_contexts(app.routes)
                  if isinstance(ctx.original_route, APIRoute) for m in ctx.methods or ()}
        for path, operations in spec.get("paths", {}).items():
            for method, operation in operations.items():
                route = routes.get((path, method))
                responses = operation.setdefault("responses", {})
                security = _security(route) if route else []
                if security:
                    operation["security"] = security
                    responses["401"] = _error("Missing or invalid API token (ErrorCode 10).")
                responses["422"] = _error("Invalid request or resource not found.")
                if "requestBody" in operation:
                    responses["413"] = _error("The request body exceeds the size limit.")
                responses["503"] = _error("The database is unavailable.")
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def install_docs(app: FastAPI) -> None:
    """/docs (Swagger UI) and /redoc, with their scripts, styles and icon served under
    DOCS_STATIC. The app is created with FastAPI's own pages off (they load from a CDN)."""
    app.mount(DOCS_STATIC, StaticFiles(directory=str(ASSETS)), name="docs-static")
    spec = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=root + spec, title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{DOCS_STATIC}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_STATIC}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_STATIC}/favicon.png",
            # Swagger UI would otherwise send the spec's URL to its public validator.
            swagger_ui_parameters={"validatorUrl": None})

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(openapi_url=root + spec, title=f"{app.title} - ReDoc",
                              redoc_js_url=f"{root}{DOCS_STATIC}/redoc.standalone.js",
                              redoc_favicon_url=f"{root}{DOCS_STATIC}/favicon.png",
                              with_google_fonts=False)
