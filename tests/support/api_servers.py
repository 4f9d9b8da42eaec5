"""Checks for the Server API shared by its in-process tests (tests/api) and those that
also send over SMTP (tests/e2e).

Response keys are compared with the Server model of Postmark's official postmark.js client
(models/server/Server.d.ts), which lists exactly these 22 fields.
"""

from __future__ import annotations

from typing import Any

import httpx

SERVER_KEYS = {
    "ID", "Name", "ApiTokens", "ServerLink", "Color", "SmtpApiActivated", "RawEmailEnabled",
    "DeliveryType", "InboundAddress", "InboundHookUrl", "BounceHookUrl", "OpenHookUrl",
    "DeliveryHookUrl", "ClickHookUrl", "PostFirstOpenOnly", "InboundDomain", "InboundHash",
    "InboundSpamThreshold", "TrackOpens", "TrackLinks", "IncludeBounceContentInHook",
    "EnableSmtpApiErrorHooks",
}


def expect_error(response: httpx.Response, code: int, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"ErrorCode", "Message"} and body["ErrorCode"] == code, body
    assert body["Message"]
    return body


def create_server(account: httpx.Client, **fields: Any) -> dict[str, Any]:
    r = account.post("/servers", json=fields)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert set(body) == SERVER_KEYS
    return body
