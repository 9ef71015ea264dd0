"""Conversation state per (channel, chat), saved with an optimistic version check."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import StaleConversation
from storage.models import Conversation


async def load(session: AsyncSession, channel: str, chat_id: str) -> Conversation | None:
    return await session.get(Conversation, (channel, chat_id), populate_existing=True)


async def save(
    session: AsyncSession,
    channel: str,
    chat_id: str,
    *,
    flow: str | None,
    step: str | None,
    data: dict[str, Any],
    expected_version: int,
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
        session.add(Conversation(channel=channel, chat_id=chat_id, flow=flow, step=step, data=data, version=1))
        await session.flush()
        return 1
    result = await session.execute(
        update(Conversation)
        .where(
            Conversation.channel == channel,
            Conversation.chat_id == chat_id,
            Conversation.version == expected_version,
        )
        .values(flow=flow, step=step, data=data, version=expected_version + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise StaleConversation(f"{channel}:{chat_id}")
    return expected_version + 1


async def forget(session: AsyncSession, channel: str, chat_id: str) -> None:
    await session.execute(delete(Conversation).where(Conversation.channel == channel, Conversation.chat_id == chat_id))
