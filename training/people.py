"""One person, several chats: contacts that share a verified phone number are the same resident.

A number counts only when the platform vouches that it is the sender's own: WhatsApp's wa_id, or a
Telegram contact shared by its owner. A typed number, or someone else's shared contact, never links
two chats, since anyone can type anyone's number. Everything that asks for "the person's" things
(applications, subscriptions, erasure, where to push) asks here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Application, Contact
from storage.repositories import contacts
from training.validators import ascii_digits

MIN_DIGITS, MAX_DIGITS = 8, 15
"""E.164 allows at most 15 digits with the country code; fewer than 8 is no phone number."""


def own_number(phone: str) -> str | None:
    """A platform's number ("6281234567890", "+62 812-3456-7890") as E.164, or None if it is none.

    Both platforms hand over the full international number, so the digits after a "+" are enough to
    compare them; no local rule (a leading 0) applies.
    """
    digits = ascii_digits("".join(ch for ch in phone if not ch.isspace() and ch not in "+-()."))
    if (
        not (digits.isascii() and digits.isdigit())
        or not MIN_DIGITS <= len(digits) <= MAX_DIGITS
        or digits.startswith("0")
    ):
        return None
    return f"+{digits}"


async def first_turn(
    session: AsyncSession, channel: str, chat_id: str, *, language: str, when: datetime, verified_phone: str | None
) -> Contact:
    """The contact of a chat never seen, created with its first turn already noted (`note_turn`)."""
    return await contacts.get_or_create(
        session, channel, chat_id, language=language, seen_at=when, verified_phone=_vouched(verified_phone)
    )


async def note_turn(session: AsyncSession, contact: Contact, when: datetime, verified_phone: str | None) -> None:
    """Record that the chat was used now and, when the platform vouched for one, the person's number."""
    await contacts.note_turn(session, contact, when, _vouched(verified_phone))


def _vouched(verified_phone: str | None) -> str | None:
    return own_number(verified_phone) if verified_phone else None


async def contacts_of(session: AsyncSession, contact: Contact) -> list[Contact]:
    """Every chat of the person, this one included."""
    return await contacts.linked(session, contact)


async def contact_ids(session: AsyncSession, contact: Contact) -> list[int]:
    return [c.id for c in await contacts_of(session, contact)]


async def owns(session: AsyncSession, contact: Contact, application: Application) -> bool:
    """The application was made by this person, in this chat or another of theirs (a pushed button may
    be pressed in the chat the push went to, not the one that registered)."""
    return application.contact_id is not None and application.contact_id in await contact_ids(session, contact)


async def set_subscribed(session: AsyncSession, contact: Contact, subscribed: bool) -> None:
    """/berhenti and /mulai speak for the person, whichever chat they typed it in."""
    for each in await contacts_of(session, contact):
        await contacts.set_subscribed(session, each, subscribed)


async def reach(session: AsyncSession, recipients: Sequence[Contact]) -> dict[int, Contact]:
    """For each recipient's id, the person's chat to push to: the one they used last."""
    return await contacts.reach(session, recipients)


async def once_each(session: AsyncSession, recipients: Sequence[Contact]) -> list[Contact]:
    """The recipients as people: each person once, at the chat they used last, in the given order."""
    chosen = await reach(session, recipients)
    seen: set[int] = set()
    people = []
    for recipient in recipients:
        target = chosen[recipient.id]
        if target.id not in seen:
            seen.add(target.id)
            people.append(target)
    return people
