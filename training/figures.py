"""The figures a city reports (`blkbot report`): the funnel per programme, the demand the seats left
unmet per cluster, which source (a poster's deep link) brought registrations when, and who registered
by district, sex and age group. Plain tables with Indonesian headers, for the terminal, a workbook,
charts and later the browser console.

How each funnel step is counted, per application (one per person per programme):
- Terdaftar: people who finished the eligibility questions: every application, plus each person a
  rule turned away (once per programme, by their latest try). A chat left half-way is not counted.
- Memenuhi syarat: applications sent (each passed every rule when it was sent).
- Lolos administrasi: passed the administrative check (now, or before they withdrew).
- Terpilih: holds a seat, or went on from one (confirmed it, trained, was tested); someone who
  declined or let the deadline pass is not counted, the waitlisted person who took the seat is.
- Selesai: completed the training (or took the competency test).
- Kompeten: the LSP found them competent.
- Bekerja/usaha: graduates whose latest tracer answer is working or running a business (of all
  graduates, Kompeten or not, as cities report it).
Each step up to Kompeten counts only applications that reached the step before it, so those counts
never grow down the funnel; Bekerja/usaha is a part of Selesai (and may exceed Kompeten). Filters: a programme, a cluster, and the year of registration (in the city's time zone).
Age groups use the age on the day of registration, from the birth date the NIK carries.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Final, TypeAlias
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from outreach.reminders import local_zone
from storage.models import EARNING, Application, Programme, Stage
from storage.repositories import catalog as catalog_repo
from storage.repositories import figures as figures_repo
from storage.repositories import reports as reports_repo
from training.eligibility import age_on
from training.errors import BlkbotError
from training.nik import parse_nik
from training.permissions import Actor, Permission, require, require_programme, within
from training.reports import SEX, local_time

Cell: TypeAlias = str | int

FUNNEL: Final = (
    "Terdaftar",
    "Memenuhi syarat",
    "Lolos administrasi",
    "Terpilih",
    "Selesai",
    "Kompeten",
    "Bekerja/usaha",
)
"""The funnel's steps as the printed table and the workbook head them (scripts read these labels)."""
AGE_GROUPS: Final = ((15, 24), (25, 34), (35, 44), (45, None))
UNKNOWN: Final = "Tidak tercatat"
DIRECT: Final = "(tanpa kode)"
"""The source of a registration that came without a deep-link code."""
TOTAL: Final = "JUMLAH"

TESTED: Final = frozenset({Stage.COMPETENT, Stage.NOT_YET_COMPETENT})
SEATED: Final = frozenset({Stage.SELECTED, Stage.IN_TRAINING, *TESTED})
CHECKED: Final = frozenset({Stage.ADMIN_PASSED, Stage.WAITLISTED, Stage.NOT_SELECTED, *SEATED})


class FiguresError(BlkbotError):
    """A filter naming nothing the catalog knows."""


@dataclass(frozen=True)
class Filters:
    programme: str | None = None
    cluster: str | None = None
    year: int | None = None

    def describe(self) -> str:
        parts = [
            f"program {self.programme}" if self.programme else "",
            f"klaster {self.cluster}" if self.cluster else "",
            f"tahun {self.year}" if self.year else "",
        ]
        return ", ".join(p for p in parts if p) or "semua program, semua tahun"


@dataclass(frozen=True)
class Table:
    """One table of the report: a workbook sheet, a block of text, a chart's data."""

    key: str
    """Stable English name, for charts and scripts."""
    sheet: str
    """The workbook sheet's name (Excel allows 31 characters)."""
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    note: str = ""

    def column(self, header: str) -> list[Cell]:
        index = self.headers.index(header)
        return [row[index] for row in self.rows]


@dataclass(frozen=True)
class Figures:
    filters: Filters
    period: str
    """"minggu" (weeks) or "bulan" (months, when one year is asked for): the sources table's step."""
    tables: tuple[Table, ...] = field(default_factory=tuple)
    empty: bool = True
    """Nobody registered (within the filters): nothing to chart."""

    def table(self, key: str) -> Table:
        return next(t for t in self.tables if t.key == key)


@dataclass(frozen=True)
class _Path:
    """How far one application got, and who sent it."""

    application: Application
    steps: tuple[bool, ...]
    """Which of FUNNEL[1:] it reached (sent, checked, seated, completed, Kompeten, working)."""
    registered_on: date

    @property
    def seated(self) -> bool:
        return self.steps[2]


