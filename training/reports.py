"""What the office takes out of blkbot: the applications list, and the selection funnel in figures.

The export is for staff working in Excel, in Indonesian: headers, stages, sex and schooling in the
office's words (`codes=True` gives the stored codes and English keys, for scripts). XLSX keeps NIKs and
phone numbers as text (Excel turns a 16-digit number into 3.37E+15 and loses the last digits) and the
registration time as a real date; CSV carries a UTF-8 BOM so Excel reads Indonesian names right and
separates with ";", as Excel does where the decimal separator is a comma. The export is read back
by `blkbot applications import-results`, which knows these headers and stage names.

The funnel counts screenings as well as applications, because the number of eligible people turned
away by the quota is what a city shows to ask for more budget.
"""

from __future__ import annotations

import csv
import os
import tempfile
import textwrap
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final, TypeAlias
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ACTIVE_STAGES, Application, Programme, Stage
from storage.repositories import applications as applications_repo
from storage.repositories import catalog as catalog_repo
from storage.repositories import reports as reports_repo
from training.applications import NIK_CLAIMED_ELSEWHERE, PAST_PARTICIPANT
from training.eligibility import age_on, answer_key, parse_rules, questions
from training.errors import BlkbotError
from training.permissions import Actor, Permission, require, require_programme, within
from training.stages import STEP, stage_name

ALL: Final = "ALL"
FORMATS: Final = ("csv", "xlsx")
DEFAULT_TIMEZONE: Final = "Asia/Jakarta"

BASE_COLUMNS: Final = (
    "number",
    "programme",
    "programme_name",
    "cluster",
    "venue",
    "stage",
    "stage_reason",
    "source",
    "created_at",
    "full_name",
    "nik",
    "birth_date",
    "sex",
    "age_at_start",
    "address",
    "district_code",
    "district_name",
    "phone",
    "education",
)
PERSONAL_EXPORT: Final = frozenset(
    {
        "stage_reason",
        "source",
        "full_name",
        "nik",
        "birth_date",
        "sex",
        "age_at_start",
        "address",
        "district_code",
        "district_name",
        "phone",
        "education",
        "flags",
    }
)
"""Left empty for an erased person: with the name gone, district, schooling and flags could still
single someone out in a short list; the staff's reason and the deep-link source may name them."""
HEADERS: Final = {
    "number": "Nomor pendaftaran",
    "programme": "Kode program",
    "programme_name": "Nama program",
    "cluster": "Klaster",
    "venue": "Tempat pelatihan",
    "stage": "Tahap",
    "stage_reason": "Alasan",
    "source": "Sumber",
    "created_at": "Waktu daftar",
    "full_name": "Nama lengkap",
    "nik": "NIK",
    "birth_date": "Tanggal lahir",
    "sex": "Jenis kelamin",
    "age_at_start": "Usia saat pelatihan mulai",
    "address": "Alamat",
    "district_code": "Kode kecamatan",
    "district_name": "Kecamatan",
    "phone": "Nomor HP",
    "education": "Pendidikan terakhir",
    "flags": "Catatan untuk petugas",
}
"""The export's Indonesian headers; an answer column is headed "Jawaban: " and its rule's name."""
SEX: Final = {"M": "Laki-laki", "F": "Perempuan"}
EDUCATION: Final = {
    "none": "Tidak sekolah",
    "sd": "SD",
    "smp": "SMP",
    "sma": "SMA/SMK",
    "diploma": "Diploma",
    "bachelor": "Sarjana",
}
RULES: Final = {
    "ktp_region": "KTP daerah ini",
    "min_age": "usia minimal",
    "max_age": "usia maksimal",
    "min_education": "pendidikan minimal",
    "healthy": "sehat jasmani dan rohani",
    "not_working": "tidak sedang bekerja atau kuliah",
    "never_trained": "belum pernah ikut pelatihan",
    "unknown": "tidak tercatat",
}
"""Rule names as staff read them in the stats and the export; a catalog's own declaration shows its key."""
TEXT_COLUMNS: Final = frozenset({"number", "nik", "phone"})
FREE_TEXT: Final = frozenset({"full_name", "address", "stage_reason", "source"})
"""Typed by residents or staff: a leading = + - @ would make Excel run it as a formula."""
FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")

Value: TypeAlias = str | int | date | datetime | None


class ReportError(BlkbotError):
    """An export that cannot be made; the message names the code, format or file."""


