"""The training itself: staff mark who was present on each training day, drop participants who
leave, and complete the programme.

The participant's own RSVP ("Hadir / Tidak bisa hadir", `attendance`) is what they said before the
day; staff's mark (`attendance_marks`) is what happened, and only marks count as absences. A
participant absent on `absence_limit` training days (catalog, default DEFAULT_ABSENCE_LIMIT) gets
a flag on the application, once, which the export and `blkbot training show` list for staff.

Completion is a time on the application (`completed_at`), not a stage: the stage stays in_training
until the competency test says competent or not yet competent, and the tracer study counts its
months from completion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Final

from sqlalchemy.ext.asyncio import AsyncSession

from outreach.results import change_stage
from storage.models import Application, EventKind, Programme, StaffActionKind, Stage
from storage.repositories import applications, catalog, events
from storage.repositories import training as records
from training import staff
from training.errors import BlkbotError
from training.permissions import Actor, Permission, require, require_programme
from training.validators import clean_text

if TYPE_CHECKING:
    from messages.render import Templates

DEFAULT_ABSENCE_LIMIT: Final = 3
ABSENT_FLAG: Final = "absent_days"
PARTICIPATING: Final = frozenset({Stage.SELECTED, Stage.IN_TRAINING})
"""Stages whose applicants are marked on training days: a selected applicant who turns up starts training."""
REASON_MAX: Final = 300


class TrainingError(BlkbotError):
    """A training step staff asked for that cannot be taken; the message says why."""


@dataclass(frozen=True)
class MarkReport:
    marked: int
    flagged: list[str] = field(default_factory=list)
    """Numbers that reached the absence limit with this marking (flagged now, once)."""


@dataclass(frozen=True)
class Participant:
    """One line of `blkbot training show`."""

    number: str
    name: str | None
    stage: str
    present: int
    absent: int
    said_yes: int
    said_no: int
    flagged: bool
    completed: bool


@dataclass(frozen=True)
class TrainingView:
    programme: Programme
    days: int
    absence_limit: int
    participants: list[Participant]


def absence_limit(programme: Programme) -> int:
    return programme.absence_limit or DEFAULT_ABSENCE_LIMIT


async def mark(
    session: AsyncSession, actor: Actor, event_id: int, numbers: Sequence[str], present: bool, now: datetime
) -> MarkReport:
    """Mark these participants present or absent on one training day; flag those absent too often."""
    require(actor, Permission.MANAGE_TRAINING)
    event = await events.get(session, event_id)
    if event is None or event.kind != EventKind.TRAINING_DAY:
        raise TrainingError(f"no training day with id {event_id} (see blkbot events list)")
    if event.cancelled_at is not None:
        raise TrainingError(f"training day {event_id} was cancelled")
    require_programme(actor, Permission.MANAGE_TRAINING, event.programme)
    wanted = [clean_text(n).upper() for n in numbers]
    found = await applications.by_numbers(session, wanted)
    problems = [n for n in wanted if n not in found or found[n].programme_id != event.programme_id]
    if problems:
        raise TrainingError(f"not an application of {event.programme.code}: {', '.join(problems)}; nothing marked")
    idle = [n for n in wanted if Stage(found[n].stage) not in PARTICIPATING]
    if idle:
        raise TrainingError(f"not in training: {', '.join(idle)}; nothing marked")
    for number in wanted:
        await records.mark(session, event.id, found[number].id, present, actor.label, now)
    if present:  # a selected applicant who turns up starts training (completion counts only those)
        starting = [found[n] for n in wanted if found[n].stage == Stage.SELECTED]
        await applications.set_stage(session, starting, Stage.IN_TRAINING, now)
    flagged = [] if present else await _flag_absent(session, event.programme, [found[n] for n in wanted], now)
    what = "present" if present else "absent"
    await staff.record(
        session, actor, StaffActionKind.ATTENDANCE_MARKED, f"event {event.id}: {len(wanted)} {what}", now
    )
    return MarkReport(len(wanted), flagged)


async def _flag_absent(
    session: AsyncSession, programme: Programme, marked: Sequence[Application], now: datetime
) -> list[str]:
    limit = absence_limit(programme)
    absences = await _absences(session, programme.id)
    flagged = []
    for application in marked:
        days = absences.get(application.id, 0)
        if days >= limit and not is_flagged(application):
            await applications.add_flag(
                session, application, {"flag": ABSENT_FLAG, "days": days, "at": now.isoformat()}
            )
            flagged.append(application.number)
    return flagged


def is_flagged(application: Application) -> bool:
    return any(isinstance(f, dict) and f.get("flag") == ABSENT_FLAG for f in application.flags or [])


async def _absences(session: AsyncSession, programme_id: int) -> dict[int, int]:
    days = await records.training_days(session, programme_id)
    counts: dict[int, int] = {}
    for found in await records.marks(session, [d.id for d in days]):
        if not found.present:
            counts[found.application_id] = counts.get(found.application_id, 0) + 1
    return counts


async def show(session: AsyncSession, actor: Actor, programme_code: str) -> TrainingView:
    """The programme's participants with their days present and absent, and their own RSVP answers."""
    programme = await _programme(session, programme_code)
    require_programme(actor, Permission.MANAGE_TRAINING, programme)
    days = await records.training_days(session, programme.id)
    day_ids = {d.id for d in days}
    marks = await records.marks(session, list(day_ids))
    people = [
        a
        for a in await applications.for_programme(session, programme.id)
        if Stage(a.stage) in PARTICIPATING or a.completed_at is not None or a.id in {m.application_id for m in marks}
    ]
    answers = await events.attendance_of_applications(session, [a.id for a in people])
    rows = []
    for a in people:
        mine = [m for m in marks if m.application_id == a.id]
        said = [
            attending for application_id, event, attending in answers if application_id == a.id and event.id in day_ids
        ]
        rows.append(
            Participant(
                number=a.number,
                name=a.full_name,
                stage=a.stage,
                present=sum(1 for m in mine if m.present),
                absent=sum(1 for m in mine if not m.present),
                said_yes=sum(1 for s in said if s),
                said_no=sum(1 for s in said if not s),
                flagged=is_flagged(a),
                completed=a.completed_at is not None,
            )
        )
    return TrainingView(programme, len(days), absence_limit(programme), rows)


