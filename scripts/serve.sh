#!/usr/bin/env bash
# Install and run Postlane with every role on the embedded SQLite database.
# Extra arguments go to `postlane serve` (see `postlane serve --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec .venv/bin/postlane serve "$@"
