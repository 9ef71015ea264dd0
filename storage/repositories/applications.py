"""Applications: numbered without gaps, found by NIK or contact, anonymised on erasure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ACTIVE_STAGES, Application, Contact, PastParticipant, Programme, Screening, Stage
from storage.repositories import contacts, selection, training

TABLE = Application.__table__
PROGRAMMES = Programme.__table__
SCREENINGS = Screening.__table__

# A submission and a typed NIK run these: built once, as building them cost about as much as running
# them, and in Core, as no caller needs the rows as objects.
_LOCK_PERSON = select(func.pg_advisory_xact_lock(func.hashtextextended(bindparam("nik"), 0)))
_NEXT_NUMBER = (
    update(PROGRAMMES)
    .where(PROGRAMMES.c.id == bindparam("programme"))
    .values(last_number=PROGRAMMES.c.last_number + 1)
    .returning(PROGRAMMES.c.last_number)
)
_ACTIVE_NUMBER_FOR_NIK = (
    select(TABLE.c.number)
    .where(TABLE.c.nik == bindparam("nik"), TABLE.c.stage.in_(sorted(ACTIVE_STAGES)))
    .order_by(TABLE.c.id)
    .limit(1)
)
_NIK_STANDING = select(
    _ACTIVE_NUMBER_FOR_NIK.scalar_subquery(),
    select(PastParticipant.__table__.c.year)
    .where(PastParticipant.__table__.c.nik == bindparam("nik"))
    .scalar_subquery(),
)
_INSERT = insert(TABLE).returning(TABLE.c.id)
_INSERT_SCREENING = insert(SCREENINGS)

PERSONAL_COLUMNS = (
    "stage_reason",
    "source",
    "nik",
    "full_name",
    "birth_date",
    "sex",
    "address",
    "district_code",
    "phone",
    "education",
    "answers",
    "flags",
)
"""Emptied on erasure. Programme, stage, number and dates stay, so the office's counts stay true.
The staff's reason may quote the person, and a deep-link source may name their street or school."""


async def next_number(session: AsyncSession, programme_id: int) -> int:
    """Bump the programme's counter inside the caller's transaction.

    The UPDATE takes the row lock (PostgreSQL) or the write lock (SQLite), so concurrent
    submissions queue here; a rolled-back submission rolls its number back too: no gaps.
    """
    result = await session.execute(_NEXT_NUMBER, {"programme": programme_id})
    return int(result.scalar_one())


async def lock_person(session: AsyncSession, nik: str) -> None:
    """Serialise submissions of one NIK until the transaction ends.

    The "already active?" check and the insert must not interleave for the same person across
    programmes (the unique constraint only covers one programme). PostgreSQL gets a transaction
    advisory lock keyed on the NIK; SQLite already admits one writer at a time.
    """
    if session.bind.dialect.name == "postgresql":
        await session.execute(_LOCK_PERSON, {"nik": nik})


async def add(session: AsyncSession, application: Application) -> Application:
    session.add(application)
    await session.flush()
    return application


async def insert_new(session: AsyncSession, columns: dict[str, Any]) -> int:
    """Store an application from its column values and return its id, without an object to flush
    and load back: a submission only needs the id and the number it already has."""
    result = await session.execute(_INSERT, columns)
    return int(result.scalar_one())


async def add_flag(session: AsyncSession, application: Application, flag: Any) -> None:
    """Append to the JSON list by assigning a new one: SQLAlchemy does not see a list changed in place."""
    application.flags = [*(application.flags or []), flag]
    await session.flush()


async def active_number_for_nik(session: AsyncSession, nik: str) -> str | None:
    """The number of the NIK's application in the running, without loading it: the usual answer is none."""
    return await session.scalar(_ACTIVE_NUMBER_FOR_NIK, {"nik": nik})


async def nik_standing(session: AsyncSession, nik: str) -> tuple[str | None, int | None]:
    """The number of the NIK's application in the running and the year it trained with the office
    before (the imported list), in one query: a typed NIK is checked against both."""
    row = (await session.execute(_NIK_STANDING, {"nik": nik})).one()
    return row[0], row[1]


_OF_PERSON = select(Application).where(Application.contact_id.in_(contacts.LINKED_IDS)).order_by(Application.id)
_ACTIVE_OF_PERSON = _OF_PERSON.where(Application.stage.in_(list(ACTIVE_STAGES)))


async def of_person(session: AsyncSession, contact: Contact) -> list[Application]:
    """The applications of the contact's person, from any of their chats, oldest first: one prebuilt
    query (a registration's first turns ask it), where looking up the chats first took two."""
    return list(await session.scalars(_OF_PERSON, contacts.linked_params(contact)))


async def active_of_person(session: AsyncSession, contact: Contact) -> list[Application]:
    """Those of `of_person` still in the running."""
    return list(await session.scalars(_ACTIVE_OF_PERSON, contacts.linked_params(contact)))