async def report(session: AsyncSession, actor: Actor, filters: Filters) -> Figures:
    """Every table of the report, counted within the filters and the actor's venue (venue staff see
    their own programmes' figures; naming another venue's programme is refused)."""
    require(actor, Permission.VIEW_APPLICANTS)
    programmes = await _programmes(session, filters)
    if filters.programme:
        for programme in programmes:
            require_programme(actor, Permission.VIEW_APPLICANTS, programme)
    programmes = within(actor, programmes, lambda p: p.venue_code)
    ids = {p.id for p in programmes}
    zone = await local_zone(session)
    passed = await figures_repo.passed_check(session)
    confirmed = await figures_repo.seat_confirmed(session)
    outcomes = await figures_repo.latest_outcomes(session)
    paths = []
    for application in await reports_repo.applications_for_export(session, None):
        registered_on = _local_date(application.created_at, zone)
        if application.programme_id in ids and _in_year(registered_on, filters.year):
            paths.append(_Path(application, _steps(application, passed, confirmed, outcomes), registered_on))
    turned_away = Counter(
        pid
        for pid, when in await figures_repo.turned_away(session)
        if pid in ids and _in_year(_local_date(when, zone), filters.year)
    )
    districts = await reports_repo.district_names(session)
    period = "bulan" if filters.year else "minggu"
    tables = (
        _funnel(programmes, paths, turned_away),
        _unmet(programmes, paths),
        _sources(paths),
        _sources_over_time(paths, period),
        _people("districts", "Per kecamatan", "Kecamatan", paths, lambda a, _: _district(a, districts)),
        _people("sexes", "Per jenis kelamin", "Jenis kelamin", paths, lambda a, _: _sex(a)),
        _people("ages", "Per kelompok usia", "Kelompok usia", paths, _age_group, order=_age_labels()),
    )
    return Figures(filters, period, tables, empty=not paths and not turned_away)


async def _programmes(session: AsyncSession, filters: Filters) -> list[Programme]:
    """The programmes the filters name, in catalog order; an unknown code is an error naming the known ones."""
    found = every = await catalog_repo.programmes(session)
    if filters.programme:
        found = [p for p in every if p.code == filters.programme.strip().upper()]
        if not found:
            known = ", ".join(p.code for p in every)
            raise FiguresError(f"unknown programme {filters.programme!r}; known codes: {known}")
    if filters.cluster:
        code = filters.cluster.strip().upper()
        if await catalog_repo.cluster(session, code) is None:
            known = ", ".join(c.code for c in await catalog_repo.clusters(session))
            raise FiguresError(f"unknown cluster {filters.cluster!r}; known codes: {known}")
        found = [p for p in found if p.cluster_code == code]
    return found


def _local_date(moment: datetime, zone: ZoneInfo) -> date:
    local = local_time(moment, zone)
    assert local is not None
    return local.date()


def _in_year(day: date, year: int | None) -> bool:
    return year is None or day.year == year


def _steps(
    application: Application, passed: set[int], confirmed: set[int], outcomes: dict[int, str]
) -> tuple[bool, ...]:
    """Which of FUNNEL[1:] the application reached; each implies the ones before it, but the last
    (working) follows from the training, not from the result."""
    try:
        stage: Stage | None = Stage(application.stage)
    except ValueError:  # a stage this version does not know: counted as sent only
        stage = None
    completed = application.completed_at is not None or stage in TESTED
    seated = stage in SEATED or application.id in confirmed or completed
    checked = stage in CHECKED or application.id in passed or seated
    working = completed and outcomes.get(application.id) in EARNING
    return (True, checked, seated, completed, stage == Stage.COMPETENT, working)


def _funnel(programmes: Sequence[Programme], paths: Sequence[_Path], turned_away: Counter[int]) -> Table:
    counts: dict[int, list[int]] = {}
    for p in programmes:
        counts[p.id] = [turned_away[p.id], *([0] * (len(FUNNEL) - 1))]
    for path in paths:
        row = counts[path.application.programme_id]
        row[0] += 1
        for step, reached in enumerate(path.steps, start=1):
            row[step] += reached
    shown = [p for p in programmes if p.active or any(counts[p.id])]
    rows: list[tuple[Cell, ...]] = [(p.code, *counts[p.id]) for p in shown]
    if len(rows) > 1:
        rows.append((TOTAL, *(sum(counts[p.id][i] for p in shown) for i in range(len(FUNNEL)))))
    return Table(
        "funnel",
        "Corong per program",
        "Tahapan per program",
        ("Program", *FUNNEL),
        tuple(rows),
        note=(
            "Terdaftar: semua yang selesai mengisi syarat, termasuk yang ditolak syarat. Bekerja/usaha: "
            "lulusan yang bekerja atau berusaha menurut jawaban penelusuran alumni terakhir."
        ),
    )


