"""Webhook POSTs over HTTP: the client pool and one POST with its outcome as a value.
The notify step decides what an outcome means for its job; this module only talks HTTP."""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass

import httpx

from postlane.domain import network
from postlane.domain.records import WebhookDelivery
from postlane.outbound.targets import GuardedTransport, TargetPolicy

#: Postmark stops retrying when an endpoint answers 403: the receiver refuses on purpose.
_STOP_STATUSES = frozenset({403})


class ClientPool:
    """Several small httpx clients taken in turn: one client with a large connection pool
    costs markedly more CPU per request (its pool bookkeeping grows with the pool)."""

    def __init__(self, clients: int = 8, connections_each: int = 8, *,
                 targets: TargetPolicy | None = None) -> None:
        # One TLS context for them all: each client would load the CA bundle again (most
        # of a worker's start-up time). Every connection is vetted (outbound.targets);
        # without a policy, only public addresses are reached.
        tls = httpx.create_ssl_context()
        policy = targets or TargetPolicy()
        limits = httpx.Limits(max_connections=connections_each)
        self._clients = [httpx.AsyncClient(follow_redirects=False,
                                           transport=GuardedTransport(policy, tls, limits))
                         for _ in range(clients)]
        self._turn = itertools.cycle(self._clients)

    def pick(self) -> httpx.AsyncClient:
        return next(self._turn)

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()


@dataclass(frozen=True)
class PostResult:
    """How one POST went; ``give_up`` when the receiver refused for good (403)."""

    delivered: bool
    give_up: bool
    status: int | None
    error: str | None


def _request_headers(delivery: WebhookDelivery) -> dict[str, str]:
    """The POST's headers: the tenant's own, except any that network.header_problem
    refuses (the API refuses them too; these were stored before it did, or elsewhere),
    each replacing ours of the same name in any case."""
    headers = {"Content-Type": "application/json", "User-Agent": "Postlane"}
    for header in delivery.http_headers or []:
        name, value = str(header.get("Name") or ""), str(header.get("Value", ""))
        if name and network.header_problem(name, value) is None:
            _put(headers, name, value)
    auth = delivery.http_auth
    if auth and (auth.get("Username") or auth.get("Password")):
        pair = f"{auth.get('Username', '')}:{auth.get('Password', '')}".encode()
        _put(headers, "Authorization", "Basic " + base64.b64encode(pair).decode())
    return headers


def _put(headers: dict[str, str], name: str, value: str) -> None:
    """Set ``name`` once: header names are case-insensitive, a dict's keys are not."""
    for key in [k for k in headers if k.lower() == name.lower()]:
        del headers[key]
    headers[name] = value


async def post(client: httpx.AsyncClient, delivery: WebhookDelivery,
               timeout: float) -> PostResult:
    """POST once."""
    try:
        response = await client.post(delivery.url, json=delivery.payload,
                                     headers=_request_headers(delivery), timeout=timeout)
    except httpx.HTTPError as exc:
        return PostResult(False, False, None, f"{type(exc).__name__}: {exc}")
    if 200 <= response.status_code < 300:
        return PostResult(True, False, response.status_code, None)
    give_up = response.status_code in _STOP_STATUSES
    return PostResult(False, give_up, response.status_code, f"HTTP {response.status_code}")
