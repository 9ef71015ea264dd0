"""A synthetic intake through blkbot's real paths: 336 registered -> 281 passed -> 196 selected.

    .venv/bin/python bench/intake.py [--database-url URL] [--applicants 336] [--passed 281]
        [--selected 196] [--competent N] [--seed N]

It reproduces one real intake of the office (issue 11) and checks that blkbot carries it from the
chat to the figures, on a fresh database: a SQLite file in a temporary folder, or with
--database-url a scratch database made (and dropped afterwards) on that PostgreSQL server.

What runs, as the office and the residents would do it
------------------------------------------------------
1. catalog    `blkbot catalog load`: the demo catalog with LAS1 (Pengelasan SMAW Dasar: no documents
              to send, weights written test 60 / interview 40, seat deadline 3 days) given a quota of
              --selected and a registration window open today.
2. register   --applicants residents register in the chat, through the conversation engine
              (`Conversations`, the console channel), driven like tests/flow/helpers.Resident: valid
              Kota Pekalongan NIKs (district, birth date 1980-2006, sex), four districts, schooling,
              and a deep link with a source code (poster, school, Instagram) for about a third.
3. check      `blkbot selection sheet` writes the XLSX worksheet; the script fills the decision
              column like staff in Excel (--passed lolos, the rest gagal with a reason from the
              drop-down), then `blkbot selection import-check FILE --yes` (preview, then applied).
4. scores     `blkbot selection import-scores FILE --yes`: written test and interview of those passed.
5. selection  `blkbot selection run --programme LAS1 --yes`: the quota selected, the rest waitlisted.
              Each selected resident reads the pushed seat offer in the chat (the console shows what
              the outbox holds for it) and presses "Ya, saya ikut"; about 3% press "Tidak bisa", and
              the next on the waitlist is offered the seat in turn and accepts: the quota ends seated.
6. training   `blkbot events add` three training days; day 1 `blkbot training attend --all-present`
              (a selected applicant marked present starts training, and the waitlist closes: those
              still waiting are told), day 2 `blkbot training sheet` filled in like Excel and
              `blkbot training import-attendance FILE --yes`, day 3 `--all-present --except` a few
              absent; `blkbot training complete`.
7. certify    `blkbot certification import FILE --yes`: --competent Kompeten, the rest Belum Kompeten.
8. tracer     the tracer study's periodic job (bot.tracer.tick) one month and a day after completion,
              then each graduate (but ~8% who do not answer) presses "Jawab" and answers in the chat.
9. report     `blkbot report --programme LAS1` (tables printed, XLSX and charts in the work folder); its
              funnel row is the summary line.

Training, certification and the tracer round happen minutes apart here: the office's calendar is
compressed, the tracer job is handed "now + 1 month" and the chat's clock is moved with it.

Output: each command's own first lines, the funnel, seconds per phase, then one line of JSON as the
very last line.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import json
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.conversation_load import scratch_database  # noqa: E402
from bot import tracer  # noqa: E402
from bot.cli import build_parser  # noqa: E402
from bot.cli_outreach import cli_actor  # noqa: E402
from bot.settings import Settings  # noqa: E402
from conversations.context import Services  # noqa: E402
from conversations.io import Inbound  # noqa: E402
from conversations.runner import Conversations  # noqa: E402
from handlers.console import Console  # noqa: E402
from messages.render import Templates  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import OutcomeStatus, Stage  # noqa: E402
from storage.repositories import applications, catalog, training  # noqa: E402
from tests.cli.test_selection import fill  # noqa: E402
from tests.cli.test_training_attendance import mark_sheet  # noqa: E402
from tests.flow.helpers import Person, Resident  # noqa: E402
from training import figures  # noqa: E402
from training.outcomes import parse_months  # noqa: E402
from training.selection import REASON_WORDS, Reason  # noqa: E402

PROGRAMME, CLUSTER = "LAS1", "LAS"
JAKARTA = ZoneInfo("Asia/Jakarta")
DEMO_CATALOG = REPO / "training" / "demo" / "catalog.toml"
CONCURRENT = 8
"""Residents chatting at the same time while registering (each waits for its own replies)."""

DISTRICTS = ("33.75.01", "33.75.02", "33.75.03", "33.75.04")
EDUCATION = (("sd", 1), ("smp", 3), ("sma", 7), ("diploma", 1))
FIRST = ("Siti", "Dewi", "Agus", "Budi", "Rina", "Joko", "Wati", "Eko", "Sri", "Bambang", "Nur", "Yusuf", "Fajar")
LAST = ("Aini", "Lestari", "Santoso", "Rahayu", "Wibowo", "Hidayat", "Saputra", "Kurniawan", "Pratama", "Maulana")
STREETS = ("Jl. Merdeka", "Jl. Hayam Wuruk", "Jl. Sriwijaya", "Gg. Kenanga", "Jl. Dr. Wahidin", "Jl. Urip Sumoharjo")
SOURCES = ("poster_podosugih", "poster_kergon", "smk1_kunjungan", "instagram_dinas", "kelurahan_klego")
FAILURES = (  # (reason, note, weight) of the administrative check's failures
    (Reason.DOCUMENTS_INCOMPLETE, "", 5),
    (Reason.NOT_RESIDENT, "KTP Kabupaten Batang", 2),
    (Reason.AGE, "", 1),
    (Reason.ALREADY_TRAINED, "Pelatihan 2024", 2),
    (Reason.OTHER, "Tidak hadir verifikasi", 1),
)
TRACER = (  # (status, weight) of the graduates' answers; workers also say where and in which field
    (OutcomeStatus.WORKING, 45),
    (OutcomeStatus.SELF_EMPLOYED, 20),
    (OutcomeStatus.STUDYING, 5),
    (OutcomeStatus.LOOKING, 30),
)
SECTORS = ("bengkel las", "konstruksi baja", "galangan kapal", "pabrik tekstil", "bengkel motor")
BUSINESSES = ("jasa las pagar", "las teralis rumahan", "bengkel las keliling")
NO_ANSWER = 0.08
"""Share of graduates who do not answer the tracer question (the job reminds them once, later)."""


@dataclass
class Options:
    applicants: int = 336
    passed: int = 281
    selected: int = 196
    competent: int | None = None
    seed: int = 11

    def __post_init__(self) -> None:
        if not 0 < self.selected <= self.passed <= self.applicants:
            raise ValueError("need 0 < selected <= passed <= applicants")
        if self.competent is None:
            self.competent = round(self.selected * 180 / 196)  # the office's 180 of 196
        if not 0 <= self.competent <= self.selected:
            raise ValueError("need 0 <= competent <= selected")

    @property
    def decliners(self) -> int:
        """Selected residents who press "Tidak bisa": their seats go down the waitlist."""
        return min(max(1, round(self.selected * 0.03)), self.passed - self.selected)


@dataclass
class Figures:
    registered: int = 0
    passed: int = 0
    selected: int = 0
    competent: int = 0
    working_or_business: int = 0
    answered: int = 0
    stages: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def line(self) -> str:
        return (
            f"Terdaftar {self.registered} -> Lolos administrasi {self.passed} -> Terpilih {self.selected} "
            f"-> Kompeten {self.competent} -> Bekerja/usaha {self.working_or_business}"
        )


class BenchClock:
    """The chat's clock: the real time, moved ahead for the tracer round (the CLI uses the real time)."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead


