"""Each WhatsApp chat's opt-in, last message (the 24-hour window) and last numbered menu."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialects import per_dialect
from storage.models import WhatsAppChat

TABLE = WhatsAppChat.__table__


def _heard_from(insert: Any) -> Any:
    statement = insert(TABLE)
    later = statement.excluded.last_message_at
    kept = case((later > TABLE.c.last_message_at, later), else_=TABLE.c.last_message_at)
    return statement.on_conflict_do_update(index_elements=["wa_id"], set_={"last_message_at": kept}).returning(
        TABLE.c.wa_id, TABLE.c.menu
    )


_HEARD_FROM = per_dialect(_heard_from)
_SET_MENU = (
    update(TABLE).where(TABLE.c.wa_id == bindparam("chat")).values(menu=bindparam("shown", type_=TABLE.c.menu.type))
)


async def get(session: AsyncSession, wa_id: str) -> WhatsAppChat | None:
    return await session.get(WhatsAppChat, wa_id, populate_existing=True)


async def heard_from(session: AsyncSession, heard: Iterable[tuple[str, datetime, str]]) -> dict[str, list[Any]]:
    """People wrote: each (wa_id, when, how) is a message. A chat's first message opts it in (`how`
    says how); a late redelivery of an older message never moves the window back. Returns each
    chat's last menu. One upsert for them all, which also holds the rows until the transaction ends
    (two first messages of one person at once cannot both insert); rows are taken in wa_id order,
    so two processes storing the same chats wait for each other instead of deadlocking."""
    rows: dict[str, dict[str, Any]] = {}
    for wa_id, at, via in sorted(heard, key=lambda h: h[1]):
        row = rows.setdefault(wa_id, {"wa_id": wa_id, "opted_in_at": at, "opted_in_via": via[:80], "menu": []})
        row["last_message_at"] = at
    if not rows:
        return {}
    result = await session.execute(_HEARD_FROM[session.bind.dialect.name], [rows[k] for k in sorted(rows)])
    return {wa_id: list(menu or []) for wa_id, menu in result}


async def menus(session: AsyncSession, wa_ids: Collection[str]) -> dict[str, list[Any]]:
    """The last numbered menu of each chat (a typed number is read against it)."""
    if not wa_ids:
        return {}
    rows = await session.execute(select(WhatsAppChat.wa_id, WhatsAppChat.menu).where(WhatsAppChat.wa_id.in_(wa_ids)))
    return {wa_id: list(menu or []) for wa_id, menu in rows}


async def set_menu(session: AsyncSession, wa_id: str, menu: list[Any]) -> None:
    await session.execute(_SET_MENU, {"chat": wa_id, "shown": menu})


async def forget_origin(session: AsyncSession, wa_id: str) -> None:
    """On erasure: how the person came (a poster's code) and their last menu go; the window stays,
    so the bot can still answer them."""
    chat = await get(session, wa_id)
    if chat is not None:
        chat.opted_in_via, chat.menu = "erased", []
        await session.flush()
