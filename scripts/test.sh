#!/usr/bin/env bash
# Install everything the tests need and run the whole suite: lint, types, and pytest on
# SQLite and PostgreSQL, the dashboard in Chromium and Postmark's Node SDK in Node.js (a
# missing PostgreSQL, Chromium or Node is a failure, not a skip), with branch coverage
# printed at the end.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh test
POSTLANE_TEST_PG_URL="$(bash scripts/ensure-postgres.sh)"
POSTLANE_CHROMIUM="$(bash scripts/ensure-chromium.sh)"
POSTLANE_NODE="$(bash scripts/ensure-node.sh)"
export POSTLANE_TEST_PG_URL POSTLANE_REQUIRE_PG=1 POSTLANE_CHROMIUM POSTLANE_REQUIRE_BROWSER=1
export POSTLANE_NODE POSTLANE_REQUIRE_NODE=1
echo "== ruff"; .venv/bin/ruff check postlane tests benchmarks
echo "== mypy"; .venv/bin/mypy
echo "== pytest (SQLite + PostgreSQL at ${POSTLANE_TEST_PG_URL##*@})"
# Branch coverage of postlane/ is measured and printed after the tests (pyproject.toml).
# Most tests wait on sockets and subprocesses, and coverage's tracer makes the rest
# CPU-bound: one worker per core, each test file kept on one worker (its fixtures are
# set up once).
.venv/bin/python -m pytest -n auto --dist loadfile --cov --cov-report=term "$@"
