"""A real `blkbot run` killed with SIGKILL after it acknowledged a webhook and before its reply
reached Meta: restarted, it answers the stored message, once."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from sqlalchemy import func, select

from storage.db import Database
from storage.models import Conversation, InboundMessage, InboundStatus
from tests.e2e.test_telegram_webhook import free_port
from tests.fakes.whatsapp_server import FakeWhatsAppServer

BLKBOT = Path(sys.executable).parent / "blkbot"
VERIFY_TOKEN = "verify-me"
SITI = "6281234567890"
START_TIMEOUT = 60.0
"""Seconds a starting `blkbot run` may take to prepare its database and listen."""


def bot_environment(server: FakeWhatsAppServer, db_url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLKBOT_")}
    env.update(
        BLKBOT_DATABASE_URL=db_url,
        BLKBOT_WHATSAPP_TOKEN=server.token,
        BLKBOT_WHATSAPP_PHONE_NUMBER_ID=server.phone_number_id,
        BLKBOT_WHATSAPP_APP_SECRET=server.app_secret,
        BLKBOT_WHATSAPP_VERIFY_TOKEN=VERIFY_TOKEN,
        BLKBOT_WHATSAPP_BASE_URL=server.base_url,
        BLKBOT_WEBHOOK_PORT=str(port),
    )
    return env


@asynccontextmanager
async def blkbot_run(env: dict[str, str], cwd: Path) -> AsyncIterator[asyncio.subprocess.Process]:
    """`blkbot run` as its own process; stopped as an operator would (SIGTERM) unless killed already."""
    process = await asyncio.create_subprocess_exec(
        BLKBOT, "run", env=env, cwd=cwd, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()


async def first_delivery(server: FakeWhatsAppServer, process: asyncio.subprocess.Process, text: str) -> httpx.Response:
    """Post `text` as soon as the port takes calls; between tries wait on the process itself (its
    end means it could not start), within a bound."""
    exited = asyncio.ensure_future(process.wait())
    deadline = asyncio.get_running_loop().time() + START_TIMEOUT
    try:
        while True:
            try:
                return await server.text(SITI, text)
            except httpx.ConnectError:
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError("blkbot run never took a webhook call") from None
                done, _ = await asyncio.wait({exited}, timeout=0.1)
                if done:
                    stderr = await process.stderr.read() if process.stderr else b""
                    raise AssertionError(f"blkbot run ended: {stderr.decode()[-2000:]}") from None
    finally:
        exited.cancel()


async def inbound_rows(db: Database) -> list[InboundMessage]:
    async with db.transaction() as session:
        return list(await session.scalars(select(InboundMessage)))


async def test_sigkill_between_the_200_and_the_reply_loses_nothing_and_answers_once(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    async with FakeWhatsAppServer() as server:
        port = free_port()
        server.webhook_url = f"http://127.0.0.1:{port}/whatsapp"
        env = bot_environment(server, db_url, port)
        hold = server.hold_next(SITI)
        try:
            async with blkbot_run(env, tmp_path) as first:
                answer = await first_delivery(server, first, "halo")
                assert answer.status_code == 200
                await asyncio.wait_for(hold.arrived.wait(), 30)  # the reply is on its way, not answered
                first.kill()
                assert await asyncio.wait_for(first.wait(), 30) == -9
        finally:
            hold.drop()  # its connection is gone with the process: never recorded as sent
        assert server.to(SITI) == []
        [stored] = await inbound_rows(db)
        assert stored.status != InboundStatus.DONE  # the message the 200 acknowledged is still owed

        async with blkbot_run(env, tmp_path) as second:
            [reply] = await server.wait_for_messages(SITI, 1, timeout=START_TIMEOUT)
            assert "Apa yang ingin Anda lakukan?" in reply.text
            exited = asyncio.ensure_future(second.wait())
            try:
                for _ in range(300):  # bounded: until the restarted bot marks the message done
                    if (await inbound_rows(db))[0].status == InboundStatus.DONE:
                        break
                    done, _ = await asyncio.wait({exited}, timeout=0.1)
                    assert not done, "the restarted bot ended"
                else:
                    raise AssertionError("the stored message was never marked done")
            finally:
                exited.cancel()

        assert [s.text for s in server.to(SITI)] == [reply.text]  # the resident sees the answer once
        async with db.transaction() as session:
            turns = await session.scalar(select(func.sum(Conversation.version)).where(Conversation.chat_id == SITI))
        assert turns == 1  # the turn was taken once
