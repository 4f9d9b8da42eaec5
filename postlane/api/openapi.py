"""OpenAPI for routes that read raw JSON (request.read_json) and their query by hand
(deps.query*): request bodies from the pydantic models, query parameters, Postmark's error
responses and the token headers. Only /openapi.json changes; parsing stays as it is."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, routing
from fastapi.routing import APIRoute
from pydantic import BaseModel

from postlane.api import auth

_REF = "#/components/schemas/{model}"
#: Schemas the request bodies refer to, by name: registered as routers are imported.
_SCHEMAS: dict[str, dict[str, Any]] = {}

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
