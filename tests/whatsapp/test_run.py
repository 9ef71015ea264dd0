"""`blkbot run` with WhatsApp settings only: no Telegram, no PTB, the webhook on the one HTTP app."""

from __future__ import annotations

import argparse
import asyncio

import httpx
from pydantic import SecretStr

from bot.commands import run
from bot.periodic import TASK_PREFIX
from bot.settings import Settings
from storage.db import Database
from tests.e2e.test_telegram_webhook import free_port
from tests.fakes.whatsapp_server import FakeWhatsAppServer

VERIFY_TOKEN = "verify-me"
SITI = "6281234567890"
JOBS = ("reminders", "abandoned", "seat_deadlines", "tracer")
"""Every periodic job of `blkbot run` (bot/scheduler.py), with Telegram or without."""


async def test_run_with_whatsapp_only_answers_a_signed_webhook(empty_db: Database) -> None:
    """On an empty database: a sending process left in the budget by an earlier test would hold this
    one's replies as a newcomer's until it is forgotten."""
    db_url = empty_db.url
    async with FakeWhatsAppServer() as server:
        port = free_port()
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            database_url=db_url,
            whatsapp_token=SecretStr(server.token),
            whatsapp_phone_number_id=server.phone_number_id,
            whatsapp_app_secret=SecretStr(server.app_secret),
            whatsapp_verify_token=SecretStr(VERIFY_TOKEN),
            whatsapp_base_url=server.base_url,
            webhook_port=port,
        )
        server.webhook_url = f"http://127.0.0.1:{port}/whatsapp"
        stop = asyncio.Event()
        running = asyncio.create_task(run(settings, argparse.Namespace(), stop=stop))
        try:
            answer = await _first_answer(server, running)
            assert answer.status_code == 200
            [reply, *_] = await server.wait_for_messages(SITI, 1)
            assert "Apa yang ingin Anda lakukan?" in reply.text and reply.choices
            async with httpx.AsyncClient() as client:
                handshake = await client.get(
                    server.webhook_url,
                    params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"},
                )
            assert handshake.text == "42"
            running_jobs = {t.get_name() for t in asyncio.all_tasks() if t.get_name().startswith(TASK_PREFIX)}
            assert running_jobs == {f"{TASK_PREFIX}{name}" for name in JOBS}  # seat deadlines too, as with Telegram
        finally:
            stop.set()
            assert await running == 0


async def _first_answer(server: FakeWhatsAppServer, running: asyncio.Task[int]) -> httpx.Response:
    """Post "halo" as soon as the port takes calls (the bot prepares its database first): between
    tries, wait on the run itself (it ending means it could not start), within a bound."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while True:
        try:
            return await server.text(SITI, "halo")
        except httpx.ConnectError:
            if loop.time() > deadline:
                raise AssertionError("the bot's webhook port never took a call") from None
            done, _ = await asyncio.wait({running}, timeout=0.05)
            if done:
                await running  # it could not start: say why
