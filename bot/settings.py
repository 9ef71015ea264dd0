"""Settings from BLKBOT_* environment variables and an optional .env file."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEMO_CATALOG = Path(__file__).resolve().parent.parent / "training" / "demo" / "catalog.toml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BLKBOT_", env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///blkbot.sqlite3"
    """SQLite file in the working directory by default; postgresql://user@host/db in production."""
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
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443

    log_level: str = "INFO"

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

    staff: str = ""
    """Staff accounts, comma-separated channel:user_id[:role], e.g. "telegram:123456789:admin,telegram:42".
    More can be added with `blkbot staff add`; the role defaults to operator."""

    def staff_roles(self) -> dict[tuple[str, str], str]:
        roles: dict[tuple[str, str], str] = {}
        for entry in filter(None, (e.strip() for e in self.staff.split(","))):
            parts = entry.split(":")
            if len(parts) not in (2, 3) or not all(parts):
                raise ValueError(f"BLKBOT_STAFF entry {entry!r}: expected channel:user_id or channel:user_id:role")
            roles[(parts[0], parts[1])] = parts[2] if len(parts) == 3 else "operator"
        return roles

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
