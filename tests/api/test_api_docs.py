"""/docs and /redoc serve their assets from this server (issue 12): a self-hosted mail
server's API documentation must work offline and load no script from a CDN."""

from __future__ import annotations

import re

import pytest

from tests.support.in_process import InProcessServer

#: Where a page names another resource: attributes, and the spec URL in the inline script.
REFERENCE = re.compile(r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url:\s*'([^']+)'""")


@pytest.mark.parametrize(("page", "script"), [("/docs", "SwaggerUIBundle"),
                                              ("/redoc", "Redoc")])
def test_docs_pages_reference_only_local_assets(server: InProcessServer, page: str,
                                                script: str) -> None:
    client = server.client()
    r = client.get(page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "://" not in html, [line for line in html.splitlines() if "://" in line]
    urls = [a or b for a, b in REFERENCE.findall(html)]
    assert "/openapi.json" in urls
    assets = [url for url in urls if url != "/openapi.json"]
    assert any(url.endswith(".js") for url in assets), urls
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 0, url
    bundle = next(url for url in assets if (url.endswith(".js") and "bundle" in url)
                  or url.endswith("redoc.standalone.js"))
    assert script in client.get(bundle).text[:200_000]


def test_docs_assets_are_static_files_not_api_routes(server: InProcessServer) -> None:
    client = server.client()
    css = client.get("/docs/static/swagger-ui.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    missing = client.get("/docs/static/nothing-here.js")
    assert missing.status_code == 404
    assert client.get("/docs/static/../../pyproject.toml").status_code == 404
    spec = client.get("/openapi.json").json()
    assert not any(path.startswith("/docs") for path in spec["paths"])
