"""`bench/broadcast.py --channel whatsapp`: one announcement to N WhatsApp subscribers through the
outbox and the delivery loop, against a fake Cloud API with Meta's limits.

    .venv/bin/python bench/broadcast.py --channel whatsapp [--rate 80] [--recipients 10000]
        [--outside 0.3] [--inject-every 2000] [--server-rate R] [--beside deliver] [--database-url URL]

What runs where
---------------
* The fake Graph API (tests/fakes/whatsapp_server.py, uvicorn) runs in a process of its own for the
  whole bench, with Meta's limits: a throughput limit of --rate messages/s for the number (token
  bucket, burst one second's worth) answering 400 with code 130429 as Meta does, a pair rate of
  one message per 6 s to one person (131056), and one call in every --inject-every answered 130429
  whatever the bucket holds (fail_next-style injection; half way through each stretch). With
  --server-rate below --rate the number's real limit is lower than blkbot is configured for. It checks every body as the tests do
  (interactive limits, approved template names) and records what it accepted.
* The database is a fresh SQLite file or a scratch PostgreSQL database. N contacts (channel
  whatsapp, subscribed) with their WhatsApp state: a share of --outside of them last wrote 30 hours
  ago (outside the 24-hour window), the others an hour ago. One broadcast to all is enqueued
  through outreach.broadcasts.send.
* default: the production wiring of `blkbot deliver` in THIS process (bot.runtime.whatsapp_parts,
  its budget_shares member for the number, send_budget, make_delivery_loop), until every row is
  settled. Recipients outside the window get the marketing template set for announcements.
* --beside deliver: the bot's sending half here (whatsapp_parts as role "bot", as `blkbot run`
  wires it) and `blkbot deliver` in a child process on the same database and the same number,
  started once the bot has sent a fifth; both are members of the number's budget, so together
  they stay within --rate. Prints the most accepted sends in any one second.

Figures: msg/s = (accepted sends - 1) / (last - first) at the server (free-form and templates
together), rate_ratio = msg/s / the server's limit (--server-rate, by default --rate); lost = recipients with nothing accepted; duplicates = sends
beyond one per recipient; 130429s the server gave (injected and from its bucket); stops = spells of
over 0.2 s without an accepted send, and the rate kept between them (where the time went: pauses,
or a loop that does not keep the pace).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from starlette.requests import Request
from starlette.responses import Response

from bench.conversation_load import ChildProcess
from bot.runtime import make_delivery_loop, send_budget, whatsapp_parts
from bot.settings import Settings
from messages.render import Templates
from storage.db import Database
from storage.models import Contact, WhatsAppChat
from tests.fakes.whatsapp_server import FakeWhatsAppServer, _error

TOKEN = "wa-bench-token"
PHONE_ID = "106540352242922"
FIRST_WA = 6281200000000
TEMPLATES = {"application": "blkbot_bench_utility", "announcement": "blkbot_bench_marketing"}
PAIR_INTERVAL = 6.0
GAP = 0.2
"""Seconds without an accepted send that count as a stop (at 80/s sends are 12.5 ms apart): the
figures split the broadcast's time into stops and the pace kept between them."""


class LimitedServer(FakeWhatsAppServer):
    """The fake Cloud API with the number's throughput limit, the pair rate and 130429 injection."""

    def __init__(self, rate: float, inject_every: int) -> None:
        super().__init__(phone_number_id=PHONE_ID, token=TOKEN, templates=frozenset(TEMPLATES.values()))
        self.rate = rate
        self.tokens = rate
        self.updated = time.monotonic()
        self.inject_every = inject_every
        self.calls = itertools.count(1)
        self.last_to: dict[str, float] = {}
        self.ok_by_to: Counter[str] = Counter()
        self.ok_times: list[float] = []
        self.templates_sent = 0
        self.bucket_130429 = 0
        self.injected_130429 = 0
        self.pair_131056 = 0
        self.other: Counter[int] = Counter()

    def _take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    async def _messages(self, request: Request) -> Response:
        # Half way through each stretch of calls, so a retried row is never the broadcast's last
        # (its retry waits out the 6 s per-person pacing, which would stretch the tail, not the rate).
        if self.inject_every and next(self.calls) % self.inject_every == self.inject_every // 2:
            self.injected_130429 += 1
            return _error(400, 130429, "(#130429) Rate limit hit")
        if not self._take():
            self.bucket_130429 += 1
            return _error(400, 130429, "(#130429) Rate limit hit")
        count = len(self.sent)
        answer = await super()._messages(request)
        if answer.status_code != 200 or len(self.sent) == count:
            self.other[answer.status_code] += 1
            return answer
        sent = self.sent[-1]
        now = time.monotonic()
        if now - self.last_to.get(sent.to, -PAIR_INTERVAL) < PAIR_INTERVAL:
            self.sent.pop()
            self.pair_131056 += 1
            return _error(400, 131056, "(Business Account, Consumer Account) pair rate limit hit")
        self.last_to[sent.to] = now
        self.ok_by_to[sent.to] += 1
        self.ok_times.append(now)
        self.templates_sent += sent.kind == "template"
        self.sent.clear()  # 10,000 bodies need not stay in memory
        return answer