# ------------------------------------------------------------------------------------------
# The residents and what staff write into their sheets (pure data from the seed)
# ------------------------------------------------------------------------------------------


def person(index: int, rng: random.Random) -> Person:
    """A resident of Kota Pekalongan with a valid NIK: its district, birth date 1980-2006 and sex."""
    district = rng.randrange(len(DISTRICTS))
    born = date(rng.randint(1980, 2006), rng.randint(1, 12), rng.randint(1, 28))
    woman = rng.random() < 0.3
    day = born.day + (40 if woman else 0)
    nik = f"33750{district + 1}{day:02d}{born.month:02d}{born.year % 100:02d}{index + 1:04d}"
    first = rng.choice(FIRST)
    return Person(
        full_name=f"{first} {rng.choice(LAST)}",
        nik=" ".join((nik[:4], nik[4:8], nik[8:12], nik[12:])) if index % 3 == 0 else nik,  # some type it spaced
        address=f"{rng.choice(STREETS)} {rng.randint(1, 120)} RT {rng.randint(1, 9):02d}/RW {rng.randint(1, 6):02d}",
        district=DISTRICTS[district],
        phone=f"08{rng.choice((12, 13, 57, 95))}{index:08d}",
        education=rng.choices([e for e, _ in EDUCATION], [w for _, w in EDUCATION])[0],
    )


