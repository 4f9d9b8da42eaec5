"""Every benchmark in one command, printing one table:

    .venv/bin/python -m benchmarks.run           # full sizes (about 15 minutes)
    .venv/bin/python -m benchmarks.run --quick   # smaller runs (a few minutes)
    .venv/bin/python -m benchmarks.run --only ingest,latency

Run it on a quiet machine: the load generators share the cores with the servers.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import time
from datetime import UTC, datetime

from benchmarks.common import Row

MODULES = ("ingest", "latency", "suppressions", "rest", "templates", "webhooks")


def table(rows: list[Row]) -> str:
    lines = [f"{'benchmark':<48} {'value':>12} {'unit':<8} target / note", "-" * 100]
    lines += [row.format() for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller, shorter runs")
    parser.add_argument("--only", default=",".join(MODULES),
                        help=f"comma-separated subset of {', '.join(MODULES)}")
    args = parser.parse_args()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(chosen) - set(MODULES)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    started = time.perf_counter()
    rows: list[Row] = []
    for name in chosen:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        print(f"== {name} ...", flush=True)
        rows += module.run(args.quick)
    print()
    print(f"Postlane benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
          f"{platform.python_implementation()} {platform.python_version()}"
          + (" (quick)" if args.quick else ""))
    print(table(rows))
    missed = [row.name for row in rows if row.met is False]
    print(f"\n{len(rows)} figures, {sum(r.met is True for r in rows)} targets met, "
          f"{len(missed)} missed ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
