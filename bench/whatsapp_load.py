"""`bench/conversation_load.py --channel whatsapp`: N residents register at once through signed webhooks.

    .venv/bin/python bench/conversation_load.py --channel whatsapp [--residents 500] [--rate 50]
        [--database-url URL] [--skip-echo]

What runs where
---------------
* The bot under test runs in THIS process, wired as `blkbot run` wires WhatsApp (bot.runtime
  `whatsapp_parts` and `whatsapp_channel`: the webhook and its worker on the number's budget, served by
  handlers/http.py on a real uvicorn on 127.0.0.1), on a fresh database (SQLite file, or a scratch
  database on the PostgreSQL server of --database-url).
* The fake Cloud API (tests/fakes/whatsapp_server.py) AND the residents run in a child process, so
  signing and posting webhooks and parsing the bot's Graph API calls do not come out of the bot's core.

A resident plays the registration of tests/whatsapp/test_channel.py: the click-to-chat text
"DAFTAR <code>__bench", "Daftar" on the programme's card, consent, four yes/no answers, education, name,
NIK, "Benar", address, district, "Pakai nomor ini" (its own WhatsApp number), "Kirim pendaftaran": 15 turns (plus "Nanti saja"
for each document JAHIT1 asks for), buttons and list rows pressed by their ids, the rest typed.
Residents are spread over the four programmes of the Telegram bench. Replies go out on the number's
budget (--whatsapp-rate), which the residents' own messages take their part of, as Meta counts them
too. Its default here is 1000 msg/s, Meta's upgraded tier: the echo ceiling has no budget, and the
question is what blkbot adds. At Meta's default of 80 (--whatsapp-rate 80) a turn is one message in
and one or more out, so the number, not blkbot, caps turns/s near 35 and a paced 50/s queues. The
residents post through a client per 20 of them (LoadServer.client_for), so the driver is not the
limit either. A turn ends with the first message carrying choices (every
question has them) or, for the last, the message naming the application number.

latency = the turn-ending message accepted by the fake Graph API - just before the webhook POST, both in
the child process on one monotonic clock: what a resident feels, Meta's network aside.

Load shapes as in the Telegram bench: closed loop (each resident answers at once) and paced (a Poisson
process of --rate turns/s dealt to the residents). The ceiling: a bare Starlette app that checks the
signature and answers each webhook by POSTing one message with one button to the same fake Graph API
through blkbot's own Graph API client;
there one webhook -> one message is a turn. After each blkbot phase the database must hold exactly N
applications, one per resident, numbered without gaps, each the number the resident was told.

Output: a table, then one line of JSON as the very last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bench.conversation_load import (
    DISTRICTS,
    FIRST_NAMES,
    JAKARTA,
    LAST_NAMES,
    NUMBER_RE,
    WELCOME_OFFER,
    ChildProcess,
    ErrorCount,
    bench_clock,
    check_registrations,
    collector_off,
    make_nik,
    paced_times,
    percentile,
    programme_of,
    scratch_database,
)
from bot import event_loop
from bot.runtime import Runtime, send_budget, whatsapp_channel, whatsapp_parts
from bot.settings import Settings
from conversations.context import Services
from conversations.runner import Conversations
from handlers.http import build_app, listen, serve_in_background
from handlers.whatsapp.graph import GraphApi
from handlers.whatsapp.signature import is_signed
from messages.render import Templates
from tests.fakes.whatsapp_server import FakeWhatsAppServer, Sent

TOKEN = "wa-bench-token"
PHONE_ID = "106540352242922"
APP_SECRET = "wa-bench-secret"
VERIFY_TOKEN = "wa-bench-verify"
WARMUP_WA = "6281999999999"
DOCUMENTS = {"JAHIT1": 4}
"""Programmes of the demo catalog that ask for documents (by code: how many); the others take 15 turns."""
WARMUP_TURNS = 13  # the first programme's script but the submission: caches warm, no application left
TURN_TIMEOUT = 60.0
RESIDENTS_PER_CLIENT = 20
ECHO_PACED_SECONDS = 8.0


# ------------------------------------------------------------------------------------------
# Residents (child process)
# ------------------------------------------------------------------------------------------


def wa_id_of(index: int) -> str:
    return f"62812{index:08d}"


def registration_script(index: int) -> list[tuple[str, str]]:
    """(\"text\", what is typed) or (\"press\", the title of a choice of the last message)."""
    code = programme_of(index)[2]
    nik = make_nik(index)
    name = f"{FIRST_NAMES[index % len(FIRST_NAMES)]} {LAST_NAMES[index // len(FIRST_NAMES) % len(LAST_NAMES)]}"
    return [
        ("text", f"DAFTAR {code}__bench"),
        ("press", "✅ Daftar"),
        ("press", "✅ Setuju"),
        *[("press", answer) for answer in ("Ya", "Ya", "Tidak", "Tidak")],
        ("press", "SMA"),
        ("text", name),
        ("text", nik),
        ("press", "Benar"),
        ("text", f"Jl. Merdeka {index + 1} RT 01/RW 02"),
        ("press", DISTRICTS[index % len(DISTRICTS)]),
        ("press", "Pakai nomor ini"),
        *[("press", "Nanti saja")] * DOCUMENTS.get(code, 0),  # documents: sent later, from /status
        ("press", "Kirim pendaftaran"),
    ]


class LoadServer(FakeWhatsAppServer):
    """The fake Cloud API, handing each accepted message to the resident it is for, with its time."""

    def __init__(self) -> None:
        super().__init__(phone_number_id=PHONE_ID, token=TOKEN, app_secret=APP_SECRET)
        self.inboxes: dict[str, asyncio.Queue[tuple[float, Sent]]] = {}
        self.refused = 0
        self._clients: dict[int, httpx.AsyncClient] = {}

    def client_for(self, value: dict[str, Any]) -> httpx.AsyncClient:
        """A client per RESIDENTS_PER_CLIENT residents, each with a connection per resident: no one
        waits for a connection, and httpx's pool, which looks over all its connections at every
        request, stays small. With one pool of 500 connections that look was half the driver's CPU,
        and in closed loop the driver, not the bot, set the pace."""
        shard = int(value["contacts"][0]["wa_id"]) // RESIDENTS_PER_CLIENT
        if shard not in self._clients:
            limits = httpx.Limits(max_connections=RESIDENTS_PER_CLIENT)
            self._clients[shard] = httpx.AsyncClient(timeout=TURN_TIMEOUT, limits=limits)
        return self._clients[shard]

    async def __aexit__(self, *exc: object) -> None:
        for client in self._clients.values():
            await client.aclose()
        await super().__aexit__(*exc)

    def inbox(self, wa_id: str) -> asyncio.Queue[tuple[float, Sent]]:
        return self.inboxes.setdefault(wa_id, asyncio.Queue())

    async def _messages(self, request: Request) -> Response:
        answer = await super()._messages(request)
        if answer.status_code != 200:
            self.refused += 1
            return answer
        sent = self.sent.pop()
        self.inbox(sent.to).put_nowait((time.monotonic(), sent))
        return answer


@dataclass
class Outcome:
    latency: list[float] = field(default_factory=list)
    sent_at: list[float] = field(default_factory=list)
    replied_at: list[float] = field(default_factory=list)
    late: int = 0
    extra: int = 0
    number: str | None = None
    error: str | None = None


def ends_turn(message: Sent, echo: bool) -> bool:
    """The welcome's one button (announcements) comes before the first question: not the turn's end."""
    offer_only = [reply_id for reply_id, _ in message.choices] == [WELCOME_OFFER]
    return echo or (bool(message.choices) and not offer_only) or NUMBER_RE.search(message.text) is not None


async def run_resident(
    server: LoadServer, wa_id: str, script: list[tuple[str, str]], echo: bool, schedule: list[float] | None
) -> Outcome:
    outcome = Outcome()
    inbox = server.inbox(wa_id)
    last: Sent | None = None
    try:
        for step, (kind, value) in enumerate(script):
            if schedule is not None:
                wait = schedule[step] - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                elif step and wait < 0:
                    outcome.late += 1
            while not inbox.empty():  # a message after the last turn's end: counted, not taken as a reply
                inbox.get_nowait()
                outcome.extra += 1
            t0 = time.monotonic()
            if kind == "text":
                answer = await server.text(wa_id, value)
            else:
                answer = await press(server, wa_id, last, value, echo)
            if answer.status_code != 200:
                raise RuntimeError(f"webhook answered {answer.status_code} at step {step}")
            while True:
                at, message = await asyncio.wait_for(inbox.get(), TURN_TIMEOUT)
                if ends_turn(message, echo):
                    break
            last = message
            outcome.latency.append(at - t0)
            outcome.sent_at.append(t0)
            outcome.replied_at.append(at)
            if found := NUMBER_RE.search(message.text):
                outcome.number = found.group(1)
    except Exception as problem:  # noted, and the other residents go on
        outcome.error = f"{wa_id} step {len(outcome.latency)}: {type(problem).__name__}: {problem}"[:300]
    return outcome


async def press(server: LoadServer, wa_id: str, last: Sent | None, title: str, echo: bool) -> httpx.Response:
    """Press the choice of the last message titled `title` (or containing it), as tests/whatsapp's Phone."""
    assert last is not None and last.choices, f"nothing to press for {title!r}"
    if echo:
        reply_id, shown = last.choices[0]
    else:
        matches = [c for c in last.choices if c[1] == title] or [
            c for c in last.choices if title.casefold() in c[1].casefold()
        ]
        assert len(matches) == 1, f"no single choice {title!r} in {last.choices}"
        reply_id, shown = matches[0]
    return await server.press(wa_id, reply_id, shown, list_row=last.body["interactive"]["type"] == "list")


async def run_load(server: LoadServer, spec: dict[str, Any]) -> dict[str, Any]:
    count, echo = spec["residents"], spec["bot"] == "echo"
    server.refused = 0
    schedules: list[list[float] | None] = [None] * count
    t0 = time.monotonic()
    if spec["shape"] == "paced":
        counts = [len(registration_script(i)) for i in range(count)]
        times = paced_times(count, counts, spec["rate"], spec["seed"], spec["arrivals"])
        schedules = [[t0 + 0.05 + offset for offset in mine] for mine in times]
    outcomes = await asyncio.gather(
        *(run_resident(server, wa_id_of(i), registration_script(i), echo, schedules[i]) for i in range(count))
    )
    first = min((t for o in outcomes for t in o.sent_at), default=t0)
    end = max((t for o in outcomes for t in o.replied_at), default=first)
    return {
        "turns": sum(len(o.latency) for o in outcomes),
        "wall": end - first,
        "latency": [t for o in outcomes for t in o.latency],
        "steps": [step for o in outcomes for step in range(len(o.latency))],
        "late": sum(o.late for o in outcomes),
        "extra": sum(o.extra for o in outcomes),
        "refused": server.refused,
        "errors": [o.error for o in outcomes if o.error],
        "numbers": {i: o.number for i, o in enumerate(outcomes)},
    }


async def _driver(conn: Any) -> None:
    loop = asyncio.get_running_loop()
    server: LoadServer | None = None
    while True:
        command, argument = await loop.run_in_executor(None, conn.recv)
        try:
            if command == "serve":
                server = await LoadServer().__aenter__()
                conn.send(server.base_url)
            elif command == "webhook":
                assert server is not None
                server.webhook_url = argument
                conn.send(None)
            elif command == "warm-up":
                assert server is not None
                script = registration_script(0)[: WARMUP_TURNS if argument["bot"] == "blkbot" else 3]
                conn.send((await run_resident(server, WARMUP_WA, script, argument["bot"] == "echo", None)).error)
            elif command == "run":
                assert server is not None
                with collector_off():
                    conn.send(await run_load(server, argument))
            elif command == "stop":
                if server is not None:
                    await server.__aexit__()
                server = None
                conn.send(None)
            else:
                conn.send(None)
                return
        except Exception as problem:  # report it to the bench rather than hang it
            conn.send(RuntimeError(f"driver process: {command}: {type(problem).__name__}: {problem}"))


def driver_main(conn: Any) -> None:
    """Entry point of the driver process."""
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_driver(conn))


