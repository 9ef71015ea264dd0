"""Fixtures for pushed messages: virtual time, a PTB Bot on the fake server, a delivery loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from telegram import Bot
from telegram.request import HTTPXRequest

from handlers.telegram_sender import TelegramSender
from outreach.budget import SendBudget
from outreach.delivery import DeliveryLoop, DeliverySettings
from storage.db import Database
from storage.models import Contact
from storage.repositories import contacts
from tests.fakes.telegram_server import FakeTelegramServer


class VirtualTime:
    """A clock that moves only when someone sleeps on it: rate limits and backoffs are exercised
    exactly, and no test waits for real seconds."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.start = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)

    def monotonic(self) -> float:
        return self.seconds

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.seconds)

    async def sleep(self, seconds: float) -> None:
        self.seconds += max(0.0, seconds)
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        self.seconds += seconds


@pytest.fixture
def vtime() -> VirtualTime:
    return VirtualTime()


@pytest.fixture
async def server(vtime: VirtualTime) -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(clock=vtime.monotonic) as fake:
        yield fake


@pytest.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[Bot]:
    request = HTTPXRequest(connection_pool_size=32, read_timeout=0.5)
    async with Bot(server.token, base_url=server.base_url, request=request) as telegram_bot:
        yield telegram_bot


@pytest.fixture
def budget(vtime: VirtualTime) -> SendBudget:
    return SendBudget(rate=30, bulk_share=0.8, clock=vtime.monotonic, sleep=vtime.sleep)


@pytest.fixture
def loop(db: Database, bot: Bot, budget: SendBudget, vtime: VirtualTime) -> DeliveryLoop:
    return DeliveryLoop(
        db,
        {"telegram": TelegramSender(bot)},
        budget,
        settings=DeliverySettings(flush_interval=0, backoff=2.0, max_attempts=3),
        worker="test-worker",
        clock=vtime.now,
    )


async def make_contacts(db: Database, count: int, *, first_chat: int = 5000) -> list[Contact]:
    """Subscribed people, so announcements reach them."""
    async with db.transaction() as session:
        people = [
            await contacts.get_or_create(session, "telegram", str(first_chat + i), language="id") for i in range(count)
        ]
        for person in people:
            await contacts.set_subscribed(session, person, True)
        return people
