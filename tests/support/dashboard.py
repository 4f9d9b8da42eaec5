"""The dashboard as a plain HTTP client sees it (no browser): fetch a page's form token,
log in, submit forms. For the attack tests that a browser would not let happen (a POST
without the token, from another origin, with a replayed cookie, forged headers)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def form_token(client: httpx.Client, path: str = "/dashboard/login") -> str | None:
    """The CSRF token in the page's forms (the session cookie it belongs to stays in
    ``client``); None when the page has none."""
    found = _TOKEN.search(client.get(path).text)
    return found.group(1) if found else None


def with_token(data: dict[str, str], token: str | None) -> dict[str, str]:
    return data if token is None else {**data, "csrf_token": token}


def post_login(client: httpx.Client, secret: str, headers: dict[str, str] | None = None
               ) -> httpx.Response:
    """Submit the login form as a browser would: the form's page first, then the POST."""
    token = form_token(client)
    return client.post("/dashboard/login", headers=headers,
                       data=with_token({"secret": secret, "next": "/dashboard"}, token))


@contextmanager
def logged_in(base_url: str, secret: str) -> Iterator[httpx.Client]:
    """A client with a dashboard session."""
    with httpx.Client(base_url=base_url, timeout=10) as client:
        answer = post_login(client, secret)
        assert answer.status_code == 303, answer.text
        yield client


def submit(client: httpx.Client, page: str, action: str, data: dict[str, str],
           headers: dict[str, str] | None = None) -> httpx.Response:
    """Submit a form of ``page`` to ``action`` with the page's token, as the browser does."""
    return client.post(action, data=with_token(data, form_token(client, page)),
                       headers=headers)
