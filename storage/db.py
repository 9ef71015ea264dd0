"""Engines and transactions for SQLite (the embedded default) and PostgreSQL (production)."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from storage.sqlite_inline import InlineConnection

log = logging.getLogger(__name__)

T = TypeVar("T")


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
        # The 20 connections the pool allowed before (10 kept, 10 overflow), all kept: under load the
        # overflow ones were closed at checkin and opened again at once (90 connects in a 1500-turn
        # bench instead of 40), each paying a connect and then a prepare of every statement it ran.
        kwargs.setdefault("pool_size", 20)
        kwargs.setdefault("max_overflow", 0)
        # No pool_pre_ping: its BEGIN, ping and ROLLBACK were three round trips at each checkout,
        # about 0.2 ms of CPU each (0.45 ms a WhatsApp turn). A connection the server closed (a restart, a killed
        # backend) is known to asyncpg without asking, and is replaced at checkout (_closed_by_server);
        # one that dies during a transaction fails it, and the work is retried once (retried_once).
        pg = create_async_engine(url, hide_parameters=True, **kwargs)
        event.listen(pg.sync_engine, "checkout", _closed_by_server)
        return pg
    # One connection: SQLite has one writer anyway, and a single connection turns "database is
    # locked" races between concurrent turns into an orderly queue inside the pool. Its calls run on
    # the event loop's thread (storage/sqlite_inline.py), so a turn holds it only while it works.
    # The pool's extra ROLLBACK on return is skipped, as every user ends its own transaction
    # (Session.begin commits or rolls back, and a closed Connection rolls back what it began).
    engine: AsyncEngine

    async def connect() -> InlineConnection:
        args, options = engine.dialect.create_connect_args(engine.url)
        options |= {"timeout": 0, "check_same_thread": False, "isolation_level": None}
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
    event.listen(engine.sync_engine, "begin", _begin_immediate)
    return engine


def _closed_by_server(_dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
    """Refuse a pooled connection whose socket the server has closed: the pool connects anew."""
    if record.driver_connection is not None and record.driver_connection.is_closed():
        raise DisconnectionError("the server closed this connection")


def connection_lost(error: BaseException) -> bool:
    """Whether `error` is a database connection found dead (a server restart, a killed backend):
    what it was doing was not committed, and a fresh connection may well succeed."""
    return isinstance(error, DBAPIError) and error.connection_invalidated


async def retried_once(work: Callable[[], Awaitable[T]], what: str) -> T:
    """Run `work`, and once more if its connection died under it, so that a database restart
    costs a retry rather than a failed request. `work` must be a whole transaction."""
    try:
        return await work()
    except DBAPIError as error:
        if not connection_lost(error):
            raise
        log.warning("%s lost its database connection; trying once more on a new one", what)
    return await work()


def _begin_immediate(connection: Any) -> None:
    """Take SQLite's write lock when a transaction begins, not at its first write. The driver's own
    BEGIN came only before the first INSERT or UPDATE, so what a transaction read before it was read
    outside it: `blkbot deliver` and the bot both read the same rows as due, and both claimed and
    sent them. Now another process's transaction waits (storage/sqlite_inline.py) until this one
    ends, and reads what it wrote: SQLite's one writer at a time, as PostgreSQL's row locks give."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


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
        self.is_sqlite = is_sqlite(self.url)
        """Known once: parsing the URL at each transaction was a tenth of `transaction`'s own CPU."""

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
