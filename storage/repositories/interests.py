""" "Kabari saya": who asked to hear when a programme of a cluster opens."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Contact, Interest


async def remember(
    session: AsyncSession, contact_id: int, cluster_code: str | None, programme_code: str | None, when: datetime
) -> Interest:
    """Keep one interest per person and cluster: pressing the button again only updates the programme."""
    await session.execute(
        delete(Interest).where(
            Interest.contact_id == contact_id,
            Interest.cluster_code.is_(None) if cluster_code is None else Interest.cluster_code == cluster_code,
        )
    )
    interest = Interest(
        contact_id=contact_id, cluster_code=cluster_code, programme_code=programme_code, created_at=when
    )
    session.add(interest)
    await session.flush()
    return interest


async def of_contacts(session: AsyncSession, contact_ids: Sequence[int]) -> list[Interest]:
    """What one person's chats asked to hear about, oldest first."""
    query = select(Interest).where(Interest.contact_id.in_(list(contact_ids))).order_by(Interest.id)
    return list(await session.scalars(query))


async def in_clusters(session: AsyncSession, cluster_codes: Collection[str]) -> list[tuple[Interest, Contact]]:
    """Interests in any of these clusters, and those in no cluster in particular, with their contacts."""
    rows = await session.execute(
        select(Interest, Contact)
        .join(Contact, Contact.id == Interest.contact_id)
        .where(or_(Interest.cluster_code.in_(list(cluster_codes)), Interest.cluster_code.is_(None)))
        .order_by(Interest.id)
    )
    return [(interest, contact) for interest, contact in rows.all()]


async def forget(session: AsyncSession, interests: Sequence[Interest]) -> None:
    if interests:
        await session.execute(delete(Interest).where(Interest.id.in_([i.id for i in interests])))


async def erase_for(session: AsyncSession, contact_id: int) -> None:
    await session.execute(delete(Interest).where(Interest.contact_id == contact_id))
