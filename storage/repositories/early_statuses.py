"""Status callbacks that came before their message id was written on an outbox row (models.EarlyStatus)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import EarlyStatus, OutboxMessage


async def keep(session: AsyncSession, statuses: Sequence[EarlyStatus]) -> None:
    session.add_all(statuses)
    await session.flush()


async def matched(session: AsyncSession, channel: str) -> list[tuple[EarlyStatus, OutboxMessage]]:
    """The kept statuses whose outbox row now holds their message id, in the order they happened."""
    rows = await session.execute(
        select(EarlyStatus, OutboxMessage)
        .join(
            OutboxMessage,
            (OutboxMessage.channel == EarlyStatus.channel)
            & (OutboxMessage.platform_message_id == EarlyStatus.platform_message_id),
        )
        .where(EarlyStatus.channel == channel)
        .order_by(EarlyStatus.at, EarlyStatus.id)
        .execution_options(populate_existing=True)
    )
    return [(status, message) for status, message in rows.all()]


async def forget(session: AsyncSession, ids: Sequence[int]) -> None:
    if ids:
        await session.execute(delete(EarlyStatus).where(EarlyStatus.id.in_(ids)))


async def forget_before(session: AsyncSession, channel: str, before: datetime) -> int:
    """Statuses nothing claimed (a conversation reply's, or a message never recorded): gone after a while."""
    result = await session.execute(
        delete(EarlyStatus).where(EarlyStatus.channel == channel, EarlyStatus.received_at < before)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


async def any_kept(session: AsyncSession, channel: str) -> bool:
    return await session.scalar(select(EarlyStatus.id).where(EarlyStatus.channel == channel).limit(1)) is not None