def _unmet(programmes: Sequence[Programme], paths: Sequence[_Path]) -> Table:
    """Eligible people per cluster beside its seats: those without a seat are the demand the budget did not meet."""
    clusters: dict[str, list[int]] = {}
    names: dict[str, str] = {}
    for p in programmes:
        if p.active or any(path.application.programme_id == p.id for path in paths):
            names[p.cluster_code] = p.cluster.name.get("id", p.cluster_code)
            clusters.setdefault(p.cluster_code, [0, 0, 0])[0] += p.quota
    for path in paths:
        row = clusters[path.application.programme.cluster_code]
        row[1] += 1
        row[2] += path.seated
    rows = tuple(
        (code, names[code], quota, eligible, seated, eligible - seated)
        for code, (quota, eligible, seated) in clusters.items()
    )
    return Table(
        "unmet",
        "Kebutuhan per klaster",
        "Orang layak tanpa kursi per klaster",
        ("Klaster", "Nama", "Kuota", "Memenuhi syarat", "Mendapat kursi", "Tanpa kursi"),
        rows,
        note="Tanpa kursi: orang yang memenuhi syarat tetapi tidak (atau belum) mendapat kursi pelatihan.",
    )


def _source(application: Application) -> str:
    return application.source or DIRECT


def _sources(paths: Sequence[_Path]) -> Table:
    """Per deep-link code: how many registered, and how many of them went on to a seat."""
    sent: Counter[str] = Counter()
    seated: Counter[str] = Counter()
    for path in paths:
        sent[_source(path.application)] += 1
        seated[_source(path.application)] += path.seated
    rows = tuple(
        (source, n, seated[source]) for source, n in sorted(sent.items(), key=lambda item: (-item[1], item[0]))
    )
    return Table(
        "sources", "Per sumber", "Pendaftar per sumber (kode tautan)", ("Sumber", "Pendaftar", "Terpilih"), rows
    )


def period_start(day: date, period: str) -> date:
    """The Monday of the day's week, or the first of its month."""
    return day.replace(day=1) if period == "bulan" else day - timedelta(days=day.weekday())


def _sources_over_time(paths: Sequence[_Path], period: str) -> Table:
    counts: Counter[tuple[date, str]] = Counter(
        (period_start(path.registered_on, period), _source(path.application)) for path in paths
    )
    label = "Bulan" if period == "bulan" else "Minggu mulai"
    rows = tuple(
        (f"{start:%Y-%m}" if period == "bulan" else start.isoformat(), source, n)
        for (start, source), n in sorted(counts.items())
    )
    return Table(
        "sources_over_time",
        f"Sumber per {period}",
        f"Pendaftar per sumber per {period}",
        (label, "Sumber", "Pendaftar"),
        rows,
    )


def _district(application: Application, names: dict[str, str]) -> str:
    if not application.district_code:
        return UNKNOWN
    return names.get(application.district_code, application.district_code)


def _sex(application: Application) -> str:
    sex = application.sex or (_from_nik(application)[1] if application.nik else None)
    return SEX.get(sex or "", UNKNOWN)


def _from_nik(application: Application) -> tuple[date | None, str | None]:
    """Birth date and sex read from the NIK, for an application stored without them."""
    try:
        nik = parse_nik(application.nik or "", today=application.created_at.date())
    except BlkbotError:
        return None, None
    return nik.birth_date, nik.sex.value


def _age_labels() -> list[str]:
    return [f"{low}–{high}" if high else f"{low}+" for low, high in AGE_GROUPS]


def _age_group(application: Application, registered_on: date) -> str:
    birth = application.birth_date or (_from_nik(application)[0] if application.nik else None)
    if birth is None:
        return UNKNOWN
    age = age_on(birth, registered_on)
    for (low, high), label in zip(AGE_GROUPS, _age_labels(), strict=True):
        if age >= low and (high is None or age <= high):
            return label
    return f"di bawah {AGE_GROUPS[0][0]}"


def _people(
    key: str,
    title: str,
    header: str,
    paths: Sequence[_Path],
    group: Callable[[Application, date], str],
    order: Iterable[str] = (),
) -> Table:
    """Registrations and seats per group; groups in `order` first (even when empty), the rest by size,
    "Tidak tercatat" (erased or never given) last."""
    sent: Counter[str] = Counter()
    seated: Counter[str] = Counter()
    for path in paths:
        name = group(path.application, path.registered_on)
        sent[name] += 1
        seated[name] += path.seated
    ordered = list(order) if paths else []
    rest = sorted((g for g in sent if g not in ordered and g != UNKNOWN), key=lambda g: (-sent[g], g))
    names = [*ordered, *rest, *([UNKNOWN] if UNKNOWN in sent else [])]
    rows: tuple[tuple[Cell, ...], ...] = tuple((g, sent[g], seated[g]) for g in names)
    return Table(key, title, f"Pendaftar {title.lower()}", (header, "Pendaftar", "Terpilih"), rows)