async def _server_main(conn: Any) -> None:
    loop = asyncio.get_running_loop()
    server: LimitedServer | None = None
    while True:
        command, argument = await loop.run_in_executor(None, conn.recv)
        try:
            if command == "serve":
                if server is not None:
                    await server.__aexit__()
                server = await LimitedServer(argument["rate"], argument["inject_every"]).__aenter__()
                conn.send(server.base_url)
            elif command == "progress":
                conn.send(len(server.ok_times) if server else 0)
            elif command == "report":
                assert server is not None
                conn.send(
                    {
                        "by_to": dict(server.ok_by_to),
                        "times": server.ok_times,
                        "templates": server.templates_sent,
                        "bucket_130429": server.bucket_130429,
                        "injected_130429": server.injected_130429,
                        "pair_131056": server.pair_131056,
                        "other": dict(server.other),
                    }
                )
            else:
                if server is not None:
                    await server.__aexit__()
                conn.send(None)
                return
        except Exception as problem:  # report it to the bench rather than hang it
            conn.send(RuntimeError(f"server process: {command}: {type(problem).__name__}: {problem}"))


def server_main(conn: Any) -> None:
    """Entry point of the server process."""
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_server_main(conn))


class WhatsAppServerProcess(ChildProcess):
    def __init__(self) -> None:
        super().__init__(server_main, "bench-fake-whatsapp")


async def add_whatsapp_subscribers(db: Database, count: int, outside: float) -> list[str]:
    """N subscribed WhatsApp contacts; `outside` of them (by tenths) last wrote 30 hours ago."""
    now = datetime.now(UTC)
    tenths = round(outside * 10)
    wa_ids = [str(FIRST_WA + i) for i in range(count)]
    async with db.transaction() as session:
        for start in range(0, count, 2000):
            chunk = range(start, min(count, start + 2000))
            await session.execute(
                insert(Contact),
                [
                    {
                        "channel": "whatsapp",
                        "chat_id": wa_ids[i],
                        "language": "id",
                        "consented_at": now,
                        "subscribed": True,
                        "unreachable": False,
                        "created_at": now,
                    }
                    for i in chunk
                ],
            )
            await session.execute(
                insert(WhatsAppChat),
                [
                    {
                        "wa_id": wa_ids[i],
                        "opted_in_at": now - timedelta(days=3),
                        "opted_in_via": "first_message",
                        "last_message_at": now - timedelta(hours=30 if i % 10 < tenths else 1),
                        "menu": [],
                    }
                    for i in chunk
                ],
            )
    return wa_ids


def whatsapp_settings(url: str, base_url: str, args: argparse.Namespace) -> Settings:
    return Settings(
        database_url=url,
        whatsapp_token=TOKEN,
        whatsapp_phone_number_id=PHONE_ID,
        whatsapp_base_url=base_url,
        whatsapp_rate=args.rate,
        bulk_share=args.bulk_share,
        whatsapp_template_application=TEMPLATES["application"],
        whatsapp_template_announcement=TEMPLATES["announcement"],
    )


def whatsapp_env(url: str, base_url: str, args: argparse.Namespace) -> dict[str, str]:
    return {
        "BLKBOT_DATABASE_URL": url,
        "BLKBOT_WHATSAPP_TOKEN": TOKEN,
        "BLKBOT_WHATSAPP_PHONE_NUMBER_ID": PHONE_ID,
        "BLKBOT_WHATSAPP_BASE_URL": base_url,
        "BLKBOT_WHATSAPP_RATE": str(args.rate),
        "BLKBOT_BULK_SHARE": str(args.bulk_share),
        "BLKBOT_WHATSAPP_TEMPLATE_APPLICATION": TEMPLATES["application"],
        "BLKBOT_WHATSAPP_TEMPLATE_ANNOUNCEMENT": TEMPLATES["announcement"],
        "BLKBOT_LOG_LEVEL": "WARNING",
    }


