"""HTTP's answer to a database outage, in process (create_app over httpx's ASGI
transport): 503 with a Postmark-shaped error, for server- and account-token endpoints
(the token lookup itself meets the outage), and for /healthz. The outage end to end
(PostgreSQL going away under a running server) is tests/e2e/test_outages.py."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from postlane.api.app import create_app
from postlane.store.database import Database
from tests.support.harness import test_settings

UNAVAILABLE = {"ErrorCode": 1, "Message": "The database is temporarily unavailable; nothing "
                                          "was stored. Retry later."}


def _answers(tmp_path: Path) -> list[httpx.Response]:
    (tmp_path / "db").mkdir()  # a directory where the SQLite file should be: cannot open
    url = f"sqlite:///{tmp_path / 'db'}"
    db = Database(url, pool_size=1)
    app = create_app(db, test_settings(url, tmp_path / "data", dashboard_secret="s" * 32))

    async def ask() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            token = {"X-Postmark-Server-Token": "any"}
            return [await client.get("/server", headers=token),
                    await client.post("/email", headers=token, json={"From": "a@example.com"}),
                    await client.get("/servers", headers={"X-Postmark-Account-Token": "any"}),
                    await client.get("/healthz")]

    try:
        return asyncio.run(ask())
    finally:
        db.close()


def test_an_outage_is_503_everywhere(tmp_path: Path) -> None:
    *api, health = _answers(tmp_path)
    assert [(r.status_code, r.json()) for r in api] == [(503, UNAVAILABLE)] * 3
    assert health.status_code == 503
    assert health.json()["Status"] == "Unavailable"
    assert "unable to open database file" in health.json()["Database"]
