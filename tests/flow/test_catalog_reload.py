"""The running bot keeps the catalog in memory: a catalog loaded meanwhile (by `blkbot catalog load`
in another process) reaches the conversations within the cache's time, and never too late to stop a
registration for a programme that left the catalog."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import inspect

from conversations.context import Services
from conversations.runner import Conversations
from messages.render import Templates
from storage.db import Database
from tests.conftest import JAKARTA, Clock, Ticks
from tests.flow.helpers import Resident, Words, application_count, last_number
from training.catalog import Catalog
from training.catalog_store import store_catalog
from training.catalog_view import CatalogCache


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def cache(ticks: Ticks) -> CatalogCache:
    return CatalogCache(ttl=30, clock=ticks)


@pytest.fixture
def siti(db: Database, templates: Templates, clock: Clock, cache: CatalogCache) -> Resident:
    services = Services(templates=templates, timezone=JAKARTA, clock=clock, catalog=cache)
    return Resident(Conversations(db, services), "siti")


async def load(db: Database, catalog: Catalog) -> None:
    """What `blkbot catalog load` does, from outside the bot's process."""
    async with db.transaction() as session:
        await store_catalog(session, catalog, "reloaded.toml")


def renamed_culinary(catalog: Catalog) -> Catalog:
    clusters = tuple(
        replace(c, name={"id": "Kuliner & Roti", "en": "Cooking & baking"}) if c.code == "BOGA" else c
        for c in catalog.clusters
    )
    return replace(catalog, clusters=clusters)


def without(catalog: Catalog, code: str) -> Catalog:
    return replace(catalog, programmes=tuple(p for p in catalog.programmes if p.code != code))


async def test_a_catalog_loaded_meanwhile_is_shown_once_the_cache_time_has_passed(
    siti: Resident, db: Database, demo_catalog: Catalog, ticks: Ticks
) -> None:
    await siti.type("/daftar")
    assert "Tata Boga" in siti.buttons

    await load(db, renamed_culinary(demo_catalog))
    ticks.seconds += 29
    await siti.type("/daftar")  # asks the cluster again
    assert "Tata Boga" in siti.buttons  # still the snapshot

    ticks.seconds += 2
    await siti.type("/daftar")
    assert "Kuliner & Roti" in siti.buttons
    assert "Tata Boga" not in siti.buttons


async def test_a_programme_dropped_while_the_resident_is_at_the_summary_is_refused_at_once(
    siti: Resident, db: Database, demo_catalog: Catalog, words: Words, ticks: Ticks
) -> None:
    await siti.walk_to_summary("BOGA1", "BOGA")
    await load(db, without(demo_catalog, "BOGA1"))  # the cache still lists BOGA1 as open

    await siti.submit()

    assert siti.text == words("registration/closed_meanwhile")
    assert await application_count(db) == 0
    assert await last_number(db, "BOGA1") == 0


async def test_submitting_leaves_the_shared_catalog_rows_as_they_were(
    siti: Resident, db: Database, cache: CatalogCache
) -> None:
    await siti.walk_to_summary("BOGA1", "BOGA")
    await siti.submit()
    assert await last_number(db, "BOGA1") == 1

    async with db.transaction() as session:
        view = await cache.current(session)
    boga1 = view.programme("BOGA1")
    assert boga1 is not None
    assert boga1.last_number == 0  # as read into the snapshot: the counter lives in the database only
    assert inspect(boga1).detached and inspect(boga1.venue).detached
