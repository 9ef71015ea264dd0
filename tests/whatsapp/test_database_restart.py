"""PostgreSQL restarts under a running bot: the pool holds connections the server has closed, and a
turn may be running when it happens. The resident must get the right answer, not an apology."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from conversations.io import Inbound, Reply
from conversations.runner import Conversations
from storage.db import Database
from storage.models import Contact, Conversation
from tests.whatsapp.conftest import Phone, WhatsApp

pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)

APOLOGY = "terjadi gangguan"


async def kill_backends(db: Database, pid: int | None = None) -> int:
    """What a server restart does to the bot: its backends end (all of this database's, or one),
    and are gone when this returns (pg_terminate_backend waits up to 5 s for each to exit).
    Done from a connection of its own, so the bot's pool learns of it only by using its own."""
    url = make_url(db.url)
    admin = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, database=url.database
    )
    try:
        rows = await admin.fetch(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND ($1::int IS NULL OR pid = $1)",
            pid,
        )
    finally:
        await admin.close()
    return sum(1 for row in rows if row[0])


async def test_a_resident_gets_the_right_answer_after_the_database_restarted_between_two_turns(
    siti: Phone, whatsapp: WhatsApp
) -> None:
    replies = await siti.say("/daftar")
    assert "Tata Boga" in str(siti.last.choices)
    assert await kill_backends(whatsapp.conversations.db) >= 1  # the pooled connections of the turn above

    replies = await siti.press("Tata Boga")  # the webhook's store, the claim and the turn all need one
    assert replies and not any(APOLOGY in r.text for r in replies)
    assert "Olahan Kue dan Roti" in str(siti.last.choices)


async def test_a_turn_whose_connection_dies_under_it_is_taken_again_on_a_new_one(
    conversations: Conversations,
) -> None:
    """The server ends the turn's own backend while the turn runs: its transaction is gone, so the
    turn is taken again, once, and the resident sees its answer (and the conversation moves once)."""
    db = conversations.db
    await conversations.handle("console", "siti", Inbound.parse_text("/daftar"))
    killed: list[int] = []

    async def die_once(session: AsyncSession, _contact: Contact, _reply: Reply) -> None:
        if not killed:
            pid = await session.scalar(text("SELECT pg_backend_pid()"))
            killed.append(await kill_backends(db, pid))
            await session.execute(text("SELECT 1"))  # the turn's next statement finds its connection gone

    cluster = (await conversations.handle("console", "siti", Inbound(choice="cluster|BOGA"), within=die_once)).messages
    assert killed == [1]
    assert not any(APOLOGY in m.text for m in cluster)
    assert "Olahan Kue dan Roti" in str([o.label for o in cluster[-1].options])
    async with db.transaction() as session:
        row = await session.scalar(select(Conversation).where(Conversation.chat_id == "siti"))
    assert row is not None and row.version == 2  # /daftar, then the cluster: the retried turn saved once


async def test_a_pooled_connection_the_server_closed_is_replaced_before_anyone_uses_it(db: Database) -> None:
    """What every other user of the database (the delivery loop, the scheduler) relies on: they
    have no retry of their own, and no round trip is spent asking a connection whether it lives.
    The test waits until the pooled connection has read the server's goodbye (its termination
    listener), as an idle bot's would in the moment after a restart."""
    ended = asyncio.Event()
    async with db.transaction() as session:
        first = await session.scalar(text("SELECT pg_backend_pid()"))
        pooled = (await (await session.connection()).get_raw_connection()).driver_connection
        pooled.add_termination_listener(lambda _connection: ended.set())
    assert await kill_backends(db, first) == 1
    await asyncio.wait_for(ended.wait(), timeout=10)
    async with db.transaction() as session:
        second = await session.scalar(text("SELECT pg_backend_pid()"))
    assert second != first
