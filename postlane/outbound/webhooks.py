"""Webhook POSTs over HTTP: the client pool and one POST with its outcome as a value.
The notify step decides what an outcome means for its job; this module only talks HTTP."""

from __future__ import annotations

import asyncio
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


async def post(client: httpx.AsyncClient, delivery: WebhookDelivery, timeout: float,
               max_response_bytes: int = 64 * 1024) -> PostResult:
    """POST once. ``timeout`` is a deadline for the whole exchange, not per read: a
    receiver that trickles a byte at a time cannot keep the POST (and its worker slot)
    open past it. Only the status matters, so at most ``max_response_bytes`` of the
    answer are read (a short answer whole, which keeps the connection reusable)."""
    try:
        async with asyncio.timeout(timeout):
            status = await _exchange(client, delivery, timeout, max_response_bytes)
    except (TimeoutError, httpx.TimeoutException):
        return PostResult(False, False, None, f"Timeout: no complete answer within {timeout:g} s")
    except httpx.HTTPError as exc:
        return PostResult(False, False, None, f"{type(exc).__name__}: {exc}")
    if 200 <= status < 300:
        return PostResult(True, False, status, None)
    return PostResult(False, status in _STOP_STATUSES, status, f"HTTP {status}")


async def _exchange(client: httpx.AsyncClient, delivery: WebhookDelivery, timeout: float,
                    max_response_bytes: int) -> int:
    """The request and as much of the answer as is read; the answer's status."""
    async with client.stream("POST", delivery.url, json=delivery.payload,
                             headers=_request_headers(delivery), timeout=timeout) as response:
        await _read_at_most(response, max_response_bytes)
        return response.status_code


async def _read_at_most(response: httpx.Response, limit: int) -> None:
    """Read the body until it ends or ``limit`` bytes have come (give or take one network
    read); leaving the rest unread makes httpx close the connection instead of reusing it."""
    if limit <= 0:
        return
    read = 0
    async for chunk in response.aiter_raw():
        read += len(chunk)
        if read >= limit:
            return
