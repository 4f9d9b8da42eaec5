#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the dashboard's browser tests (Playwright
# drives it; Playwright's own browser download is not used). Prints the executable path.
set -euo pipefail
for candidate in "${POSTLANE_CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then echo "$candidate"; exit 0; fi
done
[ "$(id -u)" = 0 ] || { echo "Chromium is missing; install Debian's chromium package" >&2; exit 1; }
echo "Installing Chromium from Debian's packages..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >&2
apt-get install -y -q chromium >&2
echo /usr/bin/chromium
