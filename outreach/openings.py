"""Telling people who pressed "Kabari saya" that a programme of their cluster has opened.

A catalog load may add a programme, open a closed one, or give one a registration window that
is not over yet. Staff's load command notes which programmes were available before it and calls
`announce` after it; each interested person hears once per programme and window (the dedupe
key), and their interest is then forgotten: they asked to be told, and they were.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from messages.render import Templates
from outreach.outbox import Push, enqueue
from outreach.reminders import programme_name
from storage.models import Origin, Programme
from storage.repositories import catalog, interests
from training import people


def is_available(programme: Programme, today: date) -> bool:
    """Taking registrations now or later in a window that is not over."""
    return programme.active and programme.registration_closes >= today


async def available(session: AsyncSession, today: date) -> set[str]:
    """Codes of the programmes available on `today`: what a load is compared with."""
    return {p.code for p in await catalog.programmes(session) if is_available(p, today)}


async def announce(
    session: AsyncSession, templates: Templates, before: Collection[str], today: date, now: datetime
) -> int:
    """Tell the interested about each programme available now that was not in `before`; returns
    how many messages were queued."""
    opened = [p for p in await catalog.programmes(session) if is_available(p, today) and p.code not in before]
    if not opened:
        return 0
    waiting = await interests.in_clusters(session, {p.cluster_code for p in opened})
    chats = await people.reach(session, [contact for _, contact in waiting])
    pushes: dict[str, Push] = {}  # by key: a person who asked in two chats hears once
    for interest, asked in waiting:
        contact = chats[asked.id]
        for programme in opened:
            if interest.cluster_code in (None, programme.cluster_code):
                key = f"opening:{programme.code}:{programme.registration_opens.isoformat()}:{contact.id}"
                pushes[key] = Push(
                    contact,
                    Origin.OPENING,
                    key,
                    render(templates, contact.language, programme, today),
                    _register_button(templates, contact.language, programme, today),
                )
    queued = await enqueue(session, list(pushes.values()), now)
    await interests.forget(session, [interest for interest, _ in waiting])
    return queued


def render(templates: Templates, lang: str, programme: Programme, today: date) -> str:
    return templates.render(
        lang,
        "interests/opened",
        programme=programme_name(programme, lang),
        cluster=programme.cluster.name.get(lang) or programme.cluster.name.get("id", programme.cluster_code),
        venue=programme.venue.name,
        opens=programme.registration_opens,
        closes=programme.registration_closes,
        starts=programme.training_starts,
        ends=programme.training_ends,
        quota=programme.quota,
        open_now=programme.is_open(today),
    )


def _register_button(templates: Templates, lang: str, programme: Programme, today: date) -> list[list[dict[str, str]]]:
    """A "Daftar" button that opens registration for this programme, once registration has begun."""
    if not programme.is_open(today):
        return []
    return [[{"label": templates.label(lang, "buttons/register"), "data": f"/daftar {programme.code}"}]]
