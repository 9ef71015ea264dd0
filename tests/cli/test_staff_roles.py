"""Staff roles at the terminal: `--as CHANNEL:ID` acts as a staff account with its role and venue,
`blkbot staff add --role venue --venue CODE`. Venue staff of LPKS-RASA (BOGA1) cannot touch BLK-PKL's
LAS1; without `--as` the terminal is the office's admin.

Run through the commands' own handlers on the test database (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from storage.db import Database
from storage.errors import BlkbotError
from storage.models import Application, Broadcast, OutboxMessage, Stage
from storage.repositories import catalog, contacts
from tests.cli.conftest import blkbot
from training.permissions import NotAllowed, OutsideVenue

WELDER, COOK = "LAS1-2027-0001", "BOGA1-2027-0001"
SARI = ["--as", "telegram:42"]
"""Bu Sari, venue staff of LPKS-RASA."""


@pytest.fixture
async def intake(db: Database) -> Database:
    """A welder (LAS1 at BLK-PKL) and a cook (BOGA1 at LPKS-RASA), both registered; Bu Sari is staff."""
    async with db.transaction() as session:
        for i, number in enumerate((WELDER, COOK)):
            programme = await catalog.programme(session, number.split("-")[0])
            assert programme is not None
            contact = await contacts.get_or_create(session, "telegram", str(500 + i), language="id")
            session.add(
                Application(
                    number=number,
                    programme_id=programme.id,
                    contact_id=contact.id,
                    stage=Stage.REGISTERED,
                    nik=f"337501120398000{i + 1}",
                    full_name=f"Peserta {i + 1}",
                )
            )
    argv = ["staff", "add", "telegram:42", "--name", "Bu Sari", "--role", "venue", "--venue", "LPKS-RASA"]
    assert await blkbot(db, argv) == 0
    return db


async def stored(db: Database) -> tuple[dict[str, str], int, int]:
    """Each application's stage, the messages queued and the broadcasts stored."""
    async with db.transaction() as session:
        stages = {a.number: a.stage for a in await session.scalars(select(Application))}
        queued = len(list(await session.scalars(select(OutboxMessage))))
        sent = len(list(await session.scalars(select(Broadcast))))
    return stages, queued, sent


async def test_venue_staff_move_their_own_applications_and_not_another_venues(intake: Database) -> None:
    before = await stored(intake)
    with pytest.raises(OutsideVenue, match="may not act on LAS1"):
        await blkbot(intake, [*SARI, "applications", "stage", WELDER, "--to", "lolos-administrasi"])
    assert await stored(intake) == before

    assert await blkbot(intake, ["applications", "stage", COOK, "--to", "lolos-administrasi", *SARI]) == 0
    assert await blkbot(intake, ["applications", "stage", WELDER, "--to", "lolos-administrasi"]) == 0  # the admin
    stages, queued, _ = await stored(intake)
    assert stages == {WELDER: Stage.ADMIN_PASSED, COOK: Stage.ADMIN_PASSED}
    assert queued == 2


