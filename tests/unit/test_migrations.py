"""The Alembic migrations build, on an empty database, exactly the schema the models describe."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text

from storage.db import Database
from storage.migrate import current_revision, head_revision, is_current, upgrade
from storage.models import Base


def _differences(conn: Connection) -> list[object]:
    return compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)


async def test_upgrade_of_an_empty_sqlite_database_matches_the_models(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    try:
        assert await current_revision(db.engine) is None
        await upgrade(db.engine)
        assert await is_current(db.engine)
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
    finally:
        await db.dispose()


async def test_upgrade_of_an_empty_postgresql_database_matches_the_models(postgres_url: str | None) -> None:
    if postgres_url is None:
        pytest.skip("no PostgreSQL answered")
    db = Database(postgres_url)
    try:
        async with db.engine.begin() as conn:  # a schema of its own, empty, on the run's database
            await conn.execute(text("DROP SCHEMA IF EXISTS migration_check CASCADE"))
            await conn.execute(text("CREATE SCHEMA migration_check"))
    finally:
        await db.dispose()
    db = Database(postgres_url, connect_args={"server_settings": {"search_path": "migration_check"}})
    try:
        assert await current_revision(db.engine) is None
        await upgrade(db.engine)
        assert await current_revision(db.engine) == head_revision()
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
    finally:
        await db.dispose()
