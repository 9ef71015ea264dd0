"""Queries behind the staff's exports and figures; the counting itself lives in training.reports."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Application, District, Programme


async def applications_for_export(session: AsyncSession, programme_id: int | None) -> list[Application]:
    """Applications of one programme (None: all), in catalog order then by number.

    Each comes with its programme, cluster and venue loaded, so a row needs no further query.
    """
    query = (
        select(Application)
        .join(Programme, Application.programme_id == Programme.id)
        .order_by(Programme.position, Programme.code, Application.id)
    )
    if programme_id is not None:
        query = query.where(Application.programme_id == programme_id)
    return list(await session.scalars(query))


async def district_names(session: AsyncSession) -> dict[str, str]:
    """Every district ever loaded, retired ones included: old applications still point at them."""
    return {d.code: d.name for d in await session.scalars(select(District))}
