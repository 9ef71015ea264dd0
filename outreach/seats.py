"""The seat offer a selected applicant answers in the chat ("Ya, saya ikut" / "Tidak bisa"), and
the note that a missed deadline gave the seat away, and the note that the waitlist closed: the words
and buttons of each, queued once.

The buttons carry "@seat|<offer id>.y" (the engine's "@" action prefix), answered by
conversations/selection.py whatever flow the applicant is in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from messages.render import Templates
from outreach.outbox import Push, enqueue
from outreach.reminders import local_zone, programme_name
from storage.models import Application, Contact, Origin, SeatOffer, Stage

SEAT_ACTION = "seat"


def seat_data(offer_id: int, yes: bool) -> str:
    """A button's data: "@seat|17.y"."""
    return f"@{SEAT_ACTION}|{offer_id}.{'y' if yes else 'n'}"


def parse_seat(payload: str) -> tuple[int, bool] | None:
    """(offer id, yes) from "17.y", or None for anything else."""
    offer, _, answer = payload.partition(".")
    if not (offer.isascii() and offer.isdigit()) or answer not in ("y", "n"):
        return None
    return int(offer), answer == "y"


async def describe(session: AsyncSession, application: Application, offer: SeatOffer, lang: str) -> dict[str, object]:
    """What the seat templates say: the number, the programme, the deadline in the office's time zone."""
    zone = await local_zone(session)
    return {
        "number": application.number,
        "programme": programme_name(application.programme, lang),
        "deadline": offer.deadline.astimezone(zone),
    }


async def push_offer(
    session: AsyncSession, templates: Templates, application: Application, offer: SeatOffer, now: datetime
) -> int:
    """Ask the applicant to confirm their seat before the deadline; 1 when queued."""
    contact = await _contact(session, application)
    if contact is None:
        return 0
    lang = contact.language
    buttons = [
        [
            {"label": templates.label(lang, "selection/button_yes"), "data": seat_data(offer.id, True)},
            {"label": templates.label(lang, "selection/button_no"), "data": seat_data(offer.id, False)},
        ]
    ]
    text = templates.render(lang, "selection/seat_offer", **await describe(session, application, offer, lang))
    return await enqueue(session, [Push(contact, Origin.RESULT, f"seat:{offer.id}:offer", text, buttons)], now)


async def push_expired(
    session: AsyncSession, templates: Templates, application: Application, offer: SeatOffer, now: datetime
) -> int:
    """Tell the applicant the deadline passed and the seat went to the next on the waitlist."""
    contact = await _contact(session, application)
    if contact is None:
        return 0
    lang = contact.language
    text = templates.render(lang, "selection/seat_expired", **await describe(session, application, offer, lang))
    return await enqueue(session, [Push(contact, Origin.RESULT, f"seat:{offer.id}:expired", text)], now)


async def push_waitlist_closed(
    session: AsyncSession, templates: Templates, application: Application, now: datetime
) -> int:
    """Tell a waitlisted applicant the seats are full now that training started, and that the next
    programme of the field will reach them. Keyed as the "not selected" result: told once either way."""
    contact = await _contact(session, application)
    if contact is None:
        return 0
    lang = contact.language
    programme = application.programme
    cluster = programme.cluster.name or {}
    text = templates.render(
        lang,
        "selection/waitlist_closed",
        number=application.number,
        programme=programme_name(programme, lang),
        cluster=cluster.get(lang) or cluster.get("id") or "",
    )
    key = f"result:{application.id}:{Stage.NOT_SELECTED.value}"
    return await enqueue(session, [Push(contact, Origin.RESULT, key, text)], now)


async def _contact(session: AsyncSession, application: Application) -> Contact | None:
    contact = await session.get(Contact, application.contact_id) if application.contact_id else None
    return None if contact is None or contact.unreachable else contact