async def run_whatsapp(
    args: argparse.Namespace, server: WhatsAppServerProcess, db: Database, url: str, expected: set[str], workdir: Path
) -> dict[str, Any]:
    """The delivery loop as `blkbot deliver` (or, --beside, as `blkbot run`) wires it for WhatsApp,
    in this process, until every row is settled; with --beside, `blkbot deliver` joins it."""
    from bench.broadcast import start_deliverer, stop_deliverer

    server_rate = args.server_rate or args.rate
    base_url = await server.call("serve", {"rate": server_rate, "inject_every": args.inject_every})
    settings = whatsapp_settings(url, base_url, args)
    role = "bot" if args.beside else "deliver"
    parts = whatsapp_parts(settings, db, Templates(), role)
    await parts.sender.start_up()
    loop = make_delivery_loop(settings, db, send_budget(settings), role, whatsapp=parts)
    await loop.start_up()
    stop = asyncio.Event()
    beating = asyncio.create_task(parts.shares.run(stop))
    child = None
    t0 = time.monotonic()
    task = asyncio.create_task(loop.run(stop))
    deadline = t0 + 3 * len(expected) / (min(args.rate, server_rate) * args.bulk_share) + 60
    joined_at: float | None = None
    try:
        while time.monotonic() < deadline and not task.done():
            done = await server.call("progress")
            if args.beside and child is None and done >= len(expected) / 5:
                child = start_deliverer(whatsapp_env(url, base_url, args), workdir, "deliver")
                joined_at = time.monotonic()
            if done >= len(expected):
                break
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.gather(task, beating)
    finally:
        if child is not None:
            await stop_deliverer(*child)
        await parts.graph.aclose()
    report = await server.call("report")
    by_to: dict[str, int] = report["by_to"]
    times: list[float] = report["times"]
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else None
    seconds = Counter(int(t - times[0]) for t in times) if times else Counter()
    gaps = [later - earlier for earlier, later in itertools.pairwise(times) if later - earlier > GAP]
    between = (times[-1] - times[0] - sum(gaps)) if len(times) > 1 else 0.0
    together = [t for t in times if joined_at is not None and t >= joined_at + 2.0]
    return {
        "mode": "whatsapp-beside-deliver" if args.beside else "whatsapp",
        "recipients": len(expected),
        "outside_window": args.outside,
        "rate": args.rate,
        "server_rate": server_rate,
        "bulk_share": args.bulk_share,
        "sent": sum(by_to.values()),
        "templates": report["templates"],
        "free_form": sum(by_to.values()) - report["templates"],
        "lost": len(expected - set(by_to)),
        "duplicates": sum(n - 1 for n in by_to.values() if n > 1)
        + sum(n for to, n in by_to.items() if to not in expected),
        "achieved_rate": round(rate, 3) if rate else None,
        "rate_ratio": round(rate / server_rate, 3) if rate else None,
        "injected_130429": report["injected_130429"],
        "bucket_130429": report["bucket_130429"],
        "pair_131056": report["pair_131056"],
        "other_answers": report["other"],
        "loop_rate_limited": loop.stats.rate_limited,
        "loop_sent": loop.stats.sent,
        "gaps": len(gaps),
        "gap_seconds": round(sum(gaps), 3),
        "longest_gap": round(max(gaps, default=0.0), 3),
        "rate_between_gaps": round((len(times) - 1 - len(gaps)) / between, 3) if between > 0 else None,
        "peak_1s": max(seconds.values()) if seconds else 0,
        "together_rate": round((len(together) - 1) / (together[-1] - together[0]), 3) if len(together) > 1 else None,
        "timed_out": time.monotonic() >= deadline,
    }


def print_whatsapp_report(result: dict[str, Any]) -> None:
    r = result
    print(
        f"WhatsApp broadcast bench: {r['recipients']:,} recipients ({r['outside_window']:.0%} outside the 24-hour "
        f"window), database {r['database']}; limit {r['rate']:g} msg/s (fake Cloud API at {r['server_rate']:g}/s: "
        f"130429 over the bucket, "
        f"131056 under 6 s per person), bulk share {r['bulk_share']:g}"
    )
    print(
        f"sent {r['sent']:,} (free-form {r['free_form']:,}, templates {r['templates']:,}); lost {r['lost']}; "
        f"duplicates {r['duplicates']}; {r['achieved_rate']} msg/s = {r['rate_ratio']} of the limit (target >= 0.95)"
    )
    print(
        f"130429s: injected {r['injected_130429']}, from the bucket {r['bucket_130429']}; 131056s {r['pair_131056']}; "
        f"the loop paused {r['loop_rate_limited']} times; other answers {r['other_answers'] or 'none'}"
    )
    print(
        f"stops (no send for over {GAP:g} s): {r['gaps']}, {r['gap_seconds']} s in all, the longest {r['longest_gap']} s; "
        f"{r['rate_between_gaps']} msg/s between them"
    )
    if r["mode"] == "whatsapp-beside-deliver":
        print(
            f"beside: the bot's loop sent {r['loop_sent']:,}, blkbot deliver the rest; {r['together_rate']} msg/s "
            f"once both ran; at most {r['peak_1s']} in any one second (limit {r['rate']:g})"
        )
    if r["timed_out"]:
        print("timed out before every row was settled")