async def active_for_niks(session: AsyncSession, niks: Sequence[str], chunk: int = 5000) -> list[Application]:
    """Applications still in the running whose NIK is among `niks` (read in chunks: SQLite takes at
    most 32,766 parameters), by id."""
    found: list[Application] = []
    wanted = sorted(set(niks))
    for start in range(0, len(wanted), chunk):
        found += await session.scalars(
            select(Application).where(
                Application.nik.in_(wanted[start : start + chunk]), Application.stage.in_(list(ACTIVE_STAGES))
            )
        )
    return sorted(found, key=lambda a: a.id)


async def for_contacts(session: AsyncSession, contact_ids: Sequence[int]) -> list[Application]:
    """The contacts' applications (one person's chats), oldest first."""
    return list(
        await session.scalars(
            select(Application).where(Application.contact_id.in_(list(contact_ids))).order_by(Application.id)
        )
    )


async def of_programme_and_nik(session: AsyncSession, programme_id: int, nik: str) -> Application | None:
    """The NIK's application to this programme in any stage: there is at most one."""
    return await session.scalar(
        select(Application).where(Application.programme_id == programme_id, Application.nik == nik)
    )


async def by_number(session: AsyncSession, number: str) -> Application | None:
    return await session.scalar(select(Application).where(Application.number == number))


async def by_numbers(session: AsyncSession, numbers: Sequence[str]) -> dict[str, Application]:
    """The applications with these numbers, by number (unknown numbers are simply absent)."""
    wanted = sorted(set(numbers))
    found: dict[str, Application] = {}
    for start in range(0, len(wanted), 1000):
        query = select(Application).where(Application.number.in_(wanted[start : start + 1000]))
        found.update((a.number, a) for a in await session.scalars(query))
    return found


async def for_programme(session: AsyncSession, programme_id: int) -> list[Application]:
    return list(
        await session.scalars(
            select(Application).where(Application.programme_id == programme_id).order_by(Application.id)
        )
    )


async def anonymise(session: AsyncSession, application: Application, when: datetime) -> None:
    """Empty the personal columns; an application still in the running is withdrawn, freeing its seat."""
    for column in PERSONAL_COLUMNS:
        setattr(application, column, {"answers": {}, "flags": []}.get(column))
    if Stage(application.stage).is_active:
        application.stage = Stage.WITHDRAWN
        application.stage_changed_at = when
    application.contact_id = None
    application.anonymised_at = when
    await selection.forget_notes(session, application.id)
    await training.forget(session, application.id)
    await session.flush()


async def add_screening(
    session: AsyncSession,
    programme_id: int,
    *,
    eligible: bool,
    failed_rule: str | None,
    source: str | None,
    contact_id: int | None = None,
) -> None:
    await session.execute(
        _INSERT_SCREENING,
        {
            "programme_id": programme_id,
            "contact_id": contact_id,
            "eligible": eligible,
            "failed_rule": failed_rule,
            "source": source,
        },
    )


def latest_screenings() -> Select[tuple[int]]:
    """The id of each person's latest screening per programme; a screening without a person is its own."""
    person = func.coalesce(Screening.contact_id, -Screening.id)
    return select(func.max(Screening.id)).group_by(Screening.programme_id, person)


async def forget_screenings(session: AsyncSession, contact_id: int) -> None:
    """A person erased their data: keep only their latest screening per programme, without them."""
    latest = latest_screenings().where(Screening.contact_id == contact_id)
    await session.execute(
        delete(Screening)
        .where(Screening.contact_id == contact_id, Screening.id.not_in(latest))
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Screening)
        .where(Screening.contact_id == contact_id)
        .values(contact_id=None)
        .execution_options(synchronize_session=False)
    )


async def stage_counts(session: AsyncSession) -> list[tuple[int, str, int]]:
    """(programme id, stage, count) for every programme with applications."""
    rows = await session.execute(
        select(Application.programme_id, Application.stage, func.count()).group_by(
            Application.programme_id, Application.stage
        )
    )
    return [(pid, stage, n) for pid, stage, n in rows.all()]


async def screening_counts(session: AsyncSession) -> list[tuple[int, bool, str | None, int]]:
    """(programme id, eligible, failed rule, count) of people, by their latest outcome per programme:
    the office's evidence of demand."""
    rows = await session.execute(
        select(Screening.programme_id, Screening.eligible, Screening.failed_rule, func.count())
        .where(Screening.id.in_(latest_screenings()))
        .group_by(Screening.programme_id, Screening.eligible, Screening.failed_rule)
    )
    return [(pid, eligible, rule, n) for pid, eligible, rule, n in rows.all()]


async def set_stage(
    session: AsyncSession, applications: Sequence[Application], stage: Stage, when: datetime, reason: str | None = None
) -> None:
    for application in applications:
        application.stage = stage
        application.stage_reason = reason
        application.stage_changed_at = when
    await session.flush()
