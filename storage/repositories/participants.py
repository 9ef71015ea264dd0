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
