"""The training itself: staff mark who was present on each training day, drop participants who
leave, and complete the programme.

The participant's own RSVP ("Hadir / Tidak bisa hadir", `attendance`) is what they said before the
day; staff's mark (`attendance_marks`) is what happened, and only marks count as absences. A
participant absent on `absence_limit` training days (catalog, default DEFAULT_ABSENCE_LIMIT) gets
a flag on the application, once, which the export and `blkbot training show` list for staff.

The first participant marked present starts the training: their unanswered seat offer counts as
confirmed, and the programme's waitlist closes (training/waitlist.py). A whole class is marked at
once with `mark_all`, or from the day's sheet (`write_sheet`, then `plan_sheet` and `apply_sheet`).

Completion is a time on the application (`completed_at`), not a stage: the stage stays in_training
until the competency test says competent or not yet competent, and the tracer study counts its
months from completion.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from outreach.results import change_stage
from storage.models import Application, Event, EventKind, Programme, StaffActionKind, Stage
from storage.repositories import applications, catalog, events
from storage.repositories import training as records
from training import staff, waitlist
from training.errors import BlkbotError, Problem
from training.permissions import Actor, Permission, require, require_programme
from training.seats import confirm_attending
from training.staff_files import ImportProblem, cell, read_table, write_worksheet
from training.validators import clean_text

if TYPE_CHECKING:
    from messages.render import Templates

DEFAULT_ABSENCE_LIMIT: Final = 3
ABSENT_FLAG: Final = "absent_days"
PARTICIPATING: Final = frozenset({Stage.SELECTED, Stage.IN_TRAINING})
"""Stages whose applicants are marked on training days: a selected applicant who turns up starts training."""
REASON_MAX: Final = 300
STARTED_NOTE: Final = "pelatihan dimulai"


class TrainingError(BlkbotError):
    """A training step staff asked for that cannot be taken; the message says why."""


@dataclass(frozen=True)
class MarkReport:
    marked: int
    flagged: list[str] = field(default_factory=list)
    """Numbers that reached the absence limit with this marking (flagged now, once)."""
    not_selected: list[str] = field(default_factory=list)
    """Numbers left on the waitlist when this marking started the training (training/waitlist.py)."""


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
    session: AsyncSession,
    templates: Templates,
    actor: Actor,
    event_id: int,
    numbers: Sequence[str],
    present: bool,
    now: datetime,
) -> MarkReport:
    """Mark these participants present or absent on one training day; flag those absent too often."""
    event = await training_day(session, actor, event_id)
    wanted = [clean_text(n).upper() for n in numbers]
    found = await applications.by_numbers(session, wanted)
    problems = [n for n in wanted if n not in found or found[n].programme_id != event.programme_id]
    if problems:
        raise TrainingError(f"not an application of {event.programme.code}: {', '.join(problems)}; nothing marked")
    idle = [n for n in wanted if Stage(found[n].stage) not in PARTICIPATING]
    if idle:
        raise TrainingError(f"not in training: {', '.join(idle)}; nothing marked")
    return await _mark(session, templates, actor, event, [found[n] for n in wanted], present, now)


async def mark_all(
    session: AsyncSession, templates: Templates, actor: Actor, event_id: int, absent: Sequence[str], now: datetime
) -> tuple[MarkReport, MarkReport]:
    """The whole class present on one training day except `absent`, who are marked absent; the
    reports of both markings."""
    event = await training_day(session, actor, event_id)
    everyone = {a.number: a for a in await expected(session, event)}
    away = [clean_text(n).upper() for n in absent]
    strangers = [n for n in away if n not in everyone]
    if strangers:
        raise TrainingError(f"not a participant of {event.programme.code}: {', '.join(strangers)}; nothing marked")
    here = [a for n, a in everyone.items() if n not in away]
    return (
        await _mark(session, templates, actor, event, here, True, now),
        await _mark(session, templates, actor, event, [everyone[n] for n in away], False, now),
    )


async def training_day(session: AsyncSession, actor: Actor, event_id: int) -> Event:
    """The training day staff name, if it is one, not cancelled, and of the actor's venue."""
    require(actor, Permission.MANAGE_TRAINING)
    event = await events.get(session, event_id)
    if event is None or event.kind != EventKind.TRAINING_DAY:
        raise TrainingError(f"no training day with id {event_id} (see blkbot events list)")
    if event.cancelled_at is not None:
        raise TrainingError(f"training day {event_id} was cancelled")
    require_programme(actor, Permission.MANAGE_TRAINING, event.programme)
    return event


