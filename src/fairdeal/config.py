"""Typed settings from FAIRDEAL_* environment variables, validated at start-up."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FAIRDEAL_", extra="ignore")

    database_url: str = "sqlite:///fairdeal.db"
    # PostgreSQL connections each process keeps open (and may open as many again under load,
    # closing those when they come back): about the requests a process serves at once.
    database_pool_size: int = Field(default=10, ge=1, le=500)
    policy: str = "standard"
    sandbox: bool = False
    platform_token: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "Fairdeal <disputes@localhost>"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    webhook_allow_private: bool | None = None
    # Where the web pages are, for the links in emails.
    public_url: str = "http://127.0.0.1:8000"
    smtp_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_timeout_seconds: float = Field(default=5.0, gt=0)
    # A sending worker holds the deliveries it claimed this long; one that died meanwhile
    # leaves them to the next worker after it.
    delivery_lease_seconds: float = Field(default=300.0, gt=0)
    delivery_batch_size: int = Field(default=50, ge=1, le=1000)
    storage_dir: str = "var/files"
    worker_poll_seconds: float = Field(default=1.0, gt=0)
    worker_batch_size: int = Field(default=200, ge=1, le=5000)
    # Writes (POST/PATCH/DELETE) per API token per minute, per API process; 0 turns it off.
    rate_limit_writes_per_minute: int = Field(default=120, ge=0)
    # A request with an Idempotency-Key that has not answered after this long is taken to
    # have died (its transaction never committed): a retry with the same key runs it afresh.
    idempotency_stale_seconds: float = Field(default=300.0, gt=0)
    # Who moves the money (docs/payments.md): sandbox (simulated; the default in sandbox
    # mode), marketplace (the marketplace moves it and reports back; the default otherwise),
    # stripe (refunds through Stripe; payouts through the marketplace).
    payments: Literal["sandbox", "marketplace", "stripe"] | None = None
    # A worker submitting a payment holds it this long; one that died meanwhile leaves it to
    # the next worker after it, which looks it up at the provider before submitting again.
    payment_lease_seconds: float = Field(default=30.0, gt=0)
    # How often a payment the provider accepted but has not confirmed is looked up again.
    payment_poll_seconds: float = Field(default=60.0, gt=0)
    # The sandbox provider answers this long after it recorded a payment (crash tests).
    sandbox_payment_latency_seconds: float = Field(default=0.0, ge=0)
    stripe_api_key: str | None = None
    stripe_api_base: str | None = None
    stripe_webhook_secret: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    # Signs the web pages' session cookies and CSRF tokens. Required outside sandbox mode;
    # in sandbox mode a random key per process is used when it is unset.
    secret_key: str | None = None
    session_hours: int = Field(default=12, ge=1, le=24 * 30)

    # Abuse limits per user and per client IP, per minute, counted in each API process (token
    # buckets: a burst of the whole allowance, refilled evenly). Unset, each is a share of
    # rate_limit_writes_per_minute (see ``action_limits``), so 0 there turns them all off;
    # set one to 0 to turn only it off. Login is limited per account (the email typed) and
    # per IP.
    rate_limit_login_per_minute: int | None = Field(default=None, ge=0)
    rate_limit_login_per_ip_per_minute: int | None = Field(default=None, ge=0)
    rate_limit_disputes_per_minute: int | None = Field(default=None, ge=0)
    rate_limit_disputes_per_ip_per_minute: int | None = Field(default=None, ge=0)
    rate_limit_messages_per_minute: int | None = Field(default=None, ge=0)
    rate_limit_messages_per_ip_per_minute: int | None = Field(default=None, ge=0)
    rate_limit_uploads_per_minute: int | None = Field(default=None, ge=0)
    rate_limit_uploads_per_ip_per_minute: int | None = Field(default=None, ge=0)
    # Login lockout: after this many wrong passwords in a row for one email, sign-in is
    # refused for login_lockout_seconds, doubled for every further failure, at most
    # login_lockout_max_seconds. Stored in the database (shared by every process).
    login_lockout_after: int = Field(default=5, ge=1)
    login_lockout_seconds: int = Field(default=60, ge=1)
    login_lockout_max_seconds: int = Field(default=3600, ge=1)

    # --- operations and scale-out (docs/deployment.md) ---
    # The worker serves Prometheus metrics on this port (unset: none).
    worker_metrics_port: int | None = Field(default=None, ge=0, le=65535)
    worker_metrics_host: str = "127.0.0.1"
    # Gauges read from the database (/metrics and the worker's) are refreshed in the
    # background at most this often; a scrape never waits for SQL once they exist.
    metrics_refresh_seconds: float = Field(default=15.0, ge=0)
    # Rate limits shared by every API process through Redis (redis://host:port/db); unset,
    # each process counts its own.
    redis_url: str | None = None
    redis_prefix: str = "fairdeal"
    # Evidence files: a directory (storage_dir, the default) or s3://bucket/prefix.
    storage_url: str | None = None
    s3_endpoint_url: str | None = None
    s3_region: str | None = None
    # A PostgreSQL streaming replica for list and read endpoints (docs/deployment.md).
    database_replica_url: str | None = None
    # After a write, the caller's reads go to the primary for this long (read-your-writes).
    replica_stickiness_seconds: float = Field(default=5.0, ge=0)
    # A replica further behind than this is not read from.
    replica_max_lag_seconds: float = Field(default=2.0, ge=0)

    @property
    def payments_mode(self) -> str:
        """FAIRDEAL_PAYMENTS, or its default: sandbox in sandbox mode, else marketplace."""
        return self.payments or ("sandbox" if self.sandbox else "marketplace")

    def action_limits(self) -> dict[str, tuple[int, int]]:
        """Per action: (allowed per user a minute, allowed per IP a minute); 0 is no limit.
        The defaults, as shares of rate_limit_writes_per_minute (120): login 10 per account
        and 60 per IP; disputes 30 and 300; messages and uploads 120 and 1200."""
        writes = self.rate_limit_writes_per_minute
        shares = {
            "login": (12, 2),
            "disputes": (4, 0.4),
            "messages": (1, 0.1),
            "uploads": (1, 0.1),
        }
        limits: dict[str, tuple[int, int]] = {}
        for action, (user_share, ip_share) in shares.items():
            user = getattr(self, f"rate_limit_{action}_per_minute")
            ip = getattr(self, f"rate_limit_{action}_per_ip_per_minute")
            limits[action] = (
                max(1, round(writes / user_share)) if user is None and writes else user or 0,
                max(1, round(writes / ip_share)) if ip is None and writes else ip or 0,
            )
        return limits

    def check_secrets(self) -> None:
        """Refuse to serve outside sandbox mode with a missing, short or well-known secret:
        anyone who knows FAIRDEAL_SECRET_KEY forges web sessions, and the platform token is
        the marketplace's master key. Raises InsecureSettings naming each problem."""
        if self.sandbox:
            return
        problems = []
        key = self.secret_key
        if key is None:
            problems.append(
                "FAIRDEAL_SECRET_KEY is not set: the web pages sign sessions with it. Set it to"
                f" a random string of at least {MIN_SECRET_LENGTH} characters, e.g. the output"
                " of `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        elif len(key) < MIN_SECRET_LENGTH:
            problems.append(f"FAIRDEAL_SECRET_KEY must be at least {MIN_SECRET_LENGTH} characters")
        elif _well_known(key):
            problems.append("FAIRDEAL_SECRET_KEY is a well-known example value; use a random one")
        token = self.platform_token
        if token is not None:
            if len(token) < MIN_SECRET_LENGTH:
                problems.append(
                    f"FAIRDEAL_PLATFORM_TOKEN must be at least {MIN_SECRET_LENGTH} characters"
                )
            elif _well_known(token):
                problems.append(
                    "FAIRDEAL_PLATFORM_TOKEN is a well-known example value; use a random one"
                )
        if problems:
            raise InsecureSettings("; ".join(problems))


MIN_SECRET_LENGTH = 32


class InsecureSettings(RuntimeError):
    """The settings would serve with a guessable secret (outside sandbox mode)."""


# Values that appear in docs and examples: never secrets.
WELL_KNOWN_SECRETS = frozenset(
    {
        "changeme",
        "change-me",
        "secret",
        "password",
        "fairdeal",
        "...",
        "fd_e2e_platform_token_0123456789abcdef",
    }
)


def _well_known(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in WELL_KNOWN_SECRETS or len(set(lowered)) <= 2:
        return True
    # An example value padded to length: "changeme" repeated, "secretsecret..."
    return any(lowered.replace(word, "") == "" for word in ("changeme", "secret", "password", "x"))
