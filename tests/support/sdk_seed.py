"""The world the SDK conformance suite reads back (tests/conformance): a message delivered
by the Sandbox and an SMTP API Error bounce (a suppressed address sent to over SMTP with the
hooks on), seeded over plain HTTP and SMTP so that an SDK's failure cannot hide behind its
own set-up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.support.harness import RunningServer, make_message, smtp_send, wait_until

#: The address the seed suppresses and then sends to: its bounce is the one the SDKs read.
BOUNCED = "gone@example.com"
DELIVERED = "reader@example.com"
SENDER = "sender@example.com"


@dataclass(frozen=True)
class Seeded:
    server: RunningServer
    delivered_id: str
    bounced_id: str
    bounce: dict[str, Any]

    @property
    def host(self) -> str:
        """host:port of the API, as postmark.js's requestHost wants it."""
        return self.server.api_url.split("://", 1)[1]


def details(api: httpx.Client, message_id: str) -> dict[str, Any]:
    r = api.get(f"/messages/outbound/{message_id}/details")
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


def wait_sent(api: httpx.Client, message_id: str) -> None:
    wait_until(lambda: details(api, message_id)["Status"] == "Sent",
               message=f"Sandbox delivery of {message_id}")


def _bounces(api: httpx.Client) -> list[dict[str, Any]]:
    r = api.get("/bounces", params={"count": 50, "offset": 0})
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()["Bounces"]
    return found


def seed(server: RunningServer) -> Seeded:
    api = server.api()
    r = api.post("/email", json={"From": SENDER, "To": DELIVERED, "Subject": "Seeded",
                                 "TextBody": "Hello", "Tag": "seed",
                                 "Metadata": {"order": "42"}})
    assert r.status_code == 200, r.text
    delivered_id: str = r.json()["MessageID"]
    wait_sent(api, delivered_id)

    assert api.put("/server", json={"EnableSmtpApiErrorHooks": True}).status_code == 200
    r = api.post("/message-streams/outbound/suppressions",
                 json={"Suppressions": [{"EmailAddress": BOUNCED}]})
    assert r.json()["Suppressions"][0]["Status"] == "Suppressed", r.text
    code, bounced_id = smtp_send(server, make_message(BOUNCED, "Bounced"), [BOUNCED])
    assert code == 250
    bounce = wait_until(lambda: next(iter(_bounces(api)), None), message="the seed's bounce")
    return Seeded(server, delivered_id, bounced_id, bounce)
