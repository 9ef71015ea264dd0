"""The report's figures (training.figures) on a small intake made through the chat and the staff
services: exact funnel numbers, unmet demand, sources over time, district, sex and age."""

from __future__ import annotations

import pytest

from conversations.runner import Conversations
from messages.render import Templates
from storage.db import Database
from storage.models import StaffRole
from tests.flow.figures_intake import ADMIN, build_intake
from training.figures import FUNNEL, Figures, FiguresError, Filters, report
from training.permissions import Actor, NotAllowed


@pytest.fixture
async def intake(db: Database, conversations: Conversations, templates: Templates) -> Database:
    await build_intake(db, conversations, templates)
    return db


async def figures(db: Database, filters: Filters | None = None, actor: Actor = ADMIN) -> Figures:
    async with db.transaction() as session:
        return await report(session, actor, filters or Filters())


def row(figures: Figures, key: str, first: str) -> tuple[str | int, ...]:
    return next(r for r in figures.table(key).rows if r[0] == first)


async def test_the_funnel_counts_each_step_once(intake: Database) -> None:
    found = await figures(intake)
    table = found.table("funnel")
    assert table.headers == ("Program", *FUNNEL)
    assert row(found, "funnel", "BOGA1") == ("BOGA1", 6, 5, 4, 2, 2, 1, 1)
    assert row(found, "funnel", "JUMLAH")[1:] == (6, 5, 4, 2, 2, 1, 1)
    for counts in table.rows:
        steps = list(counts[1:])
        assert steps == sorted(steps, reverse=True), counts
    assert row(found, "funnel", "LAS1")[1:] == (0,) * 7  # open, nobody yet


async def test_unmet_demand_sources_and_people(intake: Database) -> None:
    found = await figures(intake)
    assert row(found, "unmet", "BOGA")[2:] == (2, 5, 2, 3)  # quota, eligible, seated, without a seat
    assert found.table("sources").rows == (("BOGA1__poster_a", 2, 1), ("BOGA1__poster_b", 2, 1), ("(tanpa kode)", 1, 0))
    assert found.period == "minggu"
    assert found.table("sources_over_time").rows == (
        ("2026-11-02", "BOGA1__poster_a", 2),
        ("2026-11-02", "BOGA1__poster_b", 1),
        ("2026-11-09", "(tanpa kode)", 1),
        ("2026-11-09", "BOGA1__poster_b", 1),
    )
    assert found.table("districts").rows == (
        ("Pekalongan Barat", 2, 1),
        ("Pekalongan Timur", 2, 1),
        ("Pekalongan Utara", 1, 0),
    )
    assert found.table("sexes").rows == (("Laki-laki", 3, 1), ("Perempuan", 2, 1))
    assert found.table("ages").rows == (("15–24", 1, 0), ("25–34", 4, 2), ("35–44", 0, 0), ("45+", 0, 0))


async def test_filters_narrow_the_figures(intake: Database) -> None:
    by_month = await figures(intake, Filters(year=2026))
    assert by_month.period == "bulan"
    assert by_month.table("sources_over_time").rows == (
        ("2026-11", "(tanpa kode)", 1),
        ("2026-11", "BOGA1__poster_a", 2),
        ("2026-11", "BOGA1__poster_b", 2),
    )
    assert (await figures(intake, Filters(year=2025))).empty

    las = await figures(intake, Filters(programme="las1"))
    assert las.empty and [r[0] for r in las.table("funnel").rows] == ["LAS1"]

    boga = await figures(intake, Filters(cluster="BOGA"))
    assert [r[0] for r in boga.table("funnel").rows] == ["BOGA1"]  # one programme: no JUMLAH row
    assert [r[0] for r in boga.table("unmet").rows] == ["BOGA"]

    with pytest.raises(FiguresError, match="unknown programme 'NOPE'"):
        await figures(intake, Filters(programme="NOPE"))
    with pytest.raises(FiguresError, match="unknown cluster"):
        await figures(intake, Filters(cluster="NOPE"))


async def test_an_account_without_view_applicants_is_refused(intake: Database) -> None:
    with pytest.raises(NotAllowed, match="view_applicants"):
        await figures(intake, actor=Actor("telegram", "9", "Tamu", "guest"))
    operator = await figures(intake, actor=Actor("telegram", "8", "Ani", StaffRole.OPERATOR))
    assert row(operator, "funnel", "BOGA1")[1] == 6


async def test_venue_staff_see_only_their_own_venues_figures(intake: Database) -> None:
    rasa = Actor("telegram", "7", "Dewi", StaffRole.VENUE, venue="LPKS-RASA")  # BOGA1's venue
    own = await figures(intake, actor=rasa)
    assert [r[0] for r in own.table("funnel").rows][:1] == ["BOGA1"]
    assert row(own, "funnel", "BOGA1")[1] == 6
    other = Actor("telegram", "6", "Joko", StaffRole.VENUE, venue="BLK-PKL")
    shown = await figures(intake, actor=other)
    assert "BOGA1" not in [r[0] for r in shown.table("funnel").rows]
    assert shown.empty
    with pytest.raises(NotAllowed, match="BOGA1"):
        await figures(intake, Filters(programme="BOGA1"), actor=other)


async def test_an_empty_database_has_nothing_to_report(db: Database) -> None:
    found = await figures(db)
    assert found.empty
    assert all(r[1:] == (0,) * 7 for r in found.table("funnel").rows)
