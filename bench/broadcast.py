"""Broadcast benchmark: one announcement to N subscribers through the outbox and the delivery loop.

    .venv/bin/python bench/broadcast.py [--recipients 10000] [--rate 30] [--database-url URL]
        [--kill | --workers N | --talkers N | --beside deliver|broadcast] [--bulk-share S] [--skip-baselines]
        [--quiet-seconds 30] [--seed 1]
        [--channel whatsapp [--outside 0.3] [--inject-every 2000] [--server-rate R]]   (see bench/whatsapp_broadcast.py)

    e.g. --rate 30 --recipients 3000          the 30/s target, with the three baselines
         --rate 1000 --recipients 10000       the loop against the harness ceiling
         --rate 30 --recipients 3000 --kill
         --workers 2 --database-url postgresql://postgres@127.0.0.1:5432/test
         --talkers 50 --rate 30 --recipients 3000
         --beside deliver --recipients 1500 [--database-url postgresql://postgres@127.0.0.1:5432/test]

What runs where
---------------
* The fake Bot API server (tests/fakes/telegram_server.py) runs in a process of its own
  (multiprocessing, spawn) that lives for the whole bench: it enforces a global limit of --rate
  sendMessage/s (token bucket, burst = one second's worth) and 1 message/s per chat (burst 1) with
  real 429 answers carrying retry_after, and records every call. A process of its own keeps its
  CPU (parsing every request, checking every message's HTML) off the sender's core, and lets it
  outlive a SIGKILLed delivery process. In --talkers mode the simulated residents run there too.
* The database is a fresh SQLite file in a temporary folder, or a scratch database created (and
  dropped afterwards) on the PostgreSQL server named by --database-url. N contacts (channel
  telegram, distinct chat ids, subscribed) are inserted directly; one broadcast to all subscribers
  is enqueued through outreach.broadcasts.send (one outbox row per recipient, one transaction).
* What sends depends on the mode:
  default    the production wiring in THIS process: bot.runtime.send_budget + budget_shares + telegram_bot +
             make_delivery_loop (DeliveryLoop, default DeliverySettings, TelegramSender over a PTB
             Bot over HTTP), run until every row is settled. Then, unless --skip-baselines, the
             same messages (to min(N, 3000) other chats) from (a) the common recipe, a loop of
             `await bot.send_message(...)` + `await asyncio.sleep(1 / rate)` (catching RetryAfter,
             sleeping retry_after and sending again, as the recipe usually does), (b) PTB's
             AIORateLimiter(overall_max_rate=rate, overall_time_period=1, max_retries=5) on an
             Application's bot, with as many sends in flight as the delivery loop has (16), and
             (c) bare PTB send_message calls, 16 in flight, against the same server with its global
             limit lifted: the ceiling this harness allows (PTB client + fake server on 2 cores).
             Each phase gets a fresh server (fresh buckets) with the same settings.
  --kill     `blkbot deliver` as a child process (BLKBOT_TELEGRAM_TOKEN / _BASE_URL / _DATABASE_URL
             / _TELEGRAM_RATE / _BULK_SHARE in its environment); SIGKILLed once the server has
             recorded about half of the messages, then started again and left to finish (the new one
             sends once the dead one's budget row is forgotten: 4 s without a heartbeat).
  --workers  N `blkbot deliver` processes on one PostgreSQL outbox, with BLKBOT_WORKERS=N; they
             share the rate through their heartbeats (outreach.budget_shares); refused on SQLite.
  --beside   the bot's sending half in THIS process (send_budget + budget_shares as role "bot" +
             make_delivery_loop, as `blkbot run` wires them) and, in a child process on the same
             database, `blkbot deliver` (started once the bot has sent a fifth of the broadcast) or
             `blkbot broadcast --text ... --yes --deliver` (it enqueues the broadcast itself, to every
             subscriber, two heartbeats after the bot joined). Prints the combined rate at the server,
             the rate from one heartbeat after the child joined the budget, the most sends in any one
             second, and the server's 429s per 1,000 messages. SQLite or PostgreSQL.
  --talkers  the real conversation handler (handlers.telegram.build_application, long polling)
             and the delivery loop in THIS process, sharing ONE SendBudget (a member of the bot's
             budget, role bot) and one Database, as
             `blkbot run` wires them; residents keep chatting first with no broadcast (a quiet
             window of --quiet-seconds, after each resident's /start), then while the
             broadcast goes out. A resident presses a cluster, a programme, the back button, types
             /kembali, and round again, thinking 2-6 s between turns. Latency is taken in the server
             process: update delivered to the bot -> the turn's keyboard message received.

bulk share
----------
SendBudget caps pushed (bulk) messages at rate x bulk_share whether or not anyone is chatting (the
bulk bucket is not lent the idle reply share). With nobody chatting, the broadcast may use the whole
limit, so the default here is --bulk-share 1.0 (BLKBOT_BULK_SHARE=1); --talkers defaults to the
product default 0.8, where residents need the rest. Both ratios are printed: rate_ratio = achieved
/ configured overall limit, share_ratio = achieved / (limit x bulk share), the rate actually
allotted to the broadcast (they are equal at share 1.0). Achieved rate = (sends - 1) / (last send
- first send), taken at the server on its monotonic clock (the same clock as this process).

lost = recipients with no message at the server; duplicates = messages beyond one per recipient.
Output: a table, then one line of JSON as the very last line. Exit status 1 when a message was
lost or duplicated (beyond the messages in flight at the kill, for --kill).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from telegram import Bot  # noqa: E402
from telegram.constants import ParseMode  # noqa: E402
from telegram.error import RetryAfter, TelegramError  # noqa: E402
from telegram.request import HTTPXRequest  # noqa: E402

from bench.conversation_load import BenchServer as ConversationBenchServer  # noqa: E402
from bench.conversation_load import ChildProcess, scratch_database  # noqa: E402
from bench.whatsapp_broadcast import (  # noqa: E402
    WhatsAppServerProcess,
    add_whatsapp_subscribers,
    print_whatsapp_report,
    run_whatsapp,
)
from bot import event_loop  # noqa: E402
from bot.runtime import budget_shares, make_delivery_loop, send_budget, telegram_bot  # noqa: E402
from bot.settings import Settings  # noqa: E402
from handlers.telegram import retry_after_seconds  # noqa: E402
from messages.render import Templates  # noqa: E402
from outreach import broadcasts  # noqa: E402
from outreach.budget import SendBudget  # noqa: E402
from outreach.budget_shares import INTERVAL  # noqa: E402
from outreach.delivery import DeliveryLoop, DeliverySettings  # noqa: E402
from outreach.segments import Segment  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Contact, DeliveryStatus, OutboxMessage, StaffRole  # noqa: E402
from storage.repositories import budget_members  # noqa: E402
from tests.fakes.telegram_server import StoredMessage  # noqa: E402
from training.permissions import Actor  # noqa: E402

TOKEN = "123456789:BENCH-broadcast"
FIRST_CHAT = 20_000_000
BASELINE_FIRST_CHAT = {"recipe": 30_000_000, "aio": 40_000_000, "ceiling": 50_000_000}
TALKER_FIRST_CHAT = 900_000
BASELINE_MAX = 3000
CONCURRENCY = DeliverySettings().concurrency
QUIET_SECONDS = 30.0
THINK = (2.0, 6.0)
TURN_TIMEOUT = 30.0
JAKARTA = ZoneInfo("Asia/Jakarta")
DEMO_NOW = datetime(2026, 11, 25, 10, 0, tzinfo=JAKARTA)
"""The demo catalog's 'today' (its first 2027 wave is open) for the talkers' conversations."""

ANNOUNCEMENT = (
    "Pendaftaran pelatihan kerja gratis gelombang 2 tahun 2027 sudah dibuka! Kuota terbatas: "
    "Tata Boga, Teknik Las, Otomotif, Menjahit, Instalasi Listrik, Barista. Ketik /daftar untuk "
    "mendaftar atau datang ke UPT BLK, Jl. Jenderal Sudirman No. 52. Kode siaran: {marker}"
)

CLUSTERS = (  # (cluster button, programme button): open programmes of the demo catalog
    ("Tata Boga", "Olahan Kue dan Roti"),
    ("Otomotif Sepeda Motor", "Servis Sepeda Motor Injeksi"),
    ("Instalasi Listrik", "Instalasi Listrik Rumah Tinggal"),
    ("Menjahit", "Menjahit Busana Muslim"),
)
BACK = "⬅️ Kembali"
WARMUP_STEPS = ("start",)
"""A resident's first turn (the first /start answers with two messages, and makes the contact): left
out of the latency figures. Browsing asks no consent, so the talkers never give it."""


# ------------------------------------------------------------------------------------------
# Server process: the fake Bot API server (and, for --talkers, the residents)
# ------------------------------------------------------------------------------------------


class BenchServer(ConversationBenchServer):
    """The conversation bench's server (when each update was delivered, a per-chat wait for the
    message that ends a turn), plus: per-chat counts of the broadcast's messages (recognised by a
    marker in their text) and the 429s split between broadcast and other messages."""

    def __init__(self, marker: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.marker = marker
        self.ok_by_chat: Counter[int] = Counter()
        self.ok_times: list[float] = []
        self.other_times: list[float] = []
        self.marked_429 = 0
        self.other_429: list[float] = []

    def _marked(self, params: Any) -> bool:
        text = params.get("text")
        return isinstance(text, str) and self.marker in text

    def ends_turn(self, params: Any) -> bool:
        return not self._marked(params)

    def _record(
        self, method: str, chat_id: Any, params: Any, arrival: float, status: int, payload: Any, message: Any
    ) -> None:
        super()._record(method, chat_id, params, arrival, status, payload, message)
        if method != "sendMessage":
            return
        marked = self._marked(params)
        if status == 429:
            if marked:
                self.marked_429 += 1
            else:
                self.other_429.append(arrival)
        elif status == 200 and marked:
            self.ok_by_chat[chat_id] += 1
            self.ok_times.append(arrival)
        elif status == 200:
            self.other_times.append(arrival)


@dataclass(frozen=True)
class Action:
    kind: str  # "text" or "press" (a button by its label)
    value: str


def talker_script(index: int) -> Iterator[tuple[str, Action]]:
    """/start, then round and round: a cluster, a programme (its card), the back button, /kembali."""
    yield "start", Action("text", "/start")
    k = index
    while True:
        cluster, programme = CLUSTERS[k % len(CLUSTERS)]
        k += 1
        yield "cluster", Action("press", cluster)
        yield "programme", Action("press", programme)
        yield "back", Action("press", BACK)
        yield "kembali", Action("text", "/kembali")


def button_data(message: StoredMessage | None, label: str) -> str:
    for button in message.inline_buttons if message is not None else []:
        if button["text"] == label:
            return str(button["callback_data"])
    shown = message.plain_text[:80] if message is not None and message.plain_text else None
    raise LookupError(f"no button {label!r} under {shown!r}")


async def take_turn(
    server: BenchServer, chat_id: int, action: Action, shown: StoredMessage | None
) -> tuple[float, int, float, StoredMessage]:
    waiter: asyncio.Future[tuple[float, StoredMessage]] = asyncio.get_running_loop().create_future()
    server.turn_waiters[chat_id] = waiter
    sent = server._clock()
    if action.kind == "text":
        update_id = await server.send_text(chat_id, action.value)
    else:
        assert shown is not None
        await server.press_button(chat_id, shown.message_id, button_data(shown, action.value))
        update_id = server.last_update_id
    try:
        replied, message = await asyncio.wait_for(waiter, TURN_TIMEOUT)
    finally:
        server.turn_waiters.pop(chat_id, None)
    return sent, update_id, replied, message


async def run_talker(
    server: BenchServer,
    index: int,
    stop: asyncio.Event,
    rng: random.Random,
    think: tuple[float, float],
    warmed: Callable[[], None],
) -> tuple[list[tuple[str, int, float, float]], str | None]:
    """Chat until `stop`: each turn waits for the bot's answer, then the resident thinks a while."""
    chat_id = TALKER_FIRST_CHAT + index
    turns: list[tuple[str, int, float, float]] = []
    shown: StoredMessage | None = None
    await asyncio.sleep(rng.uniform(0, think[1]))  # residents do not all start at once
    for step, action in talker_script(index):
        if stop.is_set():
            break
        try:
            sent, update_id, replied, shown = await take_turn(server, chat_id, action, shown)
        except (TimeoutError, LookupError, AssertionError) as problem:
            warmed()
            return turns, f"resident {index} step {step}: {type(problem).__name__} {problem}"[:300]
        turns.append((step, update_id, sent, replied))
        if step == WARMUP_STEPS[-1]:
            warmed()
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), rng.uniform(*think))
    return turns, None