async def drop(
    session: AsyncSession, templates: Templates, actor: Actor, number: str, reason: str, now: datetime
) -> Application:
    """A participant leaves the training: withdrawn, with the reason on record (they are not told:
    the office speaks to them in person)."""
    require(actor, Permission.MANAGE_TRAINING)
    reason = clean_text(reason)
    if not reason:
        raise TrainingError("say why the participant leaves (--reason)")
    if len(reason) > REASON_MAX:
        raise TrainingError(f"the reason is {len(reason)} characters long; at most {REASON_MAX}")
    application = await applications.by_number(session, clean_text(number).upper())
    if application is None:
        raise TrainingError(f"no application {number}")
    require_programme(actor, Permission.MANAGE_TRAINING, application.programme)
    if Stage(application.stage) not in PARTICIPATING:
        raise TrainingError(f"{application.number} is not in training (stage {application.stage})")
    await change_stage(session, templates, [application], Stage.WITHDRAWN, now, reason)
    await staff.record(session, actor, StaffActionKind.TRAINING_DROPPED, application.number, now)
    return application


async def complete(session: AsyncSession, actor: Actor, programme_code: str, now: datetime) -> int:
    """Every participant still in training completes it now; returns how many (0 when done before)."""
    programme = await _programme(session, programme_code)
    require_programme(actor, Permission.MANAGE_TRAINING, programme)
    done = [
        a
        for a in await applications.for_programme(session, programme.id)
        if a.stage == Stage.IN_TRAINING and a.completed_at is None and a.anonymised_at is None
    ]
    await records.set_completed(session, done, now)
    await staff.record(session, actor, StaffActionKind.TRAINING_COMPLETED, f"{programme.code}: {len(done)}", now)
    return len(done)


async def _programme(session: AsyncSession, code: str) -> Programme:
    programme = await catalog.programme(session, clean_text(code).upper())
    if programme is None:
        raise TrainingError(f"unknown programme {code!r}")
    return programme
