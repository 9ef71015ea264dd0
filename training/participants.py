"""Importing the office's list of past participants, which the `never_trained` rule checks.

Staff keep the list in Excel: a CSV (BOM, `;` between fields) or the .xlsx itself, read by
`training.staff_files`. The whole file is checked before anything is written: a file with one bad
row changes nothing, and the error lists every bad row by line so staff fix them in one go. NIKs
never appear in messages or logs in full. Importing the same file again updates names and years
by NIK and adds nobody twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from storage.repositories import participants
from training import staff_files
from training.applications import note_past_participants
from training.errors import InvalidAnswer, Problem
from training.nik import parse_nik
from training.permissions import Actor, Permission, require
from training.staff_files import ImportProblem, Table, read_table
from training.validators import bounded_int

log = logging.getLogger(__name__)

COLUMNS: Final = ("nik", "name", "year")
ALIASES: Final = {"name": ("nama",), "year": ("tahun",)}
"""Indonesian headers staff may well write instead of the English ones."""
FIRST_YEAR: Final = 1970
NAME_MAX: Final = 100

NIK_PROBLEMS: Final = {
    "registration/nik_empty": "NIK is empty",
    "registration/nik_not_digits": "NIK must be digits only",
    "registration/nik_province": "NIK does not start with a known province code",
    "registration/nik_birth_date": "NIK digits 7-12 are not a valid birth date (DDMMYY, women +40)",
    "registration/nik_serial": "NIK serial (last 4 digits) is 0000",
}


@dataclass(frozen=True)
class Row:
    line: int
    nik: str
    name: str
    year: int


@dataclass(frozen=True)
class Imported:
    """What an import did: `total` NIKs in the file, `new` of them not known before (the others
    had their name and year updated; a NIK is never stored twice)."""

    total: int
    new: int
    flagged: int = 0
    """Active applications newly flagged because their NIK is on the list (see note_past_participants)."""

    @property
    def updated(self) -> int:
        return self.total - self.new


async def import_csv(session: AsyncSession, actor: Actor, path: Path, now: datetime | None = None) -> Imported:
    """Check the whole file, then merge its people by NIK in bulk, in the caller's transaction, and
    flag the applications of people on it who registered before the list was imported."""
    require(actor, Permission.PAST_PARTICIPANTS)
    now = now or datetime.now(UTC)
    rows = read_participants(path, today=now.date())
    new = await participants.upsert(session, [{"nik": r.nik, "name": r.name, "year": r.year} for r in rows])
    flagged = await note_past_participants(session, {r.nik: r.year for r in rows}, now)
    log.info("%s: %d past participants imported (%d new), %d applications flagged", path, len(rows), new, flagged)
    return Imported(total=len(rows), new=new, flagged=flagged)


def read_participants(path: Path, *, today: date) -> list[Row]:
    """The file's rows (CSV or XLSX), one per NIK; raise ImportProblem listing every bad row.

    A NIK listed twice (someone trained twice) keeps its latest year, since the list only has
    to say that the person trained before.
    """
    table = read_table(path, "nik,name,year")
    positions = _header(table)
    rows: dict[str, Row] = {}
    problems = list(table.problems)
    for line, record in table.rows:
        row, errors = _check_row(record, positions, line, today)
        problems.extend(Problem(line, e) for e in errors)
        if row is not None and (row.nik not in rows or rows[row.nik].year <= row.year):
            rows[row.nik] = row
    if problems:
        raise ImportProblem(table.source, sorted(problems, key=lambda p: p.line or 0))
    return list(rows.values())


def _header(table: Table) -> dict[str, int]:
    """Column positions by name; extra columns are ignored, missing ones are an error."""
    positions = table.positions({column: (column, *ALIASES.get(column, ())) for column in COLUMNS})
    missing = [c for c in COLUMNS if c not in positions]
    if missing:
        found = ", ".join(repr(n) for n in table.header)
        problem = (
            f"missing column(s) {', '.join(missing)} in the header (found {found}); "
            "the first line must name nik, name, year"
        )
        raise ImportProblem(table.source, [Problem(1, problem)])
    return positions


def _check_row(record: list[str], positions: dict[str, int], line: int, today: date) -> tuple[Row | None, list[str]]:
    def cell(column: str) -> str:
        return staff_files.cell(record, positions[column])

    nik, nik_error = _check_nik(cell("nik"), today)
    year, year_error = _check_year(cell("year"), today)
    name, name_error = _check_name(cell("name"))
    errors = [e for e in (nik_error, name_error, year_error) if e]
    if errors or nik is None or year is None:
        return None, errors
    return Row(line, nik, name, year), []


def _check_nik(text: str, today: date) -> tuple[str | None, str | None]:
    """The NIK's 16 digits, or why not; the NIK itself is never echoed back."""
    if "e+" in text.lower():
        return None, (
            "NIK was turned into a number by Excel (like 3.37E+15); format the column as Text and type the NIKs again"
        )
    try:
        return parse_nik(text, today=today).value, None
    except InvalidAnswer as problem:
        if problem.key == "registration/nik_length":
            return None, f"NIK has {problem.params.get('length')} digits, needs 16"
        return None, NIK_PROBLEMS.get(problem.key, "NIK is not valid")


def _check_year(text: str, today: date) -> tuple[int | None, str | None]:
    if not text:
        return None, "year is empty"
    if not (len(text) == 4 and text.isascii() and text.isdigit()):
        return None, f"year must be 4 digits like 2024, got {text[:20]!r}"
    year = bounded_int(text, FIRST_YEAR, today.year)
    if year is None:
        return None, f"year must be between {FIRST_YEAR} and {today.year}, got {text}"
    return year, None


def _check_name(text: str) -> tuple[str, str | None]:
    name = text
    if not name:
        return name, "name is empty"
    if len(name) > NAME_MAX:
        return name, f"name is longer than {NAME_MAX} characters"
    return name, None