class Talkers:
    def __init__(self, server: BenchServer, count: int, think: tuple[float, float], seed: int) -> None:
        self.server = server
        self.stop = asyncio.Event()
        self.warm = asyncio.Event()
        self._cold = count
        self.tasks = [
            asyncio.create_task(run_talker(server, i, self.stop, random.Random(seed * 1000 + i), think, self._warmed))
            for i in range(count)
        ]

    def _warmed(self) -> None:
        self._cold -= 1
        if self._cold <= 0:
            self.warm.set()

    async def finish(self) -> dict[str, Any]:
        self.stop.set()
        results = await asyncio.gather(*self.tasks)
        turns = []
        for turn_list, _ in results:
            for step, update_id, sent, replied in turn_list:
                turns.append((step, sent, self.server.delivered.get(update_id), replied))
        return {
            "turns": turns,
            "errors": [error for _, error in results if error],
            "unexpected_replies": self.server.unexpected_replies,
        }


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _server_main(conn: Any) -> None:
    loop = asyncio.get_running_loop()
    server: BenchServer | None = None
    talkers: Talkers | None = None
    while True:
        command, argument = await loop.run_in_executor(None, conn.recv)
        try:
            if command == "serve":
                if server is not None:
                    await server.stop()
                server = await BenchServer(argument["marker"], token=TOKEN).start()
                server.set_rate_limit(
                    global_per_s=argument["global_per_s"],
                    per_chat_per_s=argument["per_chat_per_s"],
                    global_burst=argument["global_burst"],
                )
                conn.send(server.base_url)
            elif command == "progress":
                assert server is not None
                conn.send({"sent": len(server.ok_times), "cpu": _cpu_seconds()})
            elif command == "report":
                assert server is not None
                conn.send(
                    {
                        "by_chat": dict(server.ok_by_chat),
                        "times": sorted(server.ok_times),
                        "other_times": sorted(server.other_times),
                        "marked_429": server.marked_429,
                        "other_429": sorted(server.other_429),
                        "rate_limited": server.stats.rate_limited,
                        "bad_status": {str(s): n for s, n in server.stats.by_status.items() if s not in (200, 429)},
                        "cpu": _cpu_seconds(),
                    }
                )
            elif command == "talk-start":
                assert server is not None
                talkers = Talkers(server, argument["talkers"], tuple(argument["think"]), argument["seed"])
                conn.send(None)
            elif command == "talk-warm":  # until every resident is past its first two turns
                assert talkers is not None
                with suppress(TimeoutError):
                    await asyncio.wait_for(talkers.warm.wait(), argument)
                conn.send(talkers.warm.is_set())
            elif command == "talk-stop":
                assert talkers is not None
                conn.send(await talkers.finish())
                talkers = None
            elif command == "stop":
                if server is not None:
                    await server.stop()
                server = None
                conn.send(None)
            else:
                conn.send(None)
                return
        except Exception as problem:  # report it to the bench rather than hang it
            conn.send(RuntimeError(f"server process: {command}: {type(problem).__name__}: {problem}"))


