"""Load benchmark: N residents register at once through the real Telegram handler.

    .venv/bin/python bench/conversation_load.py [--residents 500] [--rate 50]
        [--database-url URL] [--api-latency-ms 0] [--skip-echo] [--channel telegram|whatsapp]

--channel whatsapp runs the same load through signed webhooks instead (bench/whatsapp_load.py).

What runs where
---------------
* The bot under test runs in THIS (main) process: the real `handlers.telegram.build_application`
  (python-telegram-bot Application, long polling, concurrent updates) over our `Conversations`
  runner, on a fresh database: a SQLite file in a temporary folder, or a scratch database created
  (and dropped afterwards) on the PostgreSQL server named by `--database-url`.
* The fake Bot API server (tests/fakes/telegram_server.py) AND the simulated residents run in a
  second process (multiprocessing, spawn), so that on a 2-core machine the driver's CPU (parsing
  the bot's HTTP requests, checking its HTML, injecting updates) does not come out of the bot's
  core. Each row of the table shows both processes' CPU use and the whole machine's, so one can see
  whether the bot or the driver was the limit: in closed loop the bot saturates its core while the
  driver needs 5-10% of the other one. "machine" above bot + driver means other processes ran too
  (PostgreSQL; or anything else, which makes the figures pessimistic: a warning line says so).
  "cpu ms/turn", the bot process's CPU time per turn, is the figure such noise disturbs least.

What a turn is and how it is timed
----------------------------------
A resident does the whole registration, 17 turns: /start, cluster, programme, "Daftar" on its card, consent, 4 yes/no answers,
education, name, NIK, birth date "Benar", address, district, shared phone, "Kirim pendaftaran".
Residents are spread over four open programmes whose rules are the usual four yes/no questions.
Every blkbot turn ends with a message that carries a keyboard (the next question's buttons, a back
button, or the share-phone button): that sendMessage ends the turn.

latency = reply received - update delivered, both taken in the server process on one monotonic clock:
* "delivered" is the moment the fake server writes the getUpdates response that carries the update
  to the bot's socket (stamped right after the response is encoded, with no await before the write).
  That is the earliest moment the bot can know of the update; time the update spent queued in the
  server waiting for the bot's next getUpdates is not the bot's processing, so it is left out here.
* "reply received" is when the server has read the turn-ending sendMessage request off the socket
  (RecordedCall.timestamp). blkbot answers a press with answerCallbackQuery, the edit of the
  pressed message and the next question at once; the sendMessage ends the turn.
The column "e2e p95" is what a resident feels instead: from the driver injecting the update to the
reply, i.e. including the wait for the bot's next long poll.

Load shapes
-----------
* closed loop: every resident answers the moment it sees the next question: maximum throughput.
  turns/s = turns / wall time of the load phase (first update injected to last reply).
* paced: an open-loop Poisson arrival process of --rate turns/s in total, dealt to the residents in
  a random interleaving (each keeps its own order, and the turns in flight mix several steps of the
  dialogue), so each resident's next answer has a scheduled time and is sent then, not when the
  reply came; only if the reply to its previous turn has not arrived by then does it wait for it
  (counted as "late": the bot is falling behind, or two of its turns were dealt very close).
The same driver then runs against a bare PTB echo bot (text -> the same text; button -> answer the
query and send a message; every reply carries a one-button keyboard to press next) as the ceiling.
There one update -> one reply is a turn, with the same 16-turn mix of typing, pressing and sharing.
The echo bot is built with the same PTB settings as blkbot's (concurrent updates, the same HTTP pool), so
the ratio isolates what blkbot adds. Its paced phase is cut to about ECHO_PACED_SECONDS of turns:
it only gives the ceiling's latency at that rate.

The fake server answers at once, as no real network does. --api-latency-ms N makes it answer every
Bot API call N ms late, to see what round trips cost a resident (a reply of two messages waits for
the first; a press's three calls go out together).

Each load phase gets a fresh server, a fresh bot and (for blkbot) a fresh database, warmed up by one
extra resident that walks to the summary without submitting (so caches are warm and it leaves no
application). After a blkbot phase the database must hold exactly N applications, one per
resident's NIK, numbered 0001..n without gaps in each programme, and each number must be the one
the resident was told; lost and duplicate registrations are printed and sum into the last line.

Output: a table, then one line of JSON as the very last line.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import math
import multiprocessing
import os
import random
import re
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sqlalchemy import select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update  # noqa: E402
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters  # noqa: E402

from bot import event_loop  # noqa: E402
from bot.runtime import prepare_database  # noqa: E402
from bot.settings import Settings  # noqa: E402
from conversations.context import Services  # noqa: E402
from conversations.runner import Conversations  # noqa: E402
from handlers.telegram import CONNECTION_POOL, build_application  # noqa: E402
from messages.render import Templates  # noqa: E402
from storage.db import Database, admin_statement  # noqa: E402
from storage.models import Application as ApplicationRow  # noqa: E402
from storage.models import Programme  # noqa: E402
from tests.fakes.telegram_server import FakeTelegramServer, StoredMessage  # noqa: E402

TOKEN = "123456789:BENCH-fake-token"
JAKARTA = ZoneInfo("Asia/Jakarta")
DEMO_NOW = datetime(2026, 11, 25, 10, 0, tzinfo=JAKARTA)
"""The demo catalog's 'today' (its 2027 first wave is open): the bot's clock starts here and runs."""

PROGRAMMES = (  # (cluster button, programme button, programme code): four yes/no questions each
    ("Tata Boga", "Olahan Kue dan Roti", "BOGA1"),
    ("Otomotif Sepeda Motor", "Servis Sepeda Motor Injeksi", "MTR1"),
    ("Instalasi Listrik", "Instalasi Listrik Rumah Tinggal", "LSTR1"),
    ("Tata Rias", "Tata Rias Pengantin dan Wisuda", "RIAS1"),  # JAHIT1 asks for documents since they landed
)
DISTRICTS = ("Pekalongan Barat", "Pekalongan Timur", "Pekalongan Utara", "Pekalongan Selatan")
FIRST_NAMES = ("Siti", "Dewi", "Agus", "Budi", "Rina", "Joko", "Wati", "Eko", "Sri", "Bambang", "Nur", "Yusuf")
LAST_NAMES = ("Aini", "Lestari", "Santoso", "Rahayu", "Wibowo", "Hidayat", "Saputra", "Kurniawan", "Pratama")
STEP_NAMES = (
    "start",
    "cluster",
    "programme",
    "card",
    "consent",
    "q_ktp",
    "q_healthy",
    "q_not_working",
    "q_never_trained",
    "education",
    "name",
    "nik",
    "confirm_birth",
    "address",
    "district",
    "phone",
    "submit",
)
WARMUP_TURNS = 16  # everything but the submission
NUMBER_RE = re.compile(r"\b([A-Z0-9]+-\d{4}-\d{4})\b")
CHAT_BASE = 100_000
WARMUP_CHAT = 999_999
TURN_TIMEOUT = 60.0
ECHO_PACED_SECONDS = 8.0
"""The echo bot's paced phase is cut to about this long: it is only the ceiling's latency at --rate."""
THINK_SECONDS = 1.0
"""--arrivals staggered: a resident's mean pause before answering the next question."""


