"""Events of a programme (tests, interviews, training days) and the applicants' answers to them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, and_, cast, delete, exists, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialects import insert_for
from storage.models import (
    Application,
    Attendance,
    Contact,
    DeliveryStatus,
    Event,
    OutboxMessage,
    Stage,
)


@dataclass(frozen=True)
class AttendanceCounts:
    """What staff see per event: who said they come, who said they cannot, who has not answered."""

    attending: int = 0
    not_attending: int = 0
    unanswered: int = 0


async def add(session: AsyncSession, event: Event) -> Event:
    session.add(event)
    await session.flush()
    return event


async def get(session: AsyncSession, event_id: int) -> Event | None:
    return await session.get(Event, event_id)


async def cancel(session: AsyncSession, event: Event, when: datetime) -> int:
    """Mark the event cancelled and stop its messages that have not gone out; returns how many stopped."""
    event.cancelled_at = when
    await session.flush()
    return await stop_pending(session, event)


async def stop_pending(session: AsyncSession, event: Event) -> int:
    """Stop the event's reminders and notices still waiting in the outbox: they tell a time or place
    that no longer holds. Returns how many reminders were stopped (notices are not counted)."""
    stopped = 0
    for prefix in (f"reminder:{event.id}:", f"event:{event.id}:"):
        result = await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.dedupe_key.startswith(prefix, autoescape=True),
                OutboxMessage.status == DeliveryStatus.PENDING,
            )
            .values(status=DeliveryStatus.CANCELLED)
            .execution_options(synchronize_session=False)
        )
        if prefix.startswith("reminder:"):
            stopped = result.rowcount or 0  # type: ignore[attr-defined]
    return stopped


async def forget_answers(session: AsyncSession, event_id: int) -> int:
    """Drop the attendance answers of an event that moved: "I can come" held for the old time only."""
    result = await session.execute(
        delete(Attendance).where(Attendance.event_id == event_id).execution_options(synchronize_session=False)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


async def starting_between(session: AsyncSession, after: datetime, until: datetime) -> list[Event]:
    """Events not cancelled that start in (after, until]: the only ones a reminder can still be due for."""
    return list(
        await session.scalars(
            select(Event)
            .where(Event.cancelled_at.is_(None), Event.starts_at > after, Event.starts_at <= until)
            .order_by(Event.starts_at, Event.id)
        )
    )


async def listing(
    session: AsyncSession,
    *,
    after: datetime | None = None,
    programme_id: int | None = None,
    include_cancelled: bool = False,
    limit: int | None = None,
) -> list[Event]:
    """Events in time order, for staff: from `after` on (all when None)."""
    query = select(Event).order_by(Event.starts_at, Event.id)
    if after is not None:
        query = query.where(Event.starts_at > after)
    if programme_id is not None:
        query = query.where(Event.programme_id == programme_id)
    if not include_cancelled:
        query = query.where(Event.cancelled_at.is_(None))
    if limit is not None:
        query = query.limit(limit)
    return list(await session.scalars(query))


def _invited(event: Event):  # type: ignore[no-untyped-def]
    """Applications an event's reminders go to: its programme, its stages, not erased or withdrawn."""
    stages = [s for s in event.stages if s != Stage.WITHDRAWN]
    return and_(
        Application.programme_id == event.programme_id,
        Application.stage.in_(stages),
        Application.anonymised_at.is_(None),
        Application.contact_id.is_not(None),
    )


async def recipients(
    session: AsyncSession, event: Event, *, not_keyed: str, declined: bool = False
) -> list[tuple[int, Contact]]:
    """(application id, contact) of everyone the event's messages go to who can be reached, has no
    outbox row keyed `not_keyed + application id` yet and, unless `declined`, has not said they
    cannot come (a reminder is not for them; news that the event moved or was cancelled is).

    Leaving out those already enqueued here, through the unique index on the dedupe key, keeps a
    tick cheap however often it runs during the catch-up window: a reminder is rendered only once.
    """
    keyed = literal(not_keyed, String) + cast(Application.id, String)
    conditions = [
        _invited(event),
        Contact.unreachable.is_(False),
        ~exists().where(OutboxMessage.dedupe_key == keyed),
    ]
    if not declined:
        conditions.append(
            ~exists().where(
                Attendance.event_id == event.id,
                Attendance.application_id == Application.id,
                Attendance.attending.is_(False),
            )
        )
    query = (
        select(Application.id, Contact)
        .join(Contact, Contact.id == Application.contact_id)
        .where(*conditions)
        .order_by(Application.id)
    )
    return [(application_id, contact) for application_id, contact in (await session.execute(query)).all()]


