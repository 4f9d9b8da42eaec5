"""Template rendering with the per-request context every page needs (server, flashes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import RedirectResponse, Response

templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))


def flash(request: Request, text: str, kind: str = "") -> None:
    request.session.setdefault("flashes", []).append([kind, text])


def page(request: Request, name: str, **context: Any) -> Response:
    flashes = request.session.pop("flashes", [])
    return templates.TemplateResponse(request, name, {"flashes": flashes, **context})


def back_to(url: str) -> RedirectResponse:
    """POST-redirect-GET, so a reload never repeats an action."""
    return RedirectResponse(url, status_code=303)
