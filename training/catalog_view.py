"""The stored catalog as the conversations read it: one snapshot in memory, shared by every turn.

Nearly every turn of a registration reads the catalog (the chosen programme's rules, the open
clusters, the districts), and the catalog changes only when staff run `blkbot catalog load`.
Reading it from the database on every turn cost about a third of a turn's queries, so the runner
keeps a snapshot and reads it again at most every `ttl` seconds: a catalog loaded by another
process reaches a running bot within that time. What changes with every registration (seats
taken, the number counter) is never read from here.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import CatalogInfo, Cluster, District, Programme
from storage.repositories import catalog
from training.catalog import OfficeContact


@dataclass(frozen=True)
class CatalogView:
    """Rows detached from any session: read them, never change them (other turns share them)."""

    info: CatalogInfo | None = None
    clusters: tuple[Cluster, ...] = ()
    """Every cluster the catalog ever had, in catalog order."""
    programmes: tuple[Programme, ...] = ()
    """Every programme, inactive ones included, in catalog order."""
    all_districts: Mapping[str, District] = field(default_factory=dict)
    regions: Mapping[str, str] = field(default_factory=dict)
    """Region code -> name."""

    @property
    def office(self) -> str:
        """The office's name (the privacy notice names it; residents are sent to it)."""
        return self.info.office if self.info else ""

    @property
    def office_contact(self) -> OfficeContact:
        info = self.info
        if info is None:
            return OfficeContact()
        return OfficeContact(
            phone=info.office_phone,
            whatsapp=info.office_whatsapp,
            email=info.office_email,
            address=info.office_address,
            hours=info.office_hours,
        )

    def programme(self, code: str) -> Programme | None:
        return next((p for p in self.programmes if p.code == code), None)

    def cluster(self, code: str) -> Cluster | None:
        return next((c for c in self.clusters if c.code == code), None)

    def district(self, code: str) -> District | None:
        """Also a district the catalog no longer lists: an answer given before a reload still has a name."""
        return self.all_districts.get(code)

    def districts(self) -> list[District]:
        """The districts a resident may choose, by code."""
        return sorted((d for d in self.all_districts.values() if d.active), key=lambda d: d.code)

    def open_programmes(self, today: date, cluster: str | None = None) -> list[Programme]:
        return [p for p in self.programmes if p.is_open(today) and (cluster is None or p.cluster_code == cluster)]

    def clusters_with_open_programmes(self, today: date) -> list[Cluster]:
        open_codes = {p.cluster_code for p in self.open_programmes(today)}
        return [c for c in self.clusters if c.active and c.code in open_codes]


class CatalogCache:
    """Hands each turn the current `CatalogView`, reading the database at most every `ttl` seconds."""

    def __init__(self, ttl: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._view = CatalogView()
        self._loaded_at = -math.inf

    async def current(self, session: AsyncSession) -> CatalogView:
        if self.clock() - self._loaded_at > self.ttl:
            self._view = await read_view(session)
            self._loaded_at = self.clock()
        return self._view

    def invalidate(self) -> None:
        """The next turn reads the catalog afresh (after this process loaded a new one)."""
        self._loaded_at = -math.inf


async def read_view(session: AsyncSession) -> CatalogView:
    """Read the whole catalog in `session` and detach it, so that nothing the transaction does
    later (a counter bumped with UPDATE ... RETURNING) writes into the shared rows."""
    info = await catalog.info(session)
    clusters = await catalog.clusters(session)
    programmes = await catalog.programmes(session)
    districts = await catalog.all_districts(session)
    regions = await catalog.regions(session)
    rows = [info, *clusters, *programmes, *(p.venue for p in programmes), *districts]
    for row in rows:
        if row is not None and row in session:
            session.expunge(row)
    return CatalogView(
        info=info,
        clusters=tuple(clusters),
        programmes=tuple(programmes),
        all_districts={d.code: d for d in districts},
        regions=regions,
    )
