"""SMTP durable ingest, beside the reference servers, in the same run.

Postfix's smtp-source (20 sessions, 2 KB messages; a new connection per message, and
persistent connections) drives, one after the other: Postfix accepting into its hold
queue (fsync per message: the durable anchor), a bare aiosmtpd that stores nothing, and
Postlane with the smtp role only (every 250 after its group commit, synchronous=FULL).
The reference runs come from the shared benchmark scripts (shared/bench beside this
checkout, or POSTLANE_BENCH_ANCHORS); their results go to a temporary directory.
Postlane trusts loopback (smtp_trusted_networks) because smtp-source cannot AUTH, just
as Postfix's mynetworks does for it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import Row, main, serve

ANCHORS = Path(os.environ.get("POSTLANE_BENCH_ANCHORS",
                              Path(__file__).resolve().parents[2] / "shared" / "bench"))
TOKEN = "bench-ingest-token"
SCENARIOS = (("conn", False, 1.5), ("persist", True, 2.0))


def _env(work: Path, messages: int, runs: int) -> dict[str, str]:
    return {**os.environ, "PERF_WORK": str(work / "work"), "PERF_RESULTS": str(work / "results"),
            "SCENARIOS": "conn persist", "MESSAGES": str(messages), "RUNS": str(runs),
            "SESSIONS": "20", "SIZE": "2048"}


def _script(name: str, env: dict[str, str], *prefix: str) -> None:
    subprocess.run([*prefix, "bash", str(ANCHORS / name)], env=env, check=True, cwd=ANCHORS,
                   stdout=subprocess.DEVNULL)


def _postlane(env: dict[str, str], messages: int, runs: int, processes: int) -> None:
    settings = {"POSTLANE_SERVER_TOKEN": TOKEN, "POSTLANE_SMTP_TRUSTED_NETWORKS": "127.0.0.0/8",
                "POSTLANE_SMTP_TRUSTED_SERVER_TOKEN": TOKEN,
                "POSTLANE_SMTP_PROCESSES": str(processes)}
    database_url = os.environ.get("POSTLANE_BENCH_DATABASE_URL")  # default: SQLite
    with serve(roles=("smtp",), env=settings, database_url=database_url) as served:
        for scenario, persistent, _ in SCENARIOS:
            command = [sys.executable, str(ANCHORS / "lib" / "smtpbench.py"),
                       "--label", f"postlane/{scenario}", "--port", str(served.smtp_port),
                       "--server-pid", str(served.pid), "--messages", str(messages),
                       "--runs", str(runs), "--out", env["PERF_RESULTS"] + "/smtp.jsonl"]
            if persistent:
                command.append("--persistent")
            subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)


def _medians(results: Path) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for line in (results / "smtp.jsonl").read_text().splitlines():
        record = json.loads(line)
        out[record["label"]] = record
    return out


def run(quick: bool) -> list[Row]:
    if not (ANCHORS / "lib" / "smtpbench.py").exists():
        return [Row("SMTP ingest", float("nan"), "msg/s",
                    note=f"reference scripts not found at {ANCHORS}; set POSTLANE_BENCH_ANCHORS")]
    messages, runs = (3000, 1) if quick else (20000, 3)
    processes = int(os.environ.get("POSTLANE_BENCH_SMTP_PROCESSES", "2"))
    with tempfile.TemporaryDirectory(prefix="postlane-ingest-") as tmp:
        Path(tmp).chmod(0o755)  # Postfix's daemons run as the postfix user and must get in
        env = _env(Path(tmp), messages, runs)
        subprocess.run(["bash", str(ANCHORS / "setup.sh")], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        _script("02_postfix.sh", {**env, "PF_MODE": "hold", "PORT": "2625"},
                sys.executable, str(ANCHORS / "lib" / "subreaper.py"), "--")
        _script("03_python_smtp.sh", {**env, "PY_MODES": "null", "PY_LOOPS": "uvloop",
                                      "PORT": "2627"})
        _postlane(env, messages, runs, processes)
        found = _medians(Path(env["PERF_RESULTS"]))
    return _rows(found, processes)


def _rows(found: dict[str, dict[str, float]], processes: int) -> list[Row]:
    rows = []
    for scenario, _, factor in SCENARIOS:
        postfix = found[f"postfix-hold/{scenario}"]["msgs_per_s_median"]
        bare = found[f"aiosmtpd-uvloop-null/{scenario}"]["msgs_per_s_median"]
        ours = found[f"postlane/{scenario}"]
        rate = ours["msgs_per_s_median"]
        rows += [
            Row(f"ingest {scenario}: Postfix (hold queue)", postfix, "msg/s"),
            Row(f"ingest {scenario}: bare aiosmtpd, stores nothing", bare, "msg/s"),
            Row(f"ingest {scenario}: Postlane", rate, "msg/s",
                note=f"{processes} smtp process(es), {ours['srv_cores_median']} cores, "
                     f"{ours['srv_cpu_ms_per_msg_median']} ms CPU/msg, errors "
                     f"{ours['errors']}"),
            Row(f"ingest {scenario}: Postlane / Postfix", rate / postfix, "x",
                target=f">= {factor}x", met=rate / postfix >= factor),
            Row(f"ingest {scenario}: Postlane / bare aiosmtpd", rate / bare, "x"),
        ]
    rows.append(Row("ingest: Postlane peak RSS", found["postlane/persist"]["server_peak_rss_kb"]
                    / 1024, "MiB"))
    return rows


if __name__ == "__main__":
    main(run)