# ------------------------------------------------------------------------------------------
# Residents: what each one does (pure data, shared by both processes)
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    kind: str  # "text", "press" (a button by its label; None = the first one) or "contact"
    value: str | None


def make_nik(index: int) -> str:
    """A valid, unique Kota Pekalongan NIK: an adult born 1990-2000, women on odd indexes."""
    day, month = 1 + index % 28, 1 + (index // 28) % 12
    year, serial = 1990 + (index // 336) % 11, 1 + index // 3696
    if index % 2:
        day += 40
    return f"337501{day:02d}{month:02d}{year % 100:02d}{serial:04d}"


def programme_of(index: int) -> tuple[str, str, str]:
    return PROGRAMMES[index % len(PROGRAMMES)]


def registration_script(index: int) -> list[Action]:
    cluster, programme, _ = programme_of(index)
    nik = make_nik(index)
    name = f"{FIRST_NAMES[index % len(FIRST_NAMES)]} {LAST_NAMES[index // len(FIRST_NAMES) % len(LAST_NAMES)]}"
    return [
        Action("text", "/start"),
        Action("press", cluster),
        Action("press", programme),
        Action("press", "✅ Daftar"),
        Action("press", "✅ Setuju"),
        *[Action("press", answer) for answer in ("Ya", "Ya", "Tidak", "Tidak")],
        Action("press", "SMA / SMK / sederajat"),
        Action("text", name),
        Action("text", " ".join((nik[:4], nik[4:8], nik[8:12], nik[12:]))),
        Action("press", "✅ Benar"),
        Action("text", f"Jl. Merdeka {index + 1} RT 01/RW 02"),
        Action("press", DISTRICTS[index % len(DISTRICTS)]),
        Action("contact", f"62812{index:08d}"),
        Action("press", "✅ Kirim pendaftaran"),
    ]


def echo_script(index: int) -> list[Action]:
    """The same mix of typing, pressing and sharing, for a bot that only echoes."""
    return [Action(a.kind, None if a.kind == "press" else a.value) for a in registration_script(index)]


# ------------------------------------------------------------------------------------------
# Driver process: the fake Bot API server plus the residents, on one event loop
# ------------------------------------------------------------------------------------------


WELCOME_OFFER = "@news"
"""The data of the welcome's one button (announcements), which /start sends before its question."""


class BenchServer(FakeTelegramServer):
    """The fake server, plus: when each update was delivered, and a per-chat wait for turn ends."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.delivered: dict[int, float] = {}
        self.turn_waiters: dict[int, asyncio.Future[tuple[float, StoredMessage]]] = {}
        self.unexpected_replies = 0
        self.last_update_id = 0
        self._polled: list[int] = []

    async def inject_update(self, payload: Any) -> int:
        # No await happens before this returns (no webhook), so the caller reads its own id.
        self.last_update_id = await super().inject_update(payload)
        return self.last_update_id

    async def _call_api(self, method: str, params: dict[str, Any], arrival: float) -> tuple[int, dict[str, Any]]:
        status, payload = await super()._call_api(method, params, arrival)
        if status == 200 and method.lower() == "getupdates":
            self._polled.extend(update["update_id"] for update in payload["result"])
        return status, payload

    async def _handle_http(self, request: Any) -> tuple[bytes | None, bool]:
        response = await super()._handle_http(request)
        # Nothing awaits between here and the connection writing `response`: this is "delivered".
        if self._polled:
            now = self._clock()
            for update_id in self._polled:
                self.delivered.setdefault(update_id, now)
            self._polled.clear()
        return response

    def _record(
        self, method: str, chat_id: Any, params: Any, arrival: float, status: int, payload: Any, message: Any
    ) -> None:
        super()._record(method, chat_id, params, arrival, status, payload, message)
        if method != "sendMessage" or status != 200 or message is None or message.reply_markup is None:
            return
        if message.callback_data == [WELCOME_OFFER]:
            return  # the welcome's button: the turn's question comes after it
        if self.ends_turn(params):
            self._turn_ended(chat_id, arrival, message)

    def ends_turn(self, params: Any) -> bool:
        """Whether a keyboard message answers a resident (a subclass may send others too)."""
        return True

    def _turn_ended(self, chat_id: Any, arrival: float, message: StoredMessage) -> None:
        waiter = self.turn_waiters.pop(chat_id, None)
        if waiter is None:
            self.unexpected_replies += 1
        elif not waiter.done():
            waiter.set_result((arrival, message))


@dataclass
class TurnRecord:
    step: int
    update_id: int
    sent: float
    replied: float


@dataclass
class ResidentOutcome:
    index: int
    turns: list[TurnRecord] = field(default_factory=list)
    error: str | None = None
    number: str | None = None
    late: int = 0


async def take_turn(
    server: BenchServer, chat_id: int, action: Action, shown: StoredMessage | None
) -> tuple[float, int, float, StoredMessage]:
    """Act once and wait for the message that ends the bot's turn."""
    data = button_data(shown, action.value) if action.kind == "press" else ""
    waiter: asyncio.Future[tuple[float, StoredMessage]] = asyncio.get_running_loop().create_future()
    server.turn_waiters[chat_id] = waiter
    sent = server._clock()
    try:
        if action.kind == "text":
            update_id = await server.send_text(chat_id, action.value or "")
        elif action.kind == "contact":
            update_id = await server.share_contact(chat_id, action.value or "")
        else:
            await server.press_button(chat_id, shown.message_id, data)  # type: ignore[union-attr]
            update_id = server.last_update_id
        replied, message = await asyncio.wait_for(waiter, TURN_TIMEOUT)
    finally:
        server.turn_waiters.pop(chat_id, None)
    return sent, update_id, replied, message


def button_data(message: StoredMessage | None, label: str | None) -> str:
    buttons = message.inline_buttons if message is not None else []
    for button in buttons:
        if label is None or button["text"] == label:
            return str(button["callback_data"])
    shown = message.plain_text[:80] if message is not None and message.plain_text else None
    raise LookupError(f"no button {label!r} under {shown!r}; buttons: {[b['text'] for b in buttons]}")


async def run_resident(
    server: BenchServer, index: int, chat_id: int, script: list[Action], schedule: Callable[[int], float] | None
) -> ResidentOutcome:
    """Walk through `script`. With a schedule, turn k is sent at schedule(k) (absolute clock time)."""
    outcome = ResidentOutcome(index)
    shown: StoredMessage | None = None
    last_reply = 0.0
    for step, action in enumerate(script):
        if schedule is not None:
            due = schedule(step)
            if last_reply > due:
                outcome.late += 1
            delay = due - server._clock()
            if delay > 0:
                await asyncio.sleep(delay)
        try:
            sent, update_id, last_reply, shown = await take_turn(server, chat_id, action, shown)
        except (TimeoutError, LookupError, AssertionError) as problem:
            outcome.error = f"resident {index} step {STEP_NAMES[step]}: {type(problem).__name__} {problem}"[:300]
            return outcome
        outcome.turns.append(TurnRecord(step, update_id, sent, last_reply))
    found = NUMBER_RE.search(shown.plain_text or "") if shown is not None else None
    outcome.number = found.group(1) if found else None
    return outcome


def paced_times(
    residents: int, turns: int | list[int], rate: float, seed: int, arrivals: str = "together"
) -> list[list[float]]:
    """When each resident sends each of its turns, in seconds from the start; `rate` turns/s in all.

    together: a Poisson process of `rate` arrivals per second, dealt to the residents in a random
    interleaving (each resident keeps its own order), so that the turns in flight at any moment
    belong to several steps of the dialogue rather than all residents moving in lockstep. Every
    resident starts within the first seconds: a burst of first turns, as after a poster goes up.

    staggered: residents arrive one after another (a Poisson process of `rate` / turns-per-resident
    a second) and each answers its next question THINK_SECONDS later on average (exponential): once
    the first arrivals are THINK_SECONDS x turns in, the mix of steps is steady, as on an ordinary
    day. It needs enough residents to get there (about 5 x --rate at 15 turns each).
    """
    rng = random.Random(seed)
    counts = turns if isinstance(turns, list) else [turns] * residents  # or each resident's own count
    times: list[list[float]] = [[] for _ in range(residents)]
    if arrivals == "staggered":
        start = 0.0
        for resident in range(residents):
            start += rng.expovariate(rate * residents / sum(counts))
            clock = start
            for _ in range(counts[resident]):
                times[resident].append(clock)
                clock += rng.expovariate(1 / THINK_SECONDS)
        return times
    owners = [resident for resident in range(residents) for _ in range(counts[resident])]
    rng.shuffle(owners)
    clock = 0.0
    for owner in owners:
        clock += rng.expovariate(rate)
        times[owner].append(clock)
    return times


async def warm_up(server: BenchServer, spec: dict[str, Any]) -> str | None:
    """One extra resident walks to the summary (no submission): caches warm, no application left."""
    script_of = echo_script if spec["bot"] == "echo" else registration_script
    warm = await run_resident(server, -1, WARMUP_CHAT, script_of(0)[:WARMUP_TURNS], None)
    return warm.error


async def run_load(server: BenchServer, spec: dict[str, Any]) -> dict[str, Any]:
    """One load phase: `residents` at once, closed loop or paced; returns raw figures."""
    script_of = echo_script if spec["bot"] == "echo" else registration_script
    server.stats.by_status.clear()
    server.stats.by_method.clear()
    server.unexpected_replies = 0
    count = spec["residents"]
    cpu0, t0 = _cpu_seconds(), server._clock()
    schedules: list[Callable[[int], float] | None] = [None] * count
    if spec["shape"] == "paced":
        start = t0 + 0.05
        times = paced_times(count, len(STEP_NAMES), spec["rate"], spec["seed"], spec["arrivals"])
        schedules = [_schedule(start, mine) for mine in times]
    outcomes = await asyncio.gather(
        *(run_resident(server, i, CHAT_BASE + i, script_of(i), schedules[i]) for i in range(count))
    )
    return _summarise_load(server, outcomes, t0, cpu0)


def _schedule(start: float, offsets: list[float]) -> Callable[[int], float]:
    return lambda step: start + offsets[step]


def _summarise_load(server: BenchServer, outcomes: list[ResidentOutcome], t0: float, cpu0: float) -> dict[str, Any]:
    turns = [t for o in outcomes for t in o.turns]
    end = max((t.replied for t in turns), default=t0)
    missing = [t for t in turns if t.update_id not in server.delivered]
    bad_status = {str(s): n for s, n in server.stats.by_status.items() if s != 200}
    return {
        "turns": len(turns),
        "wall": end - t0,
        "latency": [t.replied - server.delivered[t.update_id] for t in turns if t.update_id in server.delivered],
        "e2e": [t.replied - t.sent for t in turns],
        "steps": [t.step for t in turns if t.update_id in server.delivered],
        "errors": [o.error for o in outcomes if o.error] + [f"update {t.update_id} never delivered" for t in missing],
        "bad_status": bad_status,
        "api_calls": dict(server.stats.by_method),
        "unexpected_replies": server.unexpected_replies,
        "late": sum(o.late for o in outcomes),
        "numbers": {o.index: o.number for o in outcomes},
        "driver_cpu": _cpu_seconds() - cpu0,
    }


async def _driver(conn: Any) -> None:
    loop = asyncio.get_running_loop()
    server: BenchServer | None = None
    while True:
        command, argument = await loop.run_in_executor(None, conn.recv)
        if command == "serve":
            server = await BenchServer(token=TOKEN, latency=argument or 0.0).start()
            conn.send(server.base_url)
        elif command == "warm-up":
            assert server is not None
            conn.send(await warm_up(server, argument))
        elif command == "run":
            assert server is not None
            with collector_off():
                conn.send(await run_load(server, argument))
        elif command == "stop":
            if server is not None:
                await server.stop()
            server = None
            conn.send(None)
        else:
            conn.send(None)
            return


@contextmanager
def collector_off() -> Iterator[None]:
    """The driver is the instrument, not what is measured: with its collector on, a full collection
    in it held webhooks and replies for up to 650 ms, counted as the bot's latency. Off for one load
    phase (the cycles it leaves meanwhile are small), collected after. The bot keeps its collector on."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


def driver_main(conn: Any) -> None:
    """Entry point of the driver process."""
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_driver(conn))


class ChildProcess:
    """A spawned helper process that answers (command, argument) over a pipe, one call at a time;
    waiting for it never blocks the event loop, and an exception it sends back is raised here."""

    def __init__(self, target: Callable[[Any], None], name: str) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=target, args=(child,), name=name, daemon=True)
        self.process.start()
        self._lock = asyncio.Lock()

    async def call(self, command: str, argument: Any = None) -> Any:
        async with self._lock:
            self.conn.send((command, argument))
            answer = await asyncio.get_running_loop().run_in_executor(None, self.conn.recv)
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def close(self) -> None:
        with suppress(Exception):  # closing anyway
            await asyncio.wait_for(self.call("exit"), 10)
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()


class Driver(ChildProcess):
    """The bot process's handle on the driver process (the fake server and the residents)."""

    def __init__(self) -> None:
        super().__init__(driver_main, "bench-driver")


# ------------------------------------------------------------------------------------------
# Bot process: the bots, the databases, the checks
# ------------------------------------------------------------------------------------------


def bench_clock() -> Callable[[], datetime]:
    """DEMO_NOW, moving with real time."""
    started = time.monotonic()
    return lambda: (DEMO_NOW + timedelta(seconds=time.monotonic() - started)).astimezone(UTC)


ECHO_KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("↩️ again", callback_data="echo")]])


