"""Staff accounts kept in the database (settings may list more), and the record of what staff did."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import StaffAction, StaffMember


async def add(
    session: AsyncSession, channel: str, user_id: str, name: str, role: str, venue: str | None = None
) -> StaffMember:
    member = await get(session, channel, user_id)
    if member is None:
        member = StaffMember(channel=channel, user_id=user_id, name=name, role=role, venue=venue)
        session.add(member)
    else:
        member.name, member.role, member.venue = name, role, venue
    await session.flush()
    return member


async def get(session: AsyncSession, channel: str, user_id: str) -> StaffMember | None:
    """One account, read fresh: a staff step confirms the role with this rather than a cached list."""
    return await session.scalar(
        select(StaffMember).where(StaffMember.channel == channel, StaffMember.user_id == user_id)
    )


async def remove(session: AsyncSession, member: StaffMember) -> None:
    await session.delete(member)
    await session.flush()


async def members(session: AsyncSession) -> list[StaffMember]:
    return list(await session.scalars(select(StaffMember).order_by(StaffMember.channel, StaffMember.user_id)))


async def record_action(
    session: AsyncSession, *, actor: str, role: str, action: str, target: str, at: datetime
) -> None:
    session.add(StaffAction(actor=actor, role=role, action=action, target=target[:300], created_at=at))
    await session.flush()


async def actions(session: AsyncSession, limit: int = 50) -> list[StaffAction]:
    """The latest staff actions first."""
    return list(
        await session.scalars(
            select(StaffAction).order_by(StaffAction.created_at.desc(), StaffAction.id.desc()).limit(limit)
        )
    )
