"""Webhook mode: only calls carrying the secret reach the bot; forged updates change nothing.

In-process tests call the ASGI app through httpx; the end-to-end ones run `run_telegram` itself
(its uvicorn server on 127.0.0.1) against the fake Bot API server, which posts updates to it as
Telegram would, with the secret that setWebhook registered.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select
from telegram.ext import Application

from bot.settings import Settings
from conversations.context import Services
from conversations.runner import Conversations
from handlers.http import build_app
from handlers.telegram import build_application, run_telegram
from handlers.telegram_webhook import MAX_BODY, PATH, SECRET_HEADER, telegram_route
from messages.render import Templates
from storage.db import Database
from storage.models import Contact, Conversation, OutboxMessage
from tests.conftest import Clock
from tests.fakes.telegram_server import FakeTelegramServer

SECRET = "s3cret-Token_for-the-webhook-0123456789"
STAFF = 4242
RESIDENT = 7001


def command_update(chat_id: int, text: str, update_id: int = 900) -> dict[str, Any]:
    """A private-chat message update as Telegram posts it."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_800_000_000,
            "chat": {"id": chat_id, "type": "private", "first_name": "Siti"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Siti"},
            "text": text,
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
            if text.startswith("/")
            else [],
        },
    }


def client_for(app: Application) -> httpx.AsyncClient:
    web = build_app([telegram_route(app, SECRET)])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://blkbot")


@pytest.fixture
def idle_app(conversations: Conversations) -> Application:
    """An Application that is not started: whatever the route accepts stays in its update queue."""
    return build_application(conversations, "123456:" + "A" * 35, "http://127.0.0.1:9/bot")


@pytest.mark.parametrize(
    "headers",
    [{}, {SECRET_HEADER: "x" * len(SECRET)}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: SECRET + "x"}],
    ids=["missing", "wrong-same-length", "wrong-shorter", "wrong-longer"],
)
async def test_call_without_the_right_secret_is_refused_and_not_logged(
    idle_app: Application, headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with client_for(idle_app) as client:
        response = await client.post(PATH, json=command_update(RESIDENT, "/hapusdata"), headers=headers)

    assert response.status_code == 403
    assert idle_app.update_queue.empty()
    assert "refused a webhook call without the right secret from 127.0.0.1" in caplog.text
    assert [r.levelname for r in caplog.records if "refused" in r.getMessage()] == ["WARNING"]
    assert SECRET not in caplog.text
    for value in headers.values():
        assert value not in caplog.text


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"\xff\xfe", b"[1, 2]", b'{"message": {}}', b'{"update_id": 1, "message": "hi"}'],
    ids=["broken", "not-utf8", "not-object", "no-update-id", "bad-message"],
)
async def test_body_that_is_not_an_update_gets_400(idle_app: Application, body: bytes) -> None:
    async with client_for(idle_app) as client:
        response = await client.post(PATH, content=body, headers={SECRET_HEADER: SECRET})

    assert response.status_code == 400
    assert idle_app.update_queue.empty()


async def test_too_large_body_gets_400_unread(idle_app: Application) -> None:
    padding = "x" * MAX_BODY
    async with client_for(idle_app) as client:
        response = await client.post(
            PATH, json={**command_update(RESIDENT, "/start"), "padding": padding}, headers={SECRET_HEADER: SECRET}
        )

    assert response.status_code == 400
    assert idle_app.update_queue.empty()


async def test_health_check_answers() -> None:
    web = build_app([])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web), base_url="http://blkbot") as client:
        response = await client.get("/healthz")
    assert (response.status_code, response.text) == (200, "ok")


async def test_right_secret_gets_200_and_the_bot_answers(
    conversations: Conversations, server: FakeTelegramServer
) -> None:
    app = build_application(conversations, server.token, server.base_url)
    async with app:
        await app.start()
        async with client_for(app) as client:
            response = await client.post(PATH, json=command_update(RESIDENT, "/start"), headers={SECRET_HEADER: SECRET})
        assert response.status_code == 200
        reply = await server.wait_for_message(RESIDENT)
        await app.stop()
    assert "Selamat datang" in reply.plain_text


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def webhook_bot(
    db: Database, templates: Templates, clock: Clock, server: FakeTelegramServer
) -> AsyncIterator[str]:
    """`run_telegram` in webhook mode, as `blkbot run` starts it; yields the webhook's URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}{PATH}"
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        telegram_token=SecretStr(server.token),
        telegram_base_url=server.base_url,
        telegram_webhook_url=url,
        telegram_webhook_secret=SecretStr(SECRET),
        webhook_port=port,
    )
    services = Services(templates=templates, clock=clock, staff={("telegram", str(STAFF)): "operator"})
    stop = asyncio.Event()
    running = asyncio.create_task(run_telegram(Conversations(db, services), settings, stop=stop))
    await server.wait_for_call("setWebhook")
    yield url
    stop.set()
    await running


async def test_webhook_mode_registers_the_secret_and_answers_a_resident(
    server: FakeTelegramServer, webhook_bot: str
) -> None:
    [set_webhook] = server.calls_to("setWebhook")
    assert set_webhook.params["url"] == webhook_bot
    assert set_webhook.params["secret_token"] == SECRET
    assert set_webhook.params["allowed_updates"] == ["message", "callback_query"]

    await server.send_text(RESIDENT, "/start")  # the fake server posts it to the webhook, with the secret
    reply = await server.wait_for_message(RESIDENT)

    assert "Selamat datang" in reply.plain_text
    assert [d.status for d in server.webhook_deliveries] == [200]


async def test_forged_siaran_and_hapusdata_change_nothing(
    db: Database, server: FakeTelegramServer, webhook_bot: str
) -> None:
    await server.send_text(RESIDENT, "/start")
    for _ in range(2):  # the welcome, then the first question: the turn is over
        await server.wait_for_message(RESIDENT)
    before = await snapshot(db)
    seen_by_resident = len(server.messages(RESIDENT))

    async with httpx.AsyncClient() as client:
        forged = [
            await client.post(webhook_bot, json=command_update(STAFF, "/siaran", 901)),
            await client.post(webhook_bot, json=command_update(RESIDENT, "/hapusdata", 902)),
            await client.post(
                webhook_bot, json=command_update(RESIDENT, "/hapusdata", 903), headers={SECRET_HEADER: "guess"}
            ),
        ]
    # A genuine update queued after the forged ones: once it is answered, they would have been too.
    await server.send_text(RESIDENT + 1, "/start")
    await server.wait_for_message(RESIDENT + 1)

    assert [r.status_code for r in forged] == [403, 403, 403]
    assert server.messages(STAFF) == []
    assert len(server.messages(RESIDENT)) == seen_by_resident
    after = await snapshot(db)
    assert after["contacts"] == before["contacts"] + [("telegram", str(RESIDENT + 1))]
    assert [c for c in after["conversations"] if c[1] != str(RESIDENT + 1)] == before["conversations"]
    assert after["outbox"] == before["outbox"] == 0


async def snapshot(db: Database) -> dict[str, Any]:
    async with db.transaction() as session:
        contacts = (await session.execute(select(Contact.channel, Contact.chat_id).order_by(Contact.id))).all()
        conversations = (
            await session.execute(
                select(Conversation.channel, Conversation.chat_id, Conversation.flow, Conversation.step).order_by(
                    Conversation.chat_id
                )
            )
        ).all()
        outbox = len((await session.execute(select(OutboxMessage.id))).all())
    return {
        "contacts": [tuple(c) for c in contacts],
        "conversations": [tuple(c) for c in conversations],
        "outbox": outbox,
    }
