"""Helpers for the Message Streams API shared by its in-process tests (tests/api) and
those that also send over SMTP (tests/e2e).

Keys follow the MessageStream model of Postmark's official postmark.js client
(models/streams/MessageStream.d.ts).
"""

from __future__ import annotations

from typing import Any

import httpx

STREAM_KEYS = {
    "ID", "ServerID", "Name", "Description", "MessageStreamType", "CreatedAt", "UpdatedAt",
    "ArchivedAt", "ExpectedPurgeDate", "SubscriptionManagementConfiguration",
}


def expect_error(response: httpx.Response, code: int) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == {"ErrorCode", "Message"} and body["ErrorCode"] == code, body


def create_stream(api: httpx.Client, stream_id: str, kind: str = "Transactional",
                  **extra: Any) -> dict[str, Any]:
    r = api.post("/message-streams", json={"ID": stream_id, "Name": f"{stream_id} stream",
                                           "MessageStreamType": kind, **extra})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert set(body) == STREAM_KEYS
    return body


def stream_ids(api: httpx.Client, **params: Any) -> list[str]:
    body = api.get("/message-streams", params=params).json()
    assert body["TotalCount"] == len(body["MessageStreams"])
    return sorted(s["ID"] for s in body["MessageStreams"])
