"""A training day's attendance for a whole class (the sheet and its import, `--all-present`), the
waitlist closing when the training starts, and a seat answer from someone already in training.

Run against the test database (SQLite and PostgreSQL) through the commands' own handlers, on the
six welding applicants of tests/cli/test_selection.py: two seats, four on the waitlist.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from messages.render import Templates
from storage.db import Database
from storage.models import Event, EventKind, Interest, OutboxMessage, Stage
from storage.repositories import catalog, contacts
from tests.cli.conftest import blkbot
from tests.cli.test_selection import START, intake, keys, offers, pass_all, stages
from training import seats
from training.attendance import TrainingError

__all__ = ["intake"]  # the fixture, shared with test_selection
WAITING = [f"LAS1-2027-000{n}" for n in range(3, 7)]


async def seated(db: Database) -> int:
    """Pass all six, rank them (no scores: by registration) and add a training day; its id."""
    await pass_all(db)
    assert await blkbot(db, ["selection", "run", "--programme", "LAS1", "--yes"]) == 0
    async with db.transaction() as session:
        programme = await catalog.programme(session, "LAS1")
        assert programme is not None
        day = Event(
            programme_id=programme.id,
            kind=EventKind.TRAINING_DAY,
            starts_at=START + timedelta(days=30),
            place="BLK",
            stages=[Stage.SELECTED.value, Stage.IN_TRAINING.value],
        )
        session.add(day)
        await session.flush()
        return day.id


def mark_sheet(sheet: Path, marks: dict[str, str | None]) -> None:
    """Choose in the 'hadir' column as staff would in Excel."""
    book = load_workbook(sheet)
    rows = book.worksheets[0]
    header = [c.value for c in rows[1]]
    for row in rows.iter_rows(min_row=2):
        number = row[header.index("nomor")].value
        if number in marks:
            row[header.index("hadir")].value = marks[number]
    book.save(sheet)


async def test_the_attendance_sheet_previews_errors_by_line_and_marks_only_when_confirmed(
    intake: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    day = await seated(intake)
    sheet = tmp_path / "hadir.xlsx"
    assert await blkbot(intake, ["training", "sheet", "--event", str(day), "--out", str(sheet)]) == 0
    book = load_workbook(sheet)
    rows = [[c.value for c in row] for row in book.worksheets[0].iter_rows()]
    assert rows[0] == ["hari_pelatihan", "tanggal", "nomor", "nama", "jawaban_peserta", "hadir"]
    assert [r[2] for r in rows[1:]] == ["LAS1-2027-0001", "LAS1-2027-0002"]  # the two seated, not the waitlist
    validations = {str(v.sqref): v.formula1 for v in book.worksheets[0].data_validations.dataValidation}
    assert validations["F2:F2000"] == '"Hadir,Tidak hadir"'

    mark_sheet(sheet, {"LAS1-2027-0001": "Hadir", "LAS1-2027-0002": "mungkin"})
    capsys.readouterr()
    assert await blkbot(intake, ["training", "import-attendance", str(sheet), "--yes"]) == 1
    out = capsys.readouterr().out
    assert "1 present, 0 absent, 0 unchanged, 0 blank, 1 rows with errors" in out
    assert "line 3: LAS1-2027-0002: 'hadir' is 'mungkin'" in out
    assert (await stages(intake))["LAS1-2027-0001"] == Stage.SELECTED  # nothing marked

    mark_sheet(sheet, {"LAS1-2027-0002": None})
    assert await blkbot(intake, ["training", "import-attendance", str(sheet), "--yes"]) == 0
    out = capsys.readouterr().out
    assert "1 present, 0 absent, 0 unchanged, 1 blank, 0 rows with errors" in out
    assert f"Training day {day}: 1 marked present, 0 marked absent." in out
    assert "4 waitlisted are not selected" in out
    found = await stages(intake)
    assert (found["LAS1-2027-0001"], found["LAS1-2027-0002"]) == (Stage.IN_TRAINING, Stage.SELECTED)

    assert await blkbot(intake, ["training", "import-attendance", str(sheet), "--yes"]) == 0
    out = capsys.readouterr().out
    assert "0 present, 0 absent, 1 unchanged, 1 blank, 0 rows with errors" in out
    assert "Nothing to change." in out


async def test_all_present_except_a_few_and_the_waitlist_closes_kindly_once(
    intake: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    day = await seated(intake)
    with pytest.raises(TrainingError, match="not a participant of LAS1: LAS1-2027-0003"):
        await blkbot(intake, ["training", "attend", "--event", str(day), "--all-present", "--except", "LAS1-2027-0003"])
    argv = ["training", "attend", "--event", str(day), "--all-present", "--except", "las1-2027-0002", "--by", "rina"]
    assert await blkbot(intake, argv) == 0
    out = capsys.readouterr().out
    assert f"Training day {day}: 1 marked present, 1 marked absent." in out
    found = await stages(intake)
    assert (found["LAS1-2027-0001"], found["LAS1-2027-0002"]) == (Stage.IN_TRAINING, Stage.SELECTED)
    assert [found[n] for n in WAITING] == [Stage.NOT_SELECTED] * 4

    told = await keys(intake)
    assert [k for k in told if k.endswith(":not_selected")] == [f"result:{n}:not_selected" for n in range(3, 7)]
    async with intake.transaction() as session:
        interests = list(await session.scalars(select(Interest).order_by(Interest.id)))
        text = await session.scalar(
            select(OutboxMessage.text).where(OutboxMessage.dedupe_key == "result:3:not_selected")
        )
    assert [i.cluster_code for i in interests] == ["LAS"] * 4  # the "programme opens" notice reaches them
    assert text is not None and "sudah penuh" in text and "berikutnya" in text

    assert await blkbot(intake, ["selection", "show", "LAS1-2027-0003"]) == 0
    assert "cli:rina  waitlist_closed: not_selected  note: pelatihan dimulai" in capsys.readouterr().out
    assert await blkbot(intake, argv) == 0  # marked again: nobody told twice
    assert await keys(intake) == told

    # 0002, absent, declines the seat after the start: it is not passed on (nobody waits any more).
    offer = (await offers(intake))["LAS1-2027-0002"]
    async with intake.transaction() as session:
        contact = await contacts.get_or_create(session, "telegram", "701", language="id")
        reply = await seats.answer(
            session, Templates(), contact, offer.id, False, offer.offered_at + timedelta(hours=1)
        )
    assert reply.outcome == seats.SeatOutcome.DECLINED
    found = await stages(intake)
    assert found["LAS1-2027-0002"] == Stage.WITHDRAWN
    assert [found[n] for n in WAITING] == [Stage.NOT_SELECTED] * 4
    seated_told = [k for k in await keys(intake) if k.startswith("result:") and k.endswith(":selected")]
    assert seated_told == ["result:1:selected", "result:2:selected"]  # nobody promoted


async def test_close_waitlist_by_hand_previews_then_closes(
    intake: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    await seated(intake)
    capsys.readouterr()
    assert await blkbot(intake, ["stats"]) == 0
    before = capsys.readouterr().out
    assert await blkbot(intake, ["selection", "close-waitlist", "--programme", "LAS1", "--yes", "--by", "rina"]) == 0
    out = capsys.readouterr().out
    assert "LAS1: 4 on the waitlist would be not selected and told" in out
    assert "The waitlist of LAS1 closed: 4 not selected; each will be told." in out
    found = await stages(intake)
    assert [found[n] for n in WAITING] == [Stage.NOT_SELECTED] * 4
    assert await blkbot(intake, ["stats"]) == 0
    after = capsys.readouterr().out
    active = [
        line.split("|")[3].strip() for text in (before, after) for line in text.splitlines() if line.startswith("LAS1 ")
    ]
    assert active == ["6", "2"]  # "Aktif": the four who waited no longer count as in the running
    assert await blkbot(intake, ["selection", "close-waitlist", "--programme", "LAS1", "--yes"]) == 0
    assert "Nothing to change." in capsys.readouterr().out


async def test_a_seat_button_pressed_after_being_marked_present_says_they_are_in_training(intake: Database) -> None:
    day = await seated(intake)
    offer = (await offers(intake))["LAS1-2027-0001"]
    assert await blkbot(intake, ["training", "attend", "--event", str(day), "--present", "LAS1-2027-0001"]) == 0
    templates = Templates()
    async with intake.transaction() as session:
        contact = await contacts.get_or_create(session, "telegram", "700", language="id")
        for yes in (True, False):
            reply = await seats.answer(session, templates, contact, offer.id, yes, offer.deadline + timedelta(hours=1))
            assert reply.outcome == seats.SeatOutcome.IN_TRAINING
        # Only 0002's offer lapses (0001's counts as confirmed), and its seat is not passed on after the start.
        assert await seats.expire_lapsed(session, templates, offer.deadline) == {"expired": 1, "promoted": 0}
    assert (await stages(intake))["LAS1-2027-0001"] == Stage.IN_TRAINING
    assert (await offers(intake))["LAS1-2027-0001"].answer == "confirmed"
    said = templates.render("id", "selection/seat_in_training", number="LAS1-2027-0001", programme="Las")
    assert "sudah tercatat hadir" in said


async def test_venue_staff_of_another_venue_cannot_mark_or_close_las1(intake: Database, tmp_path: Path) -> None:
    from training.permissions import NotAllowed, OutsideVenue

    day = await seated(intake)
    sheet = tmp_path / "hadir.xlsx"
    assert await blkbot(intake, ["training", "sheet", "--event", str(day), "--out", str(sheet)]) == 0
    mark_sheet(sheet, {"LAS1-2027-0001": "Hadir"})
    argv = ["staff", "add", "telegram:42", "--name", "Bu Sari", "--role", "venue", "--venue", "LPKS-RASA"]
    assert await blkbot(intake, argv) == 0
    sari = ["--as", "telegram:42"]
    before = await stages(intake)
    for argv in (
        ["training", "attend", "--event", str(day), "--all-present"],
        ["training", "sheet", "--event", str(day), "--out", str(tmp_path / "other.xlsx")],
        ["training", "import-attendance", str(sheet), "--yes"],
    ):
        with pytest.raises(OutsideVenue):
            await blkbot(intake, [*sari, *argv])
    with pytest.raises(NotAllowed):  # closing a waitlist is the selection's, which stays with admins
        await blkbot(intake, [*sari, "selection", "close-waitlist", "--programme", "LAS1", "--yes"])
    assert await stages(intake) == before