async def test_venue_staff_export_and_count_their_venue_only(
    intake: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "semua.csv"
    assert await blkbot(intake, [*SARI, "applications", "export", "--programme", "ALL", "--out", str(out)]) == 0
    exported = out.read_text(encoding="utf-8-sig")
    assert COOK in exported and WELDER not in exported
    assert f"{out}: 1 applications" in capsys.readouterr().out

    las = tmp_path / "las.csv"
    with pytest.raises(OutsideVenue):
        await blkbot(intake, [*SARI, "applications", "export", "--programme", "LAS1", "--out", str(las)])
    assert not las.exists()

    assert await blkbot(intake, [*SARI, "stats"]) == 0
    mine = capsys.readouterr().out
    assert "BOGA1" in mine and "LAS1" not in mine
    assert await blkbot(intake, ["stats"]) == 0
    assert "LAS1" in capsys.readouterr().out


async def test_venue_staff_broadcast_to_their_programmes_only(intake: Database) -> None:
    before = await stored(intake)
    for segment in ("programme=LAS1", "cluster=BOGA", "all"):
        with pytest.raises(NotAllowed):
            await blkbot(intake, [*SARI, "broadcast", "--text", "Tes", "--segment", segment, "--yes"])
    assert await stored(intake) == before


async def test_a_results_import_with_another_venues_row_changes_nothing(
    intake: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sheet = tmp_path / "hasil.csv"
    sheet.write_text(f"number,stage\n{COOK},lolos-administrasi\n{WELDER},lolos-administrasi\n", encoding="utf-8")
    before = await stored(intake)

    assert await blkbot(intake, [*SARI, "applications", "import-results", str(sheet), "--yes"]) == 1

    out = capsys.readouterr().out
    assert f"line 3: {WELDER}: LAS1 is not a programme of LPKS-RASA" in out
    assert "Nothing changed" in out
    assert await stored(intake) == before


async def test_venue_staff_cannot_manage_staff(intake: Database) -> None:
    with pytest.raises(NotAllowed):
        await blkbot(intake, [*SARI, "staff", "add", "telegram:43", "--name", "Teman", "--role", "admin"])


async def test_staff_add_refuses_a_venue_role_without_a_known_venue(
    intake: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(BlkbotError, match="needs --venue"):
        await blkbot(intake, ["staff", "add", "telegram:43", "--name", "Teman", "--role", "venue"])
    with pytest.raises(BlkbotError, match="no venue 'NOWHERE'"):
        await blkbot(
            intake, ["staff", "add", "telegram:43", "--name", "Teman", "--role", "venue", "--venue", "NOWHERE"]
        )
    assert await blkbot(intake, ["staff", "list"]) == 0
    out = capsys.readouterr().out
    assert "telegram:42\tvenue\tLPKS-RASA\tBu Sari" in out
    assert "telegram:43" not in out


def test_an_unknown_account_after_as_is_a_clear_error(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--as", "telegram:99", "stats"]) == 1
    assert "blkbot: --as telegram:99: not a staff account (see `blkbot staff list`)" in capsys.readouterr().err
    assert main(["stats", "--as", "nochannel"]) == 1
    assert "expected CHANNEL:ID" in capsys.readouterr().err


def test_the_settings_list_no_venue_staff() -> None:
    """BLKBOT_STAFF has no place for a venue: a venue role there would cover nothing, so it is refused."""
    from bot.settings import Settings

    with pytest.raises(ValueError, match="blkbot staff add --venue"):
        Settings(staff="telegram:5:venue").staff_roles()
    assert Settings(staff="telegram:5:admin,telegram:6").staff_roles() == {
        ("telegram", "5"): "admin",
        ("telegram", "6"): "operator",
    }


async def test_venue_staff_post_a_city_wide_vacancy(intake: Database) -> None:
    """Vacancies belong to no venue: venue staff post one for any cluster, like an operator."""
    from storage.models import Vacancy
    from tests.cli.test_vacancies_cli import post_args

    assert await blkbot(intake, [*SARI, *post_args("--yes")]) == 0
    async with intake.transaction() as session:
        [vacancy] = await session.scalars(select(Vacancy))
    assert vacancy.clusters == ["LAS", "MOTOR"]


async def test_venue_staff_imports_and_training_stop_at_another_venue(
    intake: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scores = tmp_path / "nilai.csv"
    scores.write_text(f"nomor,nama,tes_tertulis,wawancara\n{WELDER},Peserta 1,80,70\n", encoding="utf-8")
    results = tmp_path / "lsp.csv"
    results.write_text(
        f"nomor,hasil,lsp,skema,nomor_sertifikat,tanggal\n{WELDER},BK,LSP Las,SMAW 3G,,2027-03-20\n", encoding="utf-8"
    )
    before = await stored(intake)

    assert await blkbot(intake, [*SARI, "selection", "import-scores", str(scores), "--yes"]) == 1
    assert await blkbot(intake, [*SARI, "certification", "import", str(results), "--yes"]) == 1
    out = capsys.readouterr().out
    assert f"nilai.csv row 2: {WELDER}: LAS1 is not a programme of LPKS-RASA" in out
    assert f"lsp.csv line 2: {WELDER}: LAS1 is not a programme of LPKS-RASA" in out
    for argv in (
        ["training", "show", "--programme", "LAS1"],
        ["training", "complete", "--programme", "LAS1"],
        ["selection", "sheet", "--programme", "LAS1", "--out", str(tmp_path / "cek.xlsx")],
        ["selection", "show", WELDER],
        ["documents", "list", WELDER],
    ):
        with pytest.raises(OutsideVenue):
            await blkbot(intake, [*SARI, *argv])
    with pytest.raises(NotAllowed):  # ranking a programme and handing out its seats stays with admins
        await blkbot(intake, [*SARI, "selection", "run", "--programme", "BOGA1", "--yes"])
    assert await stored(intake) == before
    assert await blkbot(intake, [*SARI, "training", "show", "--programme", "BOGA1"]) == 0


def test_a_wrong_staff_setting_is_named_at_start(
    cli_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """BLKBOT_STAFF is read when blkbot starts: a wrong entry is named there, with no traceback later."""
    monkeypatch.setenv("BLKBOT_STAFF", "telegram:42:admin,telegram:7:boss")
    assert main(["stats"]) == 2
    err = capsys.readouterr().err
    assert "blkbot: bad settings" in err
    assert "BLKBOT_STAFF entry 'telegram:7:boss': unknown role 'boss'" in err


async def test_stats_of_one_programme(intake: Database, capsys: pytest.CaptureFixture[str]) -> None:
    """`--programme` narrows the figures to one programme (and its cluster's sums); staff of another
    venue are refused it, and an unknown code lists the ones they may ask for."""
    from training.reports import UnknownProgramme

    assert await blkbot(intake, ["stats", "--programme", "las1"]) == 0
    out = capsys.readouterr().out
    assert "LAS1" in out and "BOGA1" not in out and "MOTOR" not in out
    assert await blkbot(intake, [*SARI, "stats", "--programme", "BOGA1"]) == 0
    assert "BOGA1" in capsys.readouterr().out
    with pytest.raises(OutsideVenue):
        await blkbot(intake, [*SARI, "stats", "--programme", "LAS1"])
    with pytest.raises(UnknownProgramme, match="known codes: BOGA1"):
        await blkbot(intake, [*SARI, "stats", "--programme", "NOPE"])


async def test_a_broadcast_report_as_venue_staff_covers_their_programmes_only(
    intake: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    for code in ("LAS1", "BOGA1"):
        assert await blkbot(intake, ["broadcast", "--text", "Tes", "--segment", f"programme={code}", "--yes"]) == 0
    async with intake.transaction() as session:
        ids = {b.segment["programme"]: b.id for b in await session.scalars(select(Broadcast))}
    capsys.readouterr()
    assert await blkbot(intake, [*SARI, "broadcast-report", str(ids["BOGA1"])]) == 0
    assert "Segment: programme=BOGA1\n" in capsys.readouterr().out  # in the staff's words, as the preview
    with pytest.raises(OutsideVenue):
        await blkbot(intake, [*SARI, "broadcast-report", str(ids["LAS1"])])
    assert await blkbot(intake, ["broadcast-report", str(ids["LAS1"])]) == 0


async def test_venue_staff_may_not_run_the_office_wide_commands(intake: Database, tmp_path: Path) -> None:
    """Listing staff, handing out lapsed seats and loading the past participants are the office's."""
    sheet = tmp_path / "alumni.csv"
    sheet.write_text("nik,name,year\n3375014705990001,Ani,2020\n", encoding="utf-8")
    for argv in (["staff", "list"], ["selection", "deadlines"], ["participants", "import", str(sheet)]):
        with pytest.raises(NotAllowed):
            await blkbot(intake, [*argv, *SARI])
    assert await blkbot(intake, ["participants", "import", str(sheet)]) == 0


async def test_the_tracer_run_by_venue_staff_asks_their_graduates_only(
    intake: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    from datetime import UTC, datetime, timedelta

    from storage.models import Outcome

    async with intake.transaction() as session:
        for application in await session.scalars(select(Application)):
            application.stage = Stage.COMPETENT
            application.completed_at = datetime.now(UTC) - timedelta(days=40)
    assert await blkbot(intake, [*SARI, "tracer", "run-once"]) == 0
    assert "1 graduates asked" in capsys.readouterr().out
    async with intake.transaction() as session:
        asked = [o.application.number for o in await session.scalars(select(Outcome))]
    assert asked == [COOK]
    assert await blkbot(intake, ["tracer", "run-once"]) == 0
    assert "1 graduates asked" in capsys.readouterr().out  # the welder, whom Bu Sari's run passed over