class UnknownProgramme(ReportError):
    def __init__(self, code: str, known: Sequence[str]) -> None:
        super().__init__(f"unknown programme {code!r}; known codes: {', '.join(known)} (or {ALL})")
        self.code = code
        self.known = tuple(known)


# --- The export ---------------------------------------------------------------------------------


async def export_applications(
    session: AsyncSession,
    programme_code: str,
    fmt: str,
    out: Path,
    *,
    codes: bool = False,
    actor: Actor,
) -> int:
    """Write one row per application of a programme (or ALL) to `out`; return the row count.
    `codes`: English column keys, stored codes and ISO times in a comma-separated CSV, for scripts.
    An actor of one venue exports its programmes only: ALL means all of theirs."""
    if fmt not in FORMATS:
        raise ReportError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    require(actor, Permission.VIEW_APPLICANTS)
    programme_id = await _programme_id(session, programme_code, actor)
    found = await reports_repo.applications_for_export(session, programme_id)
    found = within(actor, found, lambda a: a.programme.venue_code)
    districts = await reports_repo.district_names(session)
    zone = ZoneInfo(await _timezone(session))
    columns = [*BASE_COLUMNS, *answer_keys(found), "flags"]
    rows = [export_row(a, columns, districts, zone) for a in found]
    if not codes:
        rows = [[in_words(column, value) for column, value in zip(columns, row, strict=True)] for row in rows]
    headers = list(columns) if codes else [header(column) for column in columns]
    if fmt == "csv":
        write_atomically(Path(out), lambda target: _write_csv(target, columns, headers, rows, codes=codes))
    else:
        write_atomically(Path(out), lambda target: _write_xlsx(target, columns, headers, rows))
    return len(rows)


def header(column: str) -> str:
    """A column's Indonesian header: HEADERS, or "Jawaban: <rule>" for an eligibility answer."""
    if column.startswith("q_"):
        return f"Jawaban: {rule_name(column.removeprefix('q_'))}"
    return HEADERS.get(column, column)


def rule_name(rule: str) -> str:
    return RULES.get(rule, rule.replace("_", " "))


def in_words(column: str, value: Value) -> Value:
    """A stored code as the office says it (stage, sex, schooling); other values as they are."""
    if value is None:
        return None
    match column:
        case "stage":
            return stage_name(str(value))
        case "sex":
            return SEX.get(str(value), value)
        case "education":
            return EDUCATION.get(str(value), value)
    return value


async def _programme_id(session: AsyncSession, code: str, actor: Actor) -> int | None:
    """None for ALL; staff may type the code in lower case."""
    wanted = code.strip().upper()
    if wanted == ALL:
        return None
    programme = await catalog_repo.programme(session, wanted)
    if programme is None:
        known = await catalog_repo.programmes(session)
        raise UnknownProgramme(code, [p.code for p in known if actor.covers(p.venue_code)])
    require_programme(actor, Permission.VIEW_APPLICANTS, programme)
    return programme.id


async def _timezone(session: AsyncSession) -> str:
    """The city's zone from the catalog (WITA cities exist), Jakarta when none is loaded."""
    info = await catalog_repo.info(session)
    return info.timezone if info and info.timezone else DEFAULT_TIMEZONE


def answer_keys(found: Sequence[Application]) -> list[str]:
    """The eligibility answers' columns: each programme's questions in catalog order, then any
    stored answer no current rule asks (a rule removed after people answered it)."""
    keys: dict[str, None] = {}
    programmes = {a.programme.id: a.programme for a in found}
    for programme in programmes.values():
        for key in question_keys(programme):
            keys.setdefault(key, None)
    for application in found:
        for key in sorted(application.answers or {}):
            keys.setdefault(key, None)
    return list(keys)


def question_keys(programme: Programme) -> list[str]:
    """The keys the registration flow stores answers under (q_healthy, q_ktp_region…)."""
    return [answer_key(rule) for rule in questions(parse_rules(programme.rules))]


