"""The processes sharing a platform account's sending rate: one row each per channel, kept fresh by a heartbeat."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialects import insert_for
from storage.models import BudgetMember


async def beat(
    session: AsyncSession, *, name: str, role: str, answers: bool, now: datetime, channel: str = "telegram"
) -> None:
    """Say that `name` is alive at `now`; its first beat also records when it joined."""
    insert = insert_for(session)
    statement = insert(BudgetMember).values(
        name=name, channel=channel, role=role, answers=answers, joined_at=now, seen_at=now
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[BudgetMember.name], set_={"seen_at": now, "role": role, "answers": answers}
        )
    )


async def forget_silent(session: AsyncSession, *, before: datetime) -> int:
    """Drop the members not heard of since `before` (they died); returns how many."""
    result = await session.execute(delete(BudgetMember).where(BudgetMember.seen_at < before))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def members(session: AsyncSession, channel: str = "telegram") -> list[BudgetMember]:
    """The members sharing `channel`'s rate (the bot's, or the WhatsApp number's)."""
    query = select(BudgetMember).where(BudgetMember.channel == channel)
    return list(await session.scalars(query.order_by(BudgetMember.joined_at, BudgetMember.name)))


async def leave(session: AsyncSession, name: str) -> None:
    await session.execute(delete(BudgetMember).where(BudgetMember.name == name))
