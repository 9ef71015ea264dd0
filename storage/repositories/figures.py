"""Queries behind `blkbot report`: what an application went through beyond its current stage.

An application's stage says where it is now; a withdrawn one no longer says how far it got. These
queries give the history the funnel needs (passed the check, took a seat, what the graduate does
now), and the people a rule turned away; training.figures does the counting.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    Application,
    DecisionKind,
    Outcome,
    Screening,
    SeatAnswer,
    SeatOffer,
    SelectionDecision,
)
from storage.repositories.applications import latest_screenings


async def passed_check(session: AsyncSession) -> set[int]:
    """Applications whose latest administrative check passed them, whatever their stage now."""
    latest = (
        select(func.max(SelectionDecision.id))
        .where(SelectionDecision.kind == DecisionKind.ADMIN_CHECK)
        .group_by(SelectionDecision.application_id)
    )
    rows = await session.scalars(
        select(SelectionDecision.application_id).where(
            SelectionDecision.id.in_(latest), SelectionDecision.outcome == "passed"
        )
    )
    return set(rows)


async def seat_confirmed(session: AsyncSession) -> set[int]:
    """Applications that confirmed a seat (daftar ulang), whatever their stage now."""
    rows = await session.scalars(select(SeatOffer.application_id).where(SeatOffer.answer == SeatAnswer.CONFIRMED))
    return set(rows)


async def latest_outcomes(session: AsyncSession) -> dict[int, str]:
    """Each graduate's latest answered tracer round: application id -> OutcomeStatus value."""
    rows = await session.execute(
        select(Outcome.application_id, Outcome.months, Outcome.status).where(Outcome.answered_at.is_not(None))
    )
    latest: dict[int, tuple[int, str]] = {}
    for application_id, months, status in rows.all():
        if application_id not in latest or months > latest[application_id][0]:
            latest[application_id] = (months, status)
    return {application_id: status for application_id, (_, status) in latest.items()}


async def turned_away(session: AsyncSession) -> list[tuple[int, datetime]]:
    """(programme id, when) of each person a rule turned away, by their latest outcome per programme,
    unless they sent an application to it all the same (that one counts them)."""
    applied = select(Application.id).where(
        and_(Application.programme_id == Screening.programme_id, Application.contact_id == Screening.contact_id)
    )
    rows = await session.execute(
        select(Screening.programme_id, Screening.created_at).where(
            Screening.id.in_(latest_screenings()), Screening.eligible.is_(False), ~applied.exists()
        )
    )
    return [(pid, when) for pid, when in rows.all()]