def server_main(conn: Any) -> None:
    """Entry point of the server process."""
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_server_main(conn))


class ServerProcess(ChildProcess):
    """The bench's handle on the server process."""

    def __init__(self) -> None:
        super().__init__(server_main, "bench-fake-telegram")

    async def serve(self, marker: str, rate: float | None) -> str:
        return await self.call(
            "serve",
            {
                "marker": marker,
                "global_per_s": rate,
                "per_chat_per_s": 1.0,
                "global_burst": max(1.0, rate) if rate else None,
            },
        )


# ------------------------------------------------------------------------------------------
# Database
# ------------------------------------------------------------------------------------------


async def add_subscribers(db: Database, count: int) -> None:
    now = datetime.now(UTC)
    async with db.transaction() as session:
        for start in range(0, count, 2000):
            await session.execute(
                insert(Contact),
                [
                    {
                        "channel": "telegram",
                        "chat_id": str(FIRST_CHAT + i),
                        "language": "en" if i % 10 == 0 else "id",
                        "consented_at": now,
                        "subscribed": True,
                        "unreachable": False,
                        "created_at": now,
                    }
                    for i in range(start, min(count, start + 2000))
                ],
            )


async def enqueue_broadcast(db: Database, marker: str) -> tuple[int, set[int], float]:
    """One broadcast to every subscriber; returns (its id, the recipients' chat ids, seconds taken)."""
    t0 = time.perf_counter()
    async with db.transaction() as session:
        broadcast = await broadcasts.send(
            session,
            Templates(),
            Actor("bench", "bench", "bench", StaffRole.ADMIN),
            text=ANNOUNCEMENT.format(marker=marker),
            segment=Segment(),
            now=datetime.now(UTC),
        )
    took = time.perf_counter() - t0
    async with db.transaction() as session:
        chats = {
            int(c)
            for c in await session.scalars(
                select(OutboxMessage.chat_id).where(OutboxMessage.broadcast_id == broadcast.id)
            )
        }
    return broadcast.id, chats, took


async def outbox_counts(db: Database, broadcast_id: int) -> dict[str, int]:
    async with db.transaction() as session:
        rows = await session.execute(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.broadcast_id == broadcast_id)
            .group_by(OutboxMessage.status)
        )
        return {str(status): n for status, n in rows.all()}


async def unsettled(db: Database, broadcast_id: int) -> int:
    counts = await outbox_counts(db, broadcast_id)
    return counts.get(DeliveryStatus.PENDING, 0) + counts.get(DeliveryStatus.SENDING, 0)


async def chats_not_marked_sent(db: Database, broadcast_id: int) -> set[int]:
    async with db.transaction() as session:
        rows = await session.scalars(
            select(OutboxMessage.chat_id).where(
                OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.status != DeliveryStatus.SENT
            )
        )
        return {int(c) for c in rows}


# ------------------------------------------------------------------------------------------
# Figures
# ------------------------------------------------------------------------------------------


@dataclass
class Run:
    name: str
    kind: str  # "blkbot", "recipe", "aio" or "ceiling"
    recipients: int
    limit: float
    share: float = 1.0
    sent: int = 0
    lost: int = 0
    duplicates: int = 0
    retries_429: int = 0
    rate: float | None = None
    wall: float | None = None
    bot_cpu: float | None = None
    server_cpu: float | None = None
    failed: int = 0
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rate_ratio(self) -> float | None:
        return None if self.rate is None or not self.limit else self.rate / self.limit

    @property
    def share_ratio(self) -> float | None:
        return None if self.rate is None or not self.limit else self.rate / (self.limit * self.share)


def span_rate(times: list[float]) -> float | None:
    if len(times) < 2 or times[-1] <= times[0]:
        return None
    return (len(times) - 1) / (times[-1] - times[0])


