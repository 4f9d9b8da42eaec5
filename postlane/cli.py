"""The `postlane` command."""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import sys
from typing import Any

import click
import uvloop

from postlane import __version__, processes
from postlane.bootstrap import Bootstrap
from postlane.config import Settings
from postlane.runtime import Postlane


def _settings(**flags: Any) -> Settings:
    try:
        return Settings.from_env({k: v for k, v in flags.items() if v is not None})
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc


def _banner(settings: Settings, boot: Bootstrap) -> str:
    roles = settings.roles
    lines = [(f"Postlane {__version__} ({', '.join(roles)}) on "
              f"{settings.effective_database_url.split('@')[-1]}")]
    if "api" in roles:
        lines.append(f"  HTTP API        : {settings.api_url}")
    if "smtp" in roles:
        tls = "STARTTLS offered, AUTH required" + (
            " (TLS needed for AUTH)" if settings.auth_requires_tls else "")
        lines.append(f"  SMTP submission : {settings.smtp_host}:{settings.smtp_port} ({tls})")
    if "inbound" in roles:
        lines.append(f"  Bounce MX       : {settings.inbound_host}:{settings.inbound_port} "
                     f"(reports to @{settings.bounce_domain})")
    lines.append(f"  Account token   : {boot.account_token}")
    if boot.server_token:
        lines.append(f"  Server token    : {boot.server_token}  (server {boot.server_id}, "
                     "use as SMTP user name and password)")
    return "\n".join(lines)


#: How to read the banner back (tests, benchmarks, scripts that start `postlane serve`).
BANNER_FIELDS = {
    "api": re.compile(r"HTTP API\s+: (http://\S+)"),
    "smtp": re.compile(r"SMTP submission : [\d.:\[\]a-f]+:(\d+) "),
    "inbound": re.compile(r"Bounce MX\s+: [\d.:\[\]a-f]+:(\d+) "),
    "account": re.compile(r"Account token\s+: (\S+)"),
    "server": re.compile(r"Server token\s+: (\S+)"),
    "server_id": re.compile(r"Server token\s+: \S+\s+\(server (\d+),"),
}


def banner_fields(line: str) -> dict[str, str]:
    """The banner values a line of `postlane serve` output carries (usually none)."""
    found = {}
    for key, pattern in BANNER_FIELDS.items():
        match = pattern.search(line)
        if match:
            found[key] = match.group(1)
    return found


@click.group()
@click.version_option(__version__)
def main() -> None:
    """Postlane: a self-hosted, Postmark-compatible transactional mail server."""


@main.command()
@click.option("--data-dir", type=click.Path(file_okay=False), help="Where SQLite data and "
              "the dev TLS certificate live (default ./postlane-data).")
@click.option("--database-url", help="e.g. postgresql://user@host/db (default: SQLite).")
@click.option("--roles", help="Comma-separated subset of smtp,api,worker,inbound "
              "(default: all).")
@click.option("--smtp-host")
@click.option("--smtp-port", type=int)
@click.option("--api-host")
@click.option("--api-port", type=int)
@click.option("--inbound-host")
@click.option("--inbound-port", type=int)
@click.option("--smtp-processes", type=int, help="SMTP acceptor processes on the one port "
              "(default 1; more use more cores).")
@click.option("--worker-processes", type=int, help="Run the worker in this many processes of "
              "its own (default 0: in the main process).")
@click.option("--log-level", default="INFO", show_default=True)
def serve(log_level: str, **flags: Any) -> None:
    """Run the server (all roles on SQLite unless told otherwise)."""
    logging.basicConfig(level=log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # The event loop hands work to commit threads and back; Python's default 5 ms GIL
    # switch interval would add up to that much latency to every hand-off.
    sys.setswitchinterval(0.0005)
    settings = _settings(**flags)
    app = Postlane(settings)
    boot = app.prepare()
    app.bind()
    click.echo(_banner(app.settings, boot), err=False)
    children = []
    if "worker" in app.settings.roles and app.settings.worker_processes > 0:
        worker_app = app.split_off_worker()
        children += processes.fork_children(app.settings.worker_processes,
                                            lambda: uvloop.run(_run(worker_app, quiet=True)))
    if "smtp" in app.settings.roles and app.settings.smtp_processes > 1:
        children += processes.fork_children(app.settings.smtp_processes - 1,
                                            lambda: uvloop.run(_run(app.smtp_only(), quiet=True)))
    try:
        uvloop.run(_run(app))
    finally:
        processes.stop_children(children)


async def _run(app: Postlane, quiet: bool = False) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await app.serve(stop, ready=None if quiet else lambda: click.echo("Ready.", err=False))
    finally:
        app.close()


@main.command()
@click.option("--database-url")
@click.option("--data-dir", type=click.Path(file_okay=False))
def migrate(**flags: Any) -> None:
    """Create or upgrade the database schema, then exit."""
    app = Postlane(_settings(**flags))
    boot = app.prepare()
    click.echo(f"Schema is current. Account token: {boot.account_token}")
    app.close()


@main.command("webhook-echo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=9000, show_default=True, type=int)
def webhook_echo(host: str, port: int) -> None:
    """Print every webhook POSTed to http://HOST:PORT/ (for local trials)."""
    from postlane.webhook_echo import serve as echo

    echo(host, port)


if __name__ == "__main__":
    main()
