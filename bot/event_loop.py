"""The event loop blkbot runs on: uvloop where it is installed (Linux, macOS), asyncio's own elsewhere.

A turn is mostly small socket reads and writes (a webhook in, a Graph API call out) and hand-offs
to the SQLite driver's thread; uvloop does those in C, which took a fifth off the CPU time of a
WhatsApp turn (bench/conversation_load.py --channel whatsapp). The tests run on asyncio's loop:
nothing in blkbot depends on which one it gets.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run on blkbot's loop."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)


def settle() -> None:
    """Set what exists now aside from the garbage collector: once started, the modules, the catalog,
    the templates and the compiled statements live as long as the process. Left in, every full
    collection walked them all again: pauses of 80 to 390 ms, during which the loop answered nobody
    (bench/conversation_load.py --channel whatsapp, four a run). Called once blkbot is ready to serve.

    The young generation is then collected every 20,000 allocations instead of 700: a turn makes
    thousands of short-lived objects (rows, statements, rendered text) that reference counting frees,
    and the collector kept walking them for the few cycles (same bench, closed loop, three pairs run
    in turn: 247/310/270 turns/s against 233/274/256)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)
