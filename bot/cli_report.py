"""`blkbot report`: the figures a city reports, printed for the terminal and written as a workbook
(laporan.xlsx, one sheet per table) and PNG charts into one folder, by default `laporan-YYYYMMDD`
(the city's date) in the current folder."""

from __future__ import annotations

import argparse
import textwrap
from datetime import date
from pathlib import Path
from typing import Final

from bot.cli_outreach import acting
from bot.settings import Settings
from training.figures import Figures, Filters, Table

WIDTH: Final = 100
CELL_MAX: Final = 28
"""Longer names (a cluster's, a source code) are cut in the terminal; the workbook has them whole."""


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    report = sub.add_parser(
        "report",
        help="the funnel per programme, unmet demand per cluster, sources, district/sex/age: printed, "
        "and as laporan.xlsx and PNG charts",
        description="Prints each table and writes laporan.xlsx (one sheet per table, Indonesian headers) and PNG "
        "charts into --out (default: laporan-YYYYMMDD in the current folder).",
    )
    report.add_argument("--programme", help="one programme's code")
    report.add_argument("--cluster", help="one cluster's code")
    report.add_argument("--year", type=int, help="registrations of one year (the sources table then goes by month)")
    report.add_argument("--out", type=Path, help="folder for laporan.xlsx and the charts (default: laporan-YYYYMMDD)")
    report.add_argument("--no-files", action="store_true", help="print only; write no workbook or chart")
    report.set_defaults(handler=report_command)


async def report_command(settings: Settings, args: argparse.Namespace) -> int:
    from bot.commands import staff_transaction
    from bot.runtime import now_utc
    from outreach.reminders import local_zone
    from training.figures import report

    filters = Filters(args.programme, args.cluster, args.year)
    async with staff_transaction(settings) as session:
        figures = await report(session, await acting(session, settings, args), filters)
        today = now_utc().astimezone(await local_zone(session)).date()
    print(f"Laporan: {filters.describe()}")
    if figures.empty:
        print("Belum ada pendaftaran untuk laporan ini: tidak ada berkas yang ditulis.")
        return 0
    print(render(figures))
    if args.no_files:
        return 0
    written = write_files(figures, args.out or default_folder(today))
    print("Ditulis:")
    for path in written:
        print(f"  {path}")
    return 0


def default_folder(today: date) -> Path:
    return Path(f"laporan-{today:%Y%m%d}")


def write_files(figures: Figures, folder: Path) -> list[Path]:
    from bot.charts import WORKBOOK, write_charts, write_workbook

    folder.mkdir(parents=True, exist_ok=True)
    write_workbook(figures, folder / WORKBOOK)
    return [folder / WORKBOOK, *write_charts(figures, folder)]


def render(figures: Figures) -> str:
    """Every table under its title, fitting 100 columns, notes wrapped beneath."""
    blocks = []
    for table in figures.tables:
        lines = [f"{table.title}:", text(table) if table.rows else "  (belum ada)"]
        if table.note and table.rows:
            lines += textwrap.wrap(table.note, WIDTH)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def text(table: Table) -> str:
    """The table with " | " between columns, or two spaces where that would not fit."""
    from training.reports import cut, text_table

    rows = [[cut(c, CELL_MAX) if isinstance(c, str) else c for c in row] for row in table.rows]
    shown = text_table(table.headers, rows)
    if max(len(line) for line in shown.splitlines()) > WIDTH:
        shown = text_table(table.headers, rows, sep="  ")
    return shown
