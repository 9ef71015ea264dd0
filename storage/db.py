"""Engines and transactions for SQLite (the embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cached_property
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage.sqlite_inline import InlineConnection


def async_url(url: str) -> str:
    """Accept the URLs people copy from docs ("postgresql://", "sqlite:///x") and pick async drivers."""
    parsed = make_url(url)
    driver = {"postgresql": "postgresql+asyncpg", "postgres": "postgresql+asyncpg", "sqlite": "sqlite+aiosqlite"}
    if parsed.drivername in driver:
        parsed = parsed.set(drivername=driver[parsed.drivername])
    return parsed.render_as_string(hide_password=False)


def database_label(url: str) -> str:
    """The URL to show people: which database a command uses, never its password."""
    return make_url(url).render_as_string(hide_password=True)


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    url = async_url(url)
    if not is_sqlite(url):
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 10)
        return create_async_engine(url, pool_pre_ping=True, hide_parameters=True, **kwargs)
    # One connection: SQLite has one writer anyway, and a single connection turns "database is
    # locked" races between concurrent turns into an orderly queue inside the pool. Its calls run on
    # the event loop's thread (storage/sqlite_inline.py), so a turn holds it only while it works.
    # The pool's extra ROLLBACK on return is skipped, as every user ends its own transaction
    # (Session.begin commits or rolls back, and a closed Connection rolls back what it began).
    engine: AsyncEngine

    async def connect() -> InlineConnection:
        args, options = engine.dialect.create_connect_args(engine.url)
        options |= {"timeout": 0, "check_same_thread": False, "isolation_level": "IMMEDIATE"}
        return await InlineConnection(lambda: sqlite3.connect(*args, **options))

    engine = create_async_engine(
        url,
        pool_size=1,
        max_overflow=0,
        pool_timeout=60,
        pool_reset_on_return=None,
        async_creator=connect,
        hide_parameters=True,
        **kwargs,
    )
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    if not _is_memory(dbapi_connection):
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _is_memory(dbapi_connection: Any) -> bool:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA database_list")
    rows = cursor.fetchall()
    cursor.close()
    return any(row[1] == "main" and not row[2] for row in rows)


class Database:
    """The engine and a session factory: what every layer above needs to open a transaction."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = async_url(url)
        self.engine = create_engine(self.url, **engine_kwargs)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @cached_property
    def is_sqlite(self) -> bool:
        """Asked at every transaction: parsing the URL each time cost a tenth of a millisecond."""
        return is_sqlite(self.url)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: committed when the block ends, rolled back when it raises.

        On SQLite the connection goes back to the pool without a pause: AsyncSession's own exit
        closes in a shielded task, which lets every other ready coroutine run first while the one
        connection is still out, and each of them that wants it then waits a further loop cycle.
        Closing cannot be interrupted there (storage/sqlite_inline.py never suspends), so nothing
        needs the shield; on PostgreSQL, whose close does wait on the server, it stays."""
        session = self.sessions()
        try:
            async with session.begin():
                yield session
        finally:
            if self.is_sqlite:
                await session.close()
            else:
                await asyncio.shield(session.close())

    async def dispose(self) -> None:
        await self.engine.dispose()


async def admin_statement(url: str, statement: str) -> None:
    """Run one statement outside any transaction on a PostgreSQL server (CREATE/DROP DATABASE),
    for the tests' and benchmarks' scratch databases."""
    import asyncpg

    parsed = make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        database=parsed.database or "postgres",
        timeout=10,
    )
    try:
        await conn.execute(statement)
    finally:
        await conn.close()