def judge(run: Run, expected: set[int], report: dict[str, Any], started: float) -> Run:
    by_chat: dict[int, int] = report["by_chat"]
    run.sent = sum(by_chat.values())
    run.lost = len(expected - set(by_chat))
    run.duplicates = sum(n - 1 for chat, n in by_chat.items() if chat in expected and n > 1)
    run.duplicates += sum(n for chat, n in by_chat.items() if chat not in expected)
    run.retries_429 = report["marked_429"]
    run.rate = span_rate(report["times"])
    if report["times"]:
        run.wall = report["times"][-1] - started
    if report["bad_status"]:
        run.note = (run.note + f" other answers: {report['bad_status']}").strip()
    return run


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def proc_cpu_seconds(pid: int) -> float | None:
    """utime + stime of a (child) process, from /proc; None where there is none."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def expected_seconds(count: int, rate: float) -> float:
    return count / rate


# ------------------------------------------------------------------------------------------
# Phases
# ------------------------------------------------------------------------------------------


def bench_settings(url: str, base_url: str, args: argparse.Namespace, workers: int = 1) -> Settings:
    return Settings(
        database_url=url,
        telegram_token=TOKEN,
        telegram_base_url=base_url,
        telegram_rate=args.rate,
        bulk_share=args.bulk_share,
        workers=workers,
    )


async def run_blkbot(
    args: argparse.Namespace, server: ServerProcess, db: Database, url: str, marker: str, expected: set[int]
) -> Run:
    """The production wiring of `blkbot deliver`, in this process, until every row is settled."""
    base_url = await server.serve(marker, args.rate)
    settings = bench_settings(url, base_url, args)
    budget = send_budget(settings)
    bot = telegram_bot(settings)
    await bot.initialize()
    run = Run("blkbot delivery loop", "blkbot", len(expected), args.rate, args.bulk_share)
    try:
        loop = make_delivery_loop(settings, db, budget, "deliver", bot=bot)
        await loop.start_up()
        stop = asyncio.Event()
        beating = asyncio.create_task(budget_shares(settings, db, budget, "deliver").run(stop))
        server_cpu0 = (await server.call("progress"))["cpu"]
        cpu0, t0 = _cpu_seconds(), time.monotonic()
        task = asyncio.create_task(loop.run(stop))
        deadline = t0 + 3 * expected_seconds(len(expected), args.rate * args.bulk_share) + 60
        while time.monotonic() < deadline and not task.done():
            settled = loop.stats.sent + loop.stats.failed + loop.stats.unreachable
            if settled >= len(expected):
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.gather(task, beating)
        wall = time.monotonic() - t0
        run.bot_cpu = (_cpu_seconds() - cpu0) / wall
        report = await server.call("report")
        run.server_cpu = (report["cpu"] - server_cpu0) / wall
        judge(run, expected, report, t0)
        run.failed = loop.stats.failed + loop.stats.unreachable
        run.extra = {"loop_429": loop.stats.rate_limited, "server_429": report["rate_limited"]}
        if time.monotonic() >= deadline:
            run.note = "timed out before every row was settled"
    finally:
        await bot.shutdown()
    return run


def baseline_chats(kind: str, count: int) -> list[int]:
    return [BASELINE_FIRST_CHAT[kind] + i for i in range(count)]


async def run_recipe(args: argparse.Namespace, server: ServerProcess, marker: str, text: str, count: int) -> Run:
    """for chat in chats: await bot.send_message(...); await asyncio.sleep(1 / rate)"""
    base_url = await server.serve(marker, args.rate)
    chats = baseline_chats("recipe", count)
    run = Run("common recipe (send + sleep 1/rate)", "recipe", count, args.rate)
    failures = 0
    deadline = time.monotonic() + 3 * expected_seconds(count, args.rate) + 60
    async with Bot(TOKEN, base_url=base_url, request=HTTPXRequest(connection_pool_size=4)) as bot:
        server_cpu0 = (await server.call("progress"))["cpu"]
        cpu0, t0 = _cpu_seconds(), time.monotonic()
        for chat in chats:
            if time.monotonic() > deadline:
                run.note = "timed out"
                break
            for _ in range(5):
                try:
                    await bot.send_message(chat, text, parse_mode=ParseMode.HTML)
                    break
                except RetryAfter as limited:
                    await asyncio.sleep(retry_after_seconds(limited))
                except TelegramError:
                    failures += 1
                    break
            await asyncio.sleep(1 / args.rate)
        wall = time.monotonic() - t0
    run.bot_cpu = (_cpu_seconds() - cpu0) / wall
    report = await server.call("report")
    run.server_cpu = (report["cpu"] - server_cpu0) / wall
    run.failed = failures
    return judge(run, set(chats), report, t0)


async def run_aio_limiter(args: argparse.Namespace, server: ServerProcess, marker: str, text: str, count: int) -> Run:
    """PTB's AIORateLimiter on an Application's bot, CONCURRENCY sends in flight."""
    from telegram.ext import AIORateLimiter, ApplicationBuilder

    base_url = await server.serve(marker, args.rate)
    chats = baseline_chats("aio", count)
    run = Run(f"PTB AIORateLimiter ({CONCURRENCY} in flight)", "aio", count, args.rate)
    limiter = AIORateLimiter(overall_max_rate=args.rate, overall_time_period=1, max_retries=5)
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(base_url)
        .base_file_url(base_url.replace("/bot", "/file/bot"))
        .rate_limiter(limiter)
        .connection_pool_size(CONCURRENCY + 8)
        .build()
    )
    failures = 0
    slots = asyncio.Semaphore(CONCURRENCY)

    async def one(chat: int) -> None:
        nonlocal failures
        async with slots:
            try:
                await app.bot.send_message(chat, text, parse_mode=ParseMode.HTML)
            except TelegramError:
                failures += 1

    logging.getLogger("telegram.ext.AIORateLimiter").setLevel(logging.CRITICAL)  # it logs each 429
    async with app:
        server_cpu0 = (await server.call("progress"))["cpu"]
        cpu0, t0 = _cpu_seconds(), time.monotonic()
        try:
            await asyncio.wait_for(
                asyncio.gather(*(one(c) for c in chats)), 3 * expected_seconds(count, args.rate) + 60
            )
        except TimeoutError:
            run.note = "timed out"
        wall = time.monotonic() - t0
    run.bot_cpu = (_cpu_seconds() - cpu0) / wall
    report = await server.call("report")
    run.server_cpu = (report["cpu"] - server_cpu0) / wall
    run.failed = failures
    return judge(run, set(chats), report, t0)


async def run_ceiling(args: argparse.Namespace, server: ServerProcess, marker: str, text: str, count: int) -> Run:
    """Bare PTB send_message, CONCURRENCY in flight, the server's global limit lifted: the harness's ceiling."""
    base_url = await server.serve(marker, None)
    chats = baseline_chats("ceiling", count)
    run = Run(f"bare PTB, no limit ({CONCURRENCY} in flight)", "ceiling", count, args.rate)
    slots = asyncio.Semaphore(CONCURRENCY)
    failures = 0

    async def one(chat: int) -> None:
        nonlocal failures
        async with slots:
            try:
                await bot.send_message(chat, text, parse_mode=ParseMode.HTML)
            except TelegramError:
                failures += 1

    async with Bot(TOKEN, base_url=base_url, request=HTTPXRequest(connection_pool_size=64)) as bot:
        server_cpu0 = (await server.call("progress"))["cpu"]
        cpu0, t0 = _cpu_seconds(), time.monotonic()
        await asyncio.wait_for(asyncio.gather(*(one(c) for c in chats)), 300)
        wall = time.monotonic() - t0
    run.bot_cpu = (_cpu_seconds() - cpu0) / wall
    report = await server.call("report")
    run.server_cpu = (report["cpu"] - server_cpu0) / wall
    run.failed = failures
    return judge(run, set(chats), report, t0)


# -- child processes (--kill, --workers) ----------------------------------------------------


def blkbot_command(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("blkbot")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())", *args]


def start_deliverer(
    settings_env: dict[str, str], workdir: Path, name: str, command: tuple[str, ...] = ("deliver",)
) -> tuple[subprocess.Popen[bytes], Path]:
    """`blkbot deliver` (or another blkbot command) as a child process, its output in a log file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BLKBOT_")}
    env |= settings_env
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    log = workdir / f"{name}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(blkbot_command(*command), cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT)
    return process, log


def child_env(url: str, base_url: str, args: argparse.Namespace, workers: int) -> dict[str, str]:
    return {
        "BLKBOT_DATABASE_URL": url,
        "BLKBOT_TELEGRAM_TOKEN": TOKEN,
        "BLKBOT_TELEGRAM_BASE_URL": base_url,
        "BLKBOT_TELEGRAM_RATE": str(args.rate),
        "BLKBOT_BULK_SHARE": str(args.bulk_share),
        "BLKBOT_WORKERS": str(workers),
        "BLKBOT_LOG_LEVEL": "WARNING",
    }


async def stop_deliverer(process: subprocess.Popen[bytes], log: Path) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        for _ in range(200):
            if process.poll() is not None:
                break
            await asyncio.sleep(0.1)
        else:
            process.kill()
            process.wait()
    if process.returncode not in (0, -signal.SIGTERM):
        tail = log.read_bytes()[-2000:].decode(errors="replace")  # noqa: ASYNC240 - a small file, once
        print(f"delivery process {process.pid} exited {process.returncode}:\n{tail}", file=sys.stderr)


async def wait_settled(
    db: Database, broadcast_id: int, processes: list[subprocess.Popen[bytes]], deadline: float
) -> bool:
    while time.monotonic() < deadline:
        if await unsettled(db, broadcast_id) == 0:
            return True
        if all(p.poll() is not None for p in processes):
            return False
        await asyncio.sleep(0.25)
    return False


