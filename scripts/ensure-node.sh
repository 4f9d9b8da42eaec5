#!/usr/bin/env bash
# Make sure Node.js (>= 18) and npm are there for the postmark.js conformance tests, and
# that Postmark's Node SDK is installed in tests/node exactly as package-lock.json pins it
# (`npm ci` when node_modules is missing or older than the lock file). Installs Debian's
# nodejs and npm packages when Node is missing or too old. Prints the node path.
set -euo pipefail
cd "$(dirname "$0")/.."

usable() {  # a Node of version 18 or later
  [ -n "$1" ] && [ -x "$1" ] && [ "$("$1" -p 'process.versions.node.split(".")[0]')" -ge 18 ]
}

node=""
for candidate in "${POSTLANE_NODE:-}" /usr/bin/node "$(command -v node || true)"; do
  if usable "$candidate"; then node="$candidate"; break; fi
done
if [ -z "$node" ] || ! command -v npm >/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "Node.js >= 18 and npm are missing; install Debian's nodejs and npm packages" >&2; exit 1; }
  echo "Installing Node.js and npm from Debian's packages..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >&2
  apt-get install -y -q nodejs npm >&2
  [ -n "$node" ] || node=/usr/bin/node
  usable "$node" || { echo "$node is older than Node.js 18" >&2; exit 1; }
fi

# npm writes node_modules/.package-lock.json on every install: older than the committed
# lock file (or absent) means the install is stale.
installed=tests/node/node_modules/.package-lock.json
if [ ! -f "$installed" ] || [ tests/node/package-lock.json -nt "$installed" ]; then
  echo "Installing postmark.js in tests/node (npm ci)..." >&2
  (cd tests/node && PATH="$(dirname "$node"):$PATH" npm ci --no-audit --no-fund >&2)
fi
echo "$node"