def bench_catalog(quota: int, today: date) -> str:
    """The demo catalog with LAS1's quota set and its registration open today, training after it."""
    text = DEMO_CATALOG.read_text(encoding="utf-8")
    start = text.index(f'code = "{PROGRAMME}"')
    end = text.index("[[programme]]", start)
    block = text[start:end]
    opens, closes = today - timedelta(days=30), today + timedelta(days=7)
    starts, ends = today + timedelta(days=14), today + timedelta(days=40)
    block = re.sub(r"(?m)^quota = \d+$", f"quota = {quota}", block)
    block = re.sub(r"(?m)^registration = .*$", f"registration = {{ opens = {opens}, closes = {closes} }}", block)
    block = re.sub(r"(?m)^training = .*$", f"training = {{ starts = {starts}, ends = {ends} }}", block)
    return text[:start] + block + text[end:]


# ------------------------------------------------------------------------------------------
# Staff at the terminal: the real `blkbot` subcommands, in this process and event loop
# ------------------------------------------------------------------------------------------


class Office:
    """Runs `blkbot ...` subcommands on the bench's database as tests/cli do, printing a few lines
    of each command's own output (the full text stays in `last`)."""

    def __init__(self, db: Database, say: Callable[[str], None], show: int = 4) -> None:
        self.settings = Settings(database_url=db.url)
        self.say = say
        self.show = show
        self.last = ""

    async def __call__(self, *argv: str, show: int | None = None) -> str:
        args = build_parser().parse_args(list(argv))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = await args.handler(self.settings, args)
        self.last = out.getvalue()
        if code:
            raise RuntimeError(f"blkbot {' '.join(argv[:3])} ... ended with {code}:\n{self.last}")
        lines = self.last.splitlines()
        limit = self.show if show is None else show
        shown = [a if len(a) < 40 else "..." + a[-30:] for a in argv[:9]]
        self.say(f"$ blkbot {' '.join(shown)}{f' ... ({len(argv) - 9} more)' if len(argv) > 9 else ''}")
        for line in lines[:limit]:
            self.say(f"  {line}")
        if len(lines) > limit:
            self.say(f"  ... ({len(lines) - limit} more lines)")
        return self.last


# ------------------------------------------------------------------------------------------
# The phases
# ------------------------------------------------------------------------------------------


