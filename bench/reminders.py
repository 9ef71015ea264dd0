"""Reminders benchmark: N reminders due in the same minute, enqueued and delivered.

    .venv/bin/python bench/reminders.py [--reminders 10000] [--rate 5000] [--lead 5] [--database-url URL]

What runs where
---------------
One process: the fake Telegram Bot API server (tests/fakes/telegram_server.py) on its own event
loop in a thread (ThreadedFakeTelegramServer), enforcing a global rate limit of --rate messages/s
and one message a second per chat with real 429 answers; in the main loop, the real delivery loop
(outreach/delivery.py, TelegramSender over python-telegram-bot's Bot) with a SendBudget of the same
rate (pushes take their 80% share), and the reminders job (bot/scheduler.tick, the function the
periodic job runs, on the PTB JobQueue or as a task). The database is a fresh SQLite file (or a scratch
PostgreSQL database with --database-url) holding the demo catalog and N applicants of LAS1 who
passed the administrative check; a written test's reminders go to all of them.

Scenarios
---------
* ahead: the bot is running. The scheduler's tick (every minute, looking two intervals ahead) finds
  N reminders falling due --lead seconds from now and enqueues them, held in the outbox until their
  due time; the delivery loop, idle, wakes at the due time and sends them.
* at due time: no tick ran before the due time (the bot was just started, or the event was added
  late). The tick runs at the due time itself, so the first delivery waits for the enqueue.
* repeat tick: the next tick over the same reminders, which must enqueue nothing (idempotent).

enqueue = wall time of one tick (its whole transaction); first / all delivered = from the due time
to the server reading the first / last sendMessage off its socket (same monotonic clock: the
server runs in this process). lost / duplicates compare the messages each chat got with one per
scenario. Output: a table, then one line of JSON as the very last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select, update
from telegram import Bot
from telegram.request import HTTPXRequest

from bench.conversation_load import scratch_database
from bot.scheduler import tick
from handlers.telegram_sender import TelegramSender
from messages.render import Templates
from outreach import reminders, schedule
from outreach.budget import SendBudget
from outreach.delivery import DeliveryLoop, DeliverySettings
from storage.db import Database
from storage.models import Application, Contact, DeliveryStatus, Origin, OutboxMessage, Programme, StaffRole, Stage
from tests.fakes.telegram_server import ThreadedFakeTelegramServer
from training.permissions import Actor

TOKEN = "123456789:BENCH-reminders"
FIRST_CHAT = 10_000_000
OFFSETS = reminders.parse_offsets("2h")


@dataclass
class Scenario:
    name: str
    reminders: int = 0
    enqueued: int = 0
    enqueue_s: float = 0.0
    first_delivery_s: float | None = None
    all_delivered_s: float | None = None
    sent: int = 0
    lost: int = 0
    duplicates: int = 0
    retries_429: int = 0
    rate: float | None = None
    """Messages/s from the first delivery to the last."""


# -- the database -------------------------------------------------------------------------------


async def add_applicants(db: Database, count: int) -> None:
    """N contacts on Telegram, each with an application to LAS1 that passed the administrative check."""
    async with db.transaction() as session:
        programme = await session.scalar(select(Programme).where(Programme.code == "LAS1"))
        assert programme is not None
        now = datetime.now(UTC)
        for start in range(0, count, 2000):
            chunk = range(start, min(count, start + 2000))
            contact_ids = list(
                await session.scalars(
                    insert(Contact).returning(Contact.id),
                    [
                        {
                            "channel": "telegram",
                            "chat_id": str(FIRST_CHAT + i),
                            "language": "en" if i % 10 == 0 else "id",
                            "subscribed": True,
                            "unreachable": False,
                            "created_at": now,
                        }
                        for i in chunk
                    ],
                )
            )
            await session.execute(
                insert(Application),
                [
                    {
                        "number": f"LAS1-2027-{i + 1:05d}",
                        "programme_id": programme.id,
                        "contact_id": contact_id,
                        "stage": Stage.ADMIN_PASSED.value,
                        "nik": f"33750112059{i:05d}",
                        "full_name": f"Peserta {i + 1}",
                        "answers": {},
                        "flags": [],
                        "created_at": now,
                        "stage_changed_at": now,
                    }
                    for i, contact_id in zip(chunk, contact_ids, strict=True)
                ],
            )


BENCH_ACTOR = Actor("cli", "bench", "bench", StaffRole.ADMIN)


async def add_written_test(db: Database, starts_at: datetime) -> int:
    """Add the event as staff do; its invitations (queued at once) are set aside: this bench times reminders."""
    async with db.transaction() as session:
        added = await schedule.add_event(
            session,
            Templates(),
            BENCH_ACTOR,
            programme_code="LAS1",
            kind="written_test",
            starts_local=starts_at,
            place="UPT BLK Kota Pekalongan, Jl. Jenderal Sudirman No. 52",
            bring="KTP asli, kartu pendaftaran, alat tulis",
            now=datetime.now(UTC),
        )
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.origin == Origin.EVENT, OutboxMessage.status == DeliveryStatus.PENDING)
            .values(status=DeliveryStatus.CANCELLED)
        )
        return added.event.id


# -- measuring ----------------------------------------------------------------------------------


class Clocks:
    """Wall time (what the database and the scheduler use) mapped onto the monotonic clock the
    fake server stamps its calls with."""

    def __init__(self) -> None:
        self.wall0 = datetime.now(UTC)
        self.mono0 = time.monotonic()

    def mono(self, wall: datetime) -> float:
        return self.mono0 + (wall - self.wall0).total_seconds()


async def wait_sent(loop: DeliveryLoop, target: int, limit: float) -> None:
    """Until the loop has recorded `target` sends (or `limit` seconds passed): a bench may poll."""
    deadline = time.monotonic() + limit
    while loop.stats.sent < target and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.05)


def deliveries(fake: ThreadedFakeTelegramServer, after_seq: int) -> list[tuple[float, Any]]:
    def collect() -> list[tuple[float, Any]]:
        return [(c.timestamp, c.chat_id) for c in fake.server.calls_to("sendMessage") if c.ok and c.seq >= after_seq]

    return fake.run_sync(collect)


def call_count(fake: ThreadedFakeTelegramServer) -> int:
    return fake.run_sync(lambda: len(fake.server.calls))


def judge(scenario: Scenario, calls: list[tuple[float, Any]], due_mono: float, count: int) -> None:
    scenario.sent = len(calls)
    if calls:
        stamps = sorted(t for t, _ in calls)
        scenario.first_delivery_s = stamps[0] - due_mono
        scenario.all_delivered_s = stamps[-1] - due_mono
    per_chat = Counter(chat for _, chat in calls)
    expected = {FIRST_CHAT + i for i in range(count)}
    if len(stamps := sorted(t for t, _ in calls)) > 1 and stamps[-1] > stamps[0]:
        scenario.rate = (len(stamps) - 1) / (stamps[-1] - stamps[0])
    scenario.lost = len(expected - set(per_chat))
    scenario.duplicates = sum(n - 1 for n in per_chat.values() if n > 1)


async def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    templates = Templates()
    with tempfile.TemporaryDirectory(prefix="blkbot-bench-") as tmp:
        async with scratch_database(args.database_url, Path(tmp), "reminders") as db:
            kind = "SQLite" if db.is_sqlite else "PostgreSQL"
            t0 = time.perf_counter()
            await add_applicants(db, args.reminders)
            setup_s = time.perf_counter() - t0
            with ThreadedFakeTelegramServer(token=TOKEN) as fake:
                fake.run_sync(fake.server.set_rate_limit, global_per_s=args.rate, per_chat_per_s=1)
                request = HTTPXRequest(connection_pool_size=args.concurrency + 8, read_timeout=10, write_timeout=10)
                async with Bot(TOKEN, base_url=fake.base_url, request=request) as bot:
                    budget = SendBudget(rate=args.rate)
                    loop = DeliveryLoop(
                        db,
                        {"telegram": TelegramSender(bot)},
                        budget,
                        settings=DeliverySettings(batch=args.batch, concurrency=args.concurrency),
                        worker="bench",
                    )
                    await loop.start_up()
                    stop = asyncio.Event()
                    delivery = asyncio.create_task(loop.run(stop))
                    try:
                        scenarios = await scenarios_of(args, db, templates, fake, loop)
                    finally:
                        stop.set()
                        await delivery
                    ceiling = await bare_send_rate(bot, min(args.reminders, 2000), args.concurrency)
                    retries = fake.run_sync(lambda: fake.server.stats.rate_limited)
    return {"kind": kind, "setup_s": setup_s, "scenarios": scenarios, "server_429": retries, "ceiling": ceiling}


async def bare_send_rate(bot: Bot, count: int, concurrency: int) -> float:
    """Messages/s of bare send_message calls, as many in flight as the loop has, to the same server:
    the ceiling this harness allows (PTB and the fake server share one process and its GIL)."""
    slots = asyncio.Semaphore(concurrency)
    text = "🔔 <b>Pengingat: Tes Tertulis</b>\nPengelasan SMAW Dasar (LAS1)\n📍 UPT BLK Kota Pekalongan"

    async def one(index: int) -> None:
        async with slots:
            await bot.send_message(FIRST_CHAT * 2 + index, text, parse_mode="HTML")

    t0 = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(count)))
    return count / (time.perf_counter() - t0)


async def scenarios_of(
    args: argparse.Namespace, db: Database, templates: Templates, fake: ThreadedFakeTelegramServer, loop: DeliveryLoop
) -> list[Scenario]:
    clocks = Clocks()
    out = []

    # 1. ahead: the running scheduler's tick finds them due in --lead seconds.
    ahead = Scenario("ahead (scheduler running)", args.reminders)
    due = (datetime.now(UTC) + timedelta(seconds=args.lead)).replace(microsecond=0)
    await add_written_test(db, due + timedelta(hours=2))
    seq, sent0, limited0 = call_count(fake), loop.stats.sent, loop.stats.rate_limited
    t0 = time.perf_counter()
    counts = await tick(db, templates, OFFSETS, lookahead=timedelta(seconds=120), wake=loop.wake)
    ahead.enqueue_s = time.perf_counter() - t0
    ahead.enqueued = counts["enqueued"]
    await wait_sent(loop, sent0 + args.reminders, args.timeout + args.lead)
    judge(ahead, deliveries(fake, seq), clocks.mono(due), args.reminders)
    ahead.retries_429 = loop.stats.rate_limited - limited0
    out.append(ahead)

    # 2. repeat tick: nothing new.
    repeat = Scenario("repeat tick (idempotent)", 0)
    t0 = time.perf_counter()
    counts = await tick(db, templates, OFFSETS, lookahead=timedelta(seconds=120))
    repeat.enqueue_s = time.perf_counter() - t0
    repeat.enqueued = counts["enqueued"]
    out.append(repeat)

    # 3. at due time: the tick runs when they are already due (no lookahead helped).
    await asyncio.sleep(1.1)  # one message a second per chat: let the chats of scenario 1 rest
    late = Scenario("at due time (no tick before)", args.reminders)
    starts = (datetime.now(UTC) + timedelta(hours=2, seconds=1)).replace(microsecond=0)
    await add_written_test(db, starts)
    due = starts - timedelta(hours=2)
    await asyncio.sleep((due - datetime.now(UTC)).total_seconds() + 0.002)  # just past the due time
    seq, sent0, limited0 = call_count(fake), loop.stats.sent, loop.stats.rate_limited
    t0 = time.perf_counter()
    counts = await tick(db, templates, OFFSETS, wake=loop.wake)
    late.enqueue_s = time.perf_counter() - t0
    late.enqueued = counts["enqueued"]
    await wait_sent(loop, sent0 + args.reminders, args.timeout)
    judge(late, deliveries(fake, seq), clocks.mono(due), args.reminders)
    late.retries_429 = loop.stats.rate_limited - limited0
    out.append(late)
    return out


# -- output -------------------------------------------------------------------------------------


def fmt(value: float | None, unit: str = "s") -> str:
    return "-" if value is None else f"{value:.3f} {unit}"


def print_table(args: argparse.Namespace, result: dict[str, Any]) -> None:
    print(
        f"reminders bench: {args.reminders:,} reminders due in the same minute — {result['kind']}, "
        f"rate limit {args.rate:g}/s (pushes take 80%), 1/s per chat; setup {result['setup_s']:.1f} s"
    )
    header = (
        "scenario",
        "enqueued",
        "enqueue",
        "first delivered",
        "all delivered",
        "msg/s",
        "sent",
        "lost",
        "dup",
        "429s",
    )
    rows = [
        (
            s.name,
            f"{s.enqueued:,}",
            fmt(s.enqueue_s),
            fmt(s.first_delivery_s) if s.reminders else "",
            fmt(s.all_delivered_s) if s.reminders else "",
            f"{s.rate:.0f}" if s.rate else "",
            f"{s.sent:,}" if s.reminders else "",
            str(s.lost) if s.reminders else "",
            str(s.duplicates) if s.reminders else "",
            str(s.retries_429) if s.reminders else "",
        )
        for s in result["scenarios"]
    ]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)))
    print("first/all delivered: from the due time (ahead: held in the outbox until then; at due time: incl. enqueue)")
    print(
        f"harness ceiling: bare PTB send_message to the same server, {args.concurrency} in flight: "
        f"{result['ceiling']:.0f} msg/s (msg/s above is bounded by it here, not by --rate)"
    )
    print(
        f"targets: enqueue < 5 s, first delivery < 1 s after the due time; 429s from the server: {result['server_429']}"
    )


def summary(args: argparse.Namespace, result: dict[str, Any]) -> dict[str, Any]:
    ahead, repeat, late = result["scenarios"]

    def r(value: float | None) -> float | None:
        return None if value is None else round(value, 3)

    return {
        "reminders": args.reminders,
        "database": result["kind"],
        "rate": args.rate,
        "enqueue_s": r(ahead.enqueue_s),
        "first_delivery_s": r(ahead.first_delivery_s),
        "all_delivered_s": r(ahead.all_delivered_s),
        "sent": ahead.sent,
        "lost": ahead.lost + late.lost,
        "duplicates": ahead.duplicates + late.duplicates,
        "retries_429": ahead.retries_429 + late.retries_429,
        "delivery_rate": r(ahead.rate),
        "harness_ceiling_rate": r(result["ceiling"]),
        "repeat_tick_s": r(repeat.enqueue_s),
        "repeat_tick_enqueued": repeat.enqueued,
        "at_due_time": {
            "enqueue_s": r(late.enqueue_s),
            "first_delivery_s": r(late.first_delivery_s),
            "all_delivered_s": r(late.all_delivered_s),
        },
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reminders", type=int, default=10_000, help="applicants reminded at once (default 10000)")
    parser.add_argument("--rate", type=float, default=5000, help="the platform's global limit, messages/s")
    parser.add_argument("--lead", type=float, default=5, help="seconds between the scheduler's tick and the due time")
    parser.add_argument("--concurrency", type=int, default=32, help="sends in flight in the delivery loop")
    parser.add_argument("--batch", type=int, default=500, help="rows the delivery loop claims at a time")
    parser.add_argument("--timeout", type=float, default=120, help="give up waiting for deliveries after this")
    parser.add_argument(
        "--database-url", default=None, help="PostgreSQL server for a scratch database (default SQLite)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    result = asyncio.run(run_bench(args))
    print_table(args, result)
    print(json.dumps(summary(args, result)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
