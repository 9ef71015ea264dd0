"""`blkbot applications import-results`: the export fed back, previews, backward moves, all or nothing.

Run against the test database (SQLite and PostgreSQL) through the command's own handler.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.models import Application, OutboxMessage, Stage
from storage.repositories import catalog, contacts
from tests.cli.conftest import blkbot

STAGES = {
    "LAS1-2027-0001": (Stage.REGISTERED, None),
    "LAS1-2027-0002": (Stage.SELECTED, None),
    "LAS1-2027-0003": (Stage.ADMIN_FAILED, "KTP luar kota"),
    "LAS1-2027-0004": (Stage.WAITLISTED, "Cadangan nomor 2"),
}


@pytest.fixture
async def intake(db: Database) -> Database:
    """Four welding applicants on Telegram, one in each of four stages, none told anything yet."""
    async with db.transaction() as session:
        programme = await catalog.programme(session, "LAS1")
        assert programme is not None
        for i, (number, (stage, reason)) in enumerate(STAGES.items()):
            contact = await contacts.get_or_create(session, "telegram", str(500 + i), language="id")
            session.add(
                Application(
                    number=number,
                    programme_id=programme.id,
                    contact_id=contact.id,
                    stage=stage,
                    stage_reason=reason,
                    nik=f"337501120398000{i + 1}",
                    full_name=f"Peserta {i + 1}",
                )
            )
    return db


async def stored(db: Database) -> tuple[dict[str, tuple[str, str | None]], list[str]]:
    """Each application's (stage, reason) by number, and the dedupe keys of the messages queued."""
    async with db.transaction() as session:
        found = {a.number: (a.stage, a.stage_reason) for a in await session.scalars(select(Application))}
        keys = list(await session.scalars(select(OutboxMessage.dedupe_key).order_by(OutboxMessage.id)))
    return found, keys


async def export(db: Database, tmp_path: Path, fmt: str, *more: str) -> Path:
    out = tmp_path / f"applications.{fmt}"
    argv = ["applications", "export", "--programme", "LAS1", "--format", fmt, "--out", str(out), *more]
    assert await blkbot(db, argv) == 0
    return out


def edit_csv(path: Path, number: str, stage: str, reason: str | None = None) -> None:
    """Change one row of an exported CSV (Indonesian headers, ";") as staff would in a spreadsheet."""
    import csv

    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    for row in rows:
        if row["Nomor pendaftaran"] == number:
            row["Tahap"] = stage
            if reason is not None:
                row["Alasan"] = reason
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter=";")
        writer.writeheader()
        writer.writerows(rows)


def unchanged_stages() -> dict[str, tuple[str, str | None]]:
    return {number: (stage.value, reason) for number, (stage, reason) in STAGES.items()}


