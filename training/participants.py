"""Importing the office's list of past participants, which the `never_trained` rule checks.

Staff keep the list in Excel, so the CSV may come with a UTF-8 BOM and with `;` between fields
(Excel's choice where the decimal separator is a comma, as in Indonesia). The whole file is
checked before anything is written: a file with one bad row changes nothing, and the error lists
every bad row by line so staff fix them in one go. NIKs never appear in messages or logs in full.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from storage.repositories import participants
from training.errors import BlkbotError, InvalidAnswer, Problem
from training.nik import parse_nik
from training.validators import bounded_int, clean_text

log = logging.getLogger(__name__)

COLUMNS: Final = ("nik", "name", "year")
ALIASES: Final = {"nama": "name", "tahun": "year"}
"""Indonesian headers staff may well write instead of the English ones."""
FIRST_YEAR: Final = 1970
NAME_MAX: Final = 100
QUOTE_HINT: Final = 'a field that holds a quote must be in quotes itself, with the quote doubled ("")'

NIK_PROBLEMS: Final = {
    "registration/nik_empty": "NIK is empty",
    "registration/nik_not_digits": "NIK must be digits only",
    "registration/nik_province": "NIK does not start with a known province code",
    "registration/nik_birth_date": "NIK digits 7-12 are not a valid birth date (DDMMYY, women +40)",
    "registration/nik_serial": "NIK serial (last 4 digits) is 0000",
}


class ImportProblem(BlkbotError):
    """A participants file that cannot be imported; the message lists every problem by line."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        listing = "\n".join(p.render(source) for p in self.problems)
        head = f"{len(self.problems)} problems, nothing imported:\n" if len(self.problems) > 1 else ""
        super().__init__(head + listing)


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

    @property
    def updated(self) -> int:
        return self.total - self.new


async def import_csv(session: AsyncSession, path: Path) -> Imported:
    """Check the whole file, then merge its people by NIK in bulk, in the caller's transaction."""
    rows = read_participants(path, today=date.today())
    new = await participants.upsert(session, [{"nik": r.nik, "name": r.name, "year": r.year} for r in rows])
    log.info("%s: %d past participants imported (%d new)", path, len(rows), new)
    return Imported(total=len(rows), new=new)


def read_participants(path: Path, *, today: date) -> list[Row]:
    """The file's rows, one per NIK; raise ImportProblem listing every bad row.

    A NIK listed twice (someone trained twice) keeps its latest year, since the list only has
    to say that the person trained before.
    """
    source = str(path)
    lines = _read_lines(path)
    reader = csv.reader(lines, delimiter=_delimiter(lines[0] if lines else ""))
    positions = _header(reader, source)
    rows: dict[str, Row] = {}
    problems: list[Problem] = []
    for line, record in _records(reader, source):
        if not any(cell.strip() for cell in record):
            continue
        if reader.line_num > line:
            problems.append(
                Problem(line, f'a quote (") opens a field that runs on to line {reader.line_num}; {QUOTE_HINT}')
            )
            continue
        row, errors = _check_row(record, positions, line, today)
        problems.extend(Problem(line, e) for e in errors)
        if row is not None and (row.nik not in rows or rows[row.nik].year <= row.year):
            rows[row.nik] = row
    if problems:
        raise ImportProblem(source, problems)
    return list(rows.values())


def _records(reader: Any, source: str) -> Iterator[tuple[int, list[str]]]:
    """Each record with the line it starts on; csv's own errors (a field beyond its 131,072
    characters, which a stray quote causes) become a problem on that line, not a traceback."""
    start = reader.line_num + 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as problem:
            raise ImportProblem(source, [Problem(start, f"cannot read this line ({problem}); {QUOTE_HINT}")]) from None
        yield start, record
        start = reader.line_num + 1


def _read_lines(path: Path) -> list[str]:
    """The file's lines, a BOM dropped; unreadable or non-UTF-8 files are named, not tracebacks."""
    try:
        data = path.read_bytes()
    except OSError as problem:
        raise ImportProblem(str(path), [Problem(None, f"cannot read the file ({problem.strerror})")]) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        message = "not UTF-8 text; in Excel use Save As > 'CSV UTF-8 (Comma delimited)'"
        raise ImportProblem(str(path), [Problem(None, message)]) from None
    return text.splitlines(keepends=True)


def _delimiter(header: str) -> str:
    """`;` when the header uses it and no commas, as Excel writes CSV under Indonesian settings."""
    return ";" if header.count(";") > header.count(",") else ","


def _header(reader: Iterator[list[str]], source: str) -> dict[str, int]:
    """Column positions by name; extra columns are ignored, missing ones are an error."""
    try:
        header = next(reader)
    except StopIteration:
        raise ImportProblem(source, [Problem(None, "the file is empty; expected a header nik,name,year")]) from None
    names = [ALIASES.get(key, key) for key in (clean_text(h).lower() for h in header)]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        found = ", ".join(repr(n) for n in names)
        problem = (
            f"missing column(s) {', '.join(missing)} in the header (found {found}); "
            "the first line must name nik, name, year"
        )
        raise ImportProblem(source, [Problem(1, problem)])
    return {c: names.index(c) for c in COLUMNS}


def _check_row(record: list[str], positions: dict[str, int], line: int, today: date) -> tuple[Row | None, list[str]]:
    def cell(column: str) -> str:
        index = positions[column]
        return clean_text(record[index]) if index < len(record) else ""

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