async def run_kill(
    args: argparse.Namespace,
    server: ServerProcess,
    db: Database,
    url: str,
    marker: str,
    expected: set[int],
    broadcast_id: int,
    workdir: Path,
) -> Run:
    base_url = await server.serve(marker, args.rate)
    env = child_env(url, base_url, args, 1)
    run = Run("blkbot deliver, SIGKILL + restart", "blkbot", len(expected), args.rate, args.bulk_share)
    server_cpu0 = (await server.call("progress"))["cpu"]
    budget_s = 3 * expected_seconds(len(expected), args.rate * args.bulk_share) + 90
    t0 = time.monotonic()
    first, log1 = start_deliverer(env, workdir, "deliver-1")
    target = max(1, len(expected) // 2)
    deadline = t0 + budget_s
    while time.monotonic() < deadline and first.poll() is None:
        progress = await server.call("progress")
        if progress["sent"] >= target:
            break
        await asyncio.sleep(0.02)
    cpu1 = proc_cpu_seconds(first.pid) or 0.0
    if first.poll() is None:
        os.kill(first.pid, signal.SIGKILL)
    first.wait()
    if first.returncode != -signal.SIGKILL:
        print(f"first delivery process ended by itself ({first.returncode}):", file=sys.stderr)
        print(log1.read_text(errors="replace")[-2000:], file=sys.stderr)
    killed = time.monotonic()
    await asyncio.sleep(0.5)  # the server answers whatever it had read off the dead process's sockets
    snapshot = await server.call("report")
    counts = await outbox_counts(db, broadcast_id)
    answered = set(snapshot["by_chat"])
    not_marked = await chats_not_marked_sent(db, broadcast_id)
    run.extra = {
        "killed_after_sent": len(snapshot["times"]),
        "killed_target": target,
        "sending_at_kill": counts.get(DeliveryStatus.SENDING, 0),
        "answered_unmarked": len(answered & not_marked),
        "status_at_kill": counts,
    }
    second, log2 = start_deliverer(env, workdir, "deliver-2")
    restarted = time.monotonic()
    done = await wait_settled(db, broadcast_id, [second], restarted + budget_s)
    cpu2 = proc_cpu_seconds(second.pid) or 0.0
    await stop_deliverer(second, log2)
    wall = time.monotonic() - t0
    report = await server.call("report")
    judge(run, expected, report, t0)
    run.bot_cpu = (cpu1 + cpu2) / wall
    run.server_cpu = (report["cpu"] - server_cpu0) / wall
    run.extra |= {"restart_gap_s": round(restarted - killed, 2), "server_429": report["rate_limited"]}
    if not done:
        run.note = "not every row settled before the deadline"
    return run


async def run_workers(
    args: argparse.Namespace,
    server: ServerProcess,
    db: Database,
    url: str,
    marker: str,
    expected: set[int],
    broadcast_id: int,
    workdir: Path,
) -> Run:
    base_url = await server.serve(marker, args.rate)
    env = child_env(url, base_url, args, args.workers)
    run = Run(
        f"{args.workers} x blkbot deliver (one budget)",
        "blkbot",
        len(expected),
        args.rate,
        args.bulk_share,
    )
    server_cpu0 = (await server.call("progress"))["cpu"]
    t0 = time.monotonic()
    started = [start_deliverer(env, workdir, f"worker-{i + 1}") for i in range(args.workers)]
    deadline = t0 + 3 * expected_seconds(len(expected), args.rate * args.bulk_share) + 90
    done = await wait_settled(db, broadcast_id, [p for p, _ in started], deadline)
    cpu = sum(proc_cpu_seconds(p.pid) or 0.0 for p, _ in started)
    for process, log in started:
        await stop_deliverer(process, log)
    wall = time.monotonic() - t0
    report = await server.call("report")
    judge(run, expected, report, t0)
    run.bot_cpu = cpu / wall
    run.server_cpu = (report["cpu"] - server_cpu0) / wall
    run.extra = {"server_429": report["rate_limited"], "workers": args.workers}
    if not done:
        run.note = "not every row settled before the deadline"
    return run


# -- a second process beside the bot (--beside) ---------------------------------------------


async def start_bot_sending(
    settings: Settings, db: Database, budget: SendBudget, bot: Bot
) -> tuple[DeliveryLoop, Callable[[], Awaitable[None]]]:
    """The sending half of `blkbot run` in THIS process, as bot.commands.run wires it: the process's
    membership of the bot's budget (role bot) and the delivery loop, on the budget the conversation
    handler also uses; and how to stop them."""
    shares = budget_shares(settings, db, budget, "bot")
    loop = make_delivery_loop(settings, db, budget, "bot", bot=bot)
    await loop.start_up()
    stop = asyncio.Event()
    tasks = [asyncio.create_task(shares.run(stop)), asyncio.create_task(loop.run(stop))]

    async def close() -> None:
        stop.set()
        await asyncio.gather(*tasks)

    return loop, close


async def outbox_settled(db: Database, at_least: int) -> bool:
    """At least `at_least` rows in the outbox, none of them pending or claimed."""
    async with db.transaction() as session:
        rows = dict(
            (await session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status))).all()
        )
    total = sum(rows.values())
    return total >= at_least and not rows.get(DeliveryStatus.PENDING) and not rows.get(DeliveryStatus.SENDING)


async def budget_member_count(db: Database) -> int:
    async with db.transaction() as session:
        return len(await budget_members.members(session))


def peak_per_second(times: list[float]) -> int:
    """The most sends the server saw in any one second (a sliding window over its arrivals)."""
    peak, first = 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= 1.0:
            first += 1
        peak = max(peak, last - first + 1)
    return peak


async def run_beside(
    args: argparse.Namespace, server: ServerProcess, db: Database, url: str, marker: str, workdir: Path
) -> Run:
    """The bot's delivery loop in THIS process, and beside it a child `blkbot deliver` (started once the
    bot has sent a fifth of a broadcast) or `blkbot broadcast --deliver` (which enqueues the broadcast
    itself, as staff do while the bot runs); both on one database, sending for one bot. "Together" is
    measured from one heartbeat after the child joined the budget (its row in budget_members)."""
    base_url = await server.serve(marker, args.rate)
    settings = bench_settings(url, base_url, args)
    env = child_env(url, base_url, args, 1)
    expected = {FIRST_CHAT + i for i in range(args.recipients)}
    run = Run(f"blkbot run + blkbot {args.beside}", "blkbot", len(expected), args.rate, args.bulk_share)
    bot = telegram_bot(settings)
    await bot.initialize()
    server_cpu0 = (await server.call("progress"))["cpu"]
    cpu0, t0 = _cpu_seconds(), time.monotonic()
    deadline = t0 + 3 * expected_seconds(len(expected), args.rate * args.bulk_share) + 90
    loop, stop_bot = await start_bot_sending(settings, db, send_budget(settings), bot)
    child: subprocess.Popen[bytes] | None = None
    try:
        if args.beside == "deliver":
            await enqueue_broadcast(db, marker)
            loop.wake()
            while time.monotonic() < deadline:
                if (await server.call("progress"))["sent"] >= len(expected) // 5:
                    break
                await asyncio.sleep(0.05)
            child, log = start_deliverer(env, workdir, "deliver")
        else:
            await asyncio.sleep(2 * INTERVAL)  # the bot has joined the budget, as a running bot has
            text = ANNOUNCEMENT.format(marker=marker)
            command = ("broadcast", "--text", text, "--yes", "--deliver", "--by", "bench")
            child, log = start_deliverer(env, workdir, "broadcast", command)
        both_from: float | None = None
        done = False
        while time.monotonic() < deadline and not done:
            await asyncio.sleep(0.25)
            if both_from is None and await budget_member_count(db) >= 2:
                both_from = time.monotonic()  # the child joined the budget: from here both send
            done = await outbox_settled(db, len(expected))
        cpu_child = proc_cpu_seconds(child.pid) or 0.0
        await stop_deliverer(child, log)
    finally:
        if child is not None and child.poll() is None:
            child.kill()
        await stop_bot()
        await bot.shutdown()
    wall = time.monotonic() - t0
    report = await server.call("report")
    judge(run, expected, report, t0)
    times = report["times"]
    together = [t for t in times if both_from is not None and t >= both_from + INTERVAL]
    run.bot_cpu = (_cpu_seconds() - cpu0 + cpu_child) / wall
    run.server_cpu = (report["cpu"] - server_cpu0) / wall
    run.failed = loop.stats.failed + loop.stats.unreachable
    run.extra = {
        "server_429": report["rate_limited"],
        "bot_429": loop.stats.rate_limited,
        "bot_sent": loop.stats.sent,
        "per_1000": 1000 * report["rate_limited"] / max(1, len(times)),
        "together_rate": span_rate(together),
        "peak_1s": peak_per_second(times),
    }
    if not done:
        run.note = "not every row settled before the deadline"
    return run


