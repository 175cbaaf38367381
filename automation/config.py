"""Settings, read once from the environment (prefix ``AUTOMATION_``) and ``.env``.

Outside the embedded default (SQLite and the stub broker) every command needs a
``SECRET_KEY``; the long-running processes that put links in mails or serve them
(``serve``, ``worker``) also need a ``SITE_URL`` and an https ``PUBLIC_URL``
(:meth:`Settings.check_serving`).
"""

from __future__ import annotations

import functools
import os
from datetime import datetime
from email.errors import HeaderParseError
from email.headerregistry import Address
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from automation.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET = "dev-insecure-secret-for-the-embedded-default"
# The embedded default's site: a reserved domain (RFC 2606), so nobody mistakes it.
PLACEHOLDER_SITE = "https://www.example.com"


class Settings(BaseSettings):
    """Every setting of the engine; URLs choose the real parts."""

    model_config = SettingsConfigDict(env_prefix="AUTOMATION_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./automation.db"
    broker_url: str = "stub://"
    smtp_url: str = ""  # empty: the built-in sink writing .eml files to ./outbox/email
    sms_url: str = "file://./outbox/sms"
    timezone: str = "Asia/Seoul"
    secret_key: str = ""
    public_url: str = "http://127.0.0.1:8000"
    now: datetime | None = None

    templates_dir: Path = ROOT / "templates"
    business_hours_start: int = 9
    business_hours_end: int = 18

    maturity_notice_days: int = 20
    maturity_catch_up_days: int = 30

    # The scheduler (issue 4): leadership, catch-up and the jobs' thresholds.
    scheduler_catch_up_days: int = 30  # an outage longer than this is caught up this far
    scheduler_poll_seconds: float = 2.0  # a follower retries leadership this often
    daily_job_hour: int = 9  # local hour at which a day's anniversaries are due
    dormant_after_days: int = 90
    churned_after_days: int = 365
    ad_consent_valid_days: int = 730  # 정보통신망법: re-confirm advertising consent every 2 years
    ad_consent_notice_days: int = 30  # ask again this long before it lapses

    # The sender, as advertising rules require it in every advertising message.
    sender_name: str = "교보생명"
    sender_address: str = "ecrm@example.com"
    sender_phone: str = "1588-0000"
    sender_postal_address: str = "서울특별시 종로구 종로 1"
    opt_out_phone: str = "080-000-0000"  # 무료수신거부
    site_url: str = ""  # the insurer's site; empty: PLACEHOLDER_SITE, embedded default only
    # PUBLIC_URL may be http:// outside the embedded default (a test set-up behind a proxy).
    allow_http_public_url: bool = False
    reply_to: str = ""  # Reply-To, a reachable contact; empty: SENDER_ADDRESS
    unsubscribe_address: str = ""  # empty: unsubscribe@<sender's domain>
    bounce_address: str = ""  # empty: the From address
    sms_sender_number: str = ""  # 발신번호, registered in advance; empty: SENDER_PHONE
    sms_callback_url: str = ""  # empty: PUBLIC_URL/v1/sms/callback
    sms_timeout_seconds: float = 10.0
    # DKIM: mails are signed when a private key (a PEM file) is configured.
    dkim_private_key: Path | None = None
    dkim_selector: str = ""
    dkim_domain: str = ""  # empty: the domain of SENDER_ADDRESS

    # The contact policy (checked right before each send, in this order).
    night_start_hour: int = 21  # 정보통신망법: advertising at night needs its own consent
    night_end_hour: int = 8
    night_channels: str = "sms,call"  # channels the night rule applies to
    cap_email_day: int = 2
    cap_email_week: int = 5
    cap_sms_day: int = 1
    cap_sms_week: int = 3
    cap_call_day: int = 1
    cap_call_week: int = 2
    cap_total_day: int = 3
    cap_total_week: int = 8
    cap_journey_week: int = 4  # messages one journey may send one customer in 7 days
    delivery_max_attempts: int = 5  # transient failures before a message fails for good
    delivery_retry_seconds: int = 60  # first retry; doubles each time
    sending_grace_seconds: int = 600  # a message 'sending' this long: its worker died
    # A sender-side SMTP failure (credentials, relay, policy) pauses e-mail this long, unless
    # an operator resumes it first (`automation messages resume email`).
    channel_pause_seconds: int = Field(default=1800, ge=1)

    # Value tiers (issue 18), from the customer's active policies: VIP when any rule holds.
    vip_min_policies: int = Field(default=3, ge=1)  # this many active policies
    vip_min_annual_premium: int = Field(default=3_000_000, ge=0)  # or this much a year (KRW)
    vip_min_tenure_years: int = Field(default=10, ge=0)  # or this long a policyholder …
    vip_tenure_min_policies: int = Field(default=2, ge=1)  # … with at least this many
    # Inbound service (issue 18): a complaint pauses advertising to the customer this long;
    # service tasks are due this many business hours after the request.
    complaint_pause_days: int = Field(default=30, ge=0)
    service_due_business_hours: int = Field(default=4, ge=1)
    consultation_due_minutes: int = Field(default=30, ge=1)
    consent_link_valid_days: int = Field(default=60, ge=1)  # the re-confirmation page's link

    preference_half_life_days: float = 30  # preferences and prospect points fade
    attribution_window_days: int = 30  # engagement this recent gets a purchase's credit

    ingest_batch_max: int = 1000
    # Bulk entry writes this many pages at once on PostgreSQL: the server's per-row work
    # (indexes, foreign keys) takes a core per connection.
    bulk_connections: int = Field(default=2, ge=1, le=16)
    # The garbage collector's first-generation threshold in worker processes (see
    # worker/gc.py); 0 leaves Python's default (700).
    worker_gc_threshold: int = Field(default=7000, ge=0)
    relay_grace_seconds: int = 60
    max_event_attempts: int = 5
    session_gap_minutes: int = 30
    api_key_cache_seconds: int = 30
    # The API's edges: a request body over this is refused (413) while it is read; a
    # 1,000-event batch of ordinary events is well under 1 MB.
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    # Wrong API keys one client address may present per minute (and at once) before it is
    # answered 429 without a look-up.
    auth_failures_per_minute: int = Field(default=30, ge=1)

    @field_validator("now")
    @classmethod
    def _now_has_zone(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("AUTOMATION_NOW needs a time zone offset, e.g. 2026-11-22T09:00+09:00")
        return value

    @field_validator("public_url", "site_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        parts = urlsplit(value)
        if value and (parts.scheme not in ("http", "https") or not parts.hostname):
            raise ValueError(
                f"must be an http(s):// address such as https://www.example.com, not {value!r}"
            )
        return value.rstrip("/")

    @field_validator("reply_to", "sender_address")
    @classmethod
    def _mail_address(cls, value: str) -> str:
        try:
            address = Address(addr_spec=value.strip()) if value.strip() else None
        except (ValueError, IndexError, HeaderParseError):
            address = None
        if value.strip() and (
            address is None
            or not address.username
            or not address.domain
            or not address.addr_spec.isascii()
        ):
            raise ValueError(f"must be an e-mail address such as help@example.com, not {value!r}")
        return value.strip()

    @field_validator("dkim_private_key", mode="before")
    @classmethod
    def _empty_is_no_key(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _dkim_complete(self) -> Settings:
        key, selector = self.dkim_private_key, self.dkim_selector
        if key is None and not selector and not self.dkim_domain:
            return self
        if key is None or not selector:
            raise ValueError(
                "DKIM needs both AUTOMATION_DKIM_PRIVATE_KEY (a PEM file) and "
                "AUTOMATION_DKIM_SELECTOR"
            )
        if not key.is_file() or not os.access(key, os.R_OK):
            raise ValueError(f"AUTOMATION_DKIM_PRIVATE_KEY: {key} is not a readable file")
        return self

    @model_validator(mode="after")
    def _secret_outside_embedded(self) -> Settings:
        if not self.secret_key:
            if not self.is_embedded:
                raise ValueError(
                    "AUTOMATION_SECRET_KEY is required outside the embedded default "
                    "(it signs tracking links)"
                )
            self.secret_key = DEV_SECRET
        return self

    @property
    def is_embedded(self) -> bool:
        """True on the embedded default: SQLite and the stub broker."""
        return self.database_url.startswith("sqlite") and self.broker_url.startswith("stub")

    @property
    def site(self) -> str:
        """The site the templates link to: ``SITE_URL``, else the placeholder."""
        return self.site_url or PLACEHOLDER_SITE

    def check_serving(self) -> None:
        """Refuse to start a process that puts links in mails or serves them (``serve``,
        ``worker``) outside the embedded default without a ``SITE_URL``, or with an
        http ``PUBLIC_URL`` (RFC 8058: a one-click unsubscribe URI is https).

        Raises:
            ConfigError: one line saying which setting to change.
        """
        if self.is_embedded:
            return
        if not self.site_url:
            raise ConfigError(
                "AUTOMATION_SITE_URL is required outside the embedded default (the "
                "insurer's site the mails link to; PUBLIC_URL is this engine's address)"
            )
        if urlsplit(self.public_url).scheme == "http" and not self.allow_http_public_url:
            raise ConfigError(
                f"AUTOMATION_PUBLIC_URL must be https:// outside the embedded default, not "
                f"{self.public_url} (one-click unsubscribe links); for a test set-up behind "
                "a proxy set AUTOMATION_ALLOW_HTTP_PUBLIC_URL=true"
            )

    @property
    def email_outbox(self) -> Path:
        return Path("outbox/email")


@functools.cache
def get_settings() -> Settings:
    """The settings of this process, read once."""
    try:
        return Settings()
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise ConfigError(_first_error(exc)) from None


def reset_settings() -> None:
    """Forget the cached settings (tests and CLI options that change the environment)."""
    get_settings.cache_clear()


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        msg = str(first.get("msg", exc)).removeprefix("Value error, ")
        return f"setting {where.upper() or ''}: {msg}".replace("setting : ", "settings: ")
    return str(exc)