class Intake:
    def __init__(self, db: Database, options: Options, workdir: Path, say: Callable[[str], None]) -> None:
        self.db = db
        self.options = options
        self.workdir = workdir
        self.say = say
        self.rng = random.Random(options.seed)
        self.office = Office(db, say)
        self.clock = BenchClock()
        self.templates = Templates()
        self.conversations: Conversations | None = None
        self.residents: dict[str, Resident] = {}  # by application number
        self.figures = Figures()

    async def run(self) -> Figures:
        for name, phase in (
            ("catalog", self.load_catalog),
            ("register", self.register),
            ("check", self.check),
            ("scores", self.scores),
            ("selection", self.select),
            ("training", self.train),
            ("certify", self.certify),
            ("tracer", self.trace),
            ("report", self.report),
        ):
            self.say(f"\n== {name}")
            started = time.perf_counter()
            await phase()
            self.figures.seconds[name] = round(time.perf_counter() - started, 2)
        return self.figures

    async def load_catalog(self) -> None:
        path = self.workdir / "catalog.toml"
        path.write_text(bench_catalog(self.options.selected, datetime.now(JAKARTA).date()), encoding="utf-8")
        await self.office("catalog", "load", str(path))
        services = Services(templates=self.templates, timezone=JAKARTA, clock=self.clock)
        self.conversations = Conversations(self.db, services)

    # -- 2. registration in the chat ------------------------------------------------------

    async def register(self) -> None:
        assert self.conversations is not None
        people = [person(i, self.rng) for i in range(self.options.applicants)]
        sources = [self.rng.choice(SOURCES) if self.rng.random() < 0.35 else None for _ in people]
        gate = asyncio.Semaphore(CONCURRENT)

        async def one(index: int) -> tuple[str, Resident]:
            async with gate:
                resident = Resident(self.conversations, f"warga-{index:04d}")  # type: ignore[arg-type]
                return await self._register(resident, people[index], sources[index]), resident

        for number, resident in await asyncio.gather(*(one(i) for i in range(len(people)))):
            self.residents[number] = resident
        linked = sum(1 for s in sources if s)
        self.say(f"  {len(self.residents)} residents registered in the chat ({linked} came by a deep link)")

    @staticmethod
    async def _register(resident: Resident, who: Person, source: str | None) -> str:
        await resident.start(f"{PROGRAMME}__{source}" if source else None)
        if resident.step == "card":  # a deep link opens the programme's card
            await resident.apply()
        else:
            await resident.pick(PROGRAMME, CLUSTER)
        await resident.answer_questions()
        await resident.give_details(who)
        assert resident.step == "summary", resident.text
        await resident.submit()
        found = re.search(rf"\b({PROGRAMME}-\d{{4}}-\d{{4}})\b", resident.text)
        assert found, f"no registration number in {resident.text!r}"
        return found.group(1)

    # -- 3. administrative check from the worksheet -----------------------------------------

    async def check(self) -> None:
        sheet = self.workdir / "cek-administrasi.xlsx"
        await self.office("selection", "sheet", "--programme", PROGRAMME, "--out", str(sheet), show=1)
        numbers = sorted(self.residents)
        failing = set(self.rng.sample(numbers, len(numbers) - self.options.passed))
        decisions: dict[str, tuple[str, str, str]] = {}
        for number in numbers:
            if number in failing:
                reason, note, _ = self.rng.choices(FAILURES, [w for *_, w in FAILURES])[0]
                decisions[number] = ("gagal", REASON_WORDS[reason], note)
            else:
                decisions[number] = ("lolos", "", "")
        fill(sheet, decisions)  # as staff do in Excel: keputusan, alasan, catatan
        await self.office("selection", "import-check", str(sheet), "--yes", "--by", "bu-rina")

    # -- 4. written test and interview ------------------------------------------------------

    async def scores(self) -> None:
        passed = await self._numbers_in(Stage.ADMIN_PASSED)
        path = self.workdir / "nilai.csv"
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["nomor", "nama", "tes_tertulis", "wawancara"])
            for number in passed:
                writer.writerow([number, "", self.rng.randint(45, 98), self.rng.randint(50, 95)])
        await self.office("selection", "import-scores", str(path), "--yes", "--by", "pak-joko")

    # -- 5. ranking, quota, waitlist, seats answered in the chat -------------------------------

    async def select(self) -> None:
        await self.office("selection", "run", "--programme", PROGRAMME, "--yes", "--by", "kepala", show=3)
        self.say(f"  {self.office.last.splitlines()[-1]}")
        selected = await self._numbers_in(Stage.SELECTED)
        declining = set(self.rng.sample(selected, self.options.decliners))
        answered: set[str] = set()
        while True:  # a decline offers the next on the waitlist a seat: they read it and answer in turn
            waiting = [n for n in await self._numbers_in(Stage.SELECTED) if n not in answered]
            if not waiting:
                break
            for number in waiting:
                await self.press_pushed(number, "Tidak bisa" if number in declining else "Ya, saya ikut")
                answered.add(number)
        seated = await self._numbers_in(Stage.SELECTED)
        self.say(
            f"  seats: {len(answered) - len(declining)} confirmed in the chat, {len(declining)} declined "
            f"(each seat went to the next on the waitlist); {len(seated)} seated"
        )

    async def press_pushed(self, number: str, label: str) -> None:
        """The resident reads what the office pushed to the chat and presses `label` under it."""
        resident = self.residents[number]
        console = Console(resident.conversations, resident.chat_id, out=io.StringIO())
        await console.show_pushes()
        [option] = [o for o in console.options if label in o.label]
        await resident.send(Inbound(choice=option.data))

    # -- 6-7. training days, attendance, completion, certification ----------------------------

    async def train(self) -> None:
        seated = await self._numbers_in(Stage.SELECTED)
        async with self.db.transaction() as session:
            programme = await catalog.programme(session, PROGRAMME)
            assert programme is not None
            first_day = programme.training_starts
        for day in range(3):
            when = f"{first_day + timedelta(days=day)} 08:00"
            await self.office(
                "events", "add", "--programme", PROGRAMME, "--kind", "training_day", "--at", when,
                "--place", "UPT BLK Kota Pekalongan, bengkel las", "--by", "pak-joko", show=1,
            )  # fmt: skip
        async with self.db.transaction() as session:
            days = [e.id for e in await training.training_days(session, programme.id)]
        # Day 1 all there (the training starts: the waitlist closes); day 2 from the attendance sheet
        # filled in Excel; day 3 the whole class but a few.
        await self.office("training", "attend", "--event", str(days[0]), "--all-present", "--by", "pak-joko", show=2)
        absent = set(self.rng.sample(seated, min(3, len(seated) // 4)))
        sheet = self.workdir / "hadir-hari-2.xlsx"
        await self.office("training", "sheet", "--event", str(days[1]), "--out", str(sheet), show=1)
        mark_sheet(sheet, {n: "Tidak hadir" if n in absent else "Hadir" for n in seated})
        await self.office("training", "import-attendance", str(sheet), "--yes", "--by", "pak-joko", show=2)
        absent = set(self.rng.sample(seated, min(3, len(seated) // 4)))
        away = ["--except", *sorted(absent)] if absent else []
        await self.office("training", "attend", "--event", str(days[2]), "--all-present", *away, show=1)
        await self.office("training", "complete", "--programme", PROGRAMME, "--by", "pak-joko", show=1)

    async def certify(self) -> None:
        participants = await self._numbers_in(Stage.IN_TRAINING)
        competent = set(self.rng.sample(participants, self.options.competent or 0))
        path = self.workdir / "hasil-uji-kompetensi.csv"
        tested = datetime.now(JAKARTA).date()
        with path.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, delimiter=";")
            writer.writerow(["nomor", "hasil", "lsp", "skema", "nomor_sertifikat", "tanggal"])
            for i, number in enumerate(participants):
                certificate = f"LAS.{tested.year}.{i + 1:05d}" if number in competent else ""
                result = "K" if number in competent else "BK"
                writer.writerow([number, result, "LSP Logam Nusantara", "SMAW 3G", certificate, tested.isoformat()])
        await self.office("certification", "import", str(path), "--yes", "--by", "bu-rina")

    # -- 8. the tracer study ------------------------------------------------------------------

    async def trace(self) -> None:
        self.clock.ahead = timedelta(days=32)  # a month and a day after completion
        settings = self.office.settings
        counts = await tracer.tick(
            self.db,
            self.templates,
            parse_months(settings.tracer_months),
            timedelta(days=settings.tracer_reminder_days),
            now=self.clock(),
        )
        self.say(f"  tracer job at completion + 32 days: {counts['asked']} graduates asked")
        graduates = await self._graduates()
        answered = 0
        for number in graduates:
            if self.rng.random() < NO_ANSWER:
                continue
            await self.press_pushed(number, "Jawab")
            resident = self.residents[number]
            status = self.rng.choices([s for s, _ in TRACER], [w for _, w in TRACER])[0]
            await resident.choose("status", status.value)
            if status == OutcomeStatus.WORKING:
                await resident.choose("workplace", self.rng.choices(("city", "elsewhere", "abroad"), (6, 3, 1))[0])
                await resident.type(self.rng.choice(SECTORS))
            elif status == OutcomeStatus.SELF_EMPLOYED:
                await resident.type(self.rng.choice(BUSINESSES))
            assert "Terima kasih atas jawaban Anda" in resident.text, resident.text
            answered += 1
        self.say(f"  {answered} graduates answered in the chat, {len(graduates) - answered} did not (yet)")

    # -- 9. the figures -------------------------------------------------------------------------

    async def report(self) -> None:
        """`blkbot report`: the office's one command for the figures (its funnel is what the bench checks)."""
        await self.office("report", "--programme", PROGRAMME, "--out", str(self.workdir / "laporan"), show=14)
        self.figures = await funnel(self.db, self.figures.seconds)
        self.say("")
        self.say(self.figures.line())

    # -- reading the database ---------------------------------------------------------------------

    async def _numbers_in(self, stage: Stage) -> list[str]:
        async with self.db.transaction() as session:
            programme = await catalog.programme(session, PROGRAMME)
            assert programme is not None
            return sorted(a.number for a in await applications.for_programme(session, programme.id) if a.stage == stage)

    async def _graduates(self) -> list[str]:
        """Those who completed the training: the tracer job asks each of them."""
        async with self.db.transaction() as session:
            programme = await catalog.programme(session, PROGRAMME)
            assert programme is not None
            found = await applications.for_programme(session, programme.id)
            return sorted(a.number for a in found if a.completed_at is not None)


async def funnel(db: Database, seconds: dict[str, float]) -> Figures:
    """The funnel row of LAS1 as `blkbot report` counts it (training.figures), plus the stages now and
    how many tracer rounds were answered, for the summary."""
    async with db.transaction() as session:
        report = await figures.report(session, cli_actor("bench"), figures.Filters(programme=PROGRAMME))
        programme = await catalog.programme(session, PROGRAMME)
        assert programme is not None
        found = await applications.for_programme(session, programme.id)
        answered = [o for o in await training.outcomes_of(session, [a.id for a in found]) if o.status is not None]
    [table] = [t for t in report.tables if t.key == "funnel"]
    [row] = [dict(zip(table.headers, r, strict=True)) for r in table.rows if r[0] == PROGRAMME]
    stages: dict[str, int] = {}
    for application in found:
        stages[application.stage] = stages.get(application.stage, 0) + 1
    return Figures(
        registered=int(row["Terdaftar"]),
        passed=int(row["Lolos administrasi"]),
        selected=int(row["Terpilih"]),
        competent=int(row["Kompeten"]),
        working_or_business=int(row["Bekerja/usaha"]),
        answered=len({o.application_id for o in answered}),
        stages=stages,
        seconds=seconds,
    )


# ------------------------------------------------------------------------------------------
# Entry point
# ------------------------------------------------------------------------------------------


async def run_intake(db: Database, options: Options, workdir: Path, say: Callable[[str], None] = print) -> Figures:
    """The whole intake on a migrated database holding the demo catalog (tests call this)."""
    return await Intake(db, options, workdir, say).run()


async def run_bench(args: argparse.Namespace) -> tuple[str, Figures]:
    options = Options(args.applicants, args.passed, args.selected, args.competent, args.seed)
    with tempfile.TemporaryDirectory(prefix="blkbot-intake-") as tmp:
        workdir = Path(tmp)
        label = "sqlite" if args.database_url is None else "postgresql"
        async with scratch_database(args.database_url, workdir, "intake") as db:
            print(
                f"database: {label}; {options.applicants} applicants, {options.passed} to pass, quota {options.selected}"
            )
            return label, await run_intake(db, options, workdir)


def print_summary(label: str, figures: Figures) -> None:
    print("\nSeconds per phase")
    for name, seconds in figures.seconds.items():
        print(f"  {name:<10} {seconds:>8.2f}")
    print(f"  {'total':<10} {sum(figures.seconds.values()):>8.2f}")
    print(f"Stages now: {', '.join(f'{s} {n}' for s, n in sorted(figures.stages.items()))}")
    print(
        json.dumps(
            {
                "database": label,
                "registered": figures.registered,
                "passed": figures.passed,
                "selected": figures.selected,
                "competent": figures.competent,
                "working_or_business": figures.working_or_business,
                "tracer_answers": figures.answered,
                "seconds": figures.seconds,
            }
        )
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        help="PostgreSQL server for a scratch database (e.g. postgresql://postgres@127.0.0.1:5432/postgres); "
        "default a SQLite file in a temporary folder",
    )
    parser.add_argument("--applicants", type=int, default=336, help="residents who register (default 336)")
    parser.add_argument("--passed", type=int, default=281, help="pass the administrative check (default 281)")
    parser.add_argument("--selected", type=int, default=196, help="the programme's quota (default 196)")
    parser.add_argument("--competent", type=int, help="Kompeten at certification (default 180 in 196)")
    parser.add_argument("--seed", type=int, default=11)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    label, figures = asyncio.run(run_bench(args))
    print_summary(label, figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
