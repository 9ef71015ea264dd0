"""Conversation state per (channel, chat), saved with an optimistic version check."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialects import per_dialect
from storage.errors import StaleConversation
from storage.models import Contact, Conversation

TABLE = Conversation.__table__

# Every turn runs these: built once, as building them cost more than running them.
_LOAD_WITH_CONTACT = (
    select(Contact, Conversation)
    .outerjoin(Conversation, (Conversation.channel == Contact.channel) & (Conversation.chat_id == Contact.chat_id))
    .where(Contact.channel == bindparam("channel"), Contact.chat_id == bindparam("chat"))
    .execution_options(populate_existing=True)
)
_LOAD_LOCKED = _LOAD_WITH_CONTACT.add_columns(func.pg_advisory_xact_lock(func.hashtextextended(bindparam("key"), 0)))
"""PostgreSQL's: the same query also takes the chat's advisory lock, one round trip instead of two."""
_SAVE = (
    update(TABLE)
    .where(TABLE.c.channel == bindparam("key_channel"), TABLE.c.chat_id == bindparam("key_chat"))
    .where(TABLE.c.version == bindparam("expected"))
    .values(
        flow=bindparam("new_flow"),
        step=bindparam("new_step"),
        data=bindparam("new_data", type_=TABLE.c.data.type),
        last_press=bindparam("new_last_press"),
        version=bindparam("new_version"),
        updated_at=bindparam("now", type_=TABLE.c.updated_at.type),
    )
)
_CREATE = per_dialect(
    lambda insert: (
        insert(TABLE)
        .values(
            channel=bindparam("channel"),
            chat_id=bindparam("chat"),
            flow=bindparam("flow"),
            step=bindparam("step"),
            data=bindparam("data", type_=TABLE.c.data.type),
            last_press=bindparam("last_press"),
            version=1,
            updated_at=bindparam("now", type_=TABLE.c.updated_at.type),
        )
        .on_conflict_do_nothing(index_elements=["channel", "chat_id"])
    )
)


async def load_for_turn(
    session: AsyncSession, channel: str, chat_id: str
) -> tuple[Contact | None, Conversation | None]:
    """The chat's contact and its dialogue state in one query, as every turn needs both.
    (None, None) for a chat never seen: the caller creates the contact.

    On PostgreSQL the query also holds this chat's turn until the transaction ends, across worker
    processes (a transaction advisory lock): several `blkbot run` processes behind a load balancer
    may get two updates of one chat at once, and the second waits for the first. Its snapshot was
    taken before it waited, so it reads the state the first replaced, and its save finds the version
    moved and takes the turn again on the new state (`save`). In one process the runner's asyncio
    lock already keeps a chat's turns apart, and SQLite has one writer."""
    if session.bind.dialect.name == "postgresql":
        params = {"channel": channel, "chat": chat_id, "key": f"conversation:{channel}:{chat_id}"}
        row = (await session.execute(_LOAD_LOCKED, params)).first()
    else:
        row = (await session.execute(_LOAD_WITH_CONTACT, {"channel": channel, "chat": chat_id})).first()
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
    if expected_version == 0:  # the chat's first state: a row someone else created first is theirs
        created = await session.execute(
            _CREATE[session.bind.dialect.name],
            {
                "channel": channel,
                "chat": chat_id,
                "flow": flow,
                "step": step,
                "data": data,
                "last_press": last_press,
                "now": now,
            },
        )
        if created.rowcount != 1:  # type: ignore[attr-defined]
            raise StaleConversation(f"{channel}:{chat_id}")
        return 1
    result = await session.execute(
        _SAVE,
        {
            "key_channel": channel,
            "key_chat": chat_id,
            "expected": expected_version,
            "new_flow": flow,
            "new_step": step,
            "new_data": data,
            "new_last_press": last_press,
            "new_version": expected_version + 1,
            "now": now,
        },
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
    result = await session.execute(
        update(TABLE)
        .where(TABLE.c.flow.is_not(None), TABLE.c.updated_at < before)
        .values(
            flow=None,
            step=None,
            data={ABANDONED: True},
            last_press=None,
            version=TABLE.c.version + 1,
            updated_at=before,
        )
    )
    return result.rowcount or 0  # type: ignore[attr-defined]
