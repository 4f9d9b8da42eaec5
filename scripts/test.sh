#!/usr/bin/env bash
# Install everything the tests need and run the whole suite: lint, types, and pytest on
# SQLite and PostgreSQL (PostgreSQL missing is a failure, not a skip).
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh test
POSTLANE_TEST_PG_URL="$(bash scripts/ensure-postgres.sh)"
export POSTLANE_TEST_PG_URL POSTLANE_REQUIRE_PG=1
echo "== ruff"; .venv/bin/ruff check postlane tests
echo "== mypy"; .venv/bin/mypy
echo "== pytest (SQLite + PostgreSQL at ${POSTLANE_TEST_PG_URL##*@})"
.venv/bin/python -m pytest "$@"
