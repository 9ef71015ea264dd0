"""The applications export, the funnel figures and the staff's CLI commands around them."""

from __future__ import annotations

import csv
import shutil
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.cli import main
from storage.db import Database
from storage.models import Application, Stage
from storage.repositories import applications, catalog
from tests.cli.conftest import run
from tests.conftest import OFFICE
from training.reports import (
    BASE_COLUMNS,
    HEADERS,
    Funnel,
    ReportError,
    UnknownProgramme,
    export_applications,
    funnel,
    render_stats,
)

DEMO_CATALOG = Path(__file__).resolve().parents[2] / "training" / "demo" / "catalog.toml"
CREATED = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)
LAS1_ANSWERS = {"q_ktp_region": True, "q_healthy": True, "q_not_working": True, "q_never_trained": True}


def nik(serial: int, birth: str = "120598") -> str:
    """A valid NIK of Pekalongan Barat; the serial keeps it unique per test."""
    return f"337501{birth}{serial:04d}"


async def add_application(db: Database, code: str, seq: int, **columns: object) -> Application:
    """An application stored as the registration flow would have left it."""
    async with db.transaction() as session:
        programme = await catalog.programme(session, code)
        assert programme is not None
        values: dict[str, object] = {
            "number": f"{code}-{programme.training_starts.year}-{seq:04d}",
            "programme_id": programme.id,
            "stage": Stage.REGISTERED,
            "source": "poster",
            "nik": nik(seq),
            "full_name": "Budi Santoso",
            "birth_date": date(1998, 5, 12),
            "sex": "M",
            "address": "Jl. Hayam Wuruk No. 5, Kergon",
            "district_code": "33.75.01",
            "phone": "+6281234567890",
            "education": "sma",
            "answers": LAS1_ANSWERS,
            "flags": [],
            "created_at": CREATED,
        }
        values.update(columns)
        return await applications.add(session, Application(**values))


async def add_screenings(db: Database, code: str, eligible: int, failed: dict[str, int] | None = None) -> None:
    async with db.transaction() as session:
        programme = await catalog.programme(session, code)
        assert programme is not None
        for _ in range(eligible):
            await applications.add_screening(session, programme.id, eligible=True, failed_rule=None, source=None)
        for rule, n in (failed or {}).items():
            for _ in range(n):
                await applications.add_screening(session, programme.id, eligible=False, failed_rule=rule, source=None)


async def export(db: Database, code: str, fmt: str, out: Path, *, codes: bool = True) -> int:
    """The export with its codes (the stored values under English keys) unless `codes` is False."""
    async with db.transaction() as session:
        return await export_applications(session, code, fmt, out, codes=codes, actor=OFFICE)


