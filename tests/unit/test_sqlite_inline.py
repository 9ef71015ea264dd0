"""SQLite run on the event loop's thread: another process's write lock is waited for, never blocked on."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from storage.db import Database
from storage.sqlite_inline import InlineConnection


@pytest.fixture
async def database(tmp_path: Path) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'inline.sqlite3'}")
    async with db.transaction() as session:
        await session.execute(text("CREATE TABLE notes (body TEXT)"))
    yield db
    await db.dispose()


def other_process(db: Database) -> sqlite3.Connection:
    """A connection of its own, as `blkbot deliver` or a staff command would hold."""
    assert db.engine.url.database
    return sqlite3.connect(db.engine.url.database, isolation_level=None)


async def write(db: Database, body: str) -> None:
    async with db.transaction() as session:
        await session.execute(text("INSERT INTO notes (body) VALUES (:body)"), {"body": body})


async def bodies(db: Database) -> list[str]:
    async with db.transaction() as session:
        return list(await session.scalars(text("SELECT body FROM notes ORDER BY rowid")))


async def test_a_write_waits_for_another_process_lock_while_the_loop_goes_on(database: Database) -> None:
    other = other_process(database)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO notes (body) VALUES ('staff')")
    waiting = asyncio.create_task(write(database, "resident"))
    others_ran = 0
    for _ in range(20):  # the loop keeps serving other chats meanwhile
        await asyncio.sleep(0)
        others_ran += 1

    assert others_ran == 20
    assert not waiting.done()

    other.execute("COMMIT")
    await asyncio.wait_for(waiting, 10)
    other.close()
    assert await bodies(database) == ["staff", "resident"]


async def test_a_lock_never_released_fails_the_write_after_the_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "locked.sqlite3"
    sqlite3.connect(path).execute("CREATE TABLE notes (body TEXT)").connection.commit()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    connection = await InlineConnection(
        lambda: sqlite3.connect(path, timeout=0, isolation_level="IMMEDIATE"), busy_timeout=0.05
    )

    with pytest.raises(sqlite3.OperationalError, match="locked"):
        await connection.execute("INSERT INTO notes (body) VALUES ('x')")

    other.execute("ROLLBACK")
    await connection.execute("INSERT INTO notes (body) VALUES ('y')")
    await connection.commit()
    await connection.close()
    other.close()
    assert sqlite3.connect(path).execute("SELECT body FROM notes").fetchall() == [("y",)]


async def test_a_failed_transaction_leaves_nothing_and_the_connection_usable(database: Database) -> None:
    with pytest.raises(OperationalError, match="no such table"):
        async with database.transaction() as session:
            await session.execute(text("INSERT INTO notes (body) VALUES ('half')"))
            await session.execute(text("INSERT INTO nowhere (body) VALUES ('x')"))
    await write(database, "after")

    assert await bodies(database) == ["after"]
