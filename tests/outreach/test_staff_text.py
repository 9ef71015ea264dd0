"""Free text staff type into commands (announcements, vacancies, event places) is stored without
control characters: PostgreSQL refuses a NUL, and the others garble messages and exports."""

from __future__ import annotations

from datetime import date, datetime

from messages.render import Templates
from outreach import broadcasts, schedule, vacancies
from storage.db import Database
from storage.models import StaffRole
from tests.conftest import NOW
from training.permissions import Actor


def test_an_announcement_keeps_its_lines_and_loses_its_controls() -> None:
    assert broadcasts.check_text(" Tes\x00 las\x07 besok\r\n\r\nBawa KTP\x1b \n") == "Tes las besok\n\nBawa KTP"


async def test_a_vacancy_is_stored_without_control_characters(db: Database) -> None:
    draft = vacancies.NewVacancy(
        employer="PT\x00 Maju",
        position="Juru\tlas",
        location="Osaka",
        deadline=date(2027, 2, 28),
        how_to_apply="Kirim CV\x00\nke hrd@maju.co.id",
    )
    async with db.transaction() as session:
        checked = await vacancies.check(session, draft, date(2026, 11, 25))
    assert (checked.employer, checked.position, checked.how_to_apply) == (
        "PT Maju",
        "Juru las",
        "Kirim CV\nke hrd@maju.co.id",
    )


async def test_an_event_place_is_stored_without_control_characters(db: Database) -> None:
    async with db.transaction() as session:
        added = await schedule.add_event(
            session,
            Templates(),
            Actor("cli", "rina", "rina", StaffRole.ADMIN),
            programme_code="LAS1",
            kind="written_test",
            starts_local=datetime(2027, 1, 20, 8, 0),
            place="UPT BLK\x00 Ruang 2\n",
            bring="KTP\x07 asli",
            now=NOW,
        )
    assert (added.event.place, added.event.bring) == ("UPT BLK Ruang 2", "KTP asli")
