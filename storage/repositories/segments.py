"""Who a segment reaches: contacts selected through their applications, or all subscribers."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, String, cast, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import PUSH_CHANNELS, Application, Contact, Programme, Stage


def recipients_query(
    *,
    cluster: str | None = None,
    programme: str | None = None,
    wave: int | None = None,
    stages: Sequence[str] = (),
    district: str | None = None,
    graduates_of: str | None = None,
    subscribed_only: bool = True,
) -> Select[tuple[int]]:
    """Contact ids, each once. Filters combine with AND; with none, every subscriber. Erased people
    are never among them (their applications are detached too)."""
    query = select(Contact.id).where(
        Contact.unreachable.is_(False), Contact.erased_at.is_(None), Contact.channel.in_(PUSH_CHANNELS)
    )
    if subscribed_only:
        query = query.where(Contact.subscribed.is_(True))
    by_application = any((cluster, programme, wave, stages, district, graduates_of))
    if by_application:
        query = query.join(Application, Application.contact_id == Contact.id).join(
            Programme, Programme.id == Application.programme_id
        )
        query = query.where(Application.stage != Stage.WITHDRAWN)
        if cluster:
            query = query.where(Programme.cluster_code == cluster)
        if programme:
            query = query.where(Programme.code == programme)
        if wave is not None:
            query = query.where(Programme.wave == wave)
        if stages:
            query = query.where(Application.stage.in_(list(stages)))
        if district:
            query = query.where(Application.district_code == district)
        if graduates_of:
            query = query.where(Programme.cluster_code == graduates_of, Application.stage == Stage.COMPETENT)
    return query.distinct()


async def contacts(session: AsyncSession, query: Select[tuple[int]]) -> list[Contact]:
    ids = select(query.subquery().c[0])
    return list(await session.scalars(select(Contact).where(Contact.id.in_(ids)).order_by(Contact.id)))


async def count(session: AsyncSession, query: Select[tuple[int]]) -> int:
    """People, not chats: contacts sharing a verified phone are one person (training.people)."""
    person = func.coalesce(Contact.verified_phone, cast(Contact.id, String))
    ids = select(query.subquery().c[0])
    return int(await session.scalar(select(func.count(distinct(person))).where(Contact.id.in_(ids))) or 0)
