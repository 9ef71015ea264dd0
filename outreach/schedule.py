"""The staff's schedule as a service: adding, moving and cancelling events, and the schedule with
its answers.

Each change tells the applicants concerned at once (an invitation, a move, a cancellation: news of
their own application, so /berhenti does not stop it), besides the reminders before the event.
Every change takes the acting staff member, needs manage_events and is recorded in the staff
audit, so the CLI, a chat command and a later console page all go through the same checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from messages.render import Templates
from outreach.outbox import Push, enqueue
from outreach.reminders import ScheduleError, describe_event, kind_of, local_zone, rsvp_buttons
from storage.models import Event, EventKind, Origin, Programme, StaffActionKind, Stage
from storage.repositories import catalog, events
from storage.repositories.events import AttendanceCounts, PersonAnswer
from training import staff
from training.permissions import Actor, Permission, require, require_programme, within
from training.stages import UnknownStage, parse_stage
from training.validators import clean_text

DEFAULT_STAGES: Mapping[str, tuple[Stage, ...]] = {
    EventKind.WRITTEN_TEST: (Stage.ADMIN_PASSED,),
    EventKind.INTERVIEW: (Stage.ADMIN_PASSED,),
    EventKind.TRAINING_START: (Stage.SELECTED, Stage.IN_TRAINING),
    EventKind.TRAINING_DAY: (Stage.SELECTED, Stage.IN_TRAINING),
    EventKind.COMPETENCY_TEST: (Stage.IN_TRAINING,),
}
"""Who is invited when staff do not say: the funnel's stage at that point (DOMAIN.md). An "other"
event has no sensible default, so staff name its stages."""


@dataclass(frozen=True)
class EventChange:
    """What adding, moving or cancelling an event did: the event, how many applicants were told,
    and how many reminders still waiting were dropped (they named the old time or place)."""

    event: Event
    told: int
    stopped: int = 0


@dataclass(frozen=True)
class EventView:
    """One line of the staff's schedule."""

    event: Event
    programme: Programme
    local_start: datetime
    counts: AttendanceCounts
    people: list[PersonAnswer] = field(default_factory=list)

    @property
    def cancelled(self) -> bool:
        return self.event.cancelled_at is not None


def parse_stages(text: str) -> tuple[Stage, ...]:
    stages: list[Stage] = []
    for raw in filter(None, (s.strip() for s in text.split(","))):
        try:
            stage = parse_stage(raw)
        except UnknownStage as unknown:
            raise ScheduleError(str(unknown)) from None
        if stage == Stage.WITHDRAWN:
            raise ScheduleError("withdrawn applicants get no reminders; pick other stages")
        if stage not in stages:
            stages.append(stage)
    if not stages:
        raise ScheduleError(f"no stages given in {text!r}")
    return tuple(stages)


async def add_event(
    session: AsyncSession,
    templates: Templates,
    actor: Actor,
    *,
    programme_code: str,
    kind: str,
    starts_local: datetime,
    place: str,
    now: datetime,
    bring: str | None = None,
    note: str | None = None,
    stages: Sequence[Stage] | None = None,
) -> EventChange:
    """Add an event of a programme at `starts_local` (a wall-clock time in the catalog city) and
    invite its applicants now, with "Hadir / Tidak bisa hadir" buttons."""
    programme = await _programme(session, programme_code)
    require_programme(actor, Permission.MANAGE_EVENTS, programme)
    try:
        kind = EventKind(kind).value
    except ValueError:
        raise ScheduleError(f"unknown event kind {kind!r}; kinds: {', '.join(k.value for k in EventKind)}") from None
    if stages is None:
        if kind not in DEFAULT_STAGES:
            raise ScheduleError(f"an event of kind {kind!r} has no default stages: say who is invited with --stages")
        stages = DEFAULT_STAGES[kind]
    zone = await local_zone(session)
    event = await events.add(
        session,
        Event(
            programme_id=programme.id,
            kind=kind,
            starts_at=_start(starts_local, zone, now),
            place=_place(place),
            bring=_bring(bring),
            note=clean_text(note or "", multiline=True) or None,
            stages=[Stage(s).value for s in stages],
            created_by=actor.label,
            created_at=now,
        ),
    )
    told = await _tell(session, templates, event, "invitation", f"event:{event.id}:invited:", zone, now)
    await staff.record(session, actor, StaffActionKind.EVENT_ADDED, _target(event, zone), now)
    return EventChange(event, told)


async def change_event(
    session: AsyncSession,
    templates: Templates,
    actor: Actor,
    event_id: int,
    *,
    now: datetime,
    starts_local: datetime | None = None,
    place: str | None = None,
    bring: str | None = None,
) -> EventChange:
    """Move an event to another time or place (or change what to bring) and tell its applicants.

    Reminders and notices still waiting are dropped, as they name the old time or place, and the
    event's reminders start afresh for the new one. Moving the time forgets the answers given
    ("I can come" held for the old time), so the notice asks again.
    """
    require(actor, Permission.MANAGE_EVENTS)
    event = await _coming(session, event_id, now)
    require_programme(actor, Permission.MANAGE_EVENTS, event.programme)
    zone = await local_zone(session)
    before = {"when": event.starts_at.astimezone(zone), "place": event.place}
    starts_at = _start(starts_local, zone, now) if starts_local is not None else event.starts_at
    new_place = _place(place) if place is not None else event.place
    new_bring = _bring(bring) if bring is not None else event.bring
    if (starts_at, new_place, new_bring) == (event.starts_at, event.place, event.bring):
        raise ScheduleError(f"event {event_id}: nothing to change (give a new --at, --place or --bring)")
    moved = starts_at != event.starts_at
    event.starts_at, event.place, event.bring = starts_at, new_place, new_bring
    event.revision += 1
    stopped = await events.stop_pending(session, event)
    if moved:
        await events.forget_answers(session, event.id)
    prefix = f"event:{event.id}:r{event.revision}:"
    told = await _tell(session, templates, event, "changed", prefix, zone, now, before=before, moved=moved)
    await staff.record(
        session, actor, StaffActionKind.EVENT_CHANGED, f"{_target(event, zone)} (r{event.revision})", now
    )
    return EventChange(event, told, stopped)


