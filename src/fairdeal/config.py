"""Typed settings from FAIRDEAL_* environment variables, validated at start-up."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FAIRDEAL_", extra="ignore")

    database_url: str = "sqlite:///fairdeal.db"
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
    host: str = "127.0.0.1"
    port: int = 8000
    # Signs the web pages' session cookies and CSRF tokens. Required outside sandbox mode;
    # in sandbox mode a random key per process is used when it is unset.
    secret_key: str | None = None
    session_hours: int = Field(default=12, ge=1, le=24 * 30)