# ------------------------------------------------------------------------------------------
# Bot process: blkbot as `blkbot run` serves WhatsApp, and the echo ceiling
# ------------------------------------------------------------------------------------------


def echo_routes(graph: GraphApi) -> list[Route]:
    """A bare webhook: check the signature, answer each message by one message with one button, sent
    through blkbot's own Graph API client (so the ceiling pays for the same HTTP calls as the bot)."""

    async def receive(request: Request) -> Response:
        body = await request.body()
        if not is_signed(APP_SECRET, body, request.headers.get("x-hub-signature-256")):
            return PlainTextResponse("bad signature", status_code=401)
        for entry in json.loads(body)["entry"]:
            for change in entry["changes"]:
                for message in change["value"].get("messages", []):
                    said = message.get("text", {}).get("body") or "pressed"
                    interactive = {
                        "type": "button",
                        "body": {"text": said},
                        "action": {"buttons": [{"type": "reply", "reply": {"id": "again", "title": "again"}}]},
                    }
                    await graph.send(message["from"], {"type": "interactive", "interactive": interactive})
        return PlainTextResponse("ok")

    return [Route("/whatsapp", receive, methods=["POST"])]


@dataclass
class Phase:
    name: str
    bot: str  # "blkbot" or "echo"
    shape: str  # "closed" or "paced"
    residents: int
    rate: float | None = None


