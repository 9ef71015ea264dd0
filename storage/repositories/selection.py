"""The selection's records: decisions per application, component scores, and seat offers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Application, Score, SeatOffer, SelectionDecision


async def record(
    session: AsyncSession,
    application: Application,
    *,
    kind: str,
    outcome: str,
    actor: str,
    at: datetime,
    reason: str | None = None,
    note: str | None = None,
) -> None:
    session.add(
        SelectionDecision(
            application_id=application.id,
            kind=kind,
            outcome=outcome[:64],
            reason=reason,
            note=note[:300] if note else None,
            actor=actor[:100],
            created_at=at,
        )
    )
    await session.flush()


async def decisions(session: AsyncSession, application_id: int) -> list[SelectionDecision]:
    """Every decision about one application, oldest first."""
    return list(
        await session.scalars(
            select(SelectionDecision)
            .where(SelectionDecision.application_id == application_id)
            .order_by(SelectionDecision.created_at, SelectionDecision.id)
        )
    )


async def forget_notes(session: AsyncSession, application_id: int) -> None:
    """Erasure: the staff's notes may quote the person; what was decided, by whom and when stays."""
    for decision in await decisions(session, application_id):
        decision.note = None
    await session.flush()


async def scores(session: AsyncSession, application_ids: Sequence[int]) -> dict[int, dict[str, float]]:
    """Each application's scores by component (applications without any are absent)."""
    found: dict[int, dict[str, float]] = {}
    ids = sorted(set(application_ids))
    for start in range(0, len(ids), 1000):
        query = select(Score).where(Score.application_id.in_(ids[start : start + 1000]))
        for score in await session.scalars(query):
            found.setdefault(score.application_id, {})[score.component] = score.value
    return found


async def set_scores(session: AsyncSession, values: Iterable[tuple[int, str, float]], at: datetime) -> None:
    """Insert or replace (application id, component, value) scores."""
    values = list(values)
    existing = {
        (s.application_id, s.component): s
        for s in await session.scalars(
            select(Score).where(Score.application_id.in_(sorted({v[0] for v in values}) or [-1]))
        )
    }
    for application_id, component, value in values:
        score = existing.get((application_id, component))
        if score is None:
            session.add(Score(application_id=application_id, component=component, value=value, updated_at=at))
        else:
            score.value, score.updated_at = value, at
    await session.flush()


async def add_offer(
    session: AsyncSession, application: Application, offered_at: datetime, deadline: datetime
) -> SeatOffer:
    offer = SeatOffer(application_id=application.id, offered_at=offered_at, deadline=deadline)
    session.add(offer)
    await session.flush()
    return offer


async def offer(session: AsyncSession, offer_id: int) -> SeatOffer | None:
    return await session.get(SeatOffer, offer_id)


async def open_offers(session: AsyncSession, application_ids: Sequence[int]) -> dict[int, SeatOffer]:
    """The unanswered offer of each of these applications that has one."""
    if not application_ids:
        return {}
    query = select(SeatOffer).where(SeatOffer.application_id.in_(list(application_ids)), SeatOffer.answer.is_(None))
    return {o.application_id: o for o in await session.scalars(query)}


async def lapsed_offers(session: AsyncSession, now: datetime, limit: int = 500) -> list[SeatOffer]:
    """Unanswered offers whose deadline passed, oldest first; on PostgreSQL a second worker skips
    the rows this one holds, so no offer is expired (and no one promoted) twice."""
    query = (
        select(SeatOffer)
        .where(SeatOffer.answer.is_(None), SeatOffer.deadline <= now)
        .order_by(SeatOffer.deadline, SeatOffer.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=SeatOffer)
    )
    return list(await session.scalars(query))


async def answer_offer(session: AsyncSession, offer: SeatOffer, answer: str, at: datetime) -> None:
    offer.answer, offer.answered_at = answer, at
    await session.flush()
