"""Bounce API queries that need no bounce to exist: query limits and unknown ids. The
rest of the Bounce API, over real SMTP API Error bounces:
tests/e2e/test_api_bounces_over_smtp.py."""

from __future__ import annotations

from typing import Any

from postmark.models.bounces.schemas import DeliveryStats

from tests.support.in_process import InProcessServer


def test_query_limits(server: InProcessServer) -> None:
    api = server.api()
    cases: list[dict[str, Any]] = [
        {"count": 501, "offset": 0}, {"count": 500, "offset": 9501}, {"count": 0, "offset": 0},
        {"count": "ten", "offset": 0}, {"count": 10, "offset": -1},
        {"count": 10, "type": "NoSuchType"}, {"count": 10, "inactive": "maybe"},
        {"count": 10, "fromdate": "soon"}]
    for params in cases:
        r = api.get("/bounces", params=params)
        assert r.status_code == 422, params
        assert r.json()["ErrorCode"] != 0 and r.json()["Message"]
    r = api.get("/bounces", params={"count": 500, "offset": 9500})
    assert r.status_code == 200 and r.json()["Bounces"] == []


def test_unknown_bounce(server: InProcessServer) -> None:
    api = server.api()
    for bounce_id in ("424242", "0", "-5", str(2**63), "99999999999999999999999"):
        for r in (api.get(f"/bounces/{bounce_id}"), api.get(f"/bounces/{bounce_id}/dump"),
                  api.put(f"/bounces/{bounce_id}/activate")):
            assert r.status_code == 422, (bounce_id, r.text)
            assert r.json()["ErrorCode"] == 407


def test_delivery_stats_rows_validate(server: InProcessServer) -> None:
    """Every /deliverystats row carries Name, Type, Count and TypeCode, as postmark-python's
    DeliveryStats model requires (the SMTP-bounce rows: tests/e2e)."""
    body = server.api().get("/deliverystats").json()
    assert body == {"InactiveMails": 0, "Bounces": [
        {"Name": "All", "Type": "All", "TypeCode": 0, "Count": 0}]}
    DeliveryStats.model_validate(body)


def test_bounce_tags_is_a_route_not_an_id(server: InProcessServer) -> None:
    """Legacy GET /bounces/tags answers a JSON list, never "bounce not found"."""
    r = server.api().get("/bounces/tags")
    assert r.status_code == 200 and r.json() == []