@dataclass
class Result:
    phase: Phase
    turns: int = 0
    wall: float = 0.0
    latency: list[float] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    """The step of the dialogue each latency is of (0: the click-to-chat text)."""
    late: int = 0
    errors: int = 0
    samples: list[str] = field(default_factory=list)
    applications: int | None = None
    lost: int = 0
    duplicates: int = 0
    cpu: float = 0.0
    """CPU seconds this (the bot's) process used during the load: the figure other load disturbs least."""

    @property
    def cpu_ms_per_turn(self) -> float:
        return self.cpu * 1000 / self.turns if self.turns else math.nan

    @property
    def turns_per_s(self) -> float:
        return self.turns / self.wall if self.wall > 0 else math.nan

    def ms(self, q: float) -> float:
        return percentile(self.latency, q) * 1000


async def run_phase(phase: Phase, driver: ChildProcess, args: argparse.Namespace, workdir: Path) -> Result:
    """Fresh fake server, fresh bot (and database for blkbot) on a fresh port, one load shape; then the checks."""
    errors = ErrorCount()
    logging.getLogger().addHandler(errors)
    result = Result(phase)
    stop = asyncio.Event()
    try:
        async with AsyncExitStack() as stack:
            base_url = await driver.call("serve")
            stack.push_async_callback(driver.call, "stop")
            db = None
            tasks: list[asyncio.Task[None]] = []
            if phase.bot == "blkbot":
                db = await stack.enter_async_context(scratch_database(args.database_url, workdir, f"wa_{phase.shape}"))
                settings = Settings(
                    database_url="sqlite+aiosqlite://",  # unused: the scratch database is handed in
                    whatsapp_token=TOKEN,
                    whatsapp_phone_number_id=PHONE_ID,
                    whatsapp_base_url=base_url,
                    whatsapp_app_secret=APP_SECRET,
                    whatsapp_verify_token=VERIFY_TOKEN,
                    whatsapp_rate=args.whatsapp_rate,
                )
                services = Services(templates=Templates(), timezone=JAKARTA, clock=bench_clock())
                runtime = Runtime(settings, db, Conversations(db, services), send_budget(settings))
                parts = whatsapp_parts(settings, db, services.templates, "bot")
                stack.push_async_callback(parts.graph.aclose)
                channel = whatsapp_channel(settings, runtime, parts, settings.whatsapp_webhook_secrets())
                tasks += [asyncio.create_task(parts.shares.run(stop)), asyncio.create_task(channel.run(stop))]
                routes = channel.routes()
            else:
                graph = GraphApi(base_url, PHONE_ID, TOKEN, timeout=TURN_TIMEOUT)
                stack.push_async_callback(graph.aclose)
                routes = echo_routes(graph)
            sock = listen("127.0.0.1", 0)
            tasks.append(serve_in_background(build_app(routes), sock, stop))
            event_loop.settle()  # as `blkbot run` does once it is ready to serve
            await driver.call("webhook", f"http://127.0.0.1:{sock.getsockname()[1]}/whatsapp")
            try:
                spec = {"bot": phase.bot, "shape": phase.shape, "residents": phase.residents}
                spec |= {"rate": phase.rate, "seed": args.seed, "arrivals": args.arrivals}
                problem = await driver.call("warm-up", spec)
                if problem:
                    raise RuntimeError(f"warm-up failed: {problem}")
                cpu = time.process_time()
                raw = await driver.call("run", spec)
                result.cpu = time.process_time() - cpu
            finally:
                stop.set()
                await asyncio.gather(*tasks, return_exceptions=True)
            result.turns, result.wall, result.latency, result.steps, result.late = (
                raw["turns"],
                raw["wall"],
                raw["latency"],
                raw["steps"],
                raw["late"],
            )
            result.errors = len(raw["errors"]) + raw["refused"] + raw["extra"]
            result.samples = raw["errors"][:3] + [f"Graph API refused {raw['refused']} sends"] * bool(raw["refused"])
            result.samples += [f"{raw['extra']} messages after a turn's end"] * bool(raw["extra"])
            if db is not None:
                check = await check_registrations(db, phase.residents, raw["numbers"])
                result.applications, result.lost, result.duplicates = check.applications, check.lost, check.duplicates
                result.errors += check.told_mismatch + len(check.problems) + (not check.numbering_ok)
                result.samples += check.problems[:3]
    finally:
        logging.getLogger().removeHandler(errors)
    result.errors += errors.count
    result.samples += errors.first
    return result


