"""Shared fixtures: a migrated database on SQLite and, where one answers, on PostgreSQL.

PostgreSQL is taken from BLKBOT_TEST_DATABASE_URL, else the CI's server at 127.0.0.1:5432
(user postgres, database test). Each test run creates its own database there and drops it at the
end. In CI (CI=true) an unreachable PostgreSQL is an error, not a skip.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from conversations.context import Services
from conversations.runner import Conversations
from messages.render import Templates
from storage.db import Database, admin_statement
from storage.migrate import upgrade
from storage.models import Base, StaffRole
from training.catalog_file import parse_catalog
from training.catalog_store import store_catalog
from training.permissions import Actor

DEMO_CATALOG = Path(__file__).resolve().parent.parent / "training" / "demo" / "catalog.toml"
JAKARTA = ZoneInfo("Asia/Jakarta")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=JAKARTA)
OFFICE = Actor("cli", "rina", "Rina", StaffRole.ADMIN)
"""An admin for tests of staff services that are not about who may act: every service takes an actor."""
"""The tests' fixed 'now': registration windows of the demo catalog are judged on this day."""

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def _postgres_admin_url() -> str | None:
    url = os.environ.get("BLKBOT_TEST_DATABASE_URL", DEFAULT_PG)
    if url.lower() in ("", "none", "off"):
        return None
    return url


@pytest.fixture(scope="session", autouse=True)
def user_data_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """No test writes to the real ~/.local/share/blkbot (the default database's folder)."""
    folder = tmp_path_factory.mktemp("xdg-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(folder))
        yield folder


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str | None]:
    """A fresh database on the PostgreSQL server for this run, migrated to head."""
    admin = _postgres_admin_url()
    if admin is None:
        yield None
        return
    name = f"blkbot_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        asyncio.run(admin_statement(admin, f'CREATE DATABASE "{name}"'))
    except (TimeoutError, OSError, Exception) as problem:
        if os.environ.get("CI"):
            raise RuntimeError(f"PostgreSQL at {admin} is required in CI and did not answer: {problem}") from problem
        yield None
        return
    url = make_url(admin).set(drivername="postgresql+asyncpg", database=name).render_as_string(hide_password=False)

    async def migrate() -> None:
        db = Database(url)
        await upgrade(db.engine)
        await db.dispose()

    asyncio.run(migrate())
    yield url
    asyncio.run(admin_statement(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies: migrating once keeps the suite fast."""
    path = tmp_path_factory.mktemp("db") / "template.sqlite3"

    async def migrate() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        await upgrade(db.engine)
        await db.dispose()

    asyncio.run(migrate())
    return path


@pytest.fixture(scope="session")
def demo_catalog():  # type: ignore[no-untyped-def]
    return parse_catalog(DEMO_CATALOG)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "blkbot.sqlite3"
        shutil.copy(sqlite_template, path)
        return f"sqlite+aiosqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    if url is None:
        pytest.skip("no PostgreSQL answered (set BLKBOT_TEST_DATABASE_URL)")
    return url


@pytest.fixture
async def empty_db(db_url: str) -> AsyncIterator[Database]:
    """A migrated database with nothing in it."""
    db = Database(db_url)
    if not db.is_sqlite:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        async with db.engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield db
    await db.dispose()


@pytest.fixture
async def db(empty_db: Database, demo_catalog) -> Database:  # type: ignore[no-untyped-def]
    """A migrated database holding the demo catalog."""
    async with empty_db.transaction() as session:
        await store_catalog(session, demo_catalog, "demo")
    return empty_db


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Ticks:
    """A monotonic clock (seconds) the test moves by hand, for caches and rate limits."""

    def __init__(self, seconds: float = 1000.0) -> None:
        self.seconds = seconds

    def __call__(self) -> float:
        return self.seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def templates() -> Templates:
    return Templates()


@pytest.fixture
def conversations(db: Database, templates: Templates, clock: Clock) -> Conversations:
    return Conversations(db, Services(templates=templates, timezone=JAKARTA, clock=clock))


__all__ = ["NOW", "Clock", "Ticks"]
