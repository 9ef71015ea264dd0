"""Past participants, imported by staff, consulted by the `never_trained` rule."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import PastParticipant


async def upsert(session: AsyncSession, people: Iterable[PastParticipant]) -> int:
    count = 0
    for person in people:
        await session.merge(person)
        count += 1
    await session.flush()
    return count


async def year_for_nik(session: AsyncSession, nik: str) -> int | None:
    return await session.scalar(select(PastParticipant.year).where(PastParticipant.nik == nik))


async def for_niks(session: AsyncSession, niks: Iterable[str]) -> list[PastParticipant]:
    """The office's register rows of these NIKs, oldest training first."""
    wanted = sorted(set(niks))
    if not wanted:
        return []
    query = select(PastParticipant).where(PastParticipant.nik.in_(wanted)).order_by(PastParticipant.year)
    return list(await session.scalars(query))