def export_row(
    application: Application, columns: Sequence[str], districts: Mapping[str, str], zone: ZoneInfo
) -> list[Value]:
    """The application's cells in `columns` order; an erased person's personal cells stay empty."""
    programme = application.programme
    answers = application.answers or {}
    values: dict[str, Value] = {
        "number": application.number,
        "programme": programme.code,
        "programme_name": programme.name.get("id", ""),
        "cluster": programme.cluster_code,
        "venue": programme.venue.name,
        "stage": application.stage,
        "stage_reason": application.stage_reason,
        "source": application.source,
        "created_at": local_time(application.created_at, zone),
        "full_name": application.full_name,
        "nik": application.nik,
        "birth_date": application.birth_date,
        "sex": application.sex,
        "age_at_start": age_on(application.birth_date, programme.training_starts) if application.birth_date else None,
        "address": application.address,
        "district_code": application.district_code,
        "district_name": districts.get(application.district_code or ""),
        "phone": application.phone,
        "education": application.education,
        "flags": ", ".join(describe_flag(f, zone) for f in application.flags or []),
    }
    values.update({key: yes_no(answers.get(key)) for key in columns if key.startswith("q_")})
    if application.anonymised_at is not None:
        values.update({key: None for key in columns if key in PERSONAL_EXPORT or key.startswith("q_")})
    return [values.get(key) for key in columns]


