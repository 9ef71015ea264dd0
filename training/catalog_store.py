"""Putting a parsed catalog into the database, where the running bot reads it."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from storage import models
from storage.repositories import catalog as catalog_repo
from training.catalog import Catalog
from training.catalog_file import parse_catalog
from training.eligibility import rule_to_json


async def store_catalog(session: AsyncSession, catalog: Catalog, source: str) -> None:
    """Replace the stored catalog with `catalog`, in the caller's transaction (all or nothing)."""
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
                position=i,
            )
            for i, p in enumerate(catalog.programmes)
        ],
    )


async def load_catalog_file(session: AsyncSession, path: Path) -> Catalog:
    """Parse (raising CatalogError before anything is written) and store."""
    catalog = parse_catalog(path)
    await store_catalog(session, catalog, str(path))
    return catalog
