"""WhatsApp end to end: the bot's webhook served on 127.0.0.1, the fake Cloud API beside it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from conversations.runner import Conversations
from handlers.http import build_app, listen, serve_in_background
from handlers.whatsapp.channel import WhatsAppChannel
from handlers.whatsapp.graph import GraphApi
from tests.conftest import Clock
from tests.fakes.whatsapp_server import FakeWhatsAppServer, Sent

VERIFY_TOKEN = "verify-me"


@dataclass
class WhatsApp:
    """The fake Cloud API, the bot's channel behind its real webhook, and a way to build a second
    channel on the same database (a restarted process)."""

    server: FakeWhatsAppServer
    channel: WhatsAppChannel
    graph: GraphApi
    conversations: Conversations
    clock: Clock

    def restarted(self) -> WhatsAppChannel:
        return WhatsAppChannel(
            Conversations(self.conversations.db, self.conversations.services),
            self.graph,
            app_secret=self.server.app_secret,
            verify_token=VERIFY_TOKEN,
            worker=self.channel.worker,
            clock=self.clock,
        )


class Phone:
    """One person's WhatsApp: sends through Meta's webhook, reads what the bot sent back."""

    def __init__(self, wa: WhatsApp, wa_id: str = "6281234567890") -> None:
        self.wa = wa
        self.wa_id = wa_id
        self.seen = 0

    async def say(self, text: str) -> list[Sent]:
        answer = await self.wa.server.text(self.wa_id, text)
        assert answer.status_code == 200, answer.text
        return await self.replies()

    async def press(self, title: str) -> list[Sent]:
        """Press the button or list row titled `title` (or containing it) of the last message."""
        last = self.wa.server.to(self.wa_id)[-1]
        matches = [(i, t) for i, t in last.choices if t == title] or [
            (i, t) for i, t in last.choices if title.casefold() in t.casefold()
        ]
        assert len(matches) == 1, f"no single choice {title!r} in {last.choices}"
        reply_id, shown = matches[0]
        answer = await self.wa.server.press(
            self.wa_id, reply_id, shown, list_row=last.body["interactive"]["type"] == "list"
        )
        assert answer.status_code == 200, answer.text
        return await self.replies()

    async def replies(self) -> list[Sent]:
        await self.wa.channel.drain()
        sent = self.wa.server.to(self.wa_id)
        new, self.seen = sent[self.seen :], len(sent)
        return new

    @property
    def last(self) -> Sent:
        return self.wa.server.to(self.wa_id)[-1]


@pytest.fixture
async def whatsapp(conversations: Conversations, clock: Clock) -> AsyncIterator[WhatsApp]:
    async with FakeWhatsAppServer() as server:
        graph = GraphApi(server.base_url, server.phone_number_id, server.token)
        channel = WhatsAppChannel(
            conversations, graph, app_secret=server.app_secret, verify_token=VERIFY_TOKEN, clock=clock
        )
        sock = listen("127.0.0.1", 0)  # listening before it serves: no waiting for uvicorn to start
        server.webhook_url = f"http://127.0.0.1:{sock.getsockname()[1]}/whatsapp"
        stop = asyncio.Event()
        task = serve_in_background(build_app(channel.routes()), sock, stop)
        try:
            yield WhatsApp(server, channel, graph, conversations, clock)
        finally:
            stop.set()
            await task
            await graph.aclose()


@pytest.fixture
def siti(whatsapp: WhatsApp) -> Phone:
    return Phone(whatsapp)