def read_csv(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    return list(csv.DictReader(raw.decode("utf-8-sig").splitlines(), delimiter=delimiter))


# --- The export ---------------------------------------------------------------------------------


async def test_csv_export_has_one_row_per_application_of_the_programme(db: Database, tmp_path: Path) -> None:
    await add_application(
        db,
        "LAS1",
        1,
        full_name="Siti Nur'aini",
        sex="F",
        birth_date=date(1999, 5, 7),
        nik="3375014705990001",
        flags=["nik_region_outside"],
        answers={**LAS1_ANSWERS, "q_not_working": False},
    )
    await add_application(db, "LAS1", 2, stage=Stage.ADMIN_FAILED, stage_reason="KTP tidak terbaca", district_code=None)
    await add_application(db, "MTR1", 1)
    out = tmp_path / "las1.csv"

    assert await export(db, "LAS1", "csv", out) == 2

    rows = read_csv(out)
    assert [r["number"] for r in rows] == ["LAS1-2027-0001", "LAS1-2027-0002"]
    first, second = rows
    assert list(first)[: len(BASE_COLUMNS)] == list(BASE_COLUMNS)
    assert first["programme"] == "LAS1"
    assert first["programme_name"] == "Pengelasan SMAW Dasar"
    assert first["cluster"] == "LAS"
    assert first["venue"] == "UPT BLK Kota Pekalongan"
    assert first["stage"] == "registered"
    assert first["created_at"] == "2026-11-20T10:00:00+07:00"
    assert first["full_name"] == "Siti Nur'aini"
    assert first["nik"] == "3375014705990001"
    assert first["birth_date"] == "1999-05-07"
    assert first["sex"] == "F"
    assert first["age_at_start"] == "27"  # on 1 February 2027
    assert first["district_code"] == "33.75.01"
    assert first["district_name"] == "Pekalongan Barat"
    assert first["phone"] == "+6281234567890"
    assert first["education"] == "sma"
    assert first["q_healthy"] == "ya"
    assert first["q_not_working"] == "tidak"
    assert first["flags"] == "NIK dari luar daerah (orangnya mungkin sudah pindah; periksa KTP)"
    assert second["stage"] == "admin_failed"
    assert second["stage_reason"] == "KTP tidak terbaca"
    assert second["district_name"] == ""


async def test_export_words_a_nik_typed_from_another_chat(db: Database, tmp_path: Path) -> None:
    claimed = {"flag": "nik_claimed_elsewhere", "at": "2026-11-25T03:00:00+00:00", "channel": "telegram"}
    await add_application(db, "LAS1", 1, flags=["nik_region_outside", claimed])
    out = tmp_path / "las1.csv"

    await export(db, "LAS1", "csv", out)

    [row] = read_csv(out)
    assert row["flags"] == (
        "NIK dari luar daerah (orangnya mungkin sudah pindah; periksa KTP), "
        "NIK ini juga diketik dari chat telegram lain (2026-11-25 10:00)"
    )


async def test_the_export_speaks_indonesian_for_excel_by_default(db: Database, tmp_path: Path) -> None:
    await add_application(db, "LAS1", 1, sex="F", stage=Stage.ADMIN_PASSED, flags=["a_flag_from_a_later_version"])
    await add_application(db, "LAS1", 2, stage=Stage.NOT_SELECTED, education="bachelor")
    out = tmp_path / "las1.csv"

    assert await export(db, "LAS1", "csv", out, codes=False) == 2

    assert out.read_bytes().decode("utf-8-sig").splitlines()[0].startswith("Nomor pendaftaran;Kode program;")
    first, second = read_csv(out, delimiter=";")
    assert first["Nomor pendaftaran"] == "LAS1-2027-0001"
    assert (first["Tahap"], second["Tahap"]) == ("lolos-administrasi", "tidak-diterima")
    assert first["Waktu daftar"] == "2026-11-20 10:00"
    assert (first["Jenis kelamin"], second["Jenis kelamin"]) == ("Perempuan", "Laki-laki")
    assert (first["Pendidikan terakhir"], second["Pendidikan terakhir"]) == ("SMA/SMK", "Sarjana")
    assert first["Jawaban: sehat jasmani dan rohani"] == "ya"
    assert first["Jawaban: KTP daerah ini"] == "ya"
    assert first["Catatan untuk petugas"] == "a_flag_from_a_later_version"  # a new kind shows as stored
    assert first["Usia saat pelatihan mulai"] == "28"


async def test_export_all_lists_every_programme_in_catalog_order(db: Database, tmp_path: Path) -> None:
    await add_application(db, "MTR1", 1)
    await add_application(db, "LAS-PMI", 1, answers={**LAS1_ANSWERS, "q_pmi_candidate": True})
    await add_application(db, "LAS1", 1)
    out = tmp_path / "all.csv"

    assert await export(db, "all", "csv", out) == 3

    rows = read_csv(out)
    assert [r["number"] for r in rows] == ["LAS1-2027-0001", "LAS-PMI-2027-0001", "MTR1-2027-0001"]
    assert [r["q_pmi_candidate"] for r in rows] == ["", "ya", ""]


async def test_xlsx_export_keeps_nik_and_phone_as_text_under_a_bold_frozen_header(db: Database, tmp_path: Path) -> None:
    await add_application(db, "LAS1", 1, nik="3375011205980001")
    out = tmp_path / "las1.xlsx"

    assert await export(db, "LAS1", "xlsx", out, codes=False) == 1

    sheet = load_workbook(out).active
    header = [c.value for c in sheet[1]]
    assert header[: len(BASE_COLUMNS)] == [HEADERS[column] for column in BASE_COLUMNS]
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    row = {name: cell for name, cell in zip(header, sheet[2], strict=True)}
    assert row["NIK"].value == "3375011205980001"
    assert isinstance(row["NIK"].value, str)
    assert row["Nomor HP"].value == "+6281234567890"
    assert row["Nomor pendaftaran"].value == "LAS1-2027-0001"
    assert row["Usia saat pelatihan mulai"].value == 28
    assert row["Tanggal lahir"].value.date() == date(1998, 5, 12)
    assert row["Waktu daftar"].value == datetime(2026, 11, 20, 10, 0)  # a real date, in WIB
    assert row["Waktu daftar"].number_format == "yyyy-mm-dd hh:mm"
    assert row["Tahap"].value == "terdaftar"
    assert row["Jawaban: sehat jasmani dan rohani"].value == "ya"
    assert sheet.column_dimensions["K"].width >= 16  # the NIK column shows all digits


async def test_typed_formula_is_kept_as_text(db: Database, tmp_path: Path) -> None:
    await add_application(db, "LAS1", 1, address='=HYPERLINK("http://evil.example","klik")')

    await export(db, "LAS1", "csv", tmp_path / "x.csv")
    await export(db, "LAS1", "xlsx", tmp_path / "x.xlsx")

    assert read_csv(tmp_path / "x.csv")[0]["address"].startswith("'=HYPERLINK")
    sheet = load_workbook(tmp_path / "x.xlsx").active
    address = sheet.cell(row=2, column=BASE_COLUMNS.index("address") + 1)
    assert address.data_type == "s"
    assert address.value.startswith("=HYPERLINK")


async def test_anonymised_application_is_exported_without_personal_data(db: Database, tmp_path: Path) -> None:
    application = await add_application(db, "LAS1", 1, flags=["nik_region_outside"])
    async with db.transaction() as session:
        stored = await applications.by_number(session, application.number)
        assert stored is not None
        await applications.anonymise(session, stored, datetime(2026, 11, 24, tzinfo=UTC))
    out = tmp_path / "las1.csv"

    assert await export(db, "LAS1", "csv", out) == 1

    row = read_csv(out)[0]
    assert row["number"] == "LAS1-2027-0001"
    assert row["stage"] == "withdrawn"
    for column in (
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
        "q_healthy",
        "flags",
    ):
        assert row[column] == "", column


async def test_unknown_programme_names_it_and_the_known_codes(db: Database, tmp_path: Path) -> None:
    out = tmp_path / "nope.csv"
    with pytest.raises(UnknownProgramme) as caught:
        await export(db, "NOPE", "csv", out)
    assert "'NOPE'" in str(caught.value)
    assert "LAS1" in str(caught.value) and "DSGN4" in str(caught.value)
    assert not out.exists()


async def test_unwritable_target_is_a_report_error(db: Database, tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="cannot write"):
        await export(db, "LAS1", "xlsx", tmp_path / "missing" / "las1.xlsx")


async def test_unknown_format_is_refused(db: Database, tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="unknown format 'ods'"):
        await export(db, "LAS1", "ods", tmp_path / "las1.ods")


# --- The funnel ---------------------------------------------------------------------------------


async def build_intake(db: Database) -> None:
    """LAS1: 3 applications (one withdrawn), 18 eligible of 16 seats; LAS-PMI and MTR1 smaller."""
    await add_application(db, "LAS1", 1)
    await add_application(db, "LAS1", 2, stage=Stage.SELECTED)
    await add_application(db, "LAS1", 3, stage=Stage.WITHDRAWN)
    await add_application(db, "LAS-PMI", 1, stage=Stage.ADMIN_FAILED)
    await add_application(db, "MTR1", 1, stage=Stage.ADMIN_PASSED)
    await add_screenings(db, "LAS1", 18, {"min_age": 2, "never_trained": 1})
    await add_screenings(db, "LAS-PMI", 3, {"pmi_candidate": 4})
    await add_screenings(db, "MTR1", 5, {"min_age": 1})


async def test_funnel_counts_per_programme(db: Database) -> None:
    await build_intake(db)
    async with db.transaction() as session:
        figures = await funnel(session, OFFICE)

    las1 = next(p for p in figures.programmes if p.code == "LAS1")
    assert (las1.name, las1.cluster, las1.counts.quota) == ("Pengelasan SMAW Dasar", "LAS", 16)
    assert las1.counts.stages == {"registered": 1, "selected": 1, "withdrawn": 1}
    assert las1.counts.registered == 2
    assert las1.counts.applications == 3
    assert (las1.counts.eligible, las1.counts.ineligible) == (18, 3)
    assert las1.counts.by_rule == {"min_age": 2, "never_trained": 1}
    assert las1.counts.over_quota == 2
    boga = next(p for p in figures.programmes if p.code == "BOGA1")
    assert (boga.counts.registered, boga.counts.eligible, boga.counts.over_quota) == (0, 0, 0)


async def test_funnel_sums_clusters_and_total(db: Database) -> None:
    await build_intake(db)
    async with db.transaction() as session:
        figures = await funnel(session, OFFICE)

    las = next(c for c in figures.clusters if c.code == "LAS")
    assert las.name == "Teknik Las"
    assert las.counts.quota == 32
    assert las.counts.registered == 2
    assert (las.counts.eligible, las.counts.ineligible) == (21, 7)
    assert las.counts.by_rule == {"min_age": 2, "never_trained": 1, "pmi_candidate": 4}
    assert las.counts.over_quota == 2  # LAS-PMI's empty seats do not absorb LAS1's demand
    assert [c.code for c in figures.clusters][:3] == ["BOGA", "RIAS", "LAS"]
    total = figures.total
    assert total.quota == sum(p.counts.quota for p in figures.programmes) == 212
    assert (total.registered, total.eligible, total.ineligible) == (3, 26, 8)
    assert total.stages == {"registered": 1, "selected": 1, "withdrawn": 1, "admin_failed": 1, "admin_passed": 1}


def cells(text: str, first: str) -> list[str]:
    """The cells of the table line whose first cell is `first`."""
    for line in text.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if parts[0] == first:
            return parts
    raise AssertionError(f"no line for {first!r} in:\n{text}")


async def test_render_stats_shows_programmes_clusters_stages_and_rules_in_indonesian(db: Database) -> None:
    await build_intake(db)
    async with db.transaction() as session:
        text = render_stats(await funnel(session, OFFICE))

    assert cells(text, "Program") == ["Program", "Klaster", "Kuota", "Aktif", "Layak", "Tidak layak", "Layak > kuota"]
    assert cells(text, "LAS1") == ["LAS1", "LAS", "16", "2", "18", "3", "2"]
    assert cells(text, "LAS") == ["LAS", "Teknik Las", "32", "2", "21", "7", "2"]
    assert cells(text, "JUMLAH")[2:7] == ["212", "3", "26", "8", "2"]
    assert "Pendaftaran per tahap:\n  terdaftar: 1 (LAS1 1)\n  lolos-administrasi: 1 (MTR1 1)\n" in text
    assert "  tidak-lolos-administrasi: 1 (LAS-PMI 1)\n  diterima: 1 (LAS1 1)\n  mengundurkan-diri: 1 (LAS1 1)" in text
    assert "Orang layak yang tidak mendapat kursi karena kuota: 2 (26 layak untuk 212 kursi)" in text
    assert "  pmi candidate: 4 (LAS-PMI 4)" in text  # a catalog's own rule, by its key
    assert "  usia minimal: 3 (LAS1 2, MTR1 1)" in text
    assert "  belum pernah ikut pelatihan: 1 (LAS1 1)" in text
    assert text.index("Per program") < text.index("Per klaster") < text.index("Tidak layak, menurut syarat:")


async def test_render_stats_fits_a_100_column_terminal_with_every_stage_and_long_names(db: Database) -> None:
    for seq, stage in enumerate(Stage, start=1):
        await add_application(db, "LAS-PMI", seq, stage=stage, nik=nik(seq))
    await add_screenings(db, "LAS-PMI", 1, {"a_very_long_declaration_key_of_some_city": 3, "min_education": 2})
    async with db.transaction() as session:
        figures = await funnel(session, OFFICE)
    long_name = replace(figures.clusters[0], name="Pelatihan Berbasis Kompetensi Teknik Pengelasan Bawah Air")
    text = render_stats(replace(figures, clusters=(long_name, *figures.clusters[1:])))

    assert max(len(line) for line in text.splitlines()) <= 100
    assert "  belum-kompeten: 1 (LAS-PMI 1)" in text
    assert "  pendidikan minimal: 2 (LAS-PMI 2)" in text


async def test_render_stats_of_an_empty_intake(db: Database) -> None:
    async with db.transaction() as session:
        text = render_stats(await funnel(session, OFFICE))
    assert cells(text, "LAS1") == ["LAS1", "LAS", "16", "0", "0", "0", "0"]
    assert "Pendaftaran per tahap:\n  (belum ada)" in text
    assert "Tidak layak, menurut syarat:\n  (tidak ada)" in text


def test_render_stats_without_programmes() -> None:
    from training.reports import Counts

    text = render_stats(Funnel((), (), Counts()))
    assert cells(text, "JUMLAH") == ["JUMLAH", "", "0", "0", "0", "0", "0"]


async def test_a_person_turned_away_three_times_counts_once_by_their_latest_outcome(db: Database) -> None:
    async with db.transaction() as session:
        las1 = await catalog.programme(session, "LAS1")
        assert las1 is not None
        tries = [(7, "min_age"), (7, "min_age"), (7, "min_age"), (8, "healthy"), (8, None), (None, "healthy")]
        for contact_id, rule in tries:
            await applications.add_screening(
                session, las1.id, contact_id=contact_id, eligible=rule is None, failed_rule=rule, source=None
            )
        figures = await funnel(session, OFFICE)

    counts = next(p for p in figures.programmes if p.code == "LAS1").counts
    assert (counts.eligible, counts.ineligible) == (1, 2)
    assert counts.by_rule == {"min_age": 1, "healthy": 1}  # person 8 answered again and qualified


# --- The CLI ------------------------------------------------------------------------------------


def test_cli_stats_prints_the_table(cli_db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["stats"]) == 0  # creates the schema and loads the demo catalog
    run(build_intake, cli_db)
    capsys.readouterr()

    assert main(["stats"]) == 0

    out = capsys.readouterr().out
    assert cells(out, "LAS1")[:7] == ["LAS1", "LAS", "16", "2", "18", "3", "2"]
    assert "Tidak layak, menurut syarat:" in out


def test_cli_export_writes_xlsx(cli_db: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["stats"]) == 0
    run(build_intake, cli_db)
    out = tmp_path / "semua.xlsx"

    assert main(["applications", "export", "--programme", "ALL", "--format", "xlsx", "--out", str(out)]) == 0

    assert f"{out}: 5 applications" in capsys.readouterr().out
    sheet = load_workbook(out).active
    assert sheet.max_row == 6
    assert sheet.cell(row=2, column=1).value == "LAS1-2027-0001"


def test_cli_export_unknown_programme_exits_1(cli_db: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "nope.csv"

    code = main(["applications", "export", "--programme", "NOPE", "--format", "csv", "--out", str(out)])

    assert code == 1
    err = capsys.readouterr().err
    assert "unknown programme 'NOPE'" in err and "LAS1" in err
    assert not out.exists()


def test_cli_catalog_load_bad_file_exits_1_and_changes_nothing(cli_db: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["stats"]) == 0
    bad = tmp_path / "catalog.toml"
    shutil.copy(DEMO_CATALOG, bad)
    text = bad.read_text(encoding="utf-8")
    bad.write_text(text.replace("quota = 16", 'quota = "ten"', 1).replace("Teknik Las", "Las Baru"), encoding="utf-8")
    line = text.splitlines().index("quota = 16") + 1
    capsys.readouterr()

    assert main(["catalog", "load", str(bad)]) == 1

    err = capsys.readouterr().err
    assert f"{bad} line {line}:" in err and "quota" in err

    async def stored(db: Database) -> tuple[int, str, str]:
        async with db.transaction() as session:
            las1, las, info = (
                await catalog.programme(session, "LAS1"),
                await catalog.cluster(session, "LAS"),
                await catalog.info(session),
            )
            assert las1 is not None and las is not None and info is not None
            return las1.quota, las.name["id"], info.source

    quota, name, source = run(stored, cli_db)
    assert (quota, name) == (16, "Teknik Las")
    assert source.endswith("demo/catalog.toml")
