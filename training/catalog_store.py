"""Putting a parsed catalog into the database, where the running bot reads it.

A programme the new file no longer lists is closed (hidden from residents, its applications
kept). When it has applications, that must be said: the load is refused, naming each such
programme, unless staff close it explicitly (`blkbot catalog load FILE --close CODE`). A
programme left out of a file by a careless edit so never disappears from under its applicants.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from storage import models
from storage.repositories import catalog as catalog_repo
from training.catalog import Catalog
from training.catalog_file import parse_catalog
from training.eligibility import rule_to_json
from training.errors import CatalogError


class ProgrammesDropped(CatalogError):
    """A catalog that leaves out programmes with applications, which staff did not close."""

    def __init__(self, source: str, dropped: dict[str, int]) -> None:
        listing = ", ".join(f"{code} ({n} applications)" for code, n in dropped.items())
        close = " ".join(f"--close {code}" for code in dropped)
        super().__init__(
            source,
            f"the file leaves out programmes that have applications: {listing}; nothing changed. "
            f"Put them back in the file, or close them with `blkbot catalog load {source} {close}`",
        )
        self.dropped = dropped


async def store_catalog(session: AsyncSession, catalog: Catalog, source: str, close: Collection[str] = ()) -> None:
    """Replace the stored catalog with `catalog`, in the caller's transaction (all or nothing).

    `close` names the programmes staff close on purpose; a left-out programme with applications
    that is not named raises ProgrammesDropped before anything is written.
    """
    await _check_dropped(session, catalog, source, {code.strip().upper() for code in close})
    city = catalog.city
    await catalog_repo.replace(
        session,
        info=models.CatalogInfo(
            city=city.name,
            region=city.region,
            office=city.office,
            timezone=city.timezone,
            source=source,
            office_phone=city.contact.phone,
            office_whatsapp=city.contact.whatsapp,
            office_email=city.contact.email,
            office_address=city.contact.address,
            office_hours=city.contact.hours,
        ),
        regions=[models.Region(code=r.code, name=r.name) for r in catalog.regions],
        districts=[models.District(code=d.code, name=d.name) for d in catalog.districts],
        clusters=[models.Cluster(code=c.code, name=dict(c.name), position=i) for i, c in enumerate(catalog.clusters)],
        venues=[models.Venue(code=v.code, kind=v.kind.value, name=v.name, address=v.address) for v in catalog.venues],
        programmes=[
            models.Programme(
                code=p.code,
                cluster_code=p.cluster,
                venue_code=p.venue,
                name=dict(p.name),
                description=dict(p.description) if p.description else None,
                funding=p.funding.value,
                wave=p.wave,
                registration_opens=p.registration_opens,
                registration_closes=p.registration_closes,
                training_starts=p.training_starts,
                training_ends=p.training_ends,
                quota=p.quota,
                rules=[rule_to_json(r) for r in p.rules],
                score_weights=dict(p.score_weights) or None,
                seat_deadline_hours=p.seat_deadline_hours,
                absence_limit=p.absence_limit,
                documents=list(p.documents) or None,
                position=i,
            )
            for i, p in enumerate(catalog.programmes)
        ],
    )


async def _check_dropped(session: AsyncSession, catalog: Catalog, source: str, close: set[str]) -> None:
    listed = {p.code for p in catalog.programmes}
    active = {p.code: p.id for p in await catalog_repo.programmes(session) if p.active}
    for code in sorted(close):
        if code in listed:
            raise CatalogError(
                source, f"--close {code}: the file still lists {code}; remove it from the file to close it"
            )
        if code not in active:
            raise CatalogError(source, f"--close {code}: no open programme {code} (open: {', '.join(sorted(active))})")
    left_out = {code: pid for code, pid in active.items() if code not in listed and code not in close}
    counts = await catalog_repo.application_counts(session, list(left_out.values()))
    dropped = {code: counts[pid] for code, pid in sorted(left_out.items()) if counts.get(pid)}
    if dropped:
        raise ProgrammesDropped(source, dropped)


async def load_catalog_file(session: AsyncSession, path: Path) -> Catalog:
    """Parse (raising CatalogError before anything is written) and store."""
    catalog = parse_catalog(path)
    await store_catalog(session, catalog, str(path))
    return catalog
