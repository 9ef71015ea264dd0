"""Inbound messages delivered by webhook: stored once per platform id, claimed per chat, emptied when done.

Every message someone sends passes through here three or four times, so the statements are plain
Core statements on the table, built once: the ORM's per-statement bookkeeping cost more than the
writes themselves (bench/conversation_load.py --channel whatsapp).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, bindparam, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialects import per_dialect
from storage.errors import AlreadyAnswered
from storage.models import InboundMessage, InboundStatus

OPEN = (InboundStatus.RECEIVED, InboundStatus.ANSWERED)
TABLE = InboundMessage.__table__


@dataclass(frozen=True, slots=True)
class OpenMessage:
    """A claimed message: what the worker needs to answer it, and nothing it could write back."""

    id: int
    chat_id: str
    sent_at: datetime
    status: str
    payload: dict[str, Any]
    reply: list[Any]


@dataclass(frozen=True)
class NewInbound:
    channel: str
    message_id: str
    chat_id: str
    sent_at: datetime
    payload: dict[str, Any]


_COLUMNS = (TABLE.c.id, TABLE.c.chat_id, TABLE.c.sent_at, TABLE.c.status, TABLE.c.payload, TABLE.c.reply)
_STORE = per_dialect(
    lambda insert: (
        insert(TABLE)
        .on_conflict_do_nothing(index_elements=["channel", "message_id"])
        .returning(TABLE.c.id, TABLE.c.message_id)
    )
)
_CLAIM_VALUES = {
    "claimed_by": bindparam("worker"),
    "claimed_until": bindparam("until", type_=TABLE.c.claimed_until.type),
    "attempts": TABLE.c.attempts + 1,
}
_OTHER = TABLE.alias("other")
_CLAIM_NEW = (
    update(TABLE)
    .where(
        TABLE.c.id.in_(bindparam("ids", expanding=True)),
        # Looked up per new message's chat in ix_inbound_open: a NOT IN over every open chat read
        # all of them at each webhook, and under load hundreds are open (a tenth of a turn's CPU).
        ~exists().where(
            _OTHER.c.channel == bindparam("chan"),
            _OTHER.c.status.in_(OPEN),
            _OTHER.c.chat_id == TABLE.c.chat_id,
            _OTHER.c.id.not_in(bindparam("new_ids", expanding=True)),
        ),
    )
    .values(_CLAIM_VALUES)
    .returning(TABLE.c.id)
)
_ANSWERED = (
    update(TABLE)
    .where(TABLE.c.id == bindparam("row_id"), TABLE.c.status == InboundStatus.RECEIVED.value)
    .values(status=InboundStatus.ANSWERED.value, reply=bindparam("body", type_=TABLE.c.reply.type), payload={})
)
_STILL_TO_SEND = (
    update(TABLE).where(TABLE.c.id == bindparam("row_id")).values(reply=bindparam("body", type_=TABLE.c.reply.type))
)
_DONE = (
    update(TABLE)
    .where(TABLE.c.id.in_(bindparam("ids", expanding=True)))
    .values(status=InboundStatus.DONE.value, payload={}, reply=[], claimed_by=None, claimed_until=None, last_error=None)
)


def _opened(rows: Iterable[Row[Any]]) -> list[OpenMessage]:
    """Claimed rows as OpenMessages, in the order they were sent."""
    return _in_order(OpenMessage(r.id, r.chat_id, r.sent_at, r.status, r.payload or {}, r.reply or []) for r in rows)


def _in_order(messages: Iterable[OpenMessage]) -> list[OpenMessage]:
    return sorted(messages, key=lambda m: (m.sent_at, m.id))


async def store(session: AsyncSession, messages: Sequence[NewInbound], now: datetime) -> dict[int, NewInbound]:
    """Insert the messages not seen before; they are returned by the id of their new row (a
    redelivery adds none)."""
    if not messages:
        return {}
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
    statement = _STORE[session.bind.dialect.name]
    by_message_id = {m.message_id: m for m in messages}
    return {row.id: by_message_id[row.message_id] for row in await session.execute(statement, rows)}


async def claim(
    session: AsyncSession,
    channel: str,
    *,
    worker: str,
    now: datetime,
    lease: timedelta,
    limit: int = 100,
) -> list[OpenMessage]:
    """Take the open messages of chats nobody else is working on, oldest first.

    A chat with a message under someone's live claim is left out whole, so one chat's messages
    are answered in the order they were sent even with several workers.
    """
    live = and_(TABLE.c.claimed_until.is_not(None), TABLE.c.claimed_until >= now)
    busy = select(TABLE.c.chat_id).where(TABLE.c.channel == channel, TABLE.c.status.in_(OPEN), live)
    candidates = (
        select(TABLE.c.id)
        .where(
            TABLE.c.channel == channel,
            TABLE.c.status.in_(OPEN),
            or_(TABLE.c.claimed_until.is_(None), TABLE.c.claimed_until < now),
            TABLE.c.chat_id.not_in(busy),
        )
        .order_by(TABLE.c.sent_at, TABLE.c.id)
        .limit(limit)
    )
    if session.bind.dialect.name == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    ids = list(await session.scalars(candidates))
    if not ids:
        return []
    rows = await session.execute(
        update(TABLE).where(TABLE.c.id.in_(ids)).values(_CLAIM_VALUES).returning(*_COLUMNS),
        {"worker": worker, "until": now + lease},
    )
    return _opened(rows)


async def claim_new(
    session: AsyncSession,
    channel: str,
    new: Mapping[int, NewInbound],
    *,
    worker: str,
    now: datetime,
    lease: timedelta,
) -> list[OpenMessage]:
    """Take messages just stored in this transaction (`store`'s answer), in one statement, unless
    their chat has any other open message (answered now, or waiting for its turn): `claim` takes
    those in order later. What they hold is known here, so only their ids are read back."""
    if not new:
        return []
    ids = list(new)
    params = {"ids": ids, "new_ids": ids, "chan": channel, "worker": worker, "until": now + lease}
    claimed = await session.scalars(_CLAIM_NEW, params)
    return _in_order(
        OpenMessage(i, new[i].chat_id, new[i].sent_at, InboundStatus.RECEIVED, new[i].payload, []) for i in claimed
    )


async def answered(session: AsyncSession, message_id: int, reply: list[Any]) -> None:
    """The turn is taken (in this same transaction): keep the reply to send, forget what was typed.
    Raises AlreadyAnswered when the message is no longer waiting for its turn."""
    result = await session.execute(_ANSWERED, {"row_id": message_id, "body": reply})
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise AlreadyAnswered(str(message_id))


async def reply_to_send(session: AsyncSession, message_id: int, worker: str) -> list[Any] | None:
    """The reply kept for `message_id` when it is answered and still `worker`'s to send; None when
    it is not (another worker took it over)."""
    row = (
        await session.execute(
            select(TABLE.c.reply).where(
                TABLE.c.id == message_id,
                TABLE.c.status == InboundStatus.ANSWERED.value,
                TABLE.c.claimed_by == worker,
            )
        )
    ).first()
    return None if row is None else list(row.reply or [])


async def still_to_send(session: AsyncSession, message_id: int, reply: list[Any]) -> None:
    await session.execute(_STILL_TO_SEND, {"row_id": message_id, "body": reply})


async def done(session: AsyncSession, message_ids: Sequence[int]) -> None:
    """Replies sent: the messages are closed, and nothing of them is kept but the ids."""
    if message_ids:
        await session.execute(_DONE, {"ids": list(message_ids)})


async def failed(session: AsyncSession, message_id: int, error: str) -> None:
    await session.execute(
        update(TABLE)
        .where(TABLE.c.id == message_id)
        .values(
            status=InboundStatus.FAILED.value,
            payload={},
            reply=[],
            claimed_by=None,
            claimed_until=None,
            last_error=error[:300],
        )
    )


async def release(session: AsyncSession, *, worker: str) -> int:
    """Give back what `worker` claimed (stopping, or restarting under the same name)."""
    result = await session.execute(
        update(TABLE)
        .where(TABLE.c.claimed_by == worker, TABLE.c.status.in_(OPEN))
        .values(claimed_by=None, claimed_until=None)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]
