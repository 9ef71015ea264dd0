"""Past participants, imported by staff, consulted by the `never_trained` rule."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Final

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialects import insert_for
from storage.models import PastParticipant

CHUNK: Final = 5000
"""Rows per call of the one compiled statement, which the driver runs as an executemany (batched
by SQLAlchemy's insertmanyvalues / asyncpg's pipeline): compiling a many-row VALUES costs more."""


async def upsert(session: AsyncSession, people: Sequence[dict[str, Any]]) -> int:
    """Insert or update people ({nik, name, year}) by NIK in bulk; return how many NIKs were new.

    INSERT ... ON CONFLICT (nik) DO UPDATE on both databases: no read per row, and importing the same
    file again updates the names and years in place instead of adding anyone twice.
    """
    if not people:
        return 0
    before = await count(session)
    insert = insert_for(session)
    statement = insert(PastParticipant)
    statement = statement.on_conflict_do_update(
        index_elements=["nik"], set_={"name": statement.excluded.name, "year": statement.excluded.year}
    )
    for start in range(0, len(people), CHUNK):
        await session.execute(statement, list(people[start : start + CHUNK]))
    return await count(session) - before


async def count(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(PastParticipant)) or 0)


async def year_for_nik(session: AsyncSession, nik: str) -> int | None:
    return await session.scalar(select(PastParticipant.year).where(PastParticipant.nik == nik))


async def for_niks(session: AsyncSession, niks: Iterable[str]) -> list[PastParticipant]:
    """The office's register rows of these NIKs, oldest training first."""
    wanted = sorted(set(niks))
    if not wanted:
        return []
    query = select(PastParticipant).where(PastParticipant.nik.in_(wanted)).order_by(PastParticipant.year)
    return list(await session.scalars(query))