@pytest.mark.parametrize(("fmt", "codes"), [("csv", ()), ("xlsx", ()), ("csv", ("--codes",)), ("xlsx", ("--codes",))])
async def test_the_untouched_export_changes_nothing(
    intake: Database, tmp_path: Path, fmt: str, codes: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    path = await export(intake, tmp_path, fmt, *codes)
    capsys.readouterr()

    assert await blkbot(intake, ["applications", "import-results", str(path), "--yes"]) == 0

    out = capsys.readouterr().out
    assert f"{path}: 4 rows: 0 forward, 0 backward, 4 unchanged, 0 reason only, 0 errors" in out
    assert "Nothing to change." in out
    assert await stored(intake) == (unchanged_stages(), [])


async def test_an_edited_export_moves_forward_keeps_reasons_and_tells_only_the_moved(
    intake: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = await export(intake, tmp_path, "csv")
    edit_csv(path, "LAS1-2027-0001", "lolos-administrasi")
    edit_csv(path, "LAS1-2027-0004", "diterima", reason="")  # an emptied reason cell
    capsys.readouterr()

    assert await blkbot(intake, ["applications", "import-results", str(path), "--yes"]) == 0

    out = capsys.readouterr().out
    assert "4 rows: 2 forward, 0 backward, 2 unchanged, 0 reason only, 0 errors" in out
    assert "2 applications changed; 2 applicants will be told." in out
    found, keys = await stored(intake)
    assert found["LAS1-2027-0001"] == ("admin_passed", None)
    assert found["LAS1-2027-0003"] == ("admin_failed", "KTP luar kota")
    assert found["LAS1-2027-0004"] == ("selected", "Cadangan nomor 2")
    assert [k.rsplit(":", 1)[1] for k in keys] == ["admin_passed", "selected"]


async def test_a_backward_row_is_refused_without_the_flag_and_listed(
    intake: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "hasil.csv"
    path.write_text(
        "number,stage,reason\nLAS1-2027-0001,admin_passed,\nLAS1-2027-0002,registered,\nLAS1-2027-0003,registered,\n",
        encoding="utf-8",
    )

    assert await blkbot(intake, ["applications", "import-results", str(path), "--yes"]) == 1

    out = capsys.readouterr().out
    assert "3 rows: 1 forward, 2 backward, 0 unchanged" in out
    assert "LAS1-2027-0002: selected -> registered (line 3)" in out
    assert "LAS1-2027-0003: admin_failed -> registered (line 4)" in out
    assert "Nothing changed: 2 rows move back; import again with --allow-backward" in out
    assert await stored(intake) == (unchanged_stages(), [])

    assert await blkbot(intake, ["applications", "import-results", str(path), "--yes", "--allow-backward"]) == 0
    found, _ = await stored(intake)
    assert found["LAS1-2027-0002"] == ("registered", None)
    assert found["LAS1-2027-0003"] == ("registered", "KTP luar kota")  # an empty cell wipes no reason


async def test_a_bad_row_names_its_line_and_nothing_changes(
    intake: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "hasil.csv"
    path.write_text(
        "number;stage;reason\n"
        "LAS1-2027-0001;admin_passed;\n"
        "LAS1-2027-0099;selected;\n"
        "LAS1-2027-0002;hired;\n"
        "LAS1-2027-0001;selected;\n"
        "LAS1-2027-0004;admin_failed;\n",
        encoding="utf-8",
    )

    assert await blkbot(intake, ["applications", "import-results", str(path), "--yes"]) == 1

    out = capsys.readouterr().out
    assert f"{path} line 3: no application LAS1-2027-0099" in out
    assert f"{path} line 4: unknown stage 'hired'" in out
    assert f"{path} line 5: LAS1-2027-0001 is listed already on line 2" in out
    assert "Nothing changed: fix the rows above" in out
    assert await stored(intake) == (unchanged_stages(), [])


async def test_the_preview_is_not_applied_when_staff_say_no(
    intake: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "hasil.csv"
    path.write_text("number,stage\nLAS1-2027-0001,admin_passed\n", encoding="utf-8")
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))

    assert await blkbot(intake, ["applications", "import-results", str(path)]) == 1

    assert "Apply 1 changes? [y/N] Nothing changed." in capsys.readouterr().out
    assert await stored(intake) == (unchanged_stages(), [])


async def test_a_new_reason_for_the_same_stage_is_kept_without_telling_again(
    intake: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "hasil.csv"
    path.write_text("number,stage,alasan\nLAS1-2027-0003,admin_failed,Belum berusia 18 tahun\n", encoding="utf-8")

    assert await blkbot(intake, ["applications", "import-results", str(path), "--yes"]) == 0

    assert "0 forward, 0 backward, 0 unchanged, 1 reason only" in capsys.readouterr().out
    found, keys = await stored(intake)
    assert found["LAS1-2027-0003"] == ("admin_failed", "Belum berusia 18 tahun")
    assert keys == ["result:3:admin_failed"]  # never told before: told now, with the reason on record
