"""`blkbot run` refuses webhook mode that anyone could post forged updates to, on Telegram and WhatsApp,
and refuses to run with no channel at all."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main

TOKEN = "123456789:" + "A" * 35


@pytest.fixture
def webhook_env(cli_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLKBOT_TELEGRAM_TOKEN", TOKEN)
    monkeypatch.setenv("BLKBOT_TELEGRAM_BASE_URL", "http://127.0.0.1:9/bot")  # never reached
    monkeypatch.setenv("BLKBOT_TELEGRAM_WEBHOOK_URL", "https://bot.example.org/telegram")
    monkeypatch.delenv("BLKBOT_TELEGRAM_WEBHOOK_SECRET", raising=False)


def test_run_with_webhook_url_and_no_secret_refuses_to_start(
    webhook_env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run"]) == 1

    err = capsys.readouterr().err
    assert "BLKBOT_TELEGRAM_WEBHOOK_SECRET is not" in err
    assert "secrets.token_urlsafe(32)" in err
    assert not (tmp_path / "cli.sqlite3").exists()  # stopped before touching the database


@pytest.mark.parametrize("secret", ["has space", "ümlaut", "x" * 257, "semi;colon"])
def test_secret_telegram_would_refuse_is_refused_without_echoing_it(
    webhook_env: None, secret: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BLKBOT_TELEGRAM_WEBHOOK_SECRET", secret)

    assert main(["run"]) == 2

    err = capsys.readouterr().err
    assert "BLKBOT_TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z a-z 0-9 _ -" in err
    assert secret not in err


@pytest.fixture
def whatsapp_env(cli_db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TELEGRAM_TOKEN", "WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN"):
        monkeypatch.delenv(f"BLKBOT_{name}", raising=False)
    monkeypatch.setenv("BLKBOT_WHATSAPP_TOKEN", "wa-token")
    monkeypatch.setenv("BLKBOT_WHATSAPP_PHONE_NUMBER_ID", "106540352242922")
    monkeypatch.setenv("BLKBOT_WHATSAPP_BASE_URL", "http://127.0.0.1:9/v21.0")  # never reached


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({}, "BLKBOT_WHATSAPP_APP_SECRET and BLKBOT_WHATSAPP_VERIFY_TOKEN are not set"),
        ({"BLKBOT_WHATSAPP_APP_SECRET": "s3cret"}, "BLKBOT_WHATSAPP_VERIFY_TOKEN is not set"),
        ({"BLKBOT_WHATSAPP_VERIFY_TOKEN": "v"}, "BLKBOT_WHATSAPP_APP_SECRET is not set"),
    ],
)
def test_run_refuses_whatsapp_without_app_secret_or_verify_token(
    whatsapp_env: None,
    given: dict[str, str],
    missing: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in given.items():
        monkeypatch.setenv(name, value)

    assert main(["run"]) == 1

    err = capsys.readouterr().err
    assert missing in err and "s3cret" not in err
    assert not (tmp_path / "cli.sqlite3").exists()  # stopped before touching the database


def test_run_refuses_with_neither_telegram_nor_whatsapp(
    cli_db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("TELEGRAM_TOKEN", "WHATSAPP_TOKEN", "WHATSAPP_PHONE_NUMBER_ID"):
        monkeypatch.delenv(f"BLKBOT_{name}", raising=False)

    assert main(["run"]) == 2

    assert "neither Telegram (BLKBOT_TELEGRAM_TOKEN) nor WhatsApp" in capsys.readouterr().err
    assert not (tmp_path / "cli.sqlite3").exists()
