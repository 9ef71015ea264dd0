"""The report's output files: a workbook with one sheet per table and PNG charts (matplotlib, the Agg
backend: no screen needed on a server). Only rendering here; the figures come from training.figures."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final

from training.figures import TOTAL, Figures, Table

CHARTS: Final = {
    "funnel": "corong-per-program.png",
    "unmet": "kebutuhan-per-klaster.png",
    "sources_over_time": "pendaftar-per-sumber.png",
    "districts": "per-kecamatan.png",
    "sexes": "per-jenis-kelamin.png",
    "ages": "per-kelompok-usia.png",
}
"""Each chart's file, by the table it draws."""
WORKBOOK: Final = "laporan.xlsx"


def write_workbook(figures: Figures, path: Path) -> None:
    """One sheet per table: bold header row, frozen, widths fitting the longest cell; the note below."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    book.remove(book.active)
    for table in figures.tables:
        sheet = book.create_sheet(table.sheet[:31])
        sheet.append(list(table.headers))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append(list(row))
        if table.note:
            sheet.append([])
            sheet.append([table.note])
        sheet.freeze_panes = "A2"
        for index, header in enumerate(table.headers, start=1):
            longest = max([len(header), *(len(str(row[index - 1])) for row in table.rows)])
            sheet.column_dimensions[get_column_letter(index)].width = min(longest + 3, 50)
    book.save(path)


def write_charts(figures: Figures, folder: Path) -> list[Path]:
    """A PNG per table with something to show; an empty table draws nothing. Returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    written = []
    for key, name in CHARTS.items():
        table = figures.table(key)
        rows = [row for row in table.rows if row[0] != TOTAL]
        if key == "unmet":  # a cluster nobody asked for yet shows no demand
            rows = [row for row in rows if row[table.headers.index("Memenuhi syarat")]]
        elif key != "sources_over_time":
            rows = [row for row in rows if any(isinstance(v, int) and v for v in row)]
        if not rows:
            continue
        path = folder / name
        if key == "sources_over_time":
            _lines(table, rows, path)
        elif key == "unmet":
            _bars(table, rows, path, ("Kuota", "Memenuhi syarat", "Tanpa kursi"))
        else:
            _bars(table, rows, path, table.headers[1:])
        written.append(path)
    return written


def _bars(table: Table, rows: Sequence[tuple[str | int, ...]], path: Path, series: Sequence[str]) -> None:
    """One group of bars per row (a programme, a district), one bar per column in `series`."""
    import matplotlib.pyplot as plt

    width = 0.8 / len(series)
    figure, axes = plt.subplots(figsize=(min(16.0, max(6.0, 0.3 * len(rows) * len(series))), 4.5))
    for i, name in enumerate(series):
        column = table.headers.index(name)
        axes.bar([x + i * width for x in range(len(rows))], [int(row[column]) for row in rows], width, label=name)
    ticks = [x + width * (len(series) - 1) / 2 for x in range(len(rows))]
    axes.set_xticks(ticks, [str(row[0]) for row in rows], rotation=30, ha="right")
    _finish(figure, axes, table.title, path)


def _lines(table: Table, rows: Sequence[tuple[str | int, ...]], path: Path) -> None:
    """One line per source over the periods (a period without registrations from it is a zero)."""
    import matplotlib.pyplot as plt

    periods = sorted({str(row[0]) for row in rows})
    sources: dict[str, dict[str, int]] = {}
    for period, source, n in rows:
        sources.setdefault(str(source), {})[str(period)] = int(n)
    figure, axes = plt.subplots(figsize=(min(16.0, max(6.0, 0.5 * len(periods))), 4.5))
    for source, counts in sorted(sources.items(), key=lambda item: -sum(item[1].values())):
        axes.plot(periods, [counts.get(p, 0) for p in periods], marker="o", label=source)
    axes.set_xlabel(table.headers[0])
    axes.tick_params(axis="x", rotation=30)
    _finish(figure, axes, table.title, path)


def _finish(figure, axes, title: str, path: Path) -> None:  # type: ignore[no-untyped-def]
    import matplotlib.pyplot as plt

    axes.set_title(title)
    axes.set_ylabel("orang")
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
