#!/usr/bin/env bash
# wrk, the C HTTP load generator the REST benchmark uses: Debian's package, installed when
# missing (as root, or through sudo). Prints its path.
set -euo pipefail
if ! command -v wrk >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get install -y wrk >/dev/null 2>&1 || {
    $SUDO apt-get update >/dev/null && $SUDO apt-get install -y wrk >/dev/null; }
fi
command -v wrk