async def expected(session: AsyncSession, event: Event) -> list[Application]:
    """Who is expected on a training day: the programme's participants, by number."""
    found = [
        a
        for a in await applications.for_programme(session, event.programme_id)
        if Stage(a.stage) in PARTICIPATING and a.anonymised_at is None
    ]
    return sorted(found, key=lambda a: a.number)


async def _mark(
    session: AsyncSession,
    templates: Templates,
    actor: Actor,
    event: Event,
    marked: Sequence[Application],
    present: bool,
    now: datetime,
) -> MarkReport:
    if not marked:
        return MarkReport(0)
    for application in marked:
        await records.mark(session, event.id, application.id, present, actor.label, now)
    closed: list[Application] = []
    if present:  # a selected applicant who turns up starts training (completion counts only those)
        starting = [a for a in marked if a.stage == Stage.SELECTED]
        await confirm_attending(session, marked, actor.label, now)
        await applications.set_stage(session, starting, Stage.IN_TRAINING, now)
        closed = await waitlist.close(session, templates, event.programme, actor.label, STARTED_NOTE, now)
    flagged = [] if present else await _flag_absent(session, event.programme, marked, now)
    what = "present" if present else "absent"
    await staff.record(
        session, actor, StaffActionKind.ATTENDANCE_MARKED, f"event {event.id}: {len(marked)} {what}", now
    )
    return MarkReport(len(marked), flagged, [a.number for a in closed])


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


SHEET_HEADER: Final = ("hari_pelatihan", "tanggal", "nomor", "nama", "jawaban_peserta", "hadir")
SHEET_COLUMNS: Final = {
    "day": ("hari_pelatihan", "training_day"),
    "number": ("nomor", "number"),
    "present": ("hadir", "present"),
}
PRESENT_CHOICES: Final = {"Hadir": True, "Tidak hadir": False}
"""The drop-down of the "hadir" column; a blank cell leaves the day's mark as it is."""
PRESENT_WORDS: Final = {**{w.lower(): p for w, p in PRESENT_CHOICES.items()}, "present": True, "absent": False}
SHEET_ROWS_MAX: Final = 2_000


@dataclass(frozen=True)
class SheetRow:
    line: int
    number: str
    present: bool


@dataclass(frozen=True)
class SheetPlan:
    """What importing a training day's sheet would do: marks to set, rows already so, rows left
    blank, and problems by line (any problem and nothing is applied)."""

    source: str
    event_id: int | None
    rows: tuple[SheetRow, ...]
    changes: tuple[SheetRow, ...]
    unchanged: int
    blank: int
    problems: tuple[Problem, ...]

    @property
    def present(self) -> list[str]:
        return [r.number for r in self.changes if r.present]

    @property
    def absent(self) -> list[str]:
        return [r.number for r in self.changes if not r.present]

    @property
    def applicable(self) -> bool:
        return not self.problems and self.event_id is not None


async def write_sheet(session: AsyncSession, actor: Actor, event_id: int, out: Path, zone: ZoneInfo) -> int:
    """Write a training day's attendance sheet to `out`, one row per expected participant with
    their own answer beside and a "hadir" drop-down (today's marks filled in); returns the rows."""
    event = await training_day(session, actor, event_id)
    people = await expected(session, event)
    marks = {m.application_id: m.present for m in await records.marks(session, [event.id])}
    said = {
        a: yes
        for a, day, yes in await events.attendance_of_applications(session, [p.id for p in people])
        if day.id == event.id
    }
    when = f"{event.starts_at.astimezone(zone):%Y-%m-%d %H:%M}"
    words: dict[bool | None, str] = {present: word for word, present in PRESENT_CHOICES.items()}
    answers: dict[bool | None, str] = {True: "akan hadir", False: "tidak bisa hadir"}
    rows = [
        [
            str(event.id),
            when,
            a.number,
            a.full_name or "",
            answers.get(said.get(a.id), ""),
            words.get(marks.get(a.id), ""),
        ]
        for a in people
    ]

    write_worksheet(
        out,
        f"hadir {event.programme.code} {event.id}",
        SHEET_HEADER,
        rows,
        choices={"F": list(PRESENT_CHOICES)},
        widths=(15, 17, 18, 28, 18, 13),
        freeze="D2",
        rows_max=SHEET_ROWS_MAX,
    )
    return len(rows)


