"""A small BOGA1 intake made the way the office makes one, for the report's tests.

Residents register in the chat (two posters' deep links and one without), one is turned away by a
rule and one leaves at the summary; staff check, rank, residents answer their seat offers, the
trained complete, the LSP's results arrive and a graduate answers the tracer study. BOGA1 has 2 seats.

    number  source     sex  born        district  check   ranking         seat      training  result  tracer
    0001    poster_a   F    1995-03-12  01        passed  selected        confirmed completed Kompeten working
    0002    poster_a   M    1995-03-12  01        passed  selected        declined  -         -       -
    0003    poster_b   M    1995-03-12  02        passed  waitlisted ->   confirmed completed BK      -
                                                          promoted
    0004    poster_b   F    2005-06-05  02        passed  waitlisted      -         -         -       -
    0005    (none)     M    1995-03-12  03        failed  -               -         -         -       -
    turned away (healthy: no), and one chat left at the summary.

Funnel: Terdaftar 6, Memenuhi syarat 5, Lolos administrasi 4, Terpilih 2, Selesai 2, Kompeten 1,
Bekerja/usaha 1.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from sqlalchemy import select, update

from conversations.runner import Conversations
from messages.render import Templates
from outreach.results import change_stage
from storage.db import Database
from storage.models import Application, Programme, StaffRole, Stage
from storage.repositories import applications, contacts
from storage.repositories import selection as selection_repo
from storage.repositories import training as training_repo
from tests.conftest import NOW
from tests.flow.helpers import SITI, Person, Resident, male_nik, not_qualifying
from training import attendance, outcomes, seats
from training.permissions import Actor
from training.ranking import apply_proposal, rank
from training.selection import Verdict, check

ADMIN: Final = Actor("cli", "rina", "Rina", StaffRole.ADMIN)
REGISTERED_AT: Final = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)
"""Monday 2 November 2026, 10:00 WIB: 0001-0003 that week, 0004-0005 the next (set after the chat,
since the database stamps the real time)."""

PEOPLE: Final = (
    ("siti", "poster_a", SITI),
    ("budi", "poster_a", Person("Budi Santoso", male_nik(1), district="33.75.01")),
    ("agus", "poster_b", Person("Agus Salim", male_nik(2), district="33.75.02")),
    ("dewi", "poster_b", Person("Dewi Lestari", "3375024506050003", district="33.75.02")),
    ("eko", None, Person("Eko Prasetyo", male_nik(5), district="33.75.03")),
)


async def register(resident: Resident, source: str | None, person: Person) -> None:
    """Through a poster's deep link (BOGA1__<source>) or the menu, answering so as to qualify."""
    if source:
        await resident.type(f"/daftar BOGA1__{source}")  # the programme's card
        await resident.apply()
    else:
        await resident.type("/daftar")
        await resident.pick("BOGA1", "BOGA")
    await resident.answer_questions()
    await resident.give_details(person)
    assert resident.step == "summary", resident.text
    await resident.submit()


async def build_intake(db: Database, conversations: Conversations, templates: Templates) -> None:
    async with db.transaction() as session:
        await session.execute(update(Programme).where(Programme.code == "BOGA1").values(quota=2))
    for chat, source, person in PEOPLE:
        await register(Resident(conversations, chat), source, person)
    away = Resident(conversations, "fajar")
    await away.type("/daftar BOGA1__poster_b")
    await away.apply()
    await away.choose("q_ktp_region", "y")
    await away.choose("q_healthy", not_qualifying("q_healthy"))
    await Resident(conversations, "gita").walk_to_summary(person=Person("Gita", male_nik(7)))

    async with db.transaction() as session:
        for i, application in enumerate(await session.scalars(select(Application).order_by(Application.id))):
            week = timedelta(days=7) if i >= 3 else timedelta(0)
            application.created_at = REGISTERED_AT + week + timedelta(hours=i)

    now = NOW
    async with db.transaction() as session:
        for n in range(1, 5):
            await check(session, templates, ADMIN, f"BOGA1-2027-{n:04d}", Verdict.of(True), now)
        await check(session, templates, ADMIN, "BOGA1-2027-0005", Verdict.of(False, "not_resident"), now)
        await apply_proposal(session, templates, ADMIN, await rank(session, ADMIN, "BOGA1"), now)
    await answer_seat(db, templates, "siti", "BOGA1-2027-0001", True, now)
    await answer_seat(db, templates, "budi", "BOGA1-2027-0002", False, now)
    await answer_seat(db, templates, "agus", "BOGA1-2027-0003", True, now)
    async with db.transaction() as session:
        trained = await applications.by_numbers(session, ["BOGA1-2027-0001", "BOGA1-2027-0003"])
        await change_stage(session, templates, list(trained.values()), Stage.IN_TRAINING, now)
        assert await attendance.complete(session, ADMIN, "BOGA1", now) == 2
        await change_stage(session, templates, [trained["BOGA1-2027-0001"]], Stage.COMPETENT, now)
        await change_stage(session, templates, [trained["BOGA1-2027-0003"]], Stage.NOT_YET_COMPETENT, now)
        siti = await contacts.get_or_create(session, "console", "siti", language="id")
        asked = await training_repo.add_outcome(session, trained["BOGA1-2027-0001"].id, 1, now)
        answer = {"status": "working", "workplace": "city", "sector": "kue"}
        assert await outcomes.record_answer(session, siti, asked.id, answer, now) is not None


async def answer_seat(db: Database, templates: Templates, chat: str, number: str, yes: bool, now: datetime) -> None:
    async with db.transaction() as session:
        application = await applications.by_number(session, number)
        assert application is not None
        offer = (await selection_repo.open_offers(session, [application.id]))[application.id]
        contact = await contacts.get_or_create(session, "console", chat, language="id")
        reply = await seats.answer(session, templates, contact, offer.id, yes, now)
        assert reply.outcome == ("confirmed" if yes else "declined")
