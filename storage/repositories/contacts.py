"""Contacts: one person on one channel, linked to their other channels by a verified phone number."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialects import per_dialect
from storage.models import PUSH_CHANNELS, Contact


async def get(session: AsyncSession, channel: str, chat_id: str) -> Contact | None:
    return await session.scalar(select(Contact).where(Contact.channel == channel, Contact.chat_id == chat_id))


_CREATE = per_dialect(
    lambda insert: (
        insert(Contact)
        .values(
            channel=bindparam("channel"),
            chat_id=bindparam("chat"),
            language=bindparam("language"),
            verified_phone=bindparam("phone"),
            last_seen_at=bindparam("seen", type_=Contact.__table__.c.last_seen_at.type),
        )
        .on_conflict_do_nothing(index_elements=["channel", "chat_id"])
        .returning(Contact)
    )
)


async def get_or_create(
    session: AsyncSession,
    channel: str,
    chat_id: str,
    *,
    language: str,
    seen_at: datetime | None = None,
    verified_phone: str | None = None,
) -> Contact:
    """Idempotent under a race: a second worker's insert does nothing and reads the winner's row
    (whose `seen_at` and `verified_phone` stay as they were: `note_turn` is the way to change them).

    One prebuilt INSERT … ON CONFLICT DO NOTHING RETURNING: the lookup, savepoint, flush and the
    first turn's UPDATE it replaces were a sixth of a first turn's work."""
    params = {"channel": channel, "chat": chat_id, "language": language, "phone": verified_phone, "seen": seen_at}
    contact = (await session.scalars(_CREATE[session.bind.dialect.name], params)).first()
    if contact is None:
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
    contact.verified_phone = None
    await session.flush()


async def by_id(session: AsyncSession, contact_id: int) -> Contact | None:
    return await session.get(Contact, contact_id)


LINKED_IDS = select(Contact.id).where(
    (Contact.id == bindparam("contact_id")) | (Contact.verified_phone == bindparam("verified_phone"))
)
"""The ids of `linked`, for a prebuilt statement about a person's rows to read in the same query,
bound with `linked_params`. A chat with no verified phone matches only itself (NULL equals nothing)."""


def linked_params(contact: Contact) -> dict[str, Any]:
    return {"contact_id": contact.id, "verified_phone": contact.verified_phone}


_LINKED = select(Contact).where(Contact.id.in_(LINKED_IDS)).order_by(Contact.id)


async def linked(session: AsyncSession, contact: Contact) -> list[Contact]:
    """The contact and every other with the same verified phone, oldest first."""
    if contact.verified_phone is None:
        return [contact]
    return list(await session.scalars(_LINKED, linked_params(contact)))


SEEN_TO_WITHIN = timedelta(minutes=1)
"""How fresh `last_seen_at` is kept: enough to tell which of a person's chats they used last."""


async def note_turn(session: AsyncSession, contact: Contact, when: datetime, verified_phone: str | None) -> None:
    """Remember when the chat was last used (to the minute: a write per turn would cost every turn an
    UPDATE) and, where the platform vouched for it, the person's own number."""
    if contact.last_seen_at is None or abs(when - contact.last_seen_at) >= SEEN_TO_WITHIN:
        contact.last_seen_at = when
    if verified_phone is not None and contact.verified_phone != verified_phone:
        contact.verified_phone = verified_phone
    if session.is_modified(contact):
        await session.flush()


async def reach(session: AsyncSession, contacts: Sequence[Contact]) -> dict[int, Contact]:
    """For each contact's id, the contact of the same person to push to: among those with its verified
    phone that can receive pushes (a push channel, not unreachable, not erased), the one whose chat was
    used last; the contact itself when it has no such sibling."""
    phones = sorted({c.verified_phone for c in contacts if c.verified_phone is not None})
    best: dict[str, Contact] = {}
    for start in range(0, len(phones), 1000):
        siblings = await session.scalars(
            select(Contact).where(
                Contact.verified_phone.in_(phones[start : start + 1000]),
                Contact.channel.in_(PUSH_CHANNELS),
                Contact.unreachable.is_(False),
                Contact.erased_at.is_(None),
            )
        )
        for sibling in siblings:
            phone = sibling.verified_phone
            assert phone is not None
            if phone not in best or _later(sibling, best[phone]):
                best[phone] = sibling
    return {c.id: best.get(c.verified_phone or "", c) for c in contacts}


def _later(one: Contact, other: Contact) -> bool:
    """Used more recently; a chat never seen counts as oldest, and the newer contact wins a tie."""
    return (one.last_seen_at is not None, one.last_seen_at or one.created_at, one.id) > (
        other.last_seen_at is not None,
        other.last_seen_at or other.created_at,
        other.id,
    )
