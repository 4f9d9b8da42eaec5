"""Settings: defaults that run with zero configuration, overridable by POSTLANE_* variables
or CLI flags (flags win)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator

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

    #: 0: the worker runs in the main process; N: in N processes of its own.
    worker_processes: int = Field(default=0, ge=0, le=64)
    worker_concurrency: int = 64
    worker_poll_seconds: float = 0.25
    worker_lease_seconds: float = 120.0
    #: Deadline for one webhook POST, the whole exchange (connect, send, the answer's
    #: headers and body): a receiver that trickles bytes cannot extend it.
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    #: The share of worker_concurrency that webhook POSTs (notify jobs) may hold at once:
    #: receivers that hang cannot take the slots screen, deliver and dsn need. Half.
    webhook_worker_share: float = Field(default=0.5, gt=0, le=1)
    #: Webhook POSTs of one server that a worker runs at once: one server's hanging
    #: receivers hold at most this many slots. Eight keep a fast receiver busy.
    webhook_concurrency_per_server: int = Field(default=8, ge=1)
    #: At most this much of a webhook answer's body is read (only the status matters);
    #: 64 KiB keeps the connection reusable after any ordinary answer.
    webhook_max_response_bytes: int = Field(default=64 * 1024, ge=0)
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
    #: Resolvers for MX lookups (default: the system's).
    dns_nameservers: tuple[str, ...] = ()
    dns_port: int = 53
    delivery_timeout_seconds: float = 60.0
    delivery_concurrency_per_domain: int = Field(default=5, ge=1)

    #: Domain of the envelope sender (VERP return path) of delivered mail; DSNs and
    #: complaints sent back to it reach the inbound bounce listener.
    bounce_domain: str = "bounces.postlane.local"
    #: The bounce domain's MX (role ``inbound``): receives those reports, relays nothing.
    inbound_host: str = "127.0.0.1"
    inbound_port: int = 2588

    #: Dashboard login: the account token always works; this password too, when set.
    admin_password: str | None = None
    #: Key that signs dashboard sessions; derived from the account tokens when unset.
    dashboard_secret: str | None = None

    @field_validator("dns_nameservers", "smtp_trusted_networks", mode="before")
    @classmethod
    def _split_nameservers(cls, value: Any) -> tuple[str, ...]:
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        return tuple(value)

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
    def auth_requires_tls(self) -> bool:
        if self.smtp_auth_require_tls is not None:
            return self.smtp_auth_require_tls
        return self.smtp_host not in ("127.0.0.1", "::1", "localhost")

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