# -- residents chatting during the broadcast ------------------------------------------------


def bench_clock() -> Any:
    started = time.monotonic()
    return lambda: (DEMO_NOW + timedelta(seconds=time.monotonic() - started)).astimezone(UTC)


async def run_talkers(
    args: argparse.Namespace, server: ServerProcess, db: Database, url: str, marker: str, workdir: Path
) -> tuple[Run, dict[str, Any]]:
    """`blkbot run`'s wiring: one Application, one SendBudget and one Database for the conversation
    handler and the delivery loop; residents chat through a quiet window, then during the broadcast."""
    from conversations.context import Services
    from conversations.runner import Conversations
    from handlers.telegram import build_application

    base_url = await server.serve(marker, args.rate)
    settings = bench_settings(url, base_url, args)
    budget = send_budget(settings)
    services = Services(templates=Templates(), timezone=JAKARTA, clock=bench_clock())
    app = build_application(Conversations(db, services), TOKEN, base_url, budget)
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling()
    loop, stop_bot = await start_bot_sending(settings, db, budget, app.bot)
    run = Run(f"blkbot loop + {args.talkers} residents", "blkbot", args.recipients, args.rate, args.bulk_share)
    talk: dict[str, Any] = {}
    try:
        await server.call("talk-start", {"talkers": args.talkers, "think": THINK, "seed": args.seed})
        if not await server.call("talk-warm", 120):
            print("warning: not every resident got past /start within 120 s", file=sys.stderr)
        quiet_start = time.monotonic()
        await asyncio.sleep(args.quiet_seconds)
        broadcast_id, expected, enqueue_s = await enqueue_broadcast(db, marker)
        loop.wake()
        enqueued = time.monotonic()
        run.recipients = len(expected)
        server_cpu0 = (await server.call("progress"))["cpu"]
        cpu0 = _cpu_seconds()
        deadline = enqueued + 3 * expected_seconds(len(expected), args.rate * args.bulk_share) + 90
        done = False
        while time.monotonic() < deadline:
            if loop.stats.sent + loop.stats.failed + loop.stats.unreachable >= len(expected):
                done = await unsettled(db, broadcast_id) == 0
                if done:
                    break
            await asyncio.sleep(0.1)
        finished = time.monotonic()
        raw = await server.call("talk-stop")
        run.bot_cpu = (_cpu_seconds() - cpu0) / (finished - enqueued)
        report = await server.call("report")
        run.server_cpu = (report["cpu"] - server_cpu0) / (finished - enqueued)
        judge(run, expected, report, enqueued)
        run.extra = {"loop_429": loop.stats.rate_limited, "server_429": report["rate_limited"], "enqueue_s": enqueue_s}
        if not done:
            run.note = "not every row settled before the deadline"
        talk = summarise_talk(raw, report, quiet_start, enqueued, finished, args)
    finally:
        await stop_bot()
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
    return run, talk


def summarise_talk(
    raw: dict[str, Any], report: dict[str, Any], quiet_start: float, enqueued: float, finished: float, args: Any
) -> dict[str, Any]:
    def window(lo: float, hi: float) -> dict[str, Any]:
        turns = [t for t in raw["turns"] if t[0] not in WARMUP_STEPS and lo <= t[1] < hi]
        latency = [replied - delivered for _, _, delivered, replied in turns if delivered is not None]
        e2e = [replied - sent for _, sent, _, replied in turns]
        replies = [t for t in report["other_times"] if lo <= t < hi]
        other_429 = [t for t in report["other_429"] if lo <= t < hi]
        seconds = hi - lo
        return {
            "turns": len(turns),
            "turns_per_s": len(turns) / seconds if seconds > 0 else math.nan,
            "replies_per_s": len(replies) / seconds if seconds > 0 else math.nan,
            "p50_ms": percentile(latency, 50) * 1000,
            "p95_ms": percentile(latency, 95) * 1000,
            "p99_ms": percentile(latency, 99) * 1000,
            "e2e_p50_ms": percentile(e2e, 50) * 1000,
            "e2e_p95_ms": percentile(e2e, 95) * 1000,
            "reply_429": len(other_429),
        }

    return {
        "quiet": window(quiet_start, enqueued),
        "warmup_429": len([t for t in report["other_429"] if t < quiet_start]),
        "broadcast": window(enqueued, finished),
        "errors": raw["errors"],
        "unexpected_replies": raw["unexpected_replies"],
        "talkers": args.talkers,
        "quiet_seconds": enqueued - quiet_start,
        "broadcast_seconds": finished - enqueued,
    }


# ------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)


def print_runs(runs: list[Run]) -> None:
    header = (
        "sender",
        "recipients",
        "sent",
        "msg/s",
        "vs limit",
        "vs share",
        "429s",
        "lost",
        "dup",
        "failed",
        "wall s",
        "bot cpu",
        "srv cpu",
    )
    rows = [
        (
            r.name,
            f"{r.recipients:,}",
            f"{r.sent:,}",
            fmt(r.rate, ".1f"),
            fmt(r.rate_ratio, ".3f") if r.kind != "ceiling" else "-",
            fmt(r.share_ratio, ".3f") if r.kind == "blkbot" else "-",
            str(r.retries_429),
            str(r.lost),
            str(r.duplicates),
            str(r.failed),
            fmt(r.wall, ".1f"),
            fmt(r.bot_cpu, ".0%"),
            fmt(r.server_cpu, ".0%"),
        )
        for r in runs
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)))
    for r in runs:
        if r.note:
            print(f"  {r.name}: {r.note}")


