"""One settings object, read from the environment (prefix ``WHISTLE_``).

Outside development mode the settings refuse an empty or default signing secret, so a
production deployment cannot start with a token key that is printed in this file.
"""

from __future__ import annotations

import os
import secrets
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

# The value that means "not set": outside the test suite it is never used to sign (a
# development server makes its own secret, see ``local_secret``; production refuses it).
DEV_SECRET = "dev-only-insecure-secret-change-me-0123456789"


def local_secret(path: Path) -> str:
    """The random secret kept in ``path``, made on first use. Written to a temporary file
    and linked into place, so processes starting together agree on one secret."""
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(secrets.token_urlsafe(48) + "\n")
    try:
        os.link(tmp, path)  # fails if another process got there first: use theirs
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return path.read_text(encoding="ascii").strip()


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
    # Seconds to wait for a PostgreSQL connection to open (a server that accepts and never
    # answers); the request then answers 503 instead of hanging for asyncpg's minute.
    database_connect_timeout: float = Field(10.0, gt=0)

    # Tokens (JWT access tokens signed with HS256; refresh tokens are opaque and stored hashed).
    secret_key: str = DEV_SECRET
    # Development mode without WHISTLE_SECRET_KEY: a random secret is made on first start and
    # kept here, so tokens survive restarts and nobody can forge them with a published key.
    secret_key_file: Path = Path("var/secret_key")
    access_token_minutes: int = Field(15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(14, ge=1, le=365)
    # However often its refresh tokens rotate, a login ends this long after the password
    # was given: a stolen refresh token kept fresh cannot keep a session alive for ever.
    login_max_days: int = Field(90, ge=1, le=3650)

    # Failed-login throttling: this many failures inside the window locks the account or
    # client address until the window has passed.
    login_max_failures: int = Field(5, ge=1)
    login_window_seconds: int = Field(900, ge=1)
    # Failures against one account from all addresses together before it answers 429 to
    # everyone (guessing spread over many addresses). Per address there is no limit of its
    # own: an office behind one NAT address must not lock itself out (README, "Proxies").
    login_max_account_failures: int = Field(20, ge=1)
    # How long a process trusts its set of ended sessions (deactivated users, revoked
    # refresh-token families) before reloading it: the lag with which another process's
    # deactivation or logout stops an access token (this process's own take effect at once).
    session_check_seconds: float = Field(5.0, ge=0)

    # Behind a reverse proxy: take the client's address from X-Forwarded-For (and the scheme
    # from X-Forwarded-Proto) when the connection comes from one of these addresses
    # (comma-separated IPs or CIDRs, "*" for any). ``whistle serve`` passes them to uvicorn.
    proxy_headers: bool = True
    forwarded_allow_ips: str = "127.0.0.1"

    # Retention (``whistle prune`` and the worker, every prune_interval_seconds).
    retain_delivered_outbox_days: int = Field(7, ge=1)
    retain_delivery_log_days: int = Field(30, ge=1)
    retain_expired_tokens_days: int = Field(7, ge=1)
    retain_login_failures_days: int = Field(7, ge=1)
    retain_read_notifications_days: int = Field(90, ge=1)  # inbox entries read this long ago
    retain_notifications_days: int = Field(365, ge=1)  # any inbox entry this old
    # A photo uploaded and never attached: a phone's unsent post retries for days, not weeks.
    retain_unused_uploads_days: int = Field(7, ge=1)
    prune_interval_seconds: float = Field(3600.0, gt=0)

    # Attachments (photos from grid workers' phones).
    attachment_dir: Path = Path("var/attachments")
    attachment_max_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    # Pixels an uploaded image may have (width × height): a small file can claim a huge
    # image (a decompression bomb); 64 million is beyond any phone's photo.
    attachment_max_pixels: int = Field(64_000_000, ge=1)
    # How long a signed link to a photo (Open311's media_url) stays valid, rounded up to
    # the next midnight UTC.
    media_link_days: int = Field(7, ge=1, le=365)

    # How long an API process trusts its cached matrix version / jurisdiction tree before
    # checking the database for a newer one (imports in the same process refresh at once).
    cache_check_seconds: float = Field(5.0, ge=0)
    # A post without an item is routed by its top suggestion only at or above this score;
    # chosen on the evaluation's tune split (bench/RESULTS.md).
    suggest_confidence: float = Field(0.4, gt=0, le=1)
    # ``whistle suggest-train`` learns from this many of the newest closed tickets (and
    # every correction): the fit's time and memory grow with it, the model's gain flattens.
    suggest_training_tickets: int = Field(50_000, ge=0)

    # Workflow.
    reopen_days: int = Field(7, ge=0)
    # Possible duplicates (疑似重复): open tickets of the same item this close in place and
    # in posting time (app.duplicates).
    duplicate_radius_m: float = Field(100.0, gt=0, le=5000)
    duplicate_days: int = Field(7, ge=1, le=365)

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
    # The web app's base map: a tile URL template (e.g. an internal or 天地图 server,
    # `https://t{s}.example/{z}/{x}/{y}.png`). None: the grid polygons alone, fully offline.
    map_tile_url: str | None = None

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, url: str) -> str:
        """``postgres://`` and ``postgresql://`` (what hosting panels and libpq hand out) and
        plain ``sqlite://`` mean the async drivers this service runs on."""
        for plain, driver in (("postgres://", "postgresql+asyncpg://"),
                              ("postgresql://", "postgresql+asyncpg://"),
                              ("sqlite://", "sqlite+aiosqlite://")):
            if url.startswith(plain):
                return driver + url.removeprefix(plain)
        return url
    # Notifications: the web app's address for links in messages, and how long new-ticket
    # reminders of one queue are gathered into one message.
    public_url: str = "http://127.0.0.1:8000"
    notification_aggregate_seconds: int = Field(300, ge=10, le=3600)

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
        if self.env == "development" and self.secret_key == DEV_SECRET:
            self.secret_key = local_secret(self.secret_key_file)
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
