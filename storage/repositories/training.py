"""The training's records: staff's attendance marks per training day, certifications, and the
tracer study's rounds."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Application, AttendanceMark, Certification, Event, EventKind, Outcome, Stage


async def training_days(session: AsyncSession, programme_id: int) -> list[Event]:
    """The programme's training days that were not cancelled, in time order."""
    return list(
        await session.scalars(
            select(Event)
            .where(
                Event.programme_id == programme_id,
                Event.kind == EventKind.TRAINING_DAY,
                Event.cancelled_at.is_(None),
            )
            .order_by(Event.starts_at, Event.id)
        )
    )


async def mark(session: AsyncSession, event_id: int, application_id: int, present: bool, by: str, at: datetime) -> None:
    """Store staff's mark; marking again replaces it (a correction)."""
    found = await session.scalar(
        select(AttendanceMark).where(
            AttendanceMark.event_id == event_id, AttendanceMark.application_id == application_id
        )
    )
    if found is None:
        session.add(
            AttendanceMark(
                event_id=event_id, application_id=application_id, present=present, marked_by=by, marked_at=at
            )
        )
    else:
        found.present, found.marked_by, found.marked_at = present, by, at
    await session.flush()


async def marks(session: AsyncSession, event_ids: Sequence[int]) -> list[AttendanceMark]:
    if not event_ids:
        return []
    return list(await session.scalars(select(AttendanceMark).where(AttendanceMark.event_id.in_(list(event_ids)))))


async def certifications(session: AsyncSession, application_ids: Sequence[int]) -> dict[int, Certification]:
    if not application_ids:
        return {}
    query = select(Certification).where(Certification.application_id.in_(sorted(set(application_ids))))
    return {c.application_id: c for c in await session.scalars(query)}


async def set_certification(
    session: AsyncSession,
    application_id: int,
    *,
    competent: bool,
    lsp: str,
    scheme: str,
    certificate_number: str | None,
    tested_on: date,
    by: str,
    at: datetime,
) -> None:
    """Insert or replace the application's certification (a retest replaces the first result)."""
    found = (await certifications(session, [application_id])).get(application_id)
    if found is None:
        found = Certification(application_id=application_id)
        session.add(found)
    found.competent, found.lsp, found.scheme = competent, lsp, scheme
    found.certificate_number, found.tested_on, found.imported_by, found.imported_at = (
        certificate_number,
        tested_on,
        by,
        at,
    )
    await session.flush()


async def set_completed(session: AsyncSession, found: Sequence[Application], at: datetime) -> None:
    for application in found:
        application.completed_at = at
    await session.flush()


async def graduates(session: AsyncSession, completed_after: datetime, completed_before: datetime) -> list[Application]:
    """Applications completed in (after, before] that can still be asked: not erased, not withdrawn."""
    return list(
        await session.scalars(
            select(Application)
            .where(
                Application.completed_at > completed_after,
                Application.completed_at <= completed_before,
                Application.anonymised_at.is_(None),
                Application.contact_id.is_not(None),
                Application.stage != Stage.WITHDRAWN,
            )
            .order_by(Application.id)
        )
    )


async def outcome_rounds(session: AsyncSession, application_ids: Sequence[int]) -> set[tuple[int, int]]:
    """(application id, months) of every round already asked."""
    if not application_ids:
        return set()
    rows = await session.execute(
        select(Outcome.application_id, Outcome.months).where(Outcome.application_id.in_(list(application_ids)))
    )
    return {(a, m) for a, m in rows.all()}


async def add_outcome(session: AsyncSession, application_id: int, months: int, asked_at: datetime) -> Outcome:
    outcome = Outcome(application_id=application_id, months=months, asked_at=asked_at)
    session.add(outcome)
    await session.flush()
    return outcome


async def outcome(session: AsyncSession, outcome_id: int) -> Outcome | None:
    return await session.get(Outcome, outcome_id)


async def mark_reminded(session: AsyncSession, outcome: Outcome, at: datetime) -> None:
    outcome.reminded_at = at
    await session.flush()


async def answer_outcome(
    session: AsyncSession,
    outcome: Outcome,
    *,
    status: str,
    workplace: str | None,
    sector: str | None,
    business: str | None,
    at: datetime,
) -> None:
    outcome.status, outcome.workplace, outcome.sector, outcome.business = status, workplace, sector, business
    outcome.answered_at = at
    await session.flush()


async def unanswered_since(session: AsyncSession, asked_before: datetime) -> list[Outcome]:
    """Rounds asked before `asked_before`, neither answered nor reminded: due their one reminder."""
    return list(
        await session.scalars(
            select(Outcome)
            .where(Outcome.answered_at.is_(None), Outcome.reminded_at.is_(None), Outcome.asked_at <= asked_before)
            .order_by(Outcome.id)
        )
    )


async def outcomes_of(session: AsyncSession, application_ids: Sequence[int]) -> list[Outcome]:
    """The answered rounds of these applications, oldest first (for /dataku and the figures)."""
    if not application_ids:
        return []
    return list(
        await session.scalars(
            select(Outcome)
            .where(Outcome.application_id.in_(list(application_ids)), Outcome.answered_at.is_not(None))
            .order_by(Outcome.application_id, Outcome.months)
        )
    )


async def forget(session: AsyncSession, application_id: int) -> None:
    """Erasure: the tracer answers say where a person works; the certificate number names them at BNSP."""
    await session.execute(
        delete(Outcome).where(Outcome.application_id == application_id).execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Certification)
        .where(Certification.application_id == application_id)
        .values(certificate_number=None)
        .execution_options(synchronize_session=False)
    )
