"""One settings object, read from the environment (prefix ``WHISTLE_``).

Outside development mode the settings refuse an empty or default signing secret, so a
production deployment cannot start with a token key that is printed in this file.
"""

from __future__ import annotations

from functools import lru_cache
from ipaddress import ip_network
from pathlib import Path
from typing import Literal

from cryptography.fernet import Fernet
from pydantic import Field, IPvAnyNetwork, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Where webhooks may not be sent (see app.webhooks.targets).
DEFAULT_BLOCKED_NETWORKS: tuple[str, ...] = (
    "127.0.0.0/8", "::1/128",  # loopback
    "0.0.0.0/8", "::/128",  # "this host"
    "169.254.0.0/16", "fe80::/10",  # link-local, with most clouds' metadata service
    "100.100.100.200/32",  # Alibaba Cloud's metadata service
    "224.0.0.0/4", "ff00::/8",  # multicast
)

DEV_SECRET = "dev-only-insecure-secret-change-me-0123456789"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WHISTLE_", env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./whistle.db"
    sql_echo: bool = False
    # Check each pooled PostgreSQL connection with a round trip before every use. Off: that
    # round trip is a quarter of a claim's cost; a connection lost to a database restart is
    # discarded (with the whole pool) on first use instead, and that request gets 503.
    database_pre_ping: bool = False
    # PostgreSQL connections each process keeps open, and how many more it may open for a
    # burst. A connection beyond the pool is closed when it is returned, so a process that
    # sustains more concurrent requests than its pool opens a connection per request: size
    # the pool for the load. processes × (pool + overflow) must fit the server's
    # max_connections.
    database_pool_size: int = Field(20, ge=1)
    database_max_overflow: int = Field(20, ge=0)

    # Tokens (JWT access tokens signed with HS256; refresh tokens are opaque and stored hashed).
    secret_key: str = DEV_SECRET
    access_token_minutes: int = Field(15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(14, ge=1, le=365)
    # However often its refresh tokens rotate, a login ends this long after the password
    # was given: a stolen refresh token kept fresh cannot keep a session alive for ever.
    login_max_days: int = Field(90, ge=1, le=3650)

    # Failed-login throttling: this many failures inside the window locks the account or
    # client address until the window has passed.
    login_max_failures: int = Field(5, ge=1)
    login_window_seconds: int = Field(900, ge=1)

    # Attachments (photos from grid workers' phones).
    attachment_dir: Path = Path("var/attachments")
    attachment_max_bytes: int = Field(10 * 1024 * 1024, ge=1024)

    # How long an API process trusts its cached matrix version / jurisdiction tree before
    # checking the database for a newer one (imports in the same process refresh at once).
    cache_check_seconds: float = Field(5.0, ge=0)

    # Workflow.
    reopen_days: int = Field(7, ge=0)

    # SLA.
    timezone: str = "Asia/Shanghai"
    warning_share: float = Field(0.8, gt=0, lt=1)
    whistle_report_in_minutes: int = Field(30, ge=1)
    sweep_interval_seconds: float = Field(30.0, gt=0)

    # Webhooks: networks no subscription may target (SSRF; see app.webhooks.targets), a JSON
    # list of CIDRs. Private ranges are allowed by default (departments' systems are on
    # intranets); add them where no department's system is.
    webhook_blocked_networks: list[IPvAnyNetwork] = Field(
        default_factory=lambda: [ip_network(n) for n in DEFAULT_BLOCKED_NETWORKS])
    # Fernet keys sealing webhook secrets at rest (app.webhooks.sealing), a JSON list: the
    # first seals, all open. Empty: one key derived from secret_key.
    webhook_sealing_keys: list[SecretStr] = Field(default_factory=list)

    # Operations (app.observability). Log lines: "json" (one object a line) or "console";
    # unset, JSON in production and console lines elsewhere.
    log_format: Literal["json", "console"] | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Who may read /metrics: these networks, or anyone sending the token as a bearer.
    metrics_allowed_networks: list[IPvAnyNetwork] = Field(
        default_factory=lambda: [ip_network("127.0.0.0/8"), ip_network("::1/128")])
    metrics_token: SecretStr | None = None
    # How long a process reuses the figures it read from the database for /metrics.
    metrics_cache_seconds: float = Field(5.0, ge=0)
    # A worker heartbeat older than this is stale (metrics, admins' /readyz).
    worker_stale_seconds: float = Field(300.0, gt=0)
    # On SIGTERM live streams are told `closed` at once; requests still running get this
    # long to finish before they are cancelled.
    shutdown_grace_seconds: float = Field(5.0, ge=0)
    # `whistle worker` serves its own metrics (pass durations, delivery failures) here.
    worker_metrics_port: int | None = Field(None, ge=1, le=65535)
    worker_metrics_host: str = "127.0.0.1"

    @property
    def log_renderer(self) -> str:
        return self.log_format or ("json" if self.env == "production" else "console")

    @field_validator("webhook_sealing_keys")
    @classmethod
    def _fernet_keys(cls, keys: list[SecretStr]) -> list[SecretStr]:
        for key in keys:
            try:
                Fernet(key.get_secret_value())
            except ValueError as exc:
                raise ValueError("each key must be 32 bytes in urlsafe base64, as "
                                 f"Fernet.generate_key() makes: {exc}") from exc
        return keys

    @model_validator(mode="after")
    def _refuse_unsafe_production_defaults(self) -> Settings:
        weak = not self.secret_key or self.secret_key == DEV_SECRET or len(self.secret_key) < 32
        if self.env == "production" and weak:
            raise ValueError(
                "WHISTLE_SECRET_KEY must be set to a random value of at least 32 characters "
                "outside development mode"
            )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
