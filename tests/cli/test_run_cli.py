"""`blkbot run` refuses webhook mode that anyone could post forged updates to."""

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