def build_echo_application(token: str, base_url: str) -> Application:
    async def on_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None
        text = message.text or (message.contact.phone_number if message.contact else "?")
        await context.bot.send_message(message.chat_id, text, reply_markup=ECHO_KEYBOARD)

    async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.message is not None
        await query.answer()
        await context.bot.send_message(query.message.chat.id, query.data or "?", reply_markup=ECHO_KEYBOARD)

    builder = Application.builder().token(token).concurrent_updates(True).connection_pool_size(CONNECTION_POOL)
    app = builder.base_url(base_url).base_file_url(base_url.replace("/bot", "/file/bot")).build()
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_handler(MessageHandler(filters.TEXT | filters.CONTACT, on_message))
    return app


@asynccontextmanager
async def polling(app: Application):  # type: ignore[no-untyped-def]
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling()  # what `blkbot run` does: default poll interval and timeout
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


@asynccontextmanager
async def scratch_database(database_url: str | None, workdir: Path, label: str) -> AsyncIterator[Database]:
    """A fresh, migrated database holding the demo catalog, removed afterwards: a SQLite file in
    `workdir`, or a database made on the PostgreSQL server of `database_url` (for every bench script)."""
    if database_url is None or make_url(database_url).get_backend_name() == "sqlite":
        url, drop = f"sqlite+aiosqlite:///{workdir / f'{label}.sqlite3'}", None
    else:
        name = f"blkbot_bench_{os.getpid()}_{label}_{uuid.uuid4().hex[:6]}"
        await admin_statement(database_url, f'CREATE DATABASE "{name}"')
        url = make_url(database_url).set(drivername="postgresql+asyncpg", database=name).render_as_string(False)
        drop = f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
    try:
        db = await prepare_database(Settings(database_url=url))
        try:
            yield db
        finally:
            await db.dispose()
    finally:
        if drop:
            await admin_statement(database_url, drop)  # type: ignore[arg-type]


