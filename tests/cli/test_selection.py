"""`blkbot selection ...`: the administrative check (one by one and from the worksheet), scores,
the ranking with its quota and waitlist, seat answers and deadlines, and the record per applicant.

Run against the test database (SQLite and PostgreSQL) through the commands' own handlers.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from messages.render import Templates
from storage.db import Database
from storage.models import Application, OutboxMessage, PastParticipant, Programme, SeatOffer, Stage
from storage.repositories import catalog, contacts
from tests.cli.conftest import blkbot
from training import seats
from training.selection import SelectionError

START = datetime(2027, 1, 20, 2, 0, tzinfo=UTC)


@pytest.fixture
async def intake(db: Database) -> Database:
    """Six welding applicants on Telegram, registered a minute apart; LAS1 has 2 seats.
    The third comes from outside the city and the fourth trained with the office before."""
    async with db.transaction() as session:
        await session.execute(update(Programme).where(Programme.code == "LAS1").values(quota=2))
        programme = await catalog.programme(session, "LAS1")
        assert programme is not None
        for i in range(6):
            contact = await contacts.get_or_create(session, "telegram", str(700 + i), language="id")
            session.add(
                Application(
                    number=f"LAS1-2027-000{i + 1}",
                    programme_id=programme.id,
                    contact_id=contact.id,
                    nik=f"337501120398000{i + 1}",
                    full_name=f"Peserta {i + 1}",
                    flags=["nik_region_outside"] if i == 2 else [],
                    created_at=START + timedelta(minutes=i),
                )
            )
        session.add(PastParticipant(nik="3375011203980004", name="Peserta 4", year=2024))
    return db


async def stages(db: Database) -> dict[str, str]:
    async with db.transaction() as session:
        return {a.number: a.stage for a in await session.scalars(select(Application).order_by(Application.number))}


async def keys(db: Database) -> list[str]:
    async with db.transaction() as session:
        return list(await session.scalars(select(OutboxMessage.dedupe_key).order_by(OutboxMessage.id)))


def fill(sheet: Path, decisions: dict[str, tuple[str, str, str]]) -> None:
    """Write decisions into the worksheet as staff would in Excel: keputusan, alasan, catatan."""
    book = load_workbook(sheet)
    rows = book.worksheets[0]
    header = [c.value for c in rows[1]]
    for row in rows.iter_rows(min_row=2):
        number = row[header.index("nomor")].value
        if number in decisions:
            for column, value in zip(("keputusan", "alasan", "catatan"), decisions[number], strict=True):
                row[header.index(column)].value = value
    book.save(sheet)


def write_scores(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(["nomor,nama,tes_tertulis,wawancara", *rows]) + "\n", encoding="utf-8")
    return path


async def test_one_check_tells_the_applicant_once_and_is_recorded(
    intake: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["selection", "check", "LAS1-2027-0003", "--fail", "not_resident", "--note", "KTP Batang", "--by", "rina"]
    assert await blkbot(intake, argv) == 0
    out = capsys.readouterr().out
    assert "LAS1-2027-0003: failed (Bukan penduduk wilayah program: KTP Batang)" in out
    assert "flag: NIK dari luar wilayah program" in out
    assert await blkbot(intake, argv) == 0
    assert "nothing changed" in capsys.readouterr().out
    assert (await stages(intake))["LAS1-2027-0003"] == Stage.ADMIN_FAILED
    assert await keys(intake) == [f"result:{3}:admin_failed"]
    with pytest.raises(SelectionError, match="'other' needs a note"):
        await blkbot(intake, ["selection", "check", "LAS1-2027-0001", "--fail", "other"])
    assert await blkbot(intake, ["selection", "show", "LAS1-2027-0003"]) == 0
    shown = capsys.readouterr().out
    assert "cli:rina  admin_check: failed  reason: Bukan penduduk wilayah program  note: KTP Batang" in shown


async def test_the_worksheet_shows_flags_and_imports_all_or_nothing(
    intake: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sheet = tmp_path / "cek.xlsx"
    assert await blkbot(intake, ["selection", "sheet", "--programme", "LAS1", "--out", str(sheet)]) == 0
    book = load_workbook(sheet)
    rows = [[c.value for c in row] for row in book.worksheets[0].iter_rows()]
    assert rows[0] == ["nomor", "nama", "tanggal_daftar", "tahap", "tanda", "keputusan", "alasan", "catatan"]
    assert rows[3][4] == "NIK dari luar wilayah program"
    assert rows[4][4] == "Pernah ikut pelatihan dinas (2024)"
    validations = {str(v.sqref): v.formula1 for v in book.worksheets[0].data_validations.dataValidation}
    assert validations["F2:F10000"] == '"lolos,gagal"'
    assert "Dokumen belum lengkap" in validations["G2:G10000"]

    fill(
        sheet,
        {
            "LAS1-2027-0001": ("lolos", "", ""),
            "LAS1-2027-0002": ("gagal", "", ""),  # no reason
            "LAS1-2027-0003": ("gagal", "Bukan penduduk wilayah program", ""),
            "LAS1-2027-0004": ("mungkin", "", ""),  # not a decision
        },
    )
    capsys.readouterr()
    assert await blkbot(intake, ["selection", "import-check", str(sheet), "--yes"]) == 1
    out = capsys.readouterr().out
    assert "1 pass, 1 fail, 0 unchanged, 2 without a decision, 2 rows with errors" in out
    assert "row 3: LAS1-2027-0002: a failed check needs a reason" in out
    assert "row 5: LAS1-2027-0004: unknown decision 'mungkin'" in out
    assert set((await stages(intake)).values()) == {Stage.REGISTERED}
    assert await keys(intake) == []

    fill(
        sheet,
        {
            "LAS1-2027-0002": ("lolos", "", ""),
            "LAS1-2027-0004": ("gagal", "Sudah pernah mengikuti pelatihan", "2024"),
            "LAS1-2027-0005": ("lolos", "", ""),
            "LAS1-2027-0006": ("lolos", "", ""),
        },
    )
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    assert await blkbot(intake, ["selection", "import-check", str(sheet)]) == 1
    assert "4 pass, 2 fail, 0 unchanged, 0 without a decision, 0 rows with errors" in capsys.readouterr().out
    assert set((await stages(intake)).values()) == {Stage.REGISTERED}
    assert await blkbot(intake, ["selection", "import-check", str(sheet), "--yes"]) == 0
    assert "6 applications decided" in capsys.readouterr().out
    assert list((await stages(intake)).values()) == ["admin_passed"] * 2 + ["admin_failed"] * 2 + ["admin_passed"] * 2
    assert len(await keys(intake)) == 6

    # A fresh sheet fed back untouched changes nothing and tells nobody again.
    assert await blkbot(intake, ["selection", "sheet", "--programme", "LAS1", "--out", str(sheet)]) == 0
    assert await blkbot(intake, ["selection", "import-check", str(sheet), "--yes"]) == 0
    assert "0 pass, 0 fail, 6 unchanged" in capsys.readouterr().out
    assert len(await keys(intake)) == 6


async def pass_all(db: Database) -> None:
    for n in range(1, 7):
        assert await blkbot(db, ["selection", "check", f"LAS1-2027-000{n}", "--pass"]) == 0


async def test_scores_are_checked_by_row_and_rank_by_weight_then_registration(
    intake: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await pass_all(intake)
    bad = write_scores(
        tmp_path / "bad.csv",
        ["LAS1-2027-0001,A,80,70", "LAS1-2027-0002,B,101,70", "LAS1-2027-0009,C,50,50", "LAS1-2027-0003,D,abc,"],
    )
    capsys.readouterr()
    assert await blkbot(intake, ["selection", "import-scores", str(bad), "--yes"]) == 1
    out = capsys.readouterr().out
    assert "row 3: LAS1-2027-0002: written_test: 101 is outside 0 to 100" in out
    assert "row 4: no application LAS1-2027-0009" in out
    assert "row 5: LAS1-2027-0003: written_test: 'abc' is not a number" in out
    assert "Nothing changed" in out

    # LAS1 weighs the written test 60 and the interview 40: 0002 (76) first; 0001 and 0003 tie
    # at 74 and the earlier registration (0001) goes first; 0006 has no interview (counted 0).
    good = write_scores(
        tmp_path / "good.csv",
        [
            "LAS1-2027-0001,A,80,65",
            "LAS1-2027-0002,B,80,70",
            "LAS1-2027-0003,C,70,80",
            "LAS1-2027-0004,D,60,60",
            "LAS1-2027-0005,E,50,50",
            "LAS1-2027-0006,F,90,",
        ],
    )
    assert await blkbot(intake, ["selection", "import-scores", str(good), "--yes"]) == 0
    assert "11 scores stored" in capsys.readouterr().out

    assert await blkbot(intake, ["selection", "run", "--programme", "LAS1", "--waitlist", "2", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "quota 2, 0 seats held, 2 free; 2 selected, 2 waitlisted, 2 not selected" in out
    order = [line.split()[1] for line in out.splitlines() if line.split()[:1] and line.split()[0][:-1].isdigit()]
    assert order == [
        "LAS1-2027-0002",
        "LAS1-2027-0001",
        "LAS1-2027-0003",
        "LAS1-2027-0004",
        "LAS1-2027-0006",
        "LAS1-2027-0005",
    ]
    assert "1 applicants miss a score" in out
    found = await stages(intake)
    assert [found[n] for n in order] == ["selected"] * 2 + ["waitlisted"] * 2 + ["not_selected"] * 2
    told = await keys(intake)
    assert sorted(k for k in told if k.startswith("seat:")) == ["seat:1:offer", "seat:2:offer"]
    assert len([k for k in told if k.startswith("result:")]) == 6 + 6  # the check's, then the ranking's

    # Run again: nothing left to change, nobody told twice.
    assert await blkbot(intake, ["selection", "run", "--programme", "LAS1", "--waitlist", "2", "--yes"]) == 0
    assert "Nothing to change" in capsys.readouterr().out
    assert await keys(intake) == told


async def offers(db: Database) -> dict[str, SeatOffer]:
    async with db.transaction() as session:
        return {o.application.number: o for o in await session.scalars(select(SeatOffer).order_by(SeatOffer.id))}


async def test_a_decline_and_a_missed_deadline_promote_the_waitlist_in_order(
    intake: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await pass_all(intake)
    rows = [f"LAS1-2027-000{n},X,{100 - 10 * n},{100 - 10 * n}" for n in range(1, 7)]
    assert (
        await blkbot(intake, ["selection", "import-scores", str(write_scores(tmp_path / "s.csv", rows)), "--yes"]) == 0
    )
    assert await blkbot(intake, ["selection", "run", "--programme", "LAS1", "--yes"]) == 0
    offered = await offers(intake)
    assert sorted(offered) == ["LAS1-2027-0001", "LAS1-2027-0002"]
    first = offered["LAS1-2027-0001"]
    assert first.deadline - first.offered_at == timedelta(days=3)  # LAS1's seat_deadline = "3d"

    templates = Templates()
    async with intake.transaction() as session:
        contact = await contacts.get_or_create(session, "telegram", "700", language="id")
        reply = await seats.answer(session, templates, contact, first.id, False, first.offered_at + timedelta(hours=1))
        assert reply.outcome == seats.SeatOutcome.DECLINED
        again = await seats.answer(session, templates, contact, first.id, True, first.offered_at + timedelta(hours=2))
        assert again.outcome == seats.SeatOutcome.ALREADY
        stranger = await contacts.get_or_create(session, "telegram", "705", language="id")
        assert (
            await seats.answer(session, templates, stranger, first.id, True, first.offered_at)
        ).outcome == "not_yours"
    found = await stages(intake)
    assert found["LAS1-2027-0001"] == Stage.WITHDRAWN
    assert found["LAS1-2027-0003"] == Stage.SELECTED  # the first on the waitlist
    assert found["LAS1-2027-0004"] == Stage.WAITLISTED
    told = await keys(intake)
    assert "result:3:selected" in told and "seat:3:offer" in told

    # 0002 never answers: after its deadline the tick withdraws it, tells it, and offers 0004 the seat.
    second = (await offers(intake))["LAS1-2027-0002"]
    async with intake.transaction() as session:
        before = await seats.expire_lapsed(session, templates, second.deadline - timedelta(minutes=1))
        assert before == {"expired": 0, "promoted": 0}
        assert await seats.expire_lapsed(session, templates, second.deadline) == {"expired": 1, "promoted": 1}
        assert await seats.expire_lapsed(session, templates, second.deadline) == {"expired": 0, "promoted": 0}
    found = await stages(intake)
    assert found["LAS1-2027-0002"] == Stage.WITHDRAWN
    assert found["LAS1-2027-0004"] == Stage.SELECTED
    told = await keys(intake)
    assert f"seat:{second.id}:expired" in told
    assert "result:4:selected" in told and f"seat:{(await offers(intake))['LAS1-2027-0004'].id}:offer" in told
    assert len(told) == len(set(told))

    capsys.readouterr()
    assert await blkbot(intake, ["selection", "show", "LAS1-2027-0002"]) == 0
    shown = capsys.readouterr().out
    for expected in (
        "admin_check: passed",
        "score: written_test=80",
        "ranked: selected",
        "seat: offered",
        "system  seat: expired",
    ):
        assert expected in shown
    assert await blkbot(intake, ["selection", "show", "LAS1-2027-0004"]) == 0
    assert "system  promoted: selected  note: seat of LAS1-2027-0002" in capsys.readouterr().out


async def test_the_deadline_tick_runs_once_per_lapsed_offer_and_erasure_forgets_notes(
    intake: Database, tmp_path: Path
) -> None:
    from bot.seat_deadlines import tick
    from storage.files import MemoryFileStore
    from storage.models import SelectionDecision
    from training.applications import erase_person

    await pass_all(intake)
    assert await blkbot(intake, ["selection", "run", "--programme", "LAS1", "--yes"]) == 0
    first = (await offers(intake))["LAS1-2027-0001"]
    woken: list[bool] = []
    assert await tick(intake, Templates(), now=first.deadline, wake=lambda: woken.append(True)) == {
        "expired": 2,
        "promoted": 2,
    }
    assert await tick(intake, Templates(), now=first.deadline) == {"expired": 0, "promoted": 0}
    assert woken == [True]
    assert [s for s in (await stages(intake)).values()] == ["withdrawn"] * 2 + ["selected"] * 2 + ["waitlisted"] * 2

    async with intake.transaction() as session:
        contact = await contacts.get_or_create(session, "telegram", "700", language="id")
        await erase_person(session, contact, first.deadline, MemoryFileStore())
    async with intake.transaction() as session:
        notes = await session.scalars(select(SelectionDecision.note).where(SelectionDecision.application_id == 1))
        assert set(notes) == {None}


async def test_a_seat_left_before_its_deadline_goes_to_the_waitlist_at_the_deadline(intake: Database) -> None:
    await pass_all(intake)
    assert await blkbot(intake, ["selection", "run", "--programme", "LAS1", "--yes"]) == 0
    first = (await offers(intake))["LAS1-2027-0001"]
    async with intake.transaction() as session:  # the applicant withdrew in the chat meanwhile
        await session.execute(
            update(Application).where(Application.id == first.application_id).values(stage="withdrawn")
        )
    async with intake.transaction() as session:
        assert await seats.expire_lapsed(session, Templates(), first.deadline - timedelta(hours=1)) == {
            "expired": 0,
            "promoted": 0,
        }
        assert await seats.expire_lapsed(session, Templates(), first.deadline) == {"expired": 2, "promoted": 2}
    found = await stages(intake)
    assert [found[f"LAS1-2027-000{n}"] for n in (3, 4, 5)] == ["selected", "selected", "waitlisted"]
