"""Several worker processes on one database: one chat's turns still go one at a time."""

from __future__ import annotations

import asyncio
import logging

import pytest

from conversations.commands import menu
from conversations.context import Context
from conversations.engine import Engine, State
from conversations.io import Inbound, Reply
from conversations.runner import Conversations
from storage.errors import StaleConversation
from storage.models import Conversation
from storage.repositories import conversations as conversation_rows
from tests.fakes.dying_connection import dies_after_committing
from tests.flow.helpers import Resident


async def test_two_workers_never_interleave_one_chats_turns(conversations: Conversations) -> None:
    """Two runners over one database (two processes behind a load balancer) get the same chat's
    double tap at once: the turn is taken once, the other press is answered as stale."""
    other_worker = Conversations(conversations.db, conversations.services)
    siti = Resident(conversations, "busy")
    await siti.type("/daftar")
    press = siti.option("Tata Boga")

    first, second = await asyncio.gather(
        conversations.handle("console", "busy", Inbound(choice=press.data)),
        other_worker.handle("console", "busy", Inbound(choice=press.data)),
    )

    assert sorted([first.stale, second.stale]) == [False, True]


class AlwaysOvertaken(Engine):
    """An engine whose every turn finds that another worker saved the chat first."""

    async def take_turn(self, ctx: Context, state: State, inbound: Inbound) -> Reply:
        raise StaleConversation("console:crowded")


async def test_a_turn_overtaken_on_every_retry_answers_sorry_and_logs_a_warning(
    conversations: Conversations, caplog: pytest.LogCaptureFixture
) -> None:
    runner = Conversations(conversations.db, conversations.services, engine=AlwaysOvertaken({}, {}, {}, menu))
    caplog.set_level(logging.WARNING, logger="conversations.runner")

    reply = await runner.handle("console", "crowded", Inbound(text="halo"))

    assert [m.text for m in reply.messages] == [conversations.services.templates.render("id", "common/error")]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "console chat crowded" in warnings[0].getMessage()


async def test_a_turn_whose_commit_went_through_as_its_connection_died_is_not_taken_twice(
    conversations: Conversations,
) -> None:
    """The server committed the turn, then the connection died before it answered: the runner finds
    the state the turn saved, answers with that turn's reply and does not take it again (the press
    would have met the next step's buttons and been answered as an old button)."""
    siti = Resident(conversations, "cut")
    await siti.type("/daftar")
    press = siti.option("Tata Boga")
    with dies_after_committing(conversation_rows._SAVE) as cut:
        reply = await conversations.handle("console", "cut", Inbound(choice=press.data))

    assert cut == [True]
    assert not reply.stale
    assert "Olahan Kue dan Roti" in [o.label for o in reply.messages[-1].options]
    async with conversations.db.transaction() as session:
        row = await session.get(Conversation, ("console", "cut"))
    assert row is not None and row.version == 2