@dataclass
class Check:
    applications: int = 0
    lost: int = 0
    duplicates: int = 0
    numbering_ok: bool = True
    told_mismatch: int = 0
    problems: list[str] = field(default_factory=list)


async def check_registrations(db: Database, residents: int, told: dict[int, str | None]) -> Check:
    """Exactly one application per resident's NIK, in the right programme, numbered 1..n per programme."""
    async with db.transaction() as session:
        rows = (
            await session.execute(
                select(ApplicationRow.nik, ApplicationRow.number, Programme.code).join(
                    Programme, ApplicationRow.programme_id == Programme.id
                )
            )
        ).all()
    check = Check(applications=len(rows))
    by_nik: dict[str, list[tuple[str, str]]] = {}
    for nik, number, code in rows:
        by_nik.setdefault(nik, []).append((number, code))
    for index in range(residents):
        found = by_nik.pop(make_nik(index), [])
        if not found:
            check.lost += 1
            continue
        check.duplicates += len(found) - 1
        if found[0][1] != programme_of(index)[2]:
            check.problems.append(f"resident {index} registered in {found[0][1]}")
        if told.get(index) != found[0][0]:
            check.told_mismatch += 1
    check.duplicates += sum(len(apps) for apps in by_nik.values())  # applications nobody made
    for code in sorted({code for _, _, code in rows}):
        sequence = sorted(int(number.rsplit("-", 1)[1]) for _, number, c in rows if c == code)
        if sequence != list(range(1, len(sequence) + 1)):
            check.numbering_ok = False
            check.problems.append(f"{code} numbers are not 1..{len(sequence)}: {sequence[:5]}...")
    return check


