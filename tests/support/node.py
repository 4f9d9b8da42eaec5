"""Node.js for the postmark.js conformance tests: the executable and the SDK installed in
tests/node by scripts/ensure-node.sh (``npm ci`` from the committed package-lock.json).

Node comes from POSTLANE_NODE (else the usual places). Missing Node or a missing install
skips the tests, unless POSTLANE_REQUIRE_NODE=1 (the test script sets it), which makes it a
failure, as POSTLANE_REQUIRE_BROWSER does for Chromium.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

NODE_DIR = Path(__file__).resolve().parents[1] / "node"
SDK_MODELS = NODE_DIR / "node_modules" / "postmark" / "dist" / "client" / "models"
REQUIRE_NODE = os.environ.get("POSTLANE_REQUIRE_NODE") == "1"


def _unavailable(message: str) -> None:
    if REQUIRE_NODE:
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def node_executable() -> str:
    """POSTLANE_NODE when set (and only it), else the usual places; skips or fails."""
    configured = os.environ.get("POSTLANE_NODE")
    candidates = [configured] if configured else ["/usr/bin/node", shutil.which("node")]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            if not SDK_MODELS.is_dir():
                _unavailable(f"postmark.js is not installed in {NODE_DIR}: "
                             "run scripts/ensure-node.sh")
            return candidate
    _unavailable("Node.js is missing (set POSTLANE_NODE or run scripts/ensure-node.sh)")
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Driven:
    """What tests/node/drive.js printed for one scenario."""

    results: dict[str, Any]
    types: dict[str, str]
    error: dict[str, Any] | None


def drive(node: str, base_url: str, server_token: str, account_token: str, scenario: str,
          **args: Any) -> Driven:
    completed = subprocess.run(
        [node, str(NODE_DIR / "drive.js"), base_url, server_token, account_token, scenario,
         json.dumps(args)],
        capture_output=True, text=True, timeout=60, cwd=NODE_DIR, check=False)
    assert completed.returncode == 0, completed.stderr
    printed = json.loads(completed.stdout)
    return Driven(printed["results"], printed["types"], printed["error"])
