"""Broadcasts staff sent, and how far their messages have got."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Broadcast


async def add(session: AsyncSession, broadcast: Broadcast) -> Broadcast:
    session.add(broadcast)
    await session.flush()
    return broadcast


async def get(session: AsyncSession, broadcast_id: int) -> Broadcast | None:
    return await session.get(Broadcast, broadcast_id)


async def recent(session: AsyncSession, limit: int = 20) -> list[Broadcast]:
    return list(await session.scalars(select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)))
