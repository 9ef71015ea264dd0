"""Importing past participants: the whole file checked first, Excel's CSV habits accepted."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from storage.db import Database
from storage.models import PastParticipant
from storage.repositories import participants
from tests.conftest import OFFICE
from training.participants import ImportProblem, import_csv

ANI = "3375014705990001"  # woman born 7 May 1999
BUDI = "3375021208980002"  # man born 12 August 1998
CITRA = "3375035101000003"  # woman born 11 January 2000
BAD_BIRTH = "3375019913980004"  # day 99, month 13: no birth date


def write(tmp_path: Path, text: str, name: str = "alumni.csv", bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.replace("\n", "\r\n").encode("utf-8"))
    return path


async def years(db: Database, *niks: str) -> list[int | None]:
    async with db.transaction() as session:
        return [await participants.year_for_nik(session, nik) for nik in niks]


async def test_good_file_is_imported_and_found_by_nik(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, f"nik,name,year,kelurahan\n{ANI},Ani Lestari,2024,Podosugih\n{BUDI},Budi,2023,Kergon\n")
    async with db.transaction() as session:
        assert (await import_csv(session, OFFICE, path)).total == 2
    assert await years(db, ANI, BUDI, CITRA) == [2024, 2023, None]


async def test_one_bad_nik_names_its_line_and_stores_nothing(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, f"nik,name,year\n{ANI},Ani,2024\n{BAD_BIRTH},Dedi,2024\n{BUDI},Budi,2023\n")
    with pytest.raises(ImportProblem) as caught:
        async with db.transaction() as session:
            await import_csv(session, OFFICE, path)
    message = str(caught.value)
    assert f"{path} line 3: NIK digits 7-12 are not a valid birth date" in message
    assert "line 2" not in message and "line 4" not in message
    assert BAD_BIRTH not in message
    assert await years(db, ANI, BUDI) == [None, None]


async def test_every_bad_row_is_listed(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, f"nik,name,year\n{ANI},,2024\n12345,Budi,24\n{CITRA},Citra,2024\n3.37501E+15,Eko,2022\n")
    with pytest.raises(ImportProblem) as caught:
        async with db.transaction() as session:
            await import_csv(session, OFFICE, path)
    lines = str(caught.value).splitlines()
    assert lines[0] == "4 problems, nothing imported:"
    assert lines[1] == f"{path} line 2: name is empty"
    assert lines[2] == f"{path} line 3: NIK has 5 digits, needs 16"
    assert lines[3] == f"{path} line 3: year must be 4 digits like 2024, got '24'"
    assert lines[4].startswith(f"{path} line 5: NIK was turned into a number by Excel")
    assert await years(db, CITRA) == [None]


async def test_semicolon_csv_from_indonesian_excel(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, f"NIK;Nama;Tahun\n{ANI};Ani, S.Pd.;2022\n{BUDI};Budi;2025\n")
    async with db.transaction() as session:
        assert (await import_csv(session, OFFICE, path)).total == 2
    assert await years(db, ANI, BUDI) == [2022, 2025]


async def test_utf8_bom_is_ignored(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, f"nik,name,year\n{CITRA},Citra Ayu Ningtyas,2021\n", bom=True)
    async with db.transaction() as session:
        assert (await import_csv(session, OFFICE, path)).total == 1
    assert await years(db, CITRA) == [2021]


async def test_reimport_updates_the_same_nik(db: Database, tmp_path: Path) -> None:
    async with db.transaction() as session:
        first = await import_csv(session, OFFICE, write(tmp_path, f"nik,name,year\n{ANI},Ani,2020\n", "a.csv"))
    async with db.transaction() as session:
        again = await import_csv(
            session, OFFICE, write(tmp_path, f"nik,name,year\n{ANI},Ani Lestari,2024\n{BUDI},Budi,2023\n", "b.csv")
        )
    assert (first.new, again.total, again.new, again.updated) == (1, 2, 1, 1)
    assert await years(db, ANI, BUDI) == [2024, 2023]


async def test_importing_the_same_file_twice_adds_nobody(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, f"nik,name,year\n{ANI},Ani,2024\n{BUDI},Budi,2023\n")
    async with db.transaction() as session:
        await import_csv(session, OFFICE, path)
    async with db.transaction() as session:
        again = await import_csv(session, OFFICE, path)
        stored = await participants.count(session)
    assert (again.total, again.new, again.updated, stored) == (2, 0, 2, 2)


async def test_a_large_file_is_stored_in_chunks(db: Database, tmp_path: Path) -> None:
    niks = [f"33750147059{i:05d}" for i in range(1, 2502)]  # more rows than one INSERT takes
    path = write(tmp_path, "nik,name,year\n" + "".join(f"{nik},Peserta {i},2024\n" for i, nik in enumerate(niks)))
    async with db.transaction() as session:
        assert (await import_csv(session, OFFICE, path)).new == 2501
        assert await participants.count(session) == 2501
    assert await years(db, niks[0], niks[-1]) == [2024, 2024]


async def test_control_characters_are_dropped_from_names(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, f"nik,name,year\n{ANI},Ani\x00 Les\x07tari,2024\n")
    async with db.transaction() as session:
        await import_csv(session, OFFICE, path)
    async with db.transaction() as session:
        [person] = await session.scalars(select(PastParticipant))
    assert person.name == "Ani Lestari"


async def test_an_unbalanced_quote_names_its_line_and_stores_nothing(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, f'nik,name,year\n{ANI},Ani,2024\n{BUDI},"Budi,2023\n{CITRA},Citra,2024\n')
    with pytest.raises(ImportProblem) as caught:
        async with db.transaction() as session:
            await import_csv(session, OFFICE, path)
    assert str(caught.value).startswith(f'{path} line 3: a quote (") opens a field that runs on to line 4')
    assert await years(db, ANI, CITRA) == [None, None]


async def test_a_field_over_csvs_limit_names_its_line(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, f'nik,name,year\n{ANI},Ani,2024\n{BUDI},"{"B" * 140_000},2023\n')
    with pytest.raises(ImportProblem) as caught:
        async with db.transaction() as session:
            await import_csv(session, OFFICE, path)
    assert str(caught.value).startswith(f"{path} line 3: cannot read this line (field larger than field limit")
    assert await years(db, ANI) == [None]


async def test_nik_listed_twice_keeps_its_latest_year(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, f"nik,name,year\n{BUDI},Budi,2025\n{BUDI},Budi,2019\n")
    async with db.transaction() as session:
        assert (await import_csv(session, OFFICE, path)).total == 1
    assert await years(db, BUDI) == [2025]


async def test_missing_column_is_named(db: Database, tmp_path: Path) -> None:
    path = write(tmp_path, f"nik,name\n{ANI},Ani\n")
    with pytest.raises(ImportProblem, match=r"line 1: missing column\(s\) year"):
        async with db.transaction() as session:
            await import_csv(session, OFFICE, path)


async def test_missing_file_is_an_import_problem(db: Database, tmp_path: Path) -> None:
    with pytest.raises(ImportProblem, match="cannot read the file"):
        async with db.transaction() as session:
            await import_csv(session, OFFICE, tmp_path / "nowhere.csv")


def test_cli_participants_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BLKBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.delenv("BLKBOT_CATALOG", raising=False)
    good = write(tmp_path, f"nik;name;year\n{ANI};Ani;2024\n{BUDI};Budi;2023\n", "good.csv")
    bad = write(tmp_path, f"nik,name,year\n{CITRA},Citra,2024\n{BAD_BIRTH},Dedi,2024\n", "bad.csv")

    assert main(["participants", "import", str(good)]) == 0
    assert f"{good}: 2 past participants imported (2 new, 0 already listed and updated)" in capsys.readouterr().out
    assert main(["participants", "import", str(good)]) == 0
    assert f"{good}: 2 past participants imported (0 new, 2 already listed and updated)" in capsys.readouterr().out

    assert main(["participants", "import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad} line 3: NIK digits 7-12" in err
    assert BAD_BIRTH not in err and CITRA not in err


async def test_an_xlsx_list_is_read_like_its_csv(db: Database, tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["NIK", "Nama", "Tahun"])
    book.active.append([ANI, "Ani Lestari", 2022])
    book.active.append([BUDI, "Budi\u200b", "2025"])
    path = tmp_path / "alumni.xlsx"
    book.save(path)
    async with db.transaction() as session:
        assert (await import_csv(session, OFFICE, path)).new == 2
    assert await years(db, ANI, BUDI) == [2022, 2025]


async def test_a_list_imported_after_someone_registered_flags_their_application_once(
    db: Database, tmp_path: Path
) -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from storage.models import Stage
    from storage.repositories import applications
    from tests.cli.test_reports import add_application
    from training.reports import describe_flag

    await add_application(db, "LAS1", 1, nik=ANI)
    await add_application(db, "LAS1", 2, nik=BUDI, stage=Stage.WITHDRAWN)
    await add_application(db, "MTR1", 1, nik=CITRA, flags=["nik_region_outside"])
    path = write(tmp_path, f"nik,name,year\n{ANI},Ani Lestari,2024\n{BUDI},Budi,2023\n{CITRA},Citra,2022\n")
    when = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)

    for _ in range(2):
        async with db.transaction() as session:
            imported = await import_csv(session, OFFICE, path, when)

    assert imported.flagged == 0  # the second import finds them flagged already
    async with db.transaction() as session:
        found = await applications.by_numbers(session, ["LAS1-2027-0001", "LAS1-2027-0002", "MTR1-2027-0001"])
    flag = {"flag": "past_participant", "year": 2024, "at": "2026-12-01T02:00:00+00:00"}
    assert found["LAS1-2027-0001"].flags == [flag]
    assert found["LAS1-2027-0002"].flags == []  # withdrawn: nothing for staff to decide
    assert found["MTR1-2027-0001"].flags[0] == "nik_region_outside"
    assert found["MTR1-2027-0001"].flags[1]["year"] == 2022
    assert describe_flag(flag, ZoneInfo("Asia/Jakarta")) == (
        "Ada di daftar peserta pelatihan lama (tahun 2024), diimpor 2026-12-01 setelah orang ini mendaftar"
    )


def test_the_cli_says_how_many_applications_it_flagged(cli_db: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from tests.cli.conftest import run
    from tests.cli.test_reports import add_application

    assert main(["stats"]) == 0
    run(lambda db: add_application(db, "LAS1", 1, nik=ANI), cli_db)
    path = write(tmp_path, f"nik,name,year\n{ANI},Ani Lestari,2024\n{BUDI},Budi,2023\n")
    capsys.readouterr()

    assert main(["participants", "import", str(path)]) == 0

    out = capsys.readouterr().out
    assert "2 past participants imported (2 new, 0 already listed and updated)" in out
    assert "1 applications in the running belong to people on this list" in out
