"""The catalog in the database: replaced as a whole by `blkbot catalog load`, read by the flows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    ACTIVE_STAGES,
    Application,
    CatalogInfo,
    Cluster,
    District,
    Programme,
    Region,
    Venue,
)

PROGRAMMES = Programme.__table__

_OPEN_PROGRAMME = select(PROGRAMMES.c.code, PROGRAMMES.c.training_starts).where(
    PROGRAMMES.c.id == bindparam("programme"),
    PROGRAMMES.c.active,
    PROGRAMMES.c.registration_opens <= bindparam("today"),
    PROGRAMMES.c.registration_closes >= bindparam("today"),
)
"""`Programme.is_open` as a query, built once: every submission asks it."""


async def replace(
    session: AsyncSession,
    *,
    info: CatalogInfo,
    regions: Sequence[Region],
    districts: Sequence[District],
    clusters: Sequence[Cluster],
    venues: Sequence[Venue],
    programmes: Sequence[Programme],
) -> None:
    """Make the database say what the file says.

    Rows are merged by code: a programme keeps its id and its registration counter, so
    applications stay attached. What the file no longer lists is deactivated, not deleted,
    because applications may point at it.
    """
    info.id = 1
    await session.merge(info)
    for row in (*regions, *venues):
        await session.merge(row)
    await session.execute(update(District).values(active=False))
    await session.execute(update(Cluster).values(active=False))
    await session.execute(update(Programme).values(active=False))
    for row in (*districts, *clusters):
        row.active = True
        await session.merge(row)
    await session.flush()
    existing = {p.code: p for p in await session.scalars(select(Programme))}
    for programme in programmes:
        current = existing.get(programme.code)
        if current is None:
            programme.active = True
            programme.last_number = 0
            session.add(programme)
            continue
        for column in Programme.__table__.columns.keys():  # noqa: SIM118 (names, not Column objects)
            if column not in ("id", "last_number"):
                setattr(current, column, getattr(programme, column))
        current.active = True
    await session.flush()


async def info(session: AsyncSession) -> CatalogInfo | None:
    return await session.get(CatalogInfo, 1)


async def programme(session: AsyncSession, code: str) -> Programme | None:
    return await session.scalar(select(Programme).where(Programme.code == code))


async def open_programme(session: AsyncSession, programme_id: int, today: date) -> tuple[str, date] | None:
    """The programme's code and training start if it takes registrations on `today`, else None:
    what a submission checks and numbers with, read from the stored catalog without loading the row."""
    row = (await session.execute(_OPEN_PROGRAMME, {"programme": programme_id, "today": today})).first()
    return (row.code, row.training_starts) if row else None


async def programmes(session: AsyncSession) -> list[Programme]:
    return list(await session.scalars(select(Programme).order_by(Programme.position, Programme.code)))


async def clusters(session: AsyncSession) -> list[Cluster]:
    """Every cluster the catalog ever had, in catalog order: a vacancy or a broadcast may be for
    the graduates of a cluster that no longer trains anyone."""
    return list(await session.scalars(select(Cluster).order_by(Cluster.position, Cluster.code)))


async def cluster(session: AsyncSession, code: str) -> Cluster | None:
    return await session.get(Cluster, code)


async def all_districts(session: AsyncSession) -> list[District]:
    """Listed or not: an application keeps the district it named when the catalog dropped it."""
    return list(await session.scalars(select(District).order_by(District.code)))


async def regions(session: AsyncSession) -> dict[str, str]:
    return {r.code: r.name for r in await session.scalars(select(Region))}


async def application_counts(session: AsyncSession, programme_ids: Sequence[int]) -> dict[int, int]:
    """Applications per programme in any stage: what a programme's records hold."""
    if not programme_ids:
        return {}
    rows = await session.execute(
        select(Application.programme_id, func.count())
        .where(Application.programme_id.in_(programme_ids))
        .group_by(Application.programme_id)
    )
    return {pid: count for pid, count in rows.all()}


_REGISTERED_COUNTS = (
    select(Application.programme_id, func.count())
    .where(
        Application.programme_id.in_(bindparam("programmes", expanding=True)),
        Application.stage.in_(list(ACTIVE_STAGES)),
    )
    .group_by(Application.programme_id)
)


async def registered_counts(session: AsyncSession, programme_ids: Sequence[int]) -> dict[int, int]:
    """Applications holding a seat (active stages) per programme (prebuilt: every programme card asks)."""
    if not programme_ids:
        return {}
    rows = await session.execute(_REGISTERED_COUNTS, {"programmes": list(programme_ids)})
    return {pid: count for pid, count in rows.all()}
