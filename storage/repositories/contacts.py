"""Contacts: one person on one channel."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Contact


async def get(session: AsyncSession, channel: str, chat_id: str) -> Contact | None:
    return await session.scalar(select(Contact).where(Contact.channel == channel, Contact.chat_id == chat_id))


async def get_or_create(session: AsyncSession, channel: str, chat_id: str, *, language: str) -> Contact:
    """Idempotent under a race: a second worker's insert loses quietly and reads the winner's row."""
    contact = await get(session, channel, chat_id)
    if contact is not None:
        return contact
    try:
        async with session.begin_nested():
            contact = Contact(channel=channel, chat_id=chat_id, language=language)
            session.add(contact)
    except IntegrityError:
        contact = await get(session, channel, chat_id)
        assert contact is not None
    return contact


async def give_consent(session: AsyncSession, contact: Contact, when: datetime) -> None:
    """Consent given afresh after an erasure lifts it: the person registers anew."""
    contact.consented_at = when
    contact.erased_at = None
    await session.flush()


async def set_language(session: AsyncSession, contact: Contact, language: str) -> None:
    contact.language = language
    await session.flush()


async def set_subscribed(session: AsyncSession, contact: Contact, subscribed: bool) -> None:
    """Asking for announcements again (/langganan) after an erasure lifts it, like consenting again."""
    contact.subscribed = subscribed
    if subscribed:
        contact.unreachable = False
        contact.erased_at = None
    await session.flush()


async def erase(session: AsyncSession, contact: Contact, when: datetime) -> None:
    """Forget consent and subscription and mark the person erased, so nothing queued reaches them;
    the row (and the chat's language) stays so the chat can start afresh."""
    contact.consented_at = None
    contact.subscribed = False
    contact.erased_at = when
    await session.flush()


async def by_id(session: AsyncSession, contact_id: int) -> Contact | None:
    return await session.get(Contact, contact_id)
