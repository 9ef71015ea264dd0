"""The office's demand figures as residents leave them: eligible only once an application is sent,
a person turned away counted once however often they try, and the same figures after an erasure."""

from __future__ import annotations

from conversations.runner import Conversations
from storage.db import Database
from tests.conftest import OFFICE
from tests.flow.helpers import Resident, screenings
from training.reports import Counts, funnel


async def boga1(db: Database) -> Counts:
    async with db.transaction() as session:
        figures = await funnel(session, OFFICE)
    return next(p for p in figures.programmes if p.code == "BOGA1").counts


async def turned_away_as_unhealthy(resident: Resident, *, first: bool) -> None:
    await resident.type("/daftar")
    await resident.pick("BOGA1", "BOGA")
    await resident.choose("q_ktp_region", "y")
    await resident.choose("q_healthy", "n")


async def test_a_chat_left_at_the_summary_is_not_counted_eligible(siti: Resident, db: Database) -> None:
    await siti.walk_to_summary()

    counts = await boga1(db)
    assert (counts.eligible, counts.ineligible) == (0, 0)

    await siti.submit()

    counts = await boga1(db)
    assert (counts.eligible, counts.ineligible, counts.registered) == (1, 0, 1)


async def test_one_resident_turned_away_three_times_counts_once_and_once_more_after_erasing(
    siti: Resident, conversations: Conversations, db: Database
) -> None:
    for attempt in range(3):
        await turned_away_as_unhealthy(siti, first=attempt == 0)
    other = Resident(conversations, "budi")
    await turned_away_as_unhealthy(other, first=True)
    assert len(await screenings(db)) == 4

    counts = await boga1(db)
    assert (counts.eligible, counts.ineligible, counts.by_rule) == (0, 2, {"healthy": 2})

    await siti.type("/hapusdata")
    await siti.press("Ya, hapus data saya")

    assert await boga1(db) == counts
    kept = await screenings(db)
    assert len(kept) == 2
    assert sorted(s.contact_id is None for s in kept) == [False, True]  # Siti's one row names no one