async def application(session: AsyncSession, application_id: int) -> Application | None:
    return await session.get(Application, application_id)


async def upsert_attendance(
    session: AsyncSession, event_id: int, application_id: int, attending: bool, when: datetime
) -> None:
    """Store the latest answer: a second press (changing one's mind) replaces the first."""
    insert = insert_for(session)
    statement = insert(Attendance).values(
        event_id=event_id, application_id=application_id, attending=attending, answered_at=when
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["event_id", "application_id"],
            set_={"attending": statement.excluded.attending, "answered_at": statement.excluded.answered_at},
        )
    )


async def attendance_of(session: AsyncSession, event_id: int, application_id: int) -> Attendance | None:
    return await session.scalar(
        select(Attendance)
        .where(Attendance.event_id == event_id, Attendance.application_id == application_id)
        .execution_options(populate_existing=True)
    )


async def attendance_counts(session: AsyncSession, events: Sequence[Event]) -> dict[int, AttendanceCounts]:
    """Per event: answers given, and applicants invited now (programme and stages) who have not answered.

    An applicant who answered and then left the stages still counts with their answer: staff
    want to know who said they would come.
    """
    if not events:
        return {}
    answered = {
        (event_id, attending): count
        for event_id, attending, count in (
            await session.execute(
                select(Attendance.event_id, Attendance.attending, func.count())
                .where(Attendance.event_id.in_([e.id for e in events]))
                .group_by(Attendance.event_id, Attendance.attending)
            )
        ).all()
    }
    counts = {}
    for event in events:
        unanswered = await session.scalar(
            select(func.count())
            .select_from(Application)
            .where(
                _invited(event),
                ~exists().where(Attendance.event_id == event.id, Attendance.application_id == Application.id),
            )
        )
        counts[event.id] = AttendanceCounts(
            attending=answered.get((event.id, True), 0),
            not_attending=answered.get((event.id, False), 0),
            unanswered=int(unanswered or 0),
        )
    return counts


async def invited_count(session: AsyncSession, event: Event) -> int:
    """How many applications the event's reminders would go to now (reachable or not)."""
    return int(await session.scalar(select(func.count()).select_from(Application).where(_invited(event))) or 0)


async def attendance_of_applications(
    session: AsyncSession, application_ids: Sequence[int]
) -> list[tuple[int, Event, bool]]:
    """(application id, event, attending) of every answer given for these applications, by event time."""
    if not application_ids:
        return []
    rows = await session.execute(
        select(Attendance.application_id, Event, Attendance.attending)
        .join(Event, Event.id == Attendance.event_id)
        .where(Attendance.application_id.in_(list(application_ids)))
        .order_by(Event.starts_at, Event.id)
    )
    return [(application_id, event, attending) for application_id, event, attending in rows.all()]


@dataclass(frozen=True)
class PersonAnswer:
    """One applicant of an event as staff see it: who, and what they answered (None: not yet)."""

    number: str
    full_name: str | None
    attending: bool | None


async def answers_by_person(session: AsyncSession, event: Event) -> list[PersonAnswer]:
    """Everyone invited now or who answered, by registration number: staff call them by name."""
    answered = (
        select(Attendance.attending)
        .where(Attendance.event_id == event.id, Attendance.application_id == Application.id)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(Application.number, Application.full_name, answered)
        .where(
            Application.programme_id == event.programme_id,
            or_(
                _invited(event),
                exists().where(Attendance.event_id == event.id, Attendance.application_id == Application.id),
            ),
        )
        .order_by(Application.number)
    )
    return [PersonAnswer(number, name, attending) for number, name, attending in rows.all()]


async def coming_for_contacts(
    session: AsyncSession, contact_ids: Sequence[int], after: datetime, limit: int
) -> list[tuple[Event, Application, bool | None]]:
    """(event, application, answer) for each event ahead that the applications of the contacts (one
    person's chats) are invited to: the resident's own schedule."""
    answered = (
        select(Attendance.attending)
        .where(Attendance.event_id == Event.id, Attendance.application_id == Application.id)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(Event, Application, answered)
        .join(Application, Application.programme_id == Event.programme_id)
        .where(
            Application.contact_id.in_(list(contact_ids)),
            Application.anonymised_at.is_(None),
            Event.cancelled_at.is_(None),
            Event.starts_at > after,
        )
        .order_by(Event.starts_at, Event.id)
    )
    found = [
        (event, application, attending)
        for event, application, attending in rows.all()
        if application.stage in event.stages and application.stage != Stage.WITHDRAWN
    ]
    return found[:limit]
