"""Several worker processes on one database: one chat's turns still go one at a time."""

from __future__ import annotations

import asyncio

from conversations.io import Inbound
from conversations.runner import Conversations
from tests.flow.helpers import Resident


async def test_two_workers_never_interleave_one_chats_turns(conversations: Conversations) -> None:
    """Two runners over one database (two processes behind a load balancer) get the same chat's
    double tap at once: the turn is taken once, the other press is answered as stale."""
    other_worker = Conversations(conversations.db, conversations.services)
    siti = Resident(conversations, "busy")
    await siti.type("/daftar")
    consent = siti.option("✅ Setuju")

    first, second = await asyncio.gather(
        conversations.handle("console", "busy", Inbound(choice=consent.data)),
        other_worker.handle("console", "busy", Inbound(choice=consent.data)),
    )

    assert sorted([first.stale, second.stale]) == [False, True]