def read_sheet(path: Path) -> tuple[str, int | None, list[SheetRow], int, list[Problem]]:
    """The sheet's training day, its filled-in rows, how many were left blank, and problems by line."""
    table = read_table(path, "hari_pelatihan,nomor,hadir")
    positions = table.positions(dict(SHEET_COLUMNS))
    if len(positions) < len(SHEET_COLUMNS):
        found = ", ".join(repr(h) for h in table.header)
        raise ImportProblem(table.source, [Problem(1, f"expected the attendance sheet's header, found {found}")])
    problems = list(table.problems)
    rows: list[SheetRow] = []
    days: set[str] = set()
    blank = 0
    for line, record in table.rows:
        number = cell(record, positions["number"]).upper()
        day = cell(record, positions["day"])
        word = cell(record, positions["present"]).lower()
        if not number:
            problems.append(Problem(line, "the number is empty"))
            continue
        days.add(day)
        if not word:
            blank += 1
        elif word not in PRESENT_WORDS:
            problems.append(
                Problem(line, f"{number}: 'hadir' is {word!r}; choose Hadir or Tidak hadir (or leave it empty)")
            )
        else:
            rows.append(SheetRow(line, number, PRESENT_WORDS[word]))
    event_id = int(next(iter(days))) if len(days) == 1 and next(iter(days)).isdigit() else None
    if days and event_id is None:
        problems.append(Problem(None, "the sheet must be of one training day (column hari_pelatihan, as written)"))
    return table.source, event_id, rows, blank, problems


async def plan_sheet(session: AsyncSession, actor: Actor, path: Path) -> SheetPlan:
    """What importing the filled-in sheet would mark; changes nothing."""
    source, event_id, rows, blank, problems = read_sheet(path)
    return await _plan_sheet(session, actor, source, event_id, rows, blank, problems)


async def _plan_sheet(
    session: AsyncSession,
    actor: Actor,
    source: str,
    event_id: int | None,
    rows: Sequence[SheetRow],
    blank: int,
    problems: Sequence[Problem],
) -> SheetPlan:
    problems = list(problems)
    changes: list[SheetRow] = []
    unchanged = 0
    if event_id is not None:
        event = await training_day(session, actor, event_id)
        found = await applications.by_numbers(session, [r.number for r in rows])
        marks = {m.application_id: m.present for m in await records.marks(session, [event.id])}
        first: dict[str, int] = {}
        for row in rows:
            application = found.get(row.number)
            if row.number in first:
                problems.append(Problem(row.line, f"{row.number} is listed already on line {first[row.number]}"))
            elif application is None or application.programme_id != event.programme_id:
                problems.append(Problem(row.line, f"{row.number} is not an application of {event.programme.code}"))
            elif Stage(application.stage) not in PARTICIPATING:
                problems.append(Problem(row.line, f"{row.number} is not in training (stage {application.stage})"))
            elif marks.get(application.id) == row.present:
                unchanged += 1
            else:
                changes.append(row)
            first.setdefault(row.number, row.line)
    return SheetPlan(
        source,
        event_id,
        tuple(rows),
        tuple(changes),
        unchanged,
        blank,
        tuple(sorted(problems, key=lambda p: p.line or 0)),
    )


async def apply_sheet(
    session: AsyncSession, templates: Templates, actor: Actor, plan: SheetPlan, now: datetime
) -> tuple[MarkReport, MarkReport]:
    """Set the plan's marks in the caller's transaction, all or nothing, if nothing changed since the
    preview; the reports of the present and the absent marking."""
    if not plan.applicable or plan.event_id is None:
        raise TrainingError("this sheet has problems; nothing was marked")
    fresh = await _plan_sheet(session, actor, plan.source, plan.event_id, plan.rows, plan.blank, ())
    if fresh != plan:
        raise TrainingError("the participants changed since the preview; nothing was marked, import the sheet again")
    return (
        await mark(session, templates, actor, plan.event_id, plan.present, True, now),
        await mark(session, templates, actor, plan.event_id, plan.absent, False, now),
    )
