"""Webhook calls that come while one is being written wait for the next write, and share it.

Under load Meta posts many webhooks at once. Each in a transaction of its own paid a BEGIN, a COMMIT
and three statements for every message, and on PostgreSQL each of those is a round trip. Here the
first call starts a writer; the calls that arrive while it writes are taken together by its next
write. Nothing waits for a timer: a lone webhook is written as soon as it comes, as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

MOST = 200
"""Calls written together at most: a transaction, and the answers waiting on it, stay short."""


class Batches(Generic[T, R]):
    """`await batches(item)` answers `write([... item ...])`'s result for that item."""

    def __init__(self, write: Callable[[Sequence[T]], Awaitable[Sequence[R]]], *, most: int = MOST) -> None:
        self._write = write
        self.most = most
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def __call__(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_all())
        return await future

    async def _write_all(self) -> None:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[: self.most], self._waiting[self.most :]
                await self._write_batch(batch)
        except BaseException:  # cancelled (shutting down): nobody is left waiting forever
            for _, future in batch + self._waiting:
                future.cancel()
            self._waiting = []
            raise
        finally:
            self._writer = None

    async def _write_batch(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        try:
            results = await self._write([item for item, _ in batch])
        except Exception as problem:
            if len(batch) == 1:
                _fail(batch[0][1], problem)
                return
            # One call the database refuses must not fail the others: each is written alone.
            log.warning("%d webhook calls could not be written together (%s); writing each alone", len(batch), problem)
            for item, future in batch:
                try:
                    (result,) = await self._write([item])
                except Exception as alone:
                    _fail(future, alone)
                else:
                    _resolve(future, result)
            return
        for (_, future), result in zip(batch, results, strict=True):
            _resolve(future, result)


def _resolve(future: asyncio.Future[R], result: R) -> None:
    if not future.done():  # done: its caller went away (the HTTP request was cancelled)
        future.set_result(result)


def _fail(future: asyncio.Future[R], problem: Exception) -> None:
    if not future.done():
        future.set_exception(problem)
