"""Each WhatsApp chat's opt-in, last message (the 24-hour window) and last numbered menu."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import WhatsAppChat


async def get(session: AsyncSession, wa_id: str) -> WhatsAppChat | None:
    return await session.get(WhatsAppChat, wa_id, populate_existing=True)


async def heard_from(session: AsyncSession, wa_id: str, at: datetime, via: str) -> WhatsAppChat:
    """The person wrote at `at`: the first message opts them in (`via` says how); a late
    redelivery of an older message never moves the window back."""
    chat = await _locked(session, wa_id)
    if chat is None:
        try:
            async with session.begin_nested():
                chat = WhatsAppChat(wa_id=wa_id, opted_in_at=at, opted_in_via=via[:80], last_message_at=at, menu=[])
                session.add(chat)
            return chat
        except IntegrityError:  # another webhook call for the same new person won the insert
            chat = await _locked(session, wa_id)
            assert chat is not None
    if at > chat.last_message_at:
        chat.last_message_at = at
        await session.flush()
    return chat


async def _locked(session: AsyncSession, wa_id: str) -> WhatsAppChat | None:
    return await session.scalar(
        select(WhatsAppChat)
        .where(WhatsAppChat.wa_id == wa_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def menus(session: AsyncSession, wa_ids: Collection[str]) -> dict[str, list[Any]]:
    """The last numbered menu of each chat (a typed number is read against it)."""
    if not wa_ids:
        return {}
    rows = await session.execute(select(WhatsAppChat.wa_id, WhatsAppChat.menu).where(WhatsAppChat.wa_id.in_(wa_ids)))
    return {wa_id: list(menu or []) for wa_id, menu in rows}


async def set_menu(session: AsyncSession, wa_id: str, menu: list[Any]) -> None:
    await session.execute(
        update(WhatsAppChat)
        .where(WhatsAppChat.wa_id == wa_id)
        .values(menu=menu)
        .execution_options(synchronize_session=False)
    )


async def forget_origin(session: AsyncSession, wa_id: str) -> None:
    """On erasure: how the person came (a poster's code) and their last menu go; the window stays,
    so the bot can still answer them."""
    chat = await get(session, wa_id)
    if chat is not None:
        chat.opted_in_via, chat.menu = "erased", []
        await session.flush()
