"""Staff commands find the same database from any folder, and say which one they use."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.cli import main


@pytest.fixture
def user_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No BLKBOT_DATABASE_URL: the default, in this user's data folder."""
    monkeypatch.delenv("BLKBOT_DATABASE_URL", raising=False)
    monkeypatch.delenv("BLKBOT_CATALOG", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return tmp_path / "data" / "blkbot" / "blkbot.sqlite3"


def test_stats_from_two_folders_use_one_database_and_say_which(
    user_data: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.runtime")
    for folder in ("office", "elsewhere"):
        (tmp_path / folder).mkdir()
    monkeypatch.chdir(tmp_path / "office")
    assert main(["stats"]) == 0
    first = capsys.readouterr()
    assert f"database sqlite+aiosqlite:///{user_data}" in first.err
    assert [r.getMessage() for r in caplog.records] == [
        f"the database sqlite+aiosqlite:///{user_data} was empty: created a new one"
    ]

    caplog.clear()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert main(["stats"]) == 0
    second = capsys.readouterr()
    assert f"database sqlite+aiosqlite:///{user_data}" in second.err
    assert caplog.records == []  # the same file, not a new empty one
    assert not list((tmp_path / "elsewhere").iterdir())


def test_the_database_line_never_shows_a_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BLKBOT_DATABASE_URL", "postgresql://office:s3cret@127.0.0.1:1/none")
    main(["stats"])  # nothing answers on port 1: the command fails, after saying where it looked
    err = capsys.readouterr().err
    assert "database postgresql://office:***@127.0.0.1:1/none" in err
    assert "s3cret" not in err