class ErrorCount(logging.Handler):
    """Counts ERROR records in the bot process (failed turns, PTB handler errors)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0
        self.first: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        if len(self.first) < 3:
            self.first.append(f"{record.name}: {record.getMessage()}"[:200])


@dataclass
class Phase:
    name: str
    bot: str
    shape: str
    residents: int
    rate: float | None = None


@dataclass
class Result:
    phase: Phase
    turns: int = 0
    wall: float = 0.0
    latency: list[float] = field(default_factory=list)
    e2e: list[float] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    late: int = 0
    bot_cpu: float = 0.0
    bot_cpu_seconds: float = 0.0
    driver_cpu: float = 0.0
    machine_busy: float = 0.0
    api_calls: dict[str, int] = field(default_factory=dict)
    check: Check | None = None

    @property
    def turns_per_s(self) -> float:
        return self.turns / self.wall if self.wall > 0 else 0.0

    @property
    def cpu_ms_per_turn(self) -> float:
        return 1000 * self.bot_cpu_seconds / self.turns if self.turns else math.nan

    def calls_per_turn(self, method: str | None = None) -> float:
        """Bot API requests per turn: all of them (getUpdates included), or one method's."""
        calls = sum(self.api_calls.values()) if method is None else self.api_calls.get(method, 0)
        return calls / self.turns if self.turns else math.nan

    def ms(self, q: float, which: str = "latency") -> float:
        return percentile(getattr(self, which), q) * 1000


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


