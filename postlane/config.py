"""Settings: defaults that run with zero configuration, overridable by POSTLANE_* variables
or CLI flags (flags win)."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator

from postlane.domain import network
from postlane.domain.bounce_types import SmtpApiErrorLabels

ROLES = ("smtp", "api", "worker", "inbound")


class Settings(BaseModel):
    data_dir: Path = Path("postlane-data")
    database_url: str | None = None
    roles: tuple[str, ...] = ROLES

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2587
    smtp_hostname: str = "localhost"
    smtp_max_message_bytes: int = 10 * 1024 * 1024
    smtp_max_recipients: int = 50
    #: A session that sends nothing for this long is closed with 421 (RFC 5321 4.5.3.2).
    smtp_idle_timeout_seconds: float = Field(default=300, gt=0)
    #: Deadlines a client cannot stretch by sending a byte at a time; each closes with
    #: 421 4.4.2. A command line, from when the session waits for it to its end: 300 s,
    #: RFC 5321 4.5.3.2.7's 5 minutes for a server awaiting a command (Postfix's
    #: smtpd_timeout).
    smtp_command_timeout_seconds: float = Field(default=300, gt=0)
    #: The message data, from the 354 to the final dot: 600 s, RFC 5321 4.5.3.2.6's 10
    #: minutes (a 10 MB message then needs no more than 17 kB/s).
    smtp_data_timeout_seconds: float = Field(default=600, gt=0)
    #: A whole connection: an hour, beyond any sending session we know of (connection
    #: pools reconnect after some messages; a 421 makes any client reconnect), and short
    #: enough that a NOOP now and then cannot hold a session slot for ever.
    smtp_session_timeout_seconds: float = Field(default=3600, gt=0)
    #: Concurrent sessions per SMTP listener (submission, bounce MX) and process; over it
    #: a connection gets 421 4.7.0 at once. Lowered at start to fit the descriptor limit
    #: with room left for the API and the database (runtime.session_caps). A session
    #: costs a few kB, so 1000 is cheap where Postfix's 100 smtpd processes are not.
    smtp_max_sessions: int = Field(default=1000, ge=1)
    #: Concurrent sessions from one client address (trusted networks exempt): Postfix's
    #: smtpd_client_connection_count_limit, 50.
    smtp_max_sessions_per_client: int = Field(default=50, ge=1)
    #: SMTP acceptor processes sharing the listening socket (more use more cores).
    smtp_processes: int = Field(default=1, ge=1, le=64)
    #: None = automatic: AUTH needs TLS unless the listener is on a loopback address.
    smtp_auth_require_tls: bool | None = None
    #: Clients in these networks (CIDR) submit without AUTH, as the server whose token is
    #: smtp_trusted_server_token (Postfix's mynetworks). Empty: AUTH is always required.
    smtp_trusted_networks: tuple[str, ...] = ()
    smtp_trusted_server_token: str | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None

    api_host: str = "127.0.0.1"
    api_port: int = 8587
    api_max_body_bytes: int = 50 * 1024 * 1024
    #: Addresses or networks (CIDR) of the reverse proxies in front of the HTTP listener:
    #: only requests from them may name the client (X-Forwarded-For) and the scheme
    #: (X-Forwarded-Proto). Empty by default: no such header is believed, the socket's
    #: address is the client's, so no client can pick the address the login throttle counts.
    api_trusted_proxies: tuple[str, ...] = ()

    #: 0: the worker runs in the main process; N: in N processes of its own.
    worker_processes: int = Field(default=0, ge=0, le=64)
    #: Jobs a worker runs at once. Most are webhook POSTs waiting on a receiver (cheap
    #: coroutines): 128 leaves half for them and one server a quarter.
    worker_concurrency: int = Field(default=128, ge=1)
    worker_poll_seconds: float = 0.25
    worker_lease_seconds: float = 120.0
    #: Deadline for one webhook POST, the whole exchange (connect, send, the answer's
    #: headers and body): a receiver that trickles bytes cannot extend it.
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    #: The share of worker_concurrency that webhook POSTs (notify jobs) may hold at once:
    #: receivers that hang cannot take the slots screen, deliver and dsn need. Half.
    webhook_worker_share: float = Field(default=0.5, gt=0, le=1)
    #: Webhook POSTs of one server that a worker runs at once: one server's hanging
    #: receivers hold at most this many slots. 32, half the webhook share: fewer made a
    #: single busy server's webhooks lag its mail (each POST's log commits in small
    #: batches), and two hanging servers still leave the others' POSTs room.
    webhook_concurrency_per_server: int = Field(default=32, ge=1)
    #: At most this much of a webhook answer's body is read (only the status matters);
    #: 64 KiB keeps the connection reusable after any ordinary answer.
    webhook_max_response_bytes: int = Field(default=64 * 1024, ge=0)
    #: Whether webhook URLs may reach loopback, link-local, private, CGNAT and other
    #: non-public addresses (checked when saved and again after DNS, when connecting).
    #: None = automatic: allowed only when the API listens on a loopback address (local
    #: development posts to 127.0.0.1 receivers; a reachable install must not).
    webhook_allow_private_targets: bool | None = None
    #: Multiplies every retry schedule; tests and demos shrink it.
    retry_scale: float = 1.0
    #: Messages, events, bounces, webhook logs, reports and finished jobs older than
    #: this are deleted (Postmark's default is 45 days); 0 keeps everything.
    retention_days: float = Field(default=45, ge=0)
    #: How often the worker looks for what has passed the retention period.
    retention_interval_seconds: float = Field(default=3600, gt=0)
    smtp_api_error_labels: SmtpApiErrorLabels = SmtpApiErrorLabels.SEED

    #: Fixed tokens for the bootstrap account and Default server (CI, docker-style setups).
    account_token: str | None = None
    server_token: str | None = None

    db_pool_size: int = Field(default=10, ge=1)

    #: Live delivery: through this smarthost when set (smtp://user:pass@host:587,
    #: smtps://…:465), else directly to each recipient domain's MX hosts.
    relay_url: str | None = None
    mx_port: int = 25
    #: Resolvers for MX lookups and webhook hosts (default: the system's).
    dns_nameservers: tuple[str, ...] = ()
    dns_port: int = 53
    delivery_timeout_seconds: float = 60.0
    delivery_concurrency_per_domain: int = Field(default=5, ge=1)
    #: Direct-MX delivery to MX hosts that resolve to loopback, link-local or private
    #: addresses. Off: a recipient domain's DNS would otherwise point delivery at this
    #: machine or its internal network; an internal mail network turns it on.
    delivery_allow_private_mx: bool = False

    #: Domain of the envelope sender (VERP return path) of delivered mail; DSNs and
    #: complaints sent back to it reach the inbound bounce listener.
    bounce_domain: str = "bounces.postlane.local"
    #: The bounce domain's MX (role ``inbound``): receives those reports, relays nothing.
    inbound_host: str = "127.0.0.1"
    inbound_port: int = 2588
    #: Key that signs each recipient's VERP token. Unset: a random key made once and kept
    #: in the database, so restarts and every process of a scale-out share it. Setting
    #: (or changing) it makes tokens already sent unverifiable: their reports go unmatched.
    verp_secret: str | None = None
    #: Base URL of the API as recipients reach it: the open pixel and tracked links point
    #: at ``<public_url>/track/...``. Unset: api_url (fine on one machine, not for mail
    #: that leaves it).
    public_url: str | None = None
    #: Key that signs tracking tokens. Unset: a random key made once and kept in the
    #: database (as the VERP key). Changing it makes the links of mail already sent 404.
    tracking_secret: str | None = None
    #: Largest report the bounce MX accepts (552 5.3.4 over it, SIZE advertised). DSNs
    #: often return the whole original message, so this matches the 10 MiB submission
    #: limit: a report about any message we sent still fits.
    mx_max_report_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    #: Reports (MAIL commands) one client address may start per minute, as a token bucket
    #: per bounce-MX process (an IPv6 client counts by its /64); over it: 450 4.7.1.
    #: 60 is far above what a real MTA sends about one sender's mail; 0 turns it off.
    mx_reports_per_client_per_minute: int = Field(default=60, ge=0)
    #: Unmatched reports (bound to no recipient, or unreadable) may be anyone's junk:
    #: kept a week for the operator to read, whatever retention_days says ...
    mx_unmatched_retention_days: float = Field(default=7, gt=0)
    #: ... and at most this many bytes of them in all, the oldest deleted first by the
    #: worker's retention pass, so a flood of junk reports cannot fill the disk.
    mx_unmatched_max_bytes: int = Field(default=256 * 1024 * 1024, ge=0)

    #: Dashboard login: the account token always works; this password too, when set.
    admin_password: str | None = None
    #: Key that signs dashboard sessions; derived from the account tokens when unset.
    dashboard_secret: str | None = None
    #: Mark the dashboard's cookies Secure on every request, for TLS that ends at a proxy
    #: not listed in api_trusted_proxies. Off by default, as plain-HTTP local use needs;
    #: requests that arrive as https (or say so through a trusted proxy) get Secure anyway.
    dashboard_secure_cookie: bool = False

    @field_validator("dns_nameservers", "smtp_trusted_networks", "api_trusted_proxies",
                     mode="before")
    @classmethod
    def _split_nameservers(cls, value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        return tuple(value)

    @field_validator("api_trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        """Addresses only: uvicorn would take a typo as a name that never matches."""
        for entry in value:
            ipaddress.ip_network(entry, strict=False)
        return value

    @field_validator("roles", mode="before")
    @classmethod
    def _split_roles(cls, value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [r.strip() for r in value.split(",") if r.strip()]
        roles = tuple(value)
        unknown = set(roles) - set(ROLES)
        if unknown or not roles:
            raise ValueError(f"roles must be a non-empty subset of {', '.join(ROLES)}")
        return roles

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'postlane.db').resolve()}"

    @property
    def api_url(self) -> str:
        return f"http://{self.api_host}:{self.api_port}"

    @property
    def tracking_base_url(self) -> str:
        return (self.public_url or self.api_url).rstrip("/")

    @property
    def auth_requires_tls(self) -> bool:
        if self.smtp_auth_require_tls is not None:
            return self.smtp_auth_require_tls
        return self.smtp_host not in ("127.0.0.1", "::1", "localhost")

    @property
    def webhook_private_targets_allowed(self) -> bool:
        """webhook_allow_private_targets, or automatic: only in a process that serves the
        API on a loopback address (local development). A worker-only process has no API
        of its own to judge by, and is the one that connects: it refuses unless told."""
        if self.webhook_allow_private_targets is not None:
            return self.webhook_allow_private_targets
        return "api" in self.roles and network.is_loopback_host(self.api_host)

    @classmethod
    def from_env(cls, overrides: dict[str, Any] | None = None,
                 environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            key = f"POSTLANE_{name.upper()}"
            if env.get(key) not in (None, ""):
                values[name] = env[key]
        values.update({k: v for k, v in (overrides or {}).items() if v is not None})
        return cls(**values)
