"""Conversation state per (channel, chat), saved with an optimistic version check."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import StaleConversation
from storage.models import Contact, Conversation


async def lock(session: AsyncSession, channel: str, chat_id: str) -> None:
    """Hold this chat's turn until the transaction ends, across worker processes.

    Several `blkbot run` processes behind a load balancer may get two updates of one chat at
    once; on PostgreSQL a transaction advisory lock makes the second wait for the first, so a
    chat's turns never interleave. (In one process the runner's asyncio lock already does this,
    and SQLite has one writer.)
    """
    if session.bind.dialect.name == "postgresql":
        key = func.hashtextextended(f"conversation:{channel}:{chat_id}", 0)
        await session.execute(select(func.pg_advisory_xact_lock(key)))


async def load(session: AsyncSession, channel: str, chat_id: str) -> Conversation | None:
    return await session.get(Conversation, (channel, chat_id), populate_existing=True)


async def load_with_contact(
    session: AsyncSession, channel: str, chat_id: str
) -> tuple[Contact | None, Conversation | None]:
    """The chat's contact and its dialogue state in one query, as every turn needs both.
    (None, None) for a chat never seen: the caller creates the contact."""
    query = (
        select(Contact, Conversation)
        .outerjoin(Conversation, (Conversation.channel == Contact.channel) & (Conversation.chat_id == Contact.chat_id))
        .where(Contact.channel == channel, Contact.chat_id == chat_id)
        .execution_options(populate_existing=True)
    )
    row = (await session.execute(query)).first()
    return (row[0], row[1]) if row else (None, None)


async def save(
    session: AsyncSession,
    channel: str,
    chat_id: str,
    *,
    flow: str | None,
    step: str | None,
    data: dict[str, Any],
    last_press: str | None = None,
    expected_version: int,
    now: datetime,
) -> int:
    """Write the new state if nobody else wrote since `expected_version`; return the new version.

    Raises StaleConversation when a second worker (or a racing update) saved first, so the turn
    is retried on fresh state rather than merged.
    """
    if expected_version == 0:
        exists = await session.scalar(
            select(Conversation.version).where(Conversation.channel == channel, Conversation.chat_id == chat_id)
        )
        if exists is not None:
            raise StaleConversation(f"{channel}:{chat_id}")
        session.add(
            Conversation(
                channel=channel,
                chat_id=chat_id,
                flow=flow,
                step=step,
                data=data,
                last_press=last_press,
                version=1,
                updated_at=now,
            )
        )
        await session.flush()
        return 1
    table = Conversation.__table__  # a plain UPDATE: the ORM's bulk-update bookkeeping cost more than the write
    result = await session.execute(
        update(table)
        .where(table.c.channel == channel, table.c.chat_id == chat_id, table.c.version == expected_version)
        .values(flow=flow, step=step, data=data, last_press=last_press, version=expected_version + 1, updated_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise StaleConversation(f"{channel}:{chat_id}")
    return expected_version + 1


async def forget(session: AsyncSession, channel: str, chat_id: str) -> None:
    await session.execute(delete(Conversation).where(Conversation.channel == channel, Conversation.chat_id == chat_id))


ABANDONED = "abandoned"
"""The data an expired conversation keeps: only this mark, so the returning resident is told why."""


async def expire_abandoned(session: AsyncSession, before: datetime) -> int:
    """Clear the flow and answers (name, NIK ...) of conversations left in a flow since `before`;
    return how many. The version moves on, so a turn that loaded the old state retries on the new."""
    table = Conversation.__table__
    result = await session.execute(
        update(table)
        .where(table.c.flow.is_not(None), table.c.updated_at < before)
        .values(
            flow=None,
            step=None,
            data={ABANDONED: True},
            last_press=None,
            version=table.c.version + 1,
            updated_at=before,
        )
    )
    return result.rowcount or 0  # type: ignore[attr-defined]
