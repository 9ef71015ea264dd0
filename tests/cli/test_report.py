"""`blkbot report`: the printed tables, laporan.xlsx read back with openpyxl, and PNG charts that
matplotlib really drew, on the small intake of tests/flow/figures_intake.py (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from conversations.runner import Conversations
from messages.render import Templates
from storage.db import Database
from tests.cli.conftest import blkbot
from tests.flow.figures_intake import build_intake

PNG = b"\x89PNG\r\n\x1a\n"
CHARTS = (
    "corong-per-program.png",
    "kebutuhan-per-klaster.png",
    "pendaftar-per-sumber.png",
    "per-kecamatan.png",
    "per-jenis-kelamin.png",
    "per-kelompok-usia.png",
)


def numbers(lines: list[str], first: str) -> list[int]:
    """The figures of the printed row that starts with `first`."""
    return [int(n) for n in next(line for line in lines if line.startswith(first)).split()[1:]]


@pytest.fixture
async def intake(db: Database, conversations: Conversations, templates: Templates) -> Database:
    await build_intake(db, conversations, templates)
    return db


async def test_report_prints_writes_the_workbook_and_draws_the_charts(
    intake: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "laporan"
    assert await blkbot(intake, ["report", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    lines = printed.splitlines()
    assert max(len(line) for line in lines if str(out) not in line) <= 100  # the files' paths are as long as they are
    head = next(line for line in lines if line.startswith("Program"))
    assert head.split() == [
        "Program", "Terdaftar", "Memenuhi", "syarat", "Lolos", "administrasi", "Terpilih",
        "Selesai", "Kompeten", "Bekerja/usaha",
    ]  # fmt: skip
    assert numbers(lines, "BOGA1") == numbers(lines, "JUMLAH") == [6, 5, 4, 2, 2, 1, 1]

    book = load_workbook(out / "laporan.xlsx")
    assert book.sheetnames == [
        "Corong per program",
        "Kebutuhan per klaster",
        "Per sumber",
        "Sumber per minggu",
        "Per kecamatan",
        "Per jenis kelamin",
        "Per kelompok usia",
    ]
    funnel = book["Corong per program"]
    assert [c.value for c in funnel[1]] == [
        "Program", "Terdaftar", "Memenuhi syarat", "Lolos administrasi", "Terpilih", "Selesai",
        "Kompeten", "Bekerja/usaha",
    ]  # fmt: skip
    assert funnel["A1"].font.bold
    boga = next(r for r in funnel.iter_rows(values_only=True) if r[0] == "BOGA1")
    assert boga == ("BOGA1", 6, 5, 4, 2, 2, 1, 1)
    assert funnel.column_dimensions["D"].width >= len("Lolos administrasi")
    unmet = book["Kebutuhan per klaster"]
    assert [c.value for c in unmet[1]] == [
        "Klaster", "Nama", "Kuota", "Memenuhi syarat", "Mendapat kursi", "Tanpa kursi",
    ]  # fmt: skip
    assert next(r for r in unmet.iter_rows(values_only=True) if r[0] == "BOGA")[2:] == (2, 5, 2, 3)
    assert [c.value for c in book["Per kelompok usia"][1]] == ["Kelompok usia", "Pendaftar", "Terpilih"]

    for name in CHARTS:
        data = (out / name).read_bytes()
        assert data.startswith(PNG), name
        assert len(data) > 5000, name  # axes, bars and a legend, not an empty canvas
    assert f"  {out / 'laporan.xlsx'}" in printed


async def test_filters_narrow_the_printed_numbers(
    intake: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await blkbot(intake, ["report", "--cluster", "boga", "--no-files"]) == 0
    printed = capsys.readouterr().out
    assert "Laporan: klaster boga" in printed
    assert numbers(printed.splitlines(), "BOGA1") == [6, 5, 4, 2, 2, 1, 1]
    assert "LAS1" not in printed and "JUMLAH" not in printed
    assert "Pendaftar per sumber per minggu:" in printed
    assert "2026-11-09   | BOGA1__poster_b |         1" in printed

    assert await blkbot(intake, ["report", "--year", "2026", "--no-files"]) == 0
    assert "2026-11 | BOGA1__poster_b |         2" in capsys.readouterr().out

    unused = tmp_path / "unused"
    assert await blkbot(intake, ["report", "--programme", "LAS1", "--out", str(unused)]) == 0
    assert "Belum ada pendaftaran" in capsys.readouterr().out
    assert not unused.exists()


async def test_an_empty_database_writes_nothing(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "kosong"
    assert await blkbot(db, ["report", "--out", str(out)]) == 0
    assert "Belum ada pendaftaran untuk laporan ini: tidak ada berkas yang ditulis." in capsys.readouterr().out
    assert not out.exists()
