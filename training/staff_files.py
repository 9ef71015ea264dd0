"""Reading the tables staff hand to blkbot (CSV or XLSX), so that no file can end in a traceback.

Staff keep their lists in Excel, so a CSV may come with a UTF-8 BOM and with `;` between fields
(Excel's choice where the decimal separator is a comma, as in Indonesia), and an XLSX is often
what they have. Every problem is named by the file's line (an XLSX row counts as its line), and
each cell is cleaned of control and invisible characters (a zero-width space breaks a NIK or a
registration number) before anyone looks at it.
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from training.errors import BlkbotError, Problem
from training.validators import clean_text, strip_invisible

QUOTE_HINT: Final = 'a field that holds a quote must be in quotes itself, with the quote doubled ("")'
XLSX_MAGIC: Final = b"PK\x03\x04"


class ImportProblem(BlkbotError):
    """A file that cannot be imported; the message lists every problem by line."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        listing = "\n".join(p.render(source) for p in self.problems)
        head = f"{len(self.problems)} problems, nothing imported:\n" if len(self.problems) > 1 else ""
        super().__init__(head + listing)


@dataclass
class Table:
    """A file's header (cleaned, lower case) and its non-empty rows with the line each starts on.

    `problems` holds rows that could not be read as rows (a stray quote joining lines); the
    caller adds its own and refuses the file if any.
    """

    source: str
    header: list[str]
    rows: list[tuple[int, list[str]]]
    problems: list[Problem] = field(default_factory=list)

    def positions(self, columns: dict[str, Sequence[str]]) -> dict[str, int]:
        """Where each wanted column is, by any of its accepted names; absent ones are left out."""
        found: dict[str, int] = {}
        for column, names in columns.items():
            for name in names:
                if name in self.header:
                    found[column] = self.header.index(name)
                    break
        return found


def read_table(path: Path, what: str) -> Table:
    """The file as a table; `what` describes the expected header for an empty file's message."""
    source = str(path)
    try:
        data = path.read_bytes()
    except OSError as problem:
        raise ImportProblem(source, [Problem(None, f"cannot read the file ({problem.strerror})")]) from None
    rows = _xlsx_rows(data, source) if data.startswith(XLSX_MAGIC) else None
    table = _csv_table(data, source) if rows is None else _table(source, rows)
    if table is None:
        raise ImportProblem(source, [Problem(None, f"the file is empty; expected a header {what}")])
    return table


def cell(record: Sequence[str], position: int | None) -> str:
    return record[position] if position is not None and position < len(record) else ""


def _table(source: str, rows: Iterator[tuple[int, list[str]]], problems: list[Problem] | None = None) -> Table | None:
    kept = [(line, [clean_text(strip_invisible(c)) for c in record]) for line, record in rows]
    kept = [(line, record) for line, record in kept if any(record)]
    if not kept:
        return None
    (_, header), *body = kept
    return Table(source, [h.lower() for h in header], body, problems or [])


def _csv_table(data: bytes, source: str) -> Table | None:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        message = "not UTF-8 text; in Excel use Save As > 'CSV UTF-8 (Comma delimited)', or give the .xlsx file"
        raise ImportProblem(source, [Problem(None, message)]) from None
    lines = text.splitlines(keepends=True)
    reader = csv.reader(lines, delimiter=_delimiter(lines[0] if lines else ""))
    problems: list[Problem] = []
    rows: list[tuple[int, list[str]]] = []
    start = 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as problem:
            raise ImportProblem(source, [Problem(start, f"cannot read this line ({problem}); {QUOTE_HINT}")]) from None
        if reader.line_num > start and any(record):
            problems.append(
                Problem(start, f'a quote (") opens a field that runs on to line {reader.line_num}; {QUOTE_HINT}')
            )
        else:
            rows.append((start, record))
        start = reader.line_num + 1
    return _table(source, iter(rows), problems)


def _delimiter(header: str) -> str:
    """`;` when the header uses it and no commas, as Excel writes CSV under Indonesian settings."""
    return ";" if header.count(";") > header.count(",") else ","


def _xlsx_rows(data: bytes, source: str) -> Iterator[tuple[int, list[str]]]:
    """The first sheet's rows as text (numbers and dates as Excel shows them plainly)."""
    import io

    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as problem:
        raise ImportProblem(source, [Problem(None, f"not a readable .xlsx file ({problem})")]) from None
    sheet = book.worksheets[0]
    rows = [(n, [_xlsx_text(v) for v in values]) for n, values in enumerate(sheet.iter_rows(values_only=True), 1)]
    book.close()
    return iter(rows)


def _xlsx_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value)


def write_worksheet(
    out: Path,
    title: str,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    choices: dict[str, Sequence[str]],
    widths: Sequence[int],
    freeze: str,
    rows_max: int,
    legend: tuple[str, Sequence[Sequence[str]]] | None = None,
) -> None:
    """Write a worksheet staff fill in and import back: a bold header, every cell text (a name
    starting "=" stays a name), drop-downs on the columns of `choices` (by letter) for `rows_max`
    rows, a second sheet `legend` (title, rows) explaining the choices, and the file replaced whole
    or not at all."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    from training.reports import write_atomically

    def write(path: Path) -> None:
        book = Workbook()
        sheet = book.active
        sheet.title = title[:31]
        sheet.append(list(header))
        for cell_ in sheet[1]:
            cell_.font = Font(bold=True)
        for r, values in enumerate(rows, start=2):
            for c, value in enumerate(values, start=1):
                target = sheet.cell(row=r, column=c, value=value)
                target.data_type, target.number_format = "s", "@"
        last = max(len(rows) + 1, rows_max)
        for column, options in choices.items():
            choice = DataValidation(type="list", formula1=f'"{",".join(options)}"', allow_blank=True)
            choice.add(f"{column}2:{column}{last}")
            sheet.add_data_validation(choice)
        sheet.freeze_panes = freeze
        for c, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(c)].width = width
        if legend is not None:
            extra = book.create_sheet(legend[0])
            for values in legend[1]:
                extra.append(list(values))
        book.save(path)

    write_atomically(out, write)
