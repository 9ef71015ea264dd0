"""Past-participants import benchmark: a large CSV into a fresh SQLite file and a scratch PostgreSQL.

    .venv/bin/python bench/participants_import.py [--rows 100000] [--database-url URL | --database-url none]

What runs
---------
A CSV of --rows distinct, valid past participants (nik,name,year) is written to a temporary
folder. For each database (a fresh SQLite file; a scratch database made on the PostgreSQL server
of --database-url, dropped afterwards, skipped with `none`), the file is imported the way
`blkbot participants import` does it (training.participants.import_csv in one transaction), and
then imported again: the repeat updates every row in place and adds nobody.

first / repeat = wall time of each import, reading and checking the file included. new / stored
check the outcome: all rows new the first time, none the second, and the table holding --rows.
Output: a table, then one line of JSON as the very last line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.conversation_load import scratch_database
from storage.repositories import participants
from training.participants import import_csv
from training.permissions import Actor

OFFICE = Actor("cli", "bench", "bench", "admin")
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def write_csv(path: Path, rows: int) -> None:
    """Distinct NIKs of Kota Pekalongan (33.75.01): birth dates 1970-1999 (day 1-28), then serials."""
    with path.open("w", encoding="utf-8") as out:
        out.write("nik,name,year\n")
        for i in range(rows):
            day, month, year, serial = 1 + i % 28, 1 + (i // 28) % 12, 70 + (i // 336) % 30, 1 + i // 10080
            out.write(f"337501{day:02d}{month:02d}{year:02d}{serial:04d},Peserta Pelatihan {i},{2015 + i % 10}\n")


async def measure(database_url: str | None, csv_path: Path, workdir: Path, label: str) -> dict[str, Any]:
    async with scratch_database(database_url, workdir, label) as db:
        timings: dict[str, Any] = {"database": label}
        for run in ("first", "repeat"):
            started = time.perf_counter()
            async with db.transaction() as session:
                imported = await import_csv(session, OFFICE, csv_path)
            timings[f"{run}_s"] = round(time.perf_counter() - started, 2)
            timings[f"{run}_new"] = imported.new
        async with db.transaction() as session:
            timings["stored"] = await participants.count(session)
        return timings


async def run_bench(args: argparse.Namespace) -> list[dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="blkbot-participants-") as tmp:
        workdir = Path(tmp)
        csv_path = workdir / "alumni.csv"
        write_csv(csv_path, args.rows)
        results = [await measure(None, csv_path, workdir, "sqlite")]
        if args.database_url.lower() != "none":
            results.append(await measure(args.database_url, csv_path, workdir, "postgresql"))
        return results


def print_table(rows: int, results: list[dict[str, Any]]) -> None:
    print(f"{rows} rows per import")
    print(f"{'database':<11} {'first s':>8} {'new':>8} {'repeat s':>9} {'new':>6} {'stored':>8}")
    for r in results:
        print(
            f"{r['database']:<11} {r['first_s']:>8} {r['first_new']:>8} {r['repeat_s']:>9} "
            f"{r['repeat_new']:>6} {r['stored']:>8}"
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="past participants in the file (default 100000)")
    parser.add_argument(
        "--database-url",
        default=DEFAULT_SERVER,
        help=f"PostgreSQL server for a scratch database (default {DEFAULT_SERVER}); `none` for SQLite only",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = asyncio.run(run_bench(args))
    print_table(args.rows, results)
    print(json.dumps({"rows": args.rows, "results": results}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
