"""Webhook set-ups shared by the e2e webhook tests: an SMTP API Error bounce (suppress,
enable the hooks, send over SMTP) is the record that gets POSTed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from tests.support.harness import RunningServer, make_message, smtp_send, wait_until

RCPT = "suppressed@example.com"


def arm(api: httpx.Client, *rcpts: str, stream: str = "outbound") -> None:
    """Enable SMTP API Error hooks and suppress ``rcpts`` (default: RCPT) on ``stream``."""
    r = api.put("/server", json={"EnableSmtpApiErrorHooks": True})
    assert r.status_code == 200, r.text
    entries = [{"EmailAddress": rcpt} for rcpt in rcpts or (RCPT,)]
    r = api.post(f"/message-streams/{stream}/suppressions", json={"Suppressions": entries})
    assert [s["Status"] for s in r.json()["Suppressions"]] == ["Suppressed"] * len(entries)


def hook(api: httpx.Client, url: str, stream: str = "outbound", **fields: Any) -> int:
    """A webhook with the Bounce trigger on; its ID."""
    body = {"Url": url, "MessageStream": stream, "Triggers": {"Bounce": {"Enabled": True}}}
    r = api.post("/webhooks", json={**body, **fields})
    assert r.status_code == 200, r.text
    webhook_id: int = r.json()["ID"]
    return webhook_id


def bounce(server: RunningServer, *rcpts: str, token: str | None = None) -> str:
    """Send to suppressed ``rcpts`` (default: RCPT) over SMTP: one bounce each."""
    rcpts = rcpts or (RCPT,)
    code, message_id = smtp_send(server, make_message(rcpts[0]), list(rcpts), token=token)
    assert code == 250
    return message_id


def deliveries(api: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    r = api.get("/webhook-deliveries", params=params)
    assert r.status_code == 200, r.text
    rows: list[dict[str, Any]] = r.json()["Deliveries"]
    return rows


def delivery_when(api: httpx.Client, check: Callable[[dict[str, Any]], bool],
                  timeout: float = 15) -> dict[str, Any]:
    """The only delivery in the log, once ``check`` holds for it."""
    def match() -> dict[str, Any] | None:
        rows = deliveries(api)
        return rows[0] if len(rows) == 1 and check(rows[0]) else None
    found: dict[str, Any] = wait_until(match, timeout=timeout, message="delivery state")
    return found
