"""Settings from BLKBOT_* environment variables and an optional .env file."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from handlers.whatsapp.graph import DEFAULT_BASE_URL
from storage.errors import BlkbotError

WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
"""What Telegram accepts as a webhook's secret_token."""


class SettingsError(BlkbotError):
    """The settings cannot work together; the message names the variable to set and how."""


DEMO_CATALOG = Path(__file__).resolve().parent.parent / "training" / "demo" / "catalog.toml"


def data_folder(environ: Mapping[str, str] = os.environ) -> Path:
    """Where blkbot keeps its files by default: $XDG_DATA_HOME/blkbot, else ~/.local/share/blkbot."""
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "blkbot"


def default_database_url() -> str:
    folder = data_folder()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{folder / 'blkbot.sqlite3'}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BLKBOT_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )  # a mistyped token or secret is not echoed back; the validators name safe values themselves

    database_url: str = Field(default_factory=lambda: default_database_url())
    """A SQLite file in the user's data folder by default (the same whatever folder a command runs
    from, so `blkbot stats` elsewhere never opens a new empty file); postgresql://user@host/db in production."""
    files_dir: Path = Field(default_factory=lambda: data_folder() / "documents")
    """Where the documents residents send are kept (a folder next to the default database)."""
    timezone: str = "Asia/Jakarta"
    """The office's time zone (Asia/Jakarta = WIB, Asia/Makassar = WITA). When not set, the catalog
    city's time zone wins over this default (see bot.runtime.office_timezone)."""
    catalog: Path = DEMO_CATALOG
    """Loaded into an empty database at start-up; later changes go through `blkbot catalog load`."""
    language: str = "id"

    telegram_token: SecretStr | None = None
    telegram_base_url: str | None = None
    """Another Bot API server, e.g. a self-hosted one: http://host:8081/bot"""
    telegram_webhook_url: str | None = None
    """Public HTTPS URL; when set, `blkbot run` takes updates by webhook instead of long polling."""
    telegram_webhook_secret: SecretStr | None = None
    """Telegram sends it with every webhook call; a call without it is refused. Required in webhook mode."""
    webhook_listen: str = "127.0.0.1"
    """Loopback: a reverse proxy in front terminates TLS and passes /telegram on."""
    webhook_port: int = 8443

    log_level: str = "INFO"
    log_message_texts: bool = False
    """Let what residents type and what the bot sends reach the logs (PTB's and SQLAlchemy's debug
    lines). For debugging on a test bot only: the texts hold names, NIKs, addresses and phones."""

    telegram_rate: float = 30.0
    """Messages per second the bot may send in all (Telegram's limit is about 30), whatever the number
    of processes sending for it: those on one database share it (outreach.budget_shares)."""
    bulk_share: float = 0.8
    """Share of that rate pushed messages may use; the rest is kept for conversation replies."""
    per_chat_interval: float = 1.0
    """Seconds between two pushed messages to one chat."""
    workers: int = 1
    """1: at most one `blkbot run` and one `blkbot deliver` per host, so a restarted one takes back its
    outbox claims at once under the same name; more when several of one kind run on one host. It does
    not divide the rate: the processes share it through the database."""

    whatsapp_token: SecretStr | None = None
    """A permanent (system user) access token of the Meta app; WhatsApp is on when it and the phone number id are set."""
    whatsapp_phone_number_id: str | None = None
    """The Cloud API's id of the business number (not the number itself): Meta's WhatsApp > API Setup page."""
    whatsapp_app_secret: SecretStr | None = None
    """The Meta app's secret: every webhook call is checked against it (X-Hub-Signature-256)."""
    whatsapp_verify_token: SecretStr | None = None
    """Any string of yours, given to Meta with the webhook URL; Meta's subscription handshake echoes it."""
    whatsapp_base_url: str = DEFAULT_BASE_URL
    """The Graph API's address and version in one; another one (a proxy, a test server) stands in for Meta."""
    whatsapp_number: str | None = None
    """The business number people write to, digits in international form (62812...): for wa.me links."""
    whatsapp_rate: float = Field(default=80.0, gt=0, le=1000)
    """Messages per second the number may send (Meta's default throughput is 80; at most 1,000)."""
    whatsapp_per_chat_interval: float = 6.0
    """Seconds between two pushed messages to one person (Meta counts about one every 6 s as fair)."""
    whatsapp_template_application: str | None = None
    """The approved UTILITY template for results, reminders and other news of one's own application,
    sent outside the 24-hour window; without it such rows are held as needs_template."""
    whatsapp_template_announcement: str | None = None
    """The approved MARKETING template for broadcasts and vacancies outside the 24-hour window."""

    abandoned_after_days: int = 30
    """A registration left unfinished this long loses its answers (name, NIK ...): see bot.scheduler."""

    tracer_months: str = "1,3,6"
    """Months after completing a training when graduates are asked what they do (training.outcomes)."""
    tracer_reminder_days: int = Field(default=7, ge=1, le=60)
    """Days after the tracer question before its one reminder."""

    staff: str = ""
    """Staff accounts, comma-separated channel:user_id[:role], e.g. "telegram:123456789:admin,telegram:42".
    More can be added with `blkbot staff add`; the role defaults to operator."""

    def staff_roles(self) -> dict[tuple[str, str], str]:
        return parse_staff(self.staff)

    @field_validator("staff")
    @classmethod
    def _valid_staff(cls, value: str) -> str:
        """A wrong entry is named when blkbot starts, not as a traceback when a staff member first writes."""
        parse_staff(value)
        return value

    @property
    def whatsapp_on(self) -> bool:
        return self.whatsapp_token is not None and bool(self.whatsapp_phone_number_id)

    def whatsapp_webhook_secrets(self) -> tuple[str, str]:
        """The app secret and verify token, without which the WhatsApp webhook is refused: a
        webhook that cannot check signatures would take forged messages from anyone."""
        missing = [
            name
            for name, value in (
                ("BLKBOT_WHATSAPP_APP_SECRET", self.whatsapp_app_secret),
                ("BLKBOT_WHATSAPP_VERIFY_TOKEN", self.whatsapp_verify_token),
            )
            if value is None or not value.get_secret_value()
        ]
        if missing or self.whatsapp_app_secret is None or self.whatsapp_verify_token is None:
            raise SettingsError(
                f"WhatsApp is configured (BLKBOT_WHATSAPP_TOKEN, BLKBOT_WHATSAPP_PHONE_NUMBER_ID) but "
                f"{' and '.join(missing)} {'is' if len(missing) == 1 else 'are'} not set: without them the webhook "
                "cannot check that a call comes from Meta. The app secret is on the Meta app's Settings > Basic "
                "page; the verify token is any string you also give Meta with the webhook URL (see README: WhatsApp)."
            )
        return self.whatsapp_app_secret.get_secret_value(), self.whatsapp_verify_token.get_secret_value()

    def whatsapp_templates(self) -> dict[str, str]:
        """The approved template's name for each kind of pushed message that has one."""
        from storage.models import MessageKind

        names = {
            MessageKind.APPLICATION.value: self.whatsapp_template_application,
            MessageKind.ANNOUNCEMENT.value: self.whatsapp_template_announcement,
        }
        return {kind: name.strip() for kind, name in names.items() if name and name.strip()}

    def webhook_secret(self) -> str:
        """The secret for webhook mode, which is refused without one: whoever finds the URL could
        otherwise post forged updates, a staff member's broadcast among them."""
        if self.telegram_webhook_secret is None:
            raise SettingsError(
                "BLKBOT_TELEGRAM_WEBHOOK_URL is set but BLKBOT_TELEGRAM_WEBHOOK_SECRET is not: without it anyone "
                "who finds the URL can post forged updates. Set it to 1-256 characters of A-Z a-z 0-9 _ -, e.g. "
                'the output of: python -c "import secrets; print(secrets.token_urlsafe(32))"'
            )
        return self.telegram_webhook_secret.get_secret_value()

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _telegram_accepts_secret(cls, value: SecretStr | None) -> SecretStr | None:
        """Refuse at start-up a secret that Telegram's setWebhook would refuse later."""
        if value is not None and not WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError(
                "BLKBOT_TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z a-z 0-9 _ - (Telegram refuses "
                'others); make one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'
            )
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"BLKBOT_TIMEZONE has value {value!r}; not a known time zone such as Asia/Jakarta"
            ) from None
        return value

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        if value not in ("id", "en"):
            raise ValueError(f"BLKBOT_LANGUAGE has value {value!r}; expected 'id' or 'en'")
        return value


def parse_staff(listing: str) -> dict[tuple[str, str], str]:
    """BLKBOT_STAFF's accounts by (channel, user id); ValueError names the first wrong entry."""
    from storage.models import StaffRole

    roles: dict[tuple[str, str], str] = {}
    for entry in filter(None, (e.strip() for e in listing.split(","))):
        parts = entry.split(":")
        if len(parts) not in (2, 3) or not all(parts):
            raise ValueError(f"BLKBOT_STAFF entry {entry!r}: expected channel:user_id or channel:user_id:role")
        role = parts[2] if len(parts) == 3 else StaffRole.OPERATOR
        if role == StaffRole.VENUE:
            raise ValueError(f"BLKBOT_STAFF entry {entry!r}: add venue staff with `blkbot staff add --venue`")
        if role not in set(StaffRole):
            raise ValueError(f"BLKBOT_STAFF entry {entry!r}: unknown role {role!r}; roles: admin, operator")
        roles[(parts[0], parts[1])] = role
    return roles