async def run_phase(phase: Phase, driver: Driver, args: argparse.Namespace, workdir: Path, seed: int) -> Result:
    """Fresh server, fresh bot (fresh database for blkbot), one load shape; then the checks."""
    errors = ErrorCount()
    logging.getLogger().addHandler(errors)
    result = Result(phase)
    try:
        async with AsyncExitStack() as stack:
            base_url = await driver.call("serve", args.api_latency_ms / 1000)
            stack.push_async_callback(driver.call, "stop")
            db: Database | None = None
            if phase.bot == "blkbot":
                db = await stack.enter_async_context(scratch_database(args.database_url, workdir, phase.shape))
                services = Services(templates=Templates(), timezone=JAKARTA, clock=bench_clock())
                app = build_application(Conversations(db, services), TOKEN, base_url)
            else:
                app = build_echo_application(TOKEN, base_url)
            async with polling(app):
                event_loop.settle()  # as `blkbot run` does once it is ready to serve
                spec = {"bot": phase.bot, "shape": phase.shape, "residents": phase.residents}
                spec |= {"rate": phase.rate, "seed": seed, "arrivals": args.arrivals}
                problem = await driver.call("warm-up", spec)
                if problem:
                    raise RuntimeError(f"warm-up failed: {problem}")
                cpu0, busy0, wall0 = _cpu_seconds(), _machine_snapshot(), time.monotonic()
                raw = await driver.call("run", spec)
                result.bot_cpu_seconds = _cpu_seconds() - cpu0
                result.bot_cpu = result.bot_cpu_seconds / max(time.monotonic() - wall0, 1e-9)
                result.machine_busy = _machine_cores_busy(busy0)
            _take_raw(result, raw)
            if db is not None:
                result.check = await check_registrations(db, phase.residents, raw["numbers"])
                result.errors += result.check.told_mismatch + len(result.check.problems)
    finally:
        logging.getLogger().removeHandler(errors)
    result.errors += errors.count
    result.error_samples += errors.first
    return result