async def cancel_event(
    session: AsyncSession, templates: Templates, actor: Actor, event_id: int, now: datetime
) -> EventChange:
    """Cancel an event: its reminders still waiting are not sent, and its applicants are told."""
    require(actor, Permission.MANAGE_EVENTS)
    event = await events.get(session, event_id)
    if event is None:
        raise ScheduleError(f"no event {event_id}")
    require_programme(actor, Permission.MANAGE_EVENTS, event.programme)
    if event.cancelled_at is not None:
        raise ScheduleError(f"event {event_id} was already cancelled")
    stopped = await events.cancel(session, event, now)
    zone = await local_zone(session)
    told = 0
    if event.starts_at > now:  # after the event, a cancellation is only the staff's bookkeeping
        told = await _tell(session, templates, event, "cancelled", f"event:{event.id}:cancelled:", zone, now)
    await staff.record(session, actor, StaffActionKind.EVENT_CANCELLED, _target(event, zone), now)
    return EventChange(event, told, stopped)


async def schedule(
    session: AsyncSession,
    now: datetime,
    *,
    programme_code: str | None = None,
    include_past: bool = False,
    include_cancelled: bool = False,
    limit: int | None = None,
    with_people: bool = False,
    actor: Actor,
) -> list[EventView]:
    """The events staff look at, with the attendance answers so far (and, `with_people`, who gave them);
    an actor of one venue sees its programmes' events only."""
    programme = await _programme(session, programme_code) if programme_code is not None else None
    if programme is not None:
        require_programme(actor, Permission.MANAGE_EVENTS, programme)
    scoped = actor.scoped
    rows = await events.listing(
        session,
        after=None if include_past else now,
        programme_id=programme.id if programme is not None else None,
        include_cancelled=include_cancelled,
        limit=None if scoped else limit,
    )
    rows = within(actor, rows, lambda e: e.programme.venue_code)[:limit]
    zone = await local_zone(session)
    counts = await events.attendance_counts(session, rows)
    return [
        EventView(
            e,
            e.programme,
            e.starts_at.astimezone(zone),
            counts[e.id],
            await events.answers_by_person(session, e) if with_people else [],
        )
        for e in rows
    ]


async def invited_count(session: AsyncSession, event: Event) -> int:
    return await events.invited_count(session, event)


# -- helpers -----------------------------------------------------------------------------------


async def _tell(
    session: AsyncSession,
    templates: Templates,
    event: Event,
    notice: str,
    prefix: str,
    zone: ZoneInfo,
    now: datetime,
    **extra: Any,
) -> int:
    """Enqueue `events/<notice>` for every applicant the event concerns, even one who said they
    cannot come: a new time or a cancellation is news to them too."""
    recipients = await events.recipients(session, event, not_keyed=prefix, declined=True)
    texts: dict[str, str] = {}
    pushes = []
    for application_id, contact in recipients:
        lang = contact.language
        if lang not in texts:
            about = describe_event(event, lang, zone, now)
            about["kind_name"] = templates.label(lang, f"reminders/kind/{kind_of(event)}")
            texts[lang] = templates.render(lang, f"events/{notice}", **about, **extra)
        buttons = [] if notice == "cancelled" else rsvp_buttons(templates, lang, event.id, application_id)
        pushes.append(Push(contact, Origin.EVENT, f"{prefix}{application_id}", texts[lang], buttons))
    return await enqueue(session, pushes, now)


async def _programme(session: AsyncSession, code: str) -> Programme:
    programme = await catalog.programme(session, code)
    if programme is None:
        known = ", ".join(p.code for p in await catalog.programmes(session))
        raise ScheduleError(f"unknown programme {code!r}; programmes: {known}")
    return programme


async def _coming(session: AsyncSession, event_id: int, now: datetime) -> Event:
    event = await events.get(session, event_id)
    if event is None:
        raise ScheduleError(f"no event {event_id}")
    if event.cancelled_at is not None:
        raise ScheduleError(f"event {event_id} was cancelled; add a new one instead")
    if event.starts_at <= now:
        raise ScheduleError(f"event {event_id} has started already; add a new one instead")
    return event


def _start(starts_local: datetime, zone: ZoneInfo, now: datetime) -> datetime:
    starts_at = starts_local.replace(tzinfo=zone) if starts_local.tzinfo is None else starts_local
    if starts_at <= now:
        raise ScheduleError(f"{starts_at.astimezone(zone):%Y-%m-%d %H:%M} ({zone.key}) is in the past")
    return starts_at.astimezone(UTC)


def _place(place: str) -> str:
    place = clean_text(place)
    if not place:
        raise ScheduleError("the place is empty: say where the event is")
    if len(place) > 300:
        raise ScheduleError(f"the place has {len(place)} characters, at most 300")
    return place


def _bring(bring: str | None) -> str | None:
    bring = clean_text(bring or "")
    if len(bring) > 500:
        raise ScheduleError(f"what to bring has {len(bring)} characters, at most 500")
    return bring or None


def _target(event: Event, zone: ZoneInfo) -> str:
    """How the audit names an event: by id, kind, programme and local time; no resident's data."""
    return (
        f"event {event.id}: {event.kind} of {event.programme.code} at {event.starts_at.astimezone(zone):%Y-%m-%d %H:%M}"
    )
