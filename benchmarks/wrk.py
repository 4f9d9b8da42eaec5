"""wrk (Debian's C load generator) against one JSON endpoint: a Lua script sets the
method, body and headers, counts every answer that is not HTTP 200 with "ErrorCode":0 as
an error, and prints one RESULT line that this module parses."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

CONNECTIONS = 20
THREADS = 2

_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0 end
wrk.method = "POST"
wrk.body = %(body)s
%(headers)s
function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"ErrorCode":0', 1, true) then bad = bad + 1 end
end
function done(summary, latency, requests)
  local errors = 0
  for _, t in ipairs(threads) do errors = errors + t:get("bad") end
  local e = summary.errors
  errors = errors + e.connect + e.read + e.write + e.timeout
  io.write(string.format("RESULT %%d %%d %%.6f %%.3f %%.3f\\n", summary.requests, errors,
    summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


@dataclass(frozen=True)
class Load:
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return (self.requests - self.errors) / self.seconds if self.seconds else 0.0


def available() -> str | None:
    """wrk's path, or None (scripts/ensure-wrk.sh installs it)."""
    return shutil.which("wrk")


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal here


def run(url: str, body: bytes, headers: dict[str, str], seconds: float) -> Load:
    lines = "\n".join(f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}"
                      for k, v in {"Content-Type": "application/json", **headers}.items())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_SCRIPT % {"body": _lua_string(body.decode()), "headers": lines})
    try:
        done = subprocess.run(
            ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s",
             "--timeout", "10s", "-s", script.name, url],
            capture_output=True, text=True, check=True, timeout=seconds + 60)
    finally:
        Path(script.name).unlink()
    for line in done.stdout.splitlines():
        if line.startswith("RESULT "):
            count, errors, duration, p50, p99 = line.split()[1:]
            return Load(int(count), int(errors), float(duration), float(p50), float(p99))
    raise RuntimeError(f"wrk printed no result: {done.stdout}\n{done.stderr}")