def _take_raw(result: Result, raw: dict[str, Any]) -> None:
    result.turns, result.wall = raw["turns"], raw["wall"]
    result.latency, result.e2e, result.steps = raw["latency"], raw["e2e"], raw["steps"]
    result.late = raw["late"]
    result.api_calls = raw["api_calls"]
    result.driver_cpu = raw["driver_cpu"] / raw["wall"] if raw["wall"] > 0 else 0.0
    problems = raw["errors"] + [f"bot API calls answered {s}: {n}" for s, n in raw["bad_status"].items()]
    if raw["unexpected_replies"]:
        problems.append(f"{raw['unexpected_replies']} keyboard messages outside any turn")
    result.errors = len(raw["errors"]) + sum(raw["bad_status"].values()) + raw["unexpected_replies"]
    result.error_samples = problems[:5]


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _machine_snapshot() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat ((0, 0) where there is none)."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(x) for x in stat.readline().split()[1:9]]
    except OSError:
        return (0, 0)
    return (sum(fields) - fields[3] - fields[4], sum(fields))


def _machine_cores_busy(since: tuple[int, int]) -> float:
    """How many cores' worth of CPU the whole machine used since `since` (bot, driver, PostgreSQL...)."""
    busy, total = _machine_snapshot()
    spent = total - since[1]
    return (os.cpu_count() or 1) * (busy - since[0]) / spent if spent > 0 else 0.0


# ------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------


def print_table(results: list[Result]) -> None:
    head = (
        f"{'phase':<22}{'residents':>10}{'turns':>7}{'turns/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}"
        f"{'e2e p95':>9}{'late':>6}{'cpu ms/turn':>12}{'calls/turn':>11}{'polls/turn':>11}{'bot cpu':>9}"
        f"{'drv cpu':>9}{'machine':>9}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        print(
            f"{r.phase.name:<22}{r.phase.residents:>10}{r.turns:>7}{r.turns_per_s:>9.1f}{r.ms(50):>9.1f}{r.ms(95):>9.1f}{r.ms(99):>9.1f}"
            f"{r.errors:>8}{r.ms(95, 'e2e'):>9.1f}{r.late:>6}{r.cpu_ms_per_turn:>12.2f}"
            f"{r.calls_per_turn():>11.2f}{r.calls_per_turn('getUpdates'):>11.2f}{r.bot_cpu:>9.0%}{r.driver_cpu:>9.0%}"
            f"{r.machine_busy / (os.cpu_count() or 1):>9.0%}"
        )
    print(
        "latency: update delivered (getUpdates response written) -> turn-ending sendMessage received, "
        "in the server process.\ne2e: update injected by the resident -> reply. late: paced answers that "
        "had to wait for the previous reply.\ncpu ms/turn: the bot process's CPU time per turn. calls/turn: Bot "
        "API requests per turn, getUpdates included; polls/turn: getUpdates alone.\nbot/drv cpu: share of one "
        "core; machine: share of all cores."
    )


def print_details(results: list[Result]) -> None:
    cores = os.cpu_count() or 1
    for r in results:
        others = (r.machine_busy - r.bot_cpu - r.driver_cpu) / cores
        if others > 0.15:
            print(
                f"  {r.phase.name}: other processes used {others:.0%} of the machine meanwhile"
                " (PostgreSQL's count here; anything else makes these figures pessimistic)"
            )
        for sample in r.error_samples:
            print(f"  {r.phase.name}: {sample}")
        if r.check is not None:
            c = r.check
            print(
                f"  {r.phase.name}: database holds {c.applications} applications for {r.phase.residents} residents: "
                f"lost {c.lost}, duplicates {c.duplicates}, numbering {'0001..n ok' if c.numbering_ok else 'BROKEN'}"
                f", numbers told != stored: {c.told_mismatch}"
            )
            for problem in c.problems[:5]:
                print(f"    {problem}")


def print_steps(result: Result) -> None:
    """Where a blkbot turn's time goes, by step of the dialogue."""
    print(f"\n{result.phase.name}, latency by step (ms):")
    print(f"  {'step':<16}{'p50':>8}{'p95':>8}")
    for step, name in enumerate(STEP_NAMES):
        values = [lat for lat, s in zip(result.latency, result.steps, strict=True) if s == step]
        print(f"  {name:<16}{percentile(values, 50) * 1000:>8.1f}{percentile(values, 95) * 1000:>8.1f}")


