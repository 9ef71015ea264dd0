"""The CLI's own database: a SQLite file in a temporary folder, as a staff member's would be."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import pytest

from bot.cli import build_parser
from bot.settings import Settings
from storage.db import Database


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite file the CLI creates on first use, with the demo catalog (BLKBOT_CATALOG unset)."""
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("BLKBOT_DATABASE_URL", url)
    monkeypatch.delenv("BLKBOT_CATALOG", raising=False)
    return url


def run(coroutine_function, url: str):  # type: ignore[no-untyped-def]
    """Run `coroutine_function(db)` against the CLI's database from a sync test."""

    async def go():  # type: ignore[no-untyped-def]
        db = Database(url)
        try:
            return await coroutine_function(db)
        finally:
            await db.dispose()

    return asyncio.run(go())


async def blkbot(db: Database, argv: list[str]) -> int:
    """Run one subcommand's handler as `blkbot` would, on the test's database, inside its event loop."""
    args: argparse.Namespace = build_parser().parse_args(argv)
    return await args.handler(Settings(database_url=db.url), args)
