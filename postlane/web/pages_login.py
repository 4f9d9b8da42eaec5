"""Dashboard login and logout (postlane.web.session keeps the sessions, and
postlane.web.throttle counts the attempts)."""

from __future__ import annotations

import math

from fastapi import APIRouter, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from postlane.domain import network
from postlane.web import cookies, deps, session
from postlane.web.render import page

router = APIRouter(prefix="/dashboard")


def _safe_next(target: str) -> str:
    """Only local dashboard paths: never an open redirect."""
    return target if target.startswith("/dashboard") and "//" not in target else "/dashboard"


@router.get("/login")
async def login_form(request: Request, target: str = Query("/dashboard", alias="next")
                     ) -> Response:
    return page(request, "login.html", error=None, next=_safe_next(target))


def _throttle_key(request: Request, device: str | None) -> str:
    """A browser that logged in before is counted by itself, any other by its address."""
    if device is not None:
        return f"device:{device}"
    # An IPv6 client by its /64, which one host could otherwise rotate through.
    return f"address:{network.client_key(request.client.host) if request.client else 'unknown'}"


def _refused(request: Request, target: str, status: int, error: str) -> Response:
    response = page(request, "login.html", next=_safe_next(target), error=error)
    response.status_code = status
    return response


@router.post("/login")
async def login(request: Request, secret: str = Form(""),
                target: str = Form("/dashboard", alias="next")) -> Response:
    db, settings = deps.db(request), deps.settings(request)
    throttle, key = deps.login_throttle(request), deps.signing_key(request)
    device = cookies.device_id(request, key)
    lane = _throttle_key(request, device)
    wait = math.ceil(throttle.attempt(lane))
    if wait > 0:
        response = _refused(request, target, 429,
                            f"Too many failed logins. Try again in {wait} s.")
        response.headers["Retry-After"] = str(wait)
        return response
    if not await db.run(session.credentials_ok, db, settings, secret):
        return _refused(request, target, 401, "That token or password is not valid.")
    throttle.succeeded(lane)
    await session.log_in(request)
    response = RedirectResponse(_safe_next(target), status_code=303)
    cookies.remember_device(response, key, device)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    await session.log_out(request)
    return RedirectResponse("/dashboard/login", status_code=303)