def local_time(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    """The time in the city's zone; SQLite hands back naive UTC (CURRENT_TIMESTAMP), so naive is UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).replace(microsecond=0)


FLAGS: Final = {
    "nik_region_outside": "NIK dari luar daerah (orangnya mungkin sudah pindah; periksa KTP)",
}
"""Flags stored as a plain word, as staff read them."""


def describe_flag(flag: Any, zone: ZoneInfo) -> str:
    """A flag as staff read it; a kind this version does not word is shown as stored."""
    if isinstance(flag, str):
        return FLAGS.get(flag, flag)
    if isinstance(flag, dict) and flag.get("flag") == NIK_CLAIMED_ELSEWHERE:
        when = datetime.fromisoformat(flag["at"]).astimezone(zone)
        return f"NIK ini juga diketik dari chat {flag['channel']} lain ({when:%Y-%m-%d %H:%M})"
    if isinstance(flag, dict) and flag.get("flag") == "absent_days":
        return f"Tidak hadir {flag['days']} hari pelatihan"
    if isinstance(flag, dict) and flag.get("flag") == PAST_PARTICIPANT:
        when = datetime.fromisoformat(flag["at"]).astimezone(zone)
        return (
            f"Ada di daftar peserta pelatihan lama (tahun {flag['year']}), diimpor {when:%Y-%m-%d} "
            "setelah orang ini mendaftar"
        )
    return str(flag)


def yes_no(answer: Any) -> str | None:
    """Answers as staff say them; anything else (a future kind of answer) is shown as stored."""
    if answer is None:
        return None
    if isinstance(answer, bool):
        return "ya" if answer else "tidak"
    return str(answer)


def write_atomically(out: Path, write: Callable[[Path], None]) -> None:
    """Write beside `out` and rename, so a failed export never leaves half a file for staff to send."""
    try:
        fd, name = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent or Path("."))
    except OSError as problem:
        raise ReportError(f"cannot write {out}: {problem.strerror}") from None
    os.close(fd)
    temp = Path(name)
    try:
        write(temp)
        os.replace(temp, out)
    except OSError as problem:
        raise ReportError(f"cannot write {out}: {problem.strerror}") from None
    finally:
        temp.unlink(missing_ok=True)


def _write_csv(
    path: Path, columns: Sequence[str], headers: Sequence[str], rows: Sequence[Sequence[Value]], *, codes: bool
) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle, delimiter="," if codes else ";")
        writer.writerow(headers)
        for row in rows:
            writer.writerow(_csv_cell(column, value, codes) for column, value in zip(columns, row, strict=True))


def _csv_cell(column: str, value: Value, codes: bool) -> str:
    """Times as Excel reads them ("2026-11-20 10:00"), or ISO with the zone's offset for scripts."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        text = value.isoformat() if codes else f"{value:%Y-%m-%d %H:%M}"
    else:
        text = value.isoformat() if isinstance(value, date) else str(value)
    if column in FREE_TEXT and text.startswith(FORMULA_START):
        return "'" + text
    return text


def _write_xlsx(path: Path, columns: Sequence[str], headers: Sequence[str], rows: Sequence[Sequence[Value]]) -> None:
    """Bold, frozen header and a filter; every text cell is typed as text, so Excel neither
    shortens a NIK nor runs a formula a resident typed as an address."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = "pendaftar"
    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for r, row in enumerate(rows, start=2):
        for c, (column, value) in enumerate(zip(columns, row, strict=True), start=1):
            if value is None:
                continue
            cell = sheet.cell(row=r, column=c)
            if isinstance(value, datetime):
                cell.value = value.replace(tzinfo=None)  # Excel has no zones: the city's wall-clock time
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(value, date):
                cell.value = value
                cell.number_format = "yyyy-mm-dd"
            elif isinstance(value, int) and column not in TEXT_COLUMNS:
                cell.value = value
            else:
                cell.value = ILLEGAL_CHARACTERS_RE.sub("", str(value))
                cell.data_type = "s"
                cell.number_format = "@"
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    for c, width in enumerate(_widths(headers, rows), start=1):
        sheet.column_dimensions[get_column_letter(c)].width = width
    book.save(path)


def _widths(columns: Sequence[str], rows: Sequence[Sequence[Value]]) -> list[int]:
    """Wide enough for the longest value (plus the filter button), capped so addresses wrap the view."""
    widths = [len(c) + 3 for c in columns]
    for row in rows:
        for i, value in enumerate(row):
            shown = 16 if isinstance(value, datetime) else 10 if isinstance(value, date) else len(str(value or ""))
            widths[i] = max(widths[i], shown + 2)
    return [min(w, 50) for w in widths]


# --- The funnel ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counts:
    """Figures for a programme, a cluster or the whole catalog.

    `over_quota` is eligible screenings beyond the seats, summed over programmes: an empty seat
    in one programme does not absorb demand for another with other dates or another venue.
    """

    quota: int = 0
    stages: Mapping[str, int] = field(default_factory=dict)
    eligible: int = 0
    ineligible: int = 0
    by_rule: Mapping[str, int] = field(default_factory=dict)
    over_quota: int = 0

    @property
    def registered(self) -> int:
        """Applications still in the running (ACTIVE_STAGES): the seats they claim."""
        return sum(n for stage, n in self.stages.items() if stage in ACTIVE_STAGES)

    @property
    def applications(self) -> int:
        return sum(self.stages.values())

    def __add__(self, other: Counts) -> Counts:
        return Counts(
            quota=self.quota + other.quota,
            stages=dict(Counter(self.stages) + Counter(other.stages)),
            eligible=self.eligible + other.eligible,
            ineligible=self.ineligible + other.ineligible,
            by_rule=dict(Counter(self.by_rule) + Counter(other.by_rule)),
            over_quota=self.over_quota + other.over_quota,
        )


@dataclass(frozen=True)
class ProgrammeFigures:
    code: str
    name: str
    cluster: str
    counts: Counts


@dataclass(frozen=True)
class ClusterFigures:
    code: str
    name: str
    counts: Counts


@dataclass(frozen=True)
class Funnel:
    programmes: tuple[ProgrammeFigures, ...]
    clusters: tuple[ClusterFigures, ...]
    total: Counts


async def funnel(session: AsyncSession, actor: Actor, programme: str = ALL) -> Funnel:
    """Every active programme (and any retired one that still has figures), then its cluster's sums;
    an actor of one venue sees its programmes only. `programme`: that one only (an unknown code or
    another venue's is refused, as in the export)."""
    require(actor, Permission.VIEW_APPLICANTS)
    only = await _programme_id(session, programme, actor)
    stages: dict[int, Counter[str]] = {}
    for programme_id, stage, n in await applications_repo.stage_counts(session):
        stages.setdefault(programme_id, Counter())[stage] += n
    screenings: dict[int, list[tuple[bool, str | None, int]]] = {}
    for programme_id, eligible, rule, n in await applications_repo.screening_counts(session):
        screenings.setdefault(programme_id, []).append((eligible, rule, n))
    programmes = [p for p in await catalog_repo.programmes(session) if p.active or p.id in stages or p.id in screenings]
    programmes = [p for p in within(actor, programmes, lambda p: p.venue_code) if only in (None, p.id)]
    rows = tuple(
        ProgrammeFigures(
            p.code,
            p.name.get("id", p.code),
            p.cluster_code,
            programme_counts(p.quota, stages.get(p.id, Counter()), screenings.get(p.id, [])),
        )
        for p in programmes
    )
    clusters = _cluster_figures(programmes, rows)
    total = sum((c.counts for c in clusters), Counts())
    return Funnel(rows, clusters, total)


def programme_counts(
    quota: int, stages: Mapping[str, int], screenings: Iterable[tuple[bool, str | None, int]]
) -> Counts:
    eligible = ineligible = 0
    by_rule: Counter[str] = Counter()
    for is_eligible, rule, n in screenings:
        if is_eligible:
            eligible += n
        else:
            ineligible += n
            by_rule[rule or "unknown"] += n
    return Counts(quota, dict(stages), eligible, ineligible, dict(by_rule), max(0, eligible - quota))


def _cluster_figures(programmes: Sequence[Programme], rows: Sequence[ProgrammeFigures]) -> tuple[ClusterFigures, ...]:
    """Clusters in catalog order, each the sum of its programmes."""
    order = sorted({p.cluster_code: p.cluster for p in programmes}.values(), key=lambda c: (c.position, c.code))
    return tuple(
        ClusterFigures(c.code, c.name.get("id", c.code), sum((r.counts for r in rows if r.cluster == c.code), Counts()))
        for c in order
    )


# --- The stats table ----------------------------------------------------------------------------

WIDTH: Final = 100
"""The terminal width the stats fit in."""
SUMMARY_HEADERS: Final = ("Kuota", "Aktif", "Layak", "Tidak layak", "Layak > kuota")
LEGEND: Final = (
    "Aktif: pendaftaran yang masih berjalan (mengisi kursi). Layak: orang yang memenuhi semua syarat dan "
    "mengirim pendaftaran. Tidak layak: orang yang ditolak oleh sebuah syarat. Setiap orang dihitung sekali "
    "per program, berapa kali pun ia mencoba. Layak > kuota: orang layak yang tidak mendapat kursi."
)


def render_stats(figures: Funnel) -> str:
    """Plain-text tables for a 100-column terminal, in Indonesian: programmes, clusters, then the
    applications per stage and who was turned away by which rule."""
    sections = [
        "Per program",
        text_table(
            ["Program", "Klaster", *SUMMARY_HEADERS],
            [[p.code, p.cluster, *_figures(p.counts)] for p in figures.programmes],
        ),
        "",
        "Per klaster",
        text_table(
            ["Klaster", "Nama", *SUMMARY_HEADERS],
            [
                *([c.code, cut(c.name, 30), *_figures(c.counts)] for c in figures.clusters),
                ["JUMLAH", "", *_figures(figures.total)],
            ],
        ),
        *_wrapped(LEGEND),
        "",
        *_per_stage(figures),
        "",
        *_turned_away(figures),
    ]
    return "\n".join(sections).rstrip() + "\n"


def _figures(counts: Counts) -> list[str]:
    return [str(n) for n in (counts.quota, counts.registered, counts.eligible, counts.ineligible, counts.over_quota)]


def _per_stage(figures: Funnel) -> list[str]:
    """Each stage that occurs, in funnel order (unknown stored values last), with its programmes."""
    known = [s.value for s in sorted(Stage, key=STEP.__getitem__) if figures.total.stages.get(s.value)]
    shown = known + sorted(s for s, n in figures.total.stages.items() if n and s not in known)
    lines = ["Pendaftaran per tahap:"]
    for stage in shown:
        where = ", ".join(
            f"{p.code} {p.counts.stages[stage]}" for p in figures.programmes if p.counts.stages.get(stage)
        )
        lines += _wrapped(f"{stage_name(stage)}: {figures.total.stages[stage]} ({where})", indent="  ")
    return lines if shown else [*lines, "  (belum ada)"]


def _turned_away(figures: Funnel) -> list[str]:
    lines = [
        f"Orang layak yang tidak mendapat kursi karena kuota: {figures.total.over_quota} "
        f"({figures.total.eligible} layak untuk {figures.total.quota} kursi)",
        "Tidak layak, menurut syarat:",
    ]
    if not figures.total.by_rule:
        return [*lines, "  (tidak ada)"]
    for rule, n in sorted(figures.total.by_rule.items(), key=lambda item: (-item[1], item[0])):
        where = ", ".join(
            f"{p.code} {p.counts.by_rule[rule]}" for p in figures.programmes if p.counts.by_rule.get(rule)
        )
        lines += _wrapped(f"{rule_name(rule)}: {n} ({where})", indent="  ")
    return lines


def _wrapped(text: str, indent: str = "") -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent + "    ")


def cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def text_table(headers: Sequence[str], rows: Sequence[Sequence[object]], sep: str = " | ") -> str:
    """Columns padded to their widest cell; text left, numbers right. `sep` "  " saves a column
    per border where a table is wide."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    numeric = [all(str(r[i]).isdigit() for r in rows) and bool(rows) for i in range(len(headers))]

    def line(cells: Sequence[object]) -> str:
        return sep.join(
            str(c).rjust(w) if num else str(c).ljust(w) for c, w, num in zip(cells, widths, numeric, strict=True)
        ).rstrip()

    rule = ("-+-" if "|" in sep else sep).join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])