def print_steps(result: Result) -> None:
    """Where a blkbot turn's time goes, by step of the dialogue (the first programme's script)."""
    print(f"\n{result.phase.name}, latency by step (ms):")
    print(f"  {'step':<28}{'p50':>8}{'p95':>8}")
    for step, (kind, value) in enumerate(registration_script(0)):
        values = [lat for lat, s in zip(result.latency, result.steps, strict=True) if s == step]
        label = f"{kind} {value}"[:27]
        print(f"  {label:<28}{percentile(values, 50) * 1000:>8.1f}{percentile(values, 95) * 1000:>8.1f}")


def plan(args: argparse.Namespace) -> list[Phase]:
    phases = [
        Phase("blkbot closed loop", "blkbot", "closed", args.residents),
        Phase("blkbot paced", "blkbot", "paced", args.residents, args.rate),
    ]
    if not args.skip_echo:
        echo_paced = min(args.residents, max(1, math.ceil(ECHO_PACED_SECONDS * args.rate / 15)))
        phases += [
            Phase("echo closed loop", "echo", "closed", args.residents),
            Phase("echo paced", "echo", "paced", echo_paced, args.rate),
        ]
    return phases


def print_table(results: list[Result]) -> None:
    head = (
        f"{'phase':<22}{'residents':>10}{'turns':>7}{'turns/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
        f"{'late':>6}{'errors':>8}{'applications':>14}{'cpu ms/turn':>13}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        apps = "-" if r.applications is None else str(r.applications)
        print(
            f"{r.phase.name:<22}{r.phase.residents:>10}{r.turns:>7}{r.turns_per_s:>9.1f}{r.ms(50):>9.1f}"
            f"{r.ms(95):>9.1f}{r.ms(99):>9.1f}{r.late:>6}{r.errors:>8}{apps:>14}{r.cpu_ms_per_turn:>13.2f}"
        )
    print(
        "latency: just before the signed webhook POST -> the turn-ending message accepted by the fake Graph API.\n"
        "late: paced answers that had to wait for the previous reply.\n"
        "cpu ms/turn: CPU time of the bot's process (webhook, worker, database driver) per turn."
    )
    for r in results:
        for sample in r.samples:
            print(f"  {r.phase.name}: {sample}")


def summary_json(results: list[Result], args: argparse.Namespace, database: str) -> dict[str, Any]:
    by_name = {r.phase.name: r for r in results}
    closed, paced = by_name["blkbot closed loop"], by_name["blkbot paced"]
    echo, echo_paced = by_name.get("echo closed loop"), by_name.get("echo paced")

    def figure(value: float | None) -> float | None:
        return None if value is None or math.isnan(value) else round(value, 1)

    return {
        "channel": "whatsapp",
        "residents": args.residents,
        "database": database,
        "turns": closed.turns,
        "turns_per_s": figure(closed.turns_per_s),
        "p50_ms": figure(closed.ms(50)),
        "p95_ms": figure(closed.ms(95)),
        "p99_ms": figure(closed.ms(99)),
        "paced_rate": args.rate,
        "arrivals": args.arrivals,
        "paced_turns_per_s": figure(paced.turns_per_s),
        "paced_p50_ms": figure(paced.ms(50)),
        "paced_p95_ms": figure(paced.ms(95)),
        "paced_p99_ms": figure(paced.ms(99)),
        "echo_turns_per_s": figure(echo.turns_per_s) if echo else None,
        "echo_p95_ms": figure(echo.ms(95)) if echo else None,
        "echo_paced_p95_ms": figure(echo_paced.ms(95)) if echo_paced else None,
        "cpu_ms_per_turn": figure(closed.cpu_ms_per_turn),
        "paced_cpu_ms_per_turn": figure(paced.cpu_ms_per_turn),
        "echo_cpu_ms_per_turn": figure(echo.cpu_ms_per_turn) if echo else None,
        "ratio_to_echo": round(closed.turns_per_s / echo.turns_per_s, 3) if echo and echo.turns_per_s else None,
        "applications": [closed.applications, paced.applications],
        "lost": closed.lost + paced.lost,
        "duplicates": closed.duplicates + paced.duplicates,
        "errors": sum(r.errors for r in results),
    }


async def main_async(args: argparse.Namespace) -> int:
    database = "sqlite" if args.database_url is None else make_url(args.database_url).get_backend_name()
    driver = ChildProcess(driver_main, "bench-whatsapp-driver")
    results: list[Result] = []
    try:
        with tempfile.TemporaryDirectory(prefix="blkbot-bench-") as folder:
            for phase in plan(args):
                print(f"running {phase.name}: {phase.residents} residents ...", file=sys.stderr, flush=True)
                results.append(await run_phase(phase, driver, args, Path(folder)))
    finally:
        await driver.close()
    print()
    print(
        f"blkbot conversation load over WhatsApp: {args.residents} residents x 15 turns (19 for {', '.join(DOCUMENTS)}: documents later), "
        f"database {database}, number's rate {args.whatsapp_rate:g} msg/s, paced arrivals {args.arrivals}"
    )
    print_table(results)
    print_steps(next(r for r in results if r.phase.name == "blkbot paced"))
    summary = summary_json(results, args, database)
    print(json.dumps(summary))
    return 0 if summary["lost"] == 0 and summary["duplicates"] == 0 and summary["errors"] == 0 else 1