def print_report(
    args: argparse.Namespace, kind: str, runs: list[Run], enqueue_s: float | None, talk: dict[str, Any]
) -> None:
    main = runs[0]
    share_rate = args.rate * args.bulk_share
    print()
    print(
        f"broadcast bench: {main.recipients:,} recipients, database {kind}; limit {args.rate:g} msg/s overall "
        f"(fake server: global token bucket, burst {max(1.0, args.rate):g}; 1 msg/s per chat), 429s are real answers"
    )
    print(
        f"bulk share {args.bulk_share:g}: the broadcast may use {share_rate:g} msg/s"
        + (" (the whole limit: nobody else is sending)" if args.bulk_share == 1 else "")
        + (f"; enqueue of the broadcast took {enqueue_s:.2f} s" if enqueue_s is not None else "")
    )
    print_runs(runs)
    print(
        "msg/s = (sends - 1) / (last - first send) at the server; vs limit = msg/s / limit (rate_ratio); vs share = "
        "msg/s / (limit x bulk share)\n429s = 429 answers to these sends; lost = recipients with no message; dup = "
        "messages beyond one per recipient; wall = start of the phase -> last send;\nbot cpu / srv cpu = share of one "
        "core used by the sending process(es) / the fake server process during the phase"
    )
    if len(runs) > 1 and runs[0].recipients != runs[1].recipients:
        print(
            f"baselines send to min(N, {BASELINE_MAX}) = {runs[1].recipients:,} other chats (fresh server each, same settings)"
        )
    ceiling = next((r for r in runs if r.kind == "ceiling"), None)
    if ceiling is not None and ceiling.rate and main.rate:
        print(
            f"harness ceiling (bare PTB, no limit, {CONCURRENCY} in flight): {ceiling.rate:.0f} msg/s; "
            f"the delivery loop reached {main.rate / ceiling.rate:.0%} of it"
            f" and {main.share_ratio:.0%} of its allotted {share_rate:g} msg/s"
        )
    if "loop_429" in main.extra:
        print(
            f"429s the delivery loop saw: {main.extra['loop_429']}; all 429s the server gave: {main.extra['server_429']}"
        )
    if args.kill:
        x = main.extra
        print(
            f"kill: SIGKILL after {x['killed_after_sent']:,} messages were recorded by the server (target {x['killed_target']:,}); "
            f"rows 'sending' at the kill: {x['sending_at_kill']}; answered by the server but not marked sent: "
            f"{x['answered_unmarked']}; restart {x['restart_gap_s']} s later"
        )
        print(f"  outbox at the kill: {x['status_at_kill']}")
        ok = main.lost == 0 and main.duplicates <= x["answered_unmarked"]
        print(f"target lost 0, duplicates <= in flight: {'met' if ok else 'MISSED'}")
    if args.beside:
        x = main.extra
        print(
            f"beside: the bot's loop sent {x['bot_sent']:,}, blkbot {args.beside} the rest; combined "
            f"{fmt(main.rate, '.1f')} msg/s over the run, {fmt(x['together_rate'], '.1f')} msg/s once both ran, "
            f"at most {x['peak_1s']} in any one second (limit {args.rate:g}); 429s at the server "
            f"{x['server_429']} ({x['per_1000']:.1f} per 1,000 messages)"
        )
    if args.workers > 1:
        print(
            f"workers: {args.workers} processes, combined {fmt(main.rate, '.1f')} msg/s vs limit {args.rate:g} "
            f"({fmt(main.rate_ratio, '.3f')}); 429s {main.retries_429}; duplicates {main.duplicates}"
        )
    if talk:
        q, b = talk["quiet"], talk["broadcast"]
        print()
        print(
            f"{talk['talkers']} residents chatting (think {THINK[0]:g}-{THINK[1]:g} s between turns; one SendBudget with the loop); "
            f"quiet window {talk['quiet_seconds']:.0f} s, then the broadcast ({talk['broadcast_seconds']:.0f} s)"
        )
        head = (
            "window",
            "turns",
            "turns/s",
            "replies/s",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "e2e p50",
            "e2e p95",
            "reply 429s",
        )
        rows = [
            (
                name,
                str(w["turns"]),
                fmt(w["turns_per_s"], ".1f"),
                fmt(w["replies_per_s"], ".1f"),
                fmt(w["p50_ms"], ".1f"),
                fmt(w["p95_ms"], ".1f"),
                fmt(w["p99_ms"], ".1f"),
                fmt(w["e2e_p50_ms"], ".1f"),
                fmt(w["e2e_p95_ms"], ".1f"),
                str(w["reply_429"]),
            )
            for name, w in (("no broadcast", q), ("during broadcast", b))
        ]
        widths = [max(len(row[i]) for row in (head, *rows)) for i in range(len(head))]
        for row in (head, *rows):
            print("  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)))
        print(
            "latency: update delivered to the bot (getUpdates answer written) -> the turn's keyboard message received; "
            "e2e: update injected -> that message.\nEach resident's first /start is a warm-up before "
            "the quiet window (left out). reply 429s: 429s on sendMessage to residents in the window."
        )
        if talk["warmup_429"]:
            print(
                f"warm-up 429s: {talk['warmup_429']} (the first /start answers with two messages back to back; the "
                "server allows 1/s per chat, so the second waits out a 429)"
            )
        ratio = b["p95_ms"] / q["p95_ms"] if q["p95_ms"] else math.nan
        e2e_ratio = b["e2e_p95_ms"] / q["e2e_p95_ms"] if q["e2e_p95_ms"] else math.nan
        print(f"p95 during / without broadcast: {ratio:.2f}x (target <= 1.5x); e2e p95: {e2e_ratio:.2f}x")
        for error in talk["errors"][:5]:
            print(f"  {error}")


def summary(
    args: argparse.Namespace, kind: str, runs: list[Run], enqueue_s: float | None, talk: dict[str, Any]
) -> dict[str, Any]:
    main = runs[0]
    by_kind = {r.kind: r for r in runs[1:]}
    recipe, aio, ceiling = by_kind.get("recipe"), by_kind.get("aio"), by_kind.get("ceiling")

    def r3(value: float | None) -> float | None:
        return None if value is None or (isinstance(value, float) and math.isnan(value)) else round(value, 3)

    mode = (
        "kill"
        if args.kill
        else "workers"
        if args.workers > 1
        else "talkers"
        if args.talkers
        else f"beside-{args.beside}"
        if args.beside
        else "default"
    )
    out: dict[str, Any] = {
        "mode": mode,
        "database": kind,
        "recipients": main.recipients,
        "rate": args.rate,
        "bulk_share": args.bulk_share,
        "sent": main.sent,
        "lost": main.lost,
        "duplicates": main.duplicates,
        "failed": main.failed,
        "achieved_rate": r3(main.rate),
        "rate_ratio": r3(main.rate_ratio),
        "share_ratio": r3(main.share_ratio),
        "retries_429": main.retries_429,
        "server_429": main.extra.get("server_429"),
        "wall_s": r3(main.wall),
        "enqueue_s": r3(enqueue_s),
        "bot_cpu": r3(main.bot_cpu),
        "server_cpu": r3(main.server_cpu),
        "baseline_recipients": recipe.recipients if recipe else None,
        "recipe_rate_ratio": r3(recipe.rate_ratio) if recipe else None,
        "recipe_429": recipe.retries_429 if recipe else None,
        "recipe_lost": recipe.lost if recipe else None,
        "recipe_duplicates": recipe.duplicates if recipe else None,
        "aio_rate_ratio": r3(aio.rate_ratio) if aio else None,
        "aio_429": aio.retries_429 if aio else None,
        "aio_lost": aio.lost if aio else None,
        "aio_duplicates": aio.duplicates if aio else None,
        "ceiling_rate": r3(ceiling.rate) if ceiling else None,
        "loop_vs_ceiling": r3(main.rate / ceiling.rate) if ceiling and ceiling.rate and main.rate else None,
    }
    if args.kill:
        out |= {
            "killed_after_sent": main.extra["killed_after_sent"],
            "in_flight_at_kill": main.extra["sending_at_kill"],
            "answered_unmarked_at_kill": main.extra["answered_unmarked"],
        }
    if args.workers > 1:
        out["workers"] = args.workers
    if args.beside:
        out |= {
            "server_429_per_1000": r3(main.extra["per_1000"]),
            "together_rate": r3(main.extra["together_rate"]),
            "peak_1s": main.extra["peak_1s"],
            "bot_sent": main.extra["bot_sent"],
        }
    if talk:
        q, b = talk["quiet"], talk["broadcast"]
        out |= {
            "talkers": args.talkers,
            "quiet_turns": q["turns"],
            "broadcast_turns": b["turns"],
            "quiet_p95_ms": r3(q["p95_ms"]),
            "broadcast_p95_ms": r3(b["p95_ms"]),
            "p95_ratio": r3(b["p95_ms"] / q["p95_ms"]) if q["p95_ms"] else None,
            "quiet_e2e_p95_ms": r3(q["e2e_p95_ms"]),
            "broadcast_e2e_p95_ms": r3(b["e2e_p95_ms"]),
            "e2e_p95_ratio": r3(b["e2e_p95_ms"] / q["e2e_p95_ms"]) if q["e2e_p95_ms"] else None,
            "talker_429_quiet": q["reply_429"],
            "talker_429_broadcast": b["reply_429"],
            "talker_429_warmup": talk["warmup_429"],
            "talker_errors": len(talk["errors"]),
        }
    return out


# ------------------------------------------------------------------------------------------
# Main
# ------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--recipients", type=int, default=10_000, help="subscribers the broadcast goes to (default 10000)"
    )
    parser.add_argument("--rate", type=float, default=30.0, help="the configured overall limit, msg/s (default 30)")
    parser.add_argument(
        "--database-url", default=None, help="PostgreSQL server for a scratch database (default SQLite)"
    )
    parser.add_argument("--kill", action="store_true", help="SIGKILL the delivery process mid-broadcast, restart it")
    parser.add_argument("--workers", type=int, default=1, help="N delivery processes on one PostgreSQL outbox")
    parser.add_argument("--talkers", type=int, default=0, help="residents chatting with the bot during the broadcast")
    parser.add_argument(
        "--beside",
        choices=("deliver", "broadcast"),
        help="the bot's delivery loop here and `blkbot deliver` or `blkbot broadcast --deliver` beside it",
    )
    parser.add_argument(
        "--skip-baselines", action="store_true", help="no common-recipe / AIORateLimiter / ceiling runs"
    )
    parser.add_argument(
        "--bulk-share",
        type=float,
        default=None,
        help="share of the limit pushed messages may use (default 1.0; 0.8, the product default, with --talkers)",
    )
    parser.add_argument(
        "--quiet-seconds", type=float, default=QUIET_SECONDS, help="--talkers: chat without a broadcast first"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--channel",
        choices=("telegram", "whatsapp"),
        default="telegram",
        help="whatsapp: the fake Cloud API and WhatsApp contacts (bench/whatsapp_broadcast.py)",
    )
    parser.add_argument(
        "--outside", type=float, default=0.0, help="whatsapp: share of recipients outside the 24-hour window"
    )
    parser.add_argument(
        "--inject-every", type=int, default=2000, help="whatsapp: answer every N-th call 130429 (0: never)"
    )
    parser.add_argument(
        "--server-rate",
        type=float,
        default=None,
        help="whatsapp: the fake Cloud API's real limit, msg/s (default --rate); below --rate, the 130429s its "
        "bucket answers show whether the loop settles under a limit lower than configured",
    )
    args = parser.parse_args(argv)
    if args.channel == "whatsapp" and (args.kill or args.workers > 1 or args.talkers or args.beside == "broadcast"):
        parser.error("--channel whatsapp runs the default mode or --beside deliver")
    if not 0 <= args.outside <= 1:
        parser.error("--outside must be in [0, 1]")
    if args.recipients < 1 or args.rate <= 0 or args.workers < 1 or args.talkers < 0:
        parser.error("--recipients, --rate and --workers must be positive")
    if sum((args.kill, args.workers > 1, args.talkers > 0, args.beside is not None)) > 1:
        parser.error("--kill, --workers, --talkers and --beside are separate runs: give one of them")
    if args.bulk_share is None:
        args.bulk_share = 0.8 if args.talkers else 1.0
    if not 0 < args.bulk_share <= 1:
        parser.error("--bulk-share must be in (0, 1]")
    if args.workers > 1 and (args.database_url is None or make_url(args.database_url).get_backend_name() == "sqlite"):
        parser.error(
            "--workers needs PostgreSQL (--database-url postgresql://postgres@127.0.0.1:5432/test): several delivery "
            "processes share one outbox only there; SQLite is the one-process default"
        )
    return args


