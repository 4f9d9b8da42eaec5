"""Schemathesis against the running server's /openapi.json: every operation, with data that
fits its documented schema and data that does not, must never answer 5xx, and must answer
with a documented status, content type and shape.

SQLite only, one server for the module, API role only: no worker, so nothing generated here
(webhook URLs, Live servers) ever leaves this machine.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from postlane.api.auth import ACCOUNT_HEADER, SERVER_HEADER
from tests.support.harness import RunningServer, start_server
from tests.support.harness import test_settings as settings_for

pytestmark = pytest.mark.timeout(900)

EXAMPLES = 40
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


@pytest.fixture(scope="module")
def api_server(tmp_path_factory: pytest.TempPathFactory,
               sqlite_template: Path) -> Iterator[RunningServer]:
    tmp = tmp_path_factory.mktemp("schemathesis")
    shutil.copyfile(sqlite_template, tmp / "postlane.db")
    running = start_server(settings_for(f"sqlite:///{tmp / 'postlane.db'}", tmp / "data",
                                        roles=("api",)))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def api_schema(api_server: RunningServer) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_url(f"{api_server.api_url}/openapi.json")
    # The real tokens go in every request (exercise); the token headers are not fuzzed.
    schema.config.generation.update(with_security_parameters=False)
    return schema


def exercise(operation: schemathesis.APIOperation, mode: schemathesis.GenerationMode,
             server: RunningServer) -> None:
    """Up to EXAMPLES generated requests to one operation, each response checked."""
    if operation.path.startswith("/servers"):
        headers = {ACCOUNT_HEADER: server.account_token}
    else:
        headers = {SERVER_HEADER: server.server_token}

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: schemathesis.Case) -> None:
        params = case.path_parameters or {}
        if case.method == "DELETE" and params.get("server_id") == server.server_id:
            params["server_id"] = server.server_id + 10_000  # keep the server under test
        response = case.call(headers=headers)
        case.validate_response(response, checks=CHECKS)

    run()


# The pytest plugin (schema.parametrize) does not run under pytest 9.2 (it sets
# Function._nodeid), so operations are walked here through the Python API instead.
@pytest.mark.parametrize("mode", [schemathesis.GenerationMode.POSITIVE,
                                  schemathesis.GenerationMode.NEGATIVE], ids=str)
def test_every_operation(api_server: RunningServer, api_schema: schemathesis.BaseSchema,
                         mode: schemathesis.GenerationMode) -> None:
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 30
    for operation in operations:
        try:
            exercise(operation, mode, api_server)
        except Unsatisfiable:  # nothing to make invalid (no body, no typed parameter)
            assert mode is schemathesis.GenerationMode.NEGATIVE, operation.label
        except Exception as exc:  # every operation runs; all failures are reported together
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)


def test_spec_documents_bodies_queries_and_tokens(api_server: RunningServer) -> None:
    """The hand-read bodies and queries are described, with resolvable references."""
    with api_server.api() as api:
        spec = api.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    body = spec["paths"]["/email"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/EmailRequest"}
    email = schemas["EmailRequest"]["properties"]
    assert {"From", "To", "HtmlBody", "TextBody", "MessageStream", "Metadata"} <= set(email)
    batch = spec["paths"]["/email/batch"]["post"]["requestBody"]["content"]
    assert batch["application/json"]["schema"]["maxItems"] == 500

    def refs(node: object) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                yield from refs(value)
        elif isinstance(node, list):
            for item in node:
                yield from refs(item)

    for ref in refs(spec):
        assert ref.removeprefix("#/components/schemas/") in schemas, ref
    for path, method in (("/message-streams/{stream_id}/suppressions", "post"),
                         ("/servers", "post"), ("/server", "put"), ("/webhooks", "post"),
                         ("/webhooks/{webhook_id}", "put"), ("/message-streams", "post"),
                         ("/message-streams/{stream_id}", "patch")):
        assert "requestBody" in spec["paths"][path][method], (method, path)
    bounce_query = {p["name"] for p in spec["paths"]["/bounces"]["get"]["parameters"]}
    assert {"count", "offset", "type", "inactive", "emailFilter", "fromdate"} <= bounce_query
    assert spec["paths"]["/servers"]["get"]["security"] == [{"AccountToken": []}]
    assert spec["paths"]["/bounces"]["get"]["security"] == [{"ServerToken": []}]
    assert spec["components"]["securitySchemes"]["ServerToken"]["name"] == SERVER_HEADER
