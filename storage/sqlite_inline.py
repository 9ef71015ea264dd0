"""aiosqlite's connection with every call made on the event loop's own thread.

aiosqlite hands each call to a thread of its own and waits for the answer through the event loop.
A turn makes ten such calls while it holds blkbot's one SQLite connection, and each answer waits
behind whatever else the loop has queued (webhooks, replies being sent), so under load the
connection sat idle most of the time it was held and turns queued for it (the convoy that kept
bench/conversation_load.py --channel whatsapp far below its CPU bound). SQLite answers these
small statements in microseconds, so here they run where they are called.

The one wait SQLite can impose is another process holding the write lock (a staff command, `blkbot
deliver`). Blocking the loop for it would freeze every chat, so the connection has no busy timeout:
transactions begin IMMEDIATE (storage/db.py: the write lock is taken by the BEGIN, the only place
it can be refused), and a refusal there is retried after an asyncio sleep, up to
`busy_timeout` seconds, as SQLite's own busy handler would have slept.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from typing import Any

import aiosqlite

BUSY_TIMEOUT = 30.0
"""Seconds a transaction waits for another process's write lock before it fails."""
FIRST_RETRY = 0.001
LAST_RETRY = 0.05


class InlineConnection(aiosqlite.Connection):
    def __init__(self, connector: Callable[[], sqlite3.Connection], busy_timeout: float = BUSY_TIMEOUT) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self.busy_timeout = busy_timeout

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        deadline, wait = time.monotonic() + self.busy_timeout, FIRST_RETRY
        while True:
            beginning = not self._connection.in_transaction
            try:
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as problem:
                # Only a refusal before this call began a transaction is safe to repeat: nothing ran.
                busy = problem.sqlite_errorcode == sqlite3.SQLITE_BUSY
                if not (beginning and busy) or time.monotonic() + wait > deadline:
                    raise
            await asyncio.sleep(wait)
            wait = min(wait * 2, LAST_RETRY)

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Any:
        return self._connect().__await__()  # no thread to start

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def close(self) -> None:
        self.stop()