async def main_whatsapp(args: argparse.Namespace) -> tuple[dict[str, Any], int]:
    server = WhatsAppServerProcess()
    try:
        with tempfile.TemporaryDirectory(prefix="blkbot-bench-broadcast-") as folder:
            async with scratch_database(args.database_url, Path(folder), "broadcast") as db:
                expected = set(await add_whatsapp_subscribers(db, args.recipients, args.outside))
                await enqueue_broadcast(db, f"BC{uuid.uuid4().hex[:8].upper()}")
                print(f"running: WhatsApp broadcast to {len(expected):,} recipients ...", file=sys.stderr, flush=True)
                result = await run_whatsapp(args, server, db, db.url, expected, Path(folder))
                result["database"] = make_url(db.url).get_backend_name()
    finally:
        await server.close()
    print_whatsapp_report(result)
    return result, 0 if result["lost"] == 0 and result["duplicates"] == 0 else 1


async def main_async(args: argparse.Namespace) -> tuple[dict[str, Any], int]:
    if args.channel == "whatsapp":
        return await main_whatsapp(args)
    server = ServerProcess()
    runs: list[Run] = []
    talk: dict[str, Any] = {}
    enqueue_s: float | None = None
    marker = f"BC{uuid.uuid4().hex[:8].upper()}"
    try:
        with tempfile.TemporaryDirectory(prefix="blkbot-bench-broadcast-") as folder:
            workdir = Path(folder)
            async with scratch_database(args.database_url, workdir, "broadcast") as db:
                url, kind = db.url, make_url(db.url).get_backend_name()
                await add_subscribers(db, args.recipients)
                if args.talkers:
                    print(
                        f"running: {args.talkers} residents, then a broadcast to {args.recipients:,}", file=sys.stderr
                    )
                    run, talk = await run_talkers(args, server, db, url, marker, workdir)
                    enqueue_s = run.extra.get("enqueue_s")
                    runs.append(run)
                elif args.beside:
                    print(f"running: the bot and blkbot {args.beside}, {args.recipients:,} recipients", file=sys.stderr)
                    runs.append(await run_beside(args, server, db, url, marker, workdir))
                else:
                    broadcast_id, expected, enqueue_s = await enqueue_broadcast(db, marker)
                    print(f"running: broadcast to {len(expected):,} recipients ...", file=sys.stderr, flush=True)
                    if args.kill:
                        runs.append(await run_kill(args, server, db, url, marker, expected, broadcast_id, workdir))
                    elif args.workers > 1:
                        runs.append(await run_workers(args, server, db, url, marker, expected, broadcast_id, workdir))
                    else:
                        runs.append(await run_blkbot(args, server, db, url, marker, expected))
                text = broadcasts.render(Templates(), "id", ANNOUNCEMENT.format(marker=marker))
            if not (args.skip_baselines or args.kill or args.workers > 1 or args.talkers or args.beside):
                count = min(args.recipients, BASELINE_MAX)
                for name, phase in (
                    ("common recipe", run_recipe),
                    ("AIORateLimiter", run_aio_limiter),
                    ("ceiling", run_ceiling),
                ):
                    print(f"running: {name}, {count:,} messages ...", file=sys.stderr, flush=True)
                    runs.append(await phase(args, server, marker, text, count))
    finally:
        await server.close()
    print_report(args, kind, runs, enqueue_s, talk)
    result = summary(args, kind, runs, enqueue_s, talk)
    allowed = result.get("answered_unmarked_at_kill") or 0
    ok = result["lost"] == 0 and result["duplicates"] <= allowed
    return result, 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    result, status = event_loop.run(main_async(args))  # the sending side on the loop `blkbot` uses
    print(json.dumps(result))
    return status


if __name__ == "__main__":
    sys.exit(main())