def summary_json(results: list[Result], args: argparse.Namespace, database: str) -> dict[str, Any]:
    by_name = {r.phase.name: r for r in results}
    closed, paced = by_name["blkbot closed loop"], by_name["blkbot paced"]
    echo, echo_paced = by_name.get("echo closed loop"), by_name.get("echo paced")
    checks = [r.check for r in (closed, paced) if r.check is not None]

    def num(value: float | None, digits: int = 1) -> float | None:
        return None if value is None or math.isnan(value) else round(value, digits)

    return {
        "residents": args.residents,
        "database": database,
        "turns": closed.turns,
        "turns_per_s": num(closed.turns_per_s),
        "p50_ms": num(closed.ms(50)),
        "p95_ms": num(closed.ms(95)),
        "p99_ms": num(closed.ms(99)),
        "paced_rate": args.rate,
        "arrivals": args.arrivals,
        "api_latency_ms": args.api_latency_ms,
        "paced_turns_per_s": num(paced.turns_per_s),
        "paced_p50_ms": num(paced.ms(50)),
        "paced_p95_ms": num(paced.ms(95)),
        "paced_p99_ms": num(paced.ms(99)),
        "echo_turns_per_s": num(echo.turns_per_s) if echo else None,
        "echo_p95_ms": num(echo.ms(95)) if echo else None,
        "echo_paced_p95_ms": num(echo_paced.ms(95)) if echo_paced else None,
        "ratio_to_echo": num(closed.turns_per_s / echo.turns_per_s, 3) if echo and echo.turns_per_s else None,
        "errors": sum(r.errors for r in results),
        "lost": sum(c.lost for c in checks),
        "duplicates": sum(c.duplicates for c in checks),
        "numbering_ok": all(c.numbering_ok for c in checks),
    }


# ------------------------------------------------------------------------------------------
# Main
# ------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--residents", type=int, default=500, help="simulated residents per phase (default 500)")
    parser.add_argument("--rate", type=float, default=50.0, help="paced phase: turns per second in total")
    parser.add_argument(
        "--database-url", default=None, help="PostgreSQL server to make a scratch database on (default: SQLite)"
    )
    parser.add_argument(
        "--api-latency-ms",
        type=float,
        default=0.0,
        help="the fake server answers every Bot API call this much later, as a real network would (default 0)",
    )
    parser.add_argument("--skip-echo", action="store_true", help="do not measure the echo-bot ceiling")
    parser.add_argument("--seed", type=int, default=1, help="seed of the paced arrival process")
    parser.add_argument(
        "--arrivals",
        choices=("together", "staggered"),
        default="together",
        help="paced phase: every resident starts at once (default), or one after another at a steady mix of steps",
    )
    parser.add_argument(
        "--whatsapp-rate",
        type=float,
        default=1000.0,
        help="--channel whatsapp: the number's rate in messages/s, the residents' own included (default 1000, "
        "Meta's upgraded tier, so blkbot and not the number is measured; 80 is Meta's default, and caps turns/s near 35)",
    )
    parser.add_argument(
        "--channel",
        choices=("telegram", "whatsapp"),
        default="telegram",
        help="whatsapp: signed webhooks to blkbot's WhatsApp channel (bench/whatsapp_load.py)",
    )
    args = parser.parse_args(argv)
    if args.residents < 1 or args.rate <= 0:
        parser.error("--residents and --rate must be positive")
    if args.api_latency_ms < 0:
        parser.error("--api-latency-ms cannot be negative")
    return args


def plan(args: argparse.Namespace) -> list[Phase]:
    phases = [
        Phase("blkbot closed loop", "blkbot", "closed", args.residents),
        Phase("blkbot paced", "blkbot", "paced", args.residents, args.rate),
    ]
    if not args.skip_echo:
        echo_paced = min(args.residents, max(1, math.ceil(ECHO_PACED_SECONDS * args.rate / len(STEP_NAMES))))
        phases += [
            Phase("echo closed loop", "echo", "closed", args.residents),
            Phase("echo paced", "echo", "paced", echo_paced, args.rate),
        ]
    return phases


async def main_async(args: argparse.Namespace) -> int:
    database = "sqlite" if args.database_url is None else make_url(args.database_url).get_backend_name()
    driver = Driver()
    results: list[Result] = []
    try:
        with tempfile.TemporaryDirectory(prefix="blkbot-bench-") as folder:
            for phase in plan(args):
                print(f"running {phase.name}: {phase.residents} residents ...", file=sys.stderr, flush=True)
                results.append(await run_phase(phase, driver, args, Path(folder), args.seed))
    finally:
        await driver.close()
    print()
    latency = f", Bot API answers after {args.api_latency_ms:g} ms" if args.api_latency_ms else ""
    print(
        f"blkbot conversation load: {args.residents} residents x {len(STEP_NAMES)} turns, database {database}{latency}"
    )
    print_table(results)
    print_details(results)
    print_steps(next(r for r in results if r.phase.name == "blkbot paced"))
    summary = summary_json(results, args, database)
    print(json.dumps(summary))
    return 0 if summary["lost"] == 0 and summary["duplicates"] == 0 else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.channel == "whatsapp":
        from bench.whatsapp_load import main_async as whatsapp_main

        return event_loop.run(whatsapp_main(args))  # the bot's side runs on the loop `blkbot run` uses
    return event_loop.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
