"""Staff accounts kept in the database (settings may list more)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import StaffMember


async def add(session: AsyncSession, channel: str, user_id: str, name: str, role: str) -> StaffMember:
    member = await session.scalar(
        select(StaffMember).where(StaffMember.channel == channel, StaffMember.user_id == user_id)
    )
    if member is None:
        member = StaffMember(channel=channel, user_id=user_id, name=name, role=role)
        session.add(member)
    else:
        member.name, member.role = name, role
    await session.flush()
    return member


async def members(session: AsyncSession) -> list[StaffMember]:
    return list(await session.scalars(select(StaffMember).order_by(StaffMember.channel, StaffMember.user_id)))
