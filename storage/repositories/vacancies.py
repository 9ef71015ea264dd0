"""Job vacancies: stored, listed while open, closed, and the people each one should reach."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import (
    EARNING,
    Application,
    Contact,
    DeliveryStatus,
    OutboxMessage,
    Outcome,
    Programme,
    Stage,
    Vacancy,
)


def dedupe_key(vacancy_id: int, contact_id: int) -> str:
    """The outbox key of one vacancy's message to one person: posting again never sends twice."""
    return f"vacancy:{vacancy_id}:{contact_id}"


def _key_prefix(vacancy_id: int) -> str:
    return f"vacancy:{vacancy_id}:%"  # the trailing ":" keeps vacancy 1 from matching vacancy 10


async def add(session: AsyncSession, vacancy: Vacancy) -> Vacancy:
    session.add(vacancy)
    await session.flush()
    return vacancy


async def get(session: AsyncSession, vacancy_id: int) -> Vacancy | None:
    return await session.get(Vacancy, vacancy_id)


async def open_vacancies(session: AsyncSession, today: date, cluster: str | None = None) -> list[Vacancy]:
    """Vacancies not closed whose deadline is today or later, soonest deadline first.

    With `cluster`, those that list it plus those that list no cluster (they suit anyone).
    The cluster test runs here rather than in SQL because `clusters` is a JSON list, which
    SQLite and PostgreSQL query differently, and the open vacancies of one office are a handful.
    """
    query = (
        select(Vacancy)
        .where(Vacancy.closed_at.is_(None), Vacancy.deadline >= today)
        .order_by(Vacancy.deadline, Vacancy.id)
    )
    found = list(await session.scalars(query))
    if cluster is None:
        return found
    return [v for v in found if not v.clusters or cluster in v.clusters]


async def every(session: AsyncSession, *, open_on: date | None = None) -> list[Vacancy]:
    """All vacancies, newest first (only the open ones when `open_on` is given)."""
    query = select(Vacancy).order_by(Vacancy.id.desc())
    if open_on is not None:
        query = query.where(Vacancy.closed_at.is_(None), Vacancy.deadline >= open_on)
    return list(await session.scalars(query))


async def close(session: AsyncSession, vacancy: Vacancy, when: datetime) -> int:
    """Close the vacancy and cancel its messages still waiting in the outbox; return how many.

    A message already claimed by a worker (status sending) is left alone: it may be on the wire.
    """
    if vacancy.closed_at is None:
        vacancy.closed_at = when
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.dedupe_key.like(_key_prefix(vacancy.id)), OutboxMessage.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.CANCELLED, last_error="vacancy closed")
        .execution_options(synchronize_session=False)
    )
    await session.flush()
    return result.rowcount or 0  # type: ignore[attr-defined]


async def delivery_counts(session: AsyncSession, vacancy_id: int) -> dict[str, int]:
    """Outbox statuses of one vacancy's messages: {"sent": 120, "pending": 3, ...}."""
    rows = await session.execute(
        select(OutboxMessage.status, func.count())
        .where(OutboxMessage.dedupe_key.like(_key_prefix(vacancy_id)))
        .group_by(OutboxMessage.status)
    )
    return {status: count for status, count in rows.all()}


async def recipients(session: AsyncSession, clusters: Sequence[str]) -> list[Contact]:
    """Who hears of a vacancy: subscribed, reachable contacts, each once, in id order.

    With clusters, only those holding an application for a programme of one of them, in any
    stage but withdrawn (applicants, trainees and graduates alike: a graduate's application
    ends in "competent"). Without clusters, every subscriber. Erased people drop out by
    themselves: erasure unsubscribes them and detaches their applications.

    Graduates whose latest tracer answer says they work or run their own business are left out:
    they told the office they are settled (they can still browse /lowongan, and a later answer
    "still looking" brings them back).
    """
    query = select(Contact).where(Contact.subscribed, ~Contact.unreachable, Contact.id.not_in(settled_graduates()))
    if clusters:
        suited = (
            select(Application.contact_id)
            .join(Programme, Application.programme_id == Programme.id)
            .where(
                Programme.cluster_code.in_(list(clusters)),
                Application.stage != Stage.WITHDRAWN.value,
                Application.contact_id.is_not(None),
            )
        )
        query = query.where(Contact.id.in_(suited))
    return list(await session.scalars(query.order_by(Contact.id)))


def settled_graduates() -> Select[tuple[int | None]]:
    """Contact ids whose most recent tracer answer (over all their applications) is working or own business."""
    later_outcome, later_application = aliased(Outcome), aliased(Application)
    answered_later = (
        select(later_outcome.id)
        .join(later_application, later_outcome.application_id == later_application.id)
        .where(
            later_application.contact_id == Application.contact_id,
            later_outcome.answered_at.is_not(None),
            later_outcome.answered_at > Outcome.answered_at,
        )
    )
    return (
        select(Application.contact_id)
        .join(Outcome, Outcome.application_id == Application.id)
        .where(
            Application.contact_id.is_not(None),
            Outcome.answered_at.is_not(None),
            Outcome.status.in_(EARNING),
            ~answered_later.exists(),
        )
    )
