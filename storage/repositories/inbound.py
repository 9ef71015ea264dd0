"""Inbound messages delivered by webhook: stored once per platform id, claimed per chat, emptied when done."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboundMessage, InboundStatus

OPEN = (InboundStatus.RECEIVED, InboundStatus.ANSWERED)


@dataclass(frozen=True)
class NewInbound:
    channel: str
    message_id: str
    chat_id: str
    sent_at: datetime
    payload: dict[str, Any]


async def store(session: AsyncSession, messages: Sequence[NewInbound], now: datetime) -> list[int]:
    """Insert the messages not seen before; the ids of the new rows (a redelivery adds none)."""
    if not messages:
        return []
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    rows = [
        {
            "channel": m.channel,
            "message_id": m.message_id,
            "chat_id": m.chat_id,
            "sent_at": m.sent_at,
            "payload": m.payload,
            "reply": [],
            "status": InboundStatus.RECEIVED.value,
            "attempts": 0,
            "received_at": now,
        }
        for m in messages
    ]
    statement = (
        insert(InboundMessage)
        .on_conflict_do_nothing(index_elements=["channel", "message_id"])
        .returning(InboundMessage.id)
    )
    return [row[0] for row in (await session.execute(statement, rows)).all()]


async def claim(
    session: AsyncSession,
    channel: str,
    *,
    worker: str,
    now: datetime,
    lease: timedelta,
    limit: int = 100,
) -> list[InboundMessage]:
    """Take the open messages of chats nobody else is working on, oldest first.

    A chat with a message under someone's live claim is left out whole, so one chat's messages
    are answered in the order they were sent even with several workers.
    """
    live = and_(InboundMessage.claimed_until.is_not(None), InboundMessage.claimed_until >= now)
    busy = select(InboundMessage.chat_id).where(
        InboundMessage.channel == channel, InboundMessage.status.in_(OPEN), live
    )
    candidates = (
        select(InboundMessage.id)
        .where(
            InboundMessage.channel == channel,
            InboundMessage.status.in_(OPEN),
            or_(InboundMessage.claimed_until.is_(None), InboundMessage.claimed_until < now),
            InboundMessage.chat_id.not_in(busy),
        )
        .order_by(InboundMessage.sent_at, InboundMessage.id)
        .limit(limit)
    )
    if session.bind.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    ids = list(await session.scalars(candidates))
    if not ids:
        return []
    await session.execute(
        update(InboundMessage)
        .where(InboundMessage.id.in_(ids))
        .values(claimed_by=worker, claimed_until=now + lease, attempts=InboundMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    rows = await session.scalars(
        select(InboundMessage)
        .where(InboundMessage.id.in_(ids))
        .order_by(InboundMessage.sent_at, InboundMessage.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def claim_new(
    session: AsyncSession, channel: str, ids: Sequence[int], *, worker: str, now: datetime, lease: timedelta
) -> list[InboundMessage]:
    """Take messages just stored in this transaction, in one statement, unless their chat has any
    other open message (answered now, or waiting for its turn): `claim` takes those in order later."""
    if not ids:
        return []
    others = select(InboundMessage.chat_id).where(
        InboundMessage.channel == channel, InboundMessage.status.in_(OPEN), InboundMessage.id.not_in(ids)
    )
    rows = await session.scalars(
        update(InboundMessage)
        .where(InboundMessage.id.in_(ids), InboundMessage.chat_id.not_in(others))
        .values(claimed_by=worker, claimed_until=now + lease, attempts=InboundMessage.attempts + 1)
        .returning(InboundMessage)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return sorted(rows, key=lambda m: (m.sent_at, m.id))


async def answered(session: AsyncSession, message_id: int, reply: list[Any]) -> None:
    """The turn is taken (in this same transaction): keep the reply to send, forget what was typed."""
    await session.execute(
        update(InboundMessage)
        .where(InboundMessage.id == message_id)
        .values(status=InboundStatus.ANSWERED, reply=reply, payload={})
        .execution_options(synchronize_session=False)
    )


async def still_to_send(session: AsyncSession, message_id: int, reply: list[Any]) -> None:
    await session.execute(
        update(InboundMessage)
        .where(InboundMessage.id == message_id)
        .values(reply=reply)
        .execution_options(synchronize_session=False)
    )


async def done(session: AsyncSession, message_id: int) -> None:
    await session.execute(
        update(InboundMessage)
        .where(InboundMessage.id == message_id)
        .values(status=InboundStatus.DONE, payload={}, reply=[], claimed_by=None, claimed_until=None, last_error=None)
        .execution_options(synchronize_session=False)
    )


async def failed(session: AsyncSession, message_id: int, error: str) -> None:
    await session.execute(
        update(InboundMessage)
        .where(InboundMessage.id == message_id)
        .values(
            status=InboundStatus.FAILED,
            payload={},
            reply=[],
            claimed_by=None,
            claimed_until=None,
            last_error=error[:300],
        )
        .execution_options(synchronize_session=False)
    )


async def release(session: AsyncSession, *, worker: str) -> int:
    """Give back what `worker` claimed (stopping, or restarting under the same name)."""
    result = await session.execute(
        update(InboundMessage)
        .where(InboundMessage.claimed_by == worker, InboundMessage.status.in_(OPEN))
        .values(claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


async def get(session: AsyncSession, channel: str, message_id: str) -> InboundMessage | None:
    return await session.scalar(
        select(InboundMessage).where(InboundMessage.channel == channel, InboundMessage.message_id == message_id)
    )
