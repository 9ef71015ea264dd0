"""Webhook calls written together: the ones that come while a write is under way share the next."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from handlers.whatsapp.batching import Batches


class Writes:
    """A write that records what it was given, can be held, and refuses any batch holding "bad"."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.held = asyncio.Event()
        self.held.set()
        self.writing = asyncio.Event()

    async def __call__(self, items: Sequence[str]) -> list[str]:
        self.calls.append(list(items))
        self.writing.set()
        await self.held.wait()
        if "bad" in items:
            raise ValueError("refused")
        return [item.upper() for item in items]


async def test_calls_that_come_during_a_write_share_the_next_one() -> None:
    writes = Writes()
    batches = Batches(writes)
    writes.held.clear()
    first = asyncio.create_task(batches("a"))
    await writes.writing.wait()  # the first write is under way (and held)
    others = [asyncio.create_task(batches(item)) for item in ("b", "c", "d")]
    await asyncio.sleep(0)
    writes.held.set()
    assert await first == "A"
    assert await asyncio.gather(*others) == ["B", "C", "D"]
    assert writes.calls == [["a"], ["b", "c", "d"]]


async def test_a_lone_call_is_written_at_once() -> None:
    writes = Writes()
    batches = Batches(writes)
    assert await batches("a") == "A"
    assert await batches("b") == "B"
    assert writes.calls == [["a"], ["b"]]


async def test_a_call_the_write_refuses_fails_alone() -> None:
    writes = Writes()
    batches = Batches(writes)
    results = await asyncio.gather(*(batches(item) for item in ("a", "bad", "c")), return_exceptions=True)
    assert results[0] == "A" and results[2] == "C"
    assert isinstance(results[1], ValueError)
    assert writes.calls == [["a", "bad", "c"], ["a"], ["bad"], ["c"]]


async def test_no_more_than_most_are_written_together() -> None:
    writes = Writes()
    batches = Batches(writes, most=2)
    assert await asyncio.gather(*(batches(item) for item in "abcde")) == list("ABCDE")
    assert writes.calls == [["a", "b"], ["c", "d"], ["e"]]


async def test_a_caller_that_goes_away_leaves_the_others_their_answers() -> None:
    writes = Writes()
    batches = Batches(writes)
    writes.held.clear()
    gone = asyncio.create_task(batches("a"))
    stays = asyncio.create_task(batches("b"))
    await writes.writing.wait()
    gone.cancel()
    writes.held.set()
    assert await stays == "B"
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert await batches("c") == "C"  # the writer goes on serving
