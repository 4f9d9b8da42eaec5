"""The dashboard's cookies besides the session's contents: the Secure flag, decided per
request, and the device cookie that the login throttle counts by.

Secure: a cookie marked Secure is never sent over plain HTTP, which is what a dashboard
served over TLS wants (a downgraded or mixed request cannot leak the session), and what a
local plain-HTTP dashboard cannot have (the browser would drop the cookie). So the flag
follows the request: set when it arrived as https (through a trusted proxy, uvicorn sets
the scheme from X-Forwarded-Proto) or when the settings say TLS ends in front.
"""

from __future__ import annotations

import secrets

import itsdangerous
from fastapi import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from postlane.config import Settings

DEVICE_COOKIE = "postlane_device"
#: How long a browser that logged in is known as one (renewed at each login).
DEVICE_SECONDS = 90 * 24 * 3600
_DEVICE_SALT = "postlane-dashboard-device"


def over_tls(scope: Scope, settings: Settings) -> bool:
    """Whether the browser reached the dashboard over https."""
    return settings.dashboard_secure_cookie or scope.get("scheme") == "https"


class SecureCookies:
    """Adds ``Secure`` to every cookie the dashboard sets on a request over TLS."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not over_tls(scope, self.settings):
            await self.app(scope, receive, send)
            return

        async def send_secure(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [_secure(name, value)
                                      for name, value in message.get("headers", [])]
            await send(message)

        await self.app(scope, receive, send_secure)


def _secure(name: bytes, value: bytes) -> tuple[bytes, bytes]:
    if name.lower() == b"set-cookie" and b"; secure" not in value.lower():
        value += b"; secure"
    return name, value


def _device_signer(key: str) -> itsdangerous.TimestampSigner:
    return itsdangerous.TimestampSigner(key, salt=_DEVICE_SALT)


def device_id(request: Request, key: str) -> str | None:
    """The id of this browser if it has logged in here before (a cookie we signed)."""
    cookie = request.cookies.get(DEVICE_COOKIE)
    if not cookie:
        return None
    try:
        return _device_signer(key).unsign(cookie, max_age=DEVICE_SECONDS).decode()
    except itsdangerous.BadData:
        return None


def remember_device(response: Response, key: str, device: str | None) -> None:
    """Mark the browser that just logged in (keeping its id when it had one)."""
    value = _device_signer(key).sign(device or secrets.token_urlsafe(16)).decode()
    response.set_cookie(DEVICE_COOKIE, value, max_age=DEVICE_SECONDS, path="/dashboard",
                        httponly=True, samesite="strict")
