"""Reminders of a programme's events: when they are due, who gets them, and the answers.

The schedule lives in the database (events, with the stages whose applicants are invited); the
periodic job only asks "what is due now?" and enqueues it. A reminder is due at its offset from
the event (default: the day before at 17:00 local time, and two hours before), local meaning the
catalog city's zone, so a Bontang event at 08:00 WITA is reminded at 17:00 WITA the day before.
After a restart or a down-time the job catches up on reminders that fell due in the last hours,
as long as their event has not started; the dedupe key makes every tick idempotent.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from messages.render import Templates
from outreach.outbox import Push, enqueue
from storage.errors import BlkbotError
from storage.models import Contact, Event, EventKind, Origin, Programme
from storage.repositories import catalog, events
from training import people

log = logging.getLogger(__name__)

DEFAULT_TIMEZONE = "Asia/Jakarta"
DEFAULT_OFFSETS_SETTING = "1d@17:00,2h"
CATCH_UP = timedelta(hours=6)
"""How long after its due time a reminder is still sent (after a down-time), if the event is ahead."""
LATE = timedelta(minutes=2)
"""A reminder enqueued later than this after its due time counts as caught up, in the tick's counts."""

RSVP_ACTION = "rsvp"
"""The engine's action (conversations/reminders.py) that the buttons' data "@rsvp|..." reaches."""


class ScheduleError(BlkbotError):
    """Staff asked for an event or an offset that cannot be: the message says what and why."""


# -- offsets -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReminderOffset:
    """When a reminder is due relative to its event: `days_before_at` a local wall-clock time
    ("1d@17:00": the evening before, whatever the hour of the event), or `before` by a duration
    ("2h")."""

    kind: Literal["days_before_at", "before"]
    days: int = 0
    at: time | None = None
    delta: timedelta | None = None

    @classmethod
    def days_before_at(cls, days: int, at: time) -> ReminderOffset:
        if days < 0:
            raise ScheduleError(f"reminder offset: days before must be 0 or more, got {days}")
        return cls("days_before_at", days=days, at=at.replace(second=0, microsecond=0, tzinfo=None))

    @classmethod
    def before(cls, delta: timedelta) -> ReminderOffset:
        if delta <= timedelta(0):
            raise ScheduleError(f"reminder offset: the time before the event must be positive, got {delta}")
        return cls("before", delta=delta)

    @property
    def key(self) -> str:
        """The offset's name in dedupe keys and logs: "1d@17.00" (no colon: keys are colon-separated), "2h", "1h30m"."""
        if self.kind == "days_before_at":
            assert self.at is not None
            return f"{self.days}d@{self.at:%H.%M}"
        assert self.delta is not None
        minutes = int(self.delta.total_seconds() // 60)
        days, rest = divmod(minutes, 24 * 60)
        hours, minutes = divmod(rest, 60)
        return "".join(f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n) or "0m"

    @property
    def max_lead(self) -> timedelta:
        """The longest time this offset can fall before an event (a 23:59 event, a 00:00 reminder)."""
        if self.kind == "days_before_at":
            return timedelta(days=self.days + 1, hours=1)
        assert self.delta is not None
        return self.delta

    def due_at(self, starts_at: datetime, zone: ZoneInfo) -> datetime:
        """The moment (UTC) this reminder of an event starting at `starts_at` is due."""
        if self.kind == "before":
            assert self.delta is not None
            return (starts_at - self.delta).astimezone(UTC)
        assert self.at is not None
        day = starts_at.astimezone(zone).date() - timedelta(days=self.days)
        return datetime.combine(day, self.at, tzinfo=zone).astimezone(UTC)

    def __str__(self) -> str:
        return self.key


_DAYS_AT = re.compile(r"(\d+)d@(\d{1,2})[:.](\d{2})")
_BEFORE = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?")


def parse_offsets(setting: str) -> list[ReminderOffset]:
    """Read "1d@17:00,2h" (the setting's format): days before at a local time, or a duration
    before made of d, h and m ("90m", "1h30m"). Repeats are dropped."""
    offsets: dict[str, ReminderOffset] = {}
    for raw in setting.split(","):
        part = raw.strip().lower().replace(" ", "")
        if not part:
            continue
        offset = _parse_offset(part, raw.strip())
        offsets.setdefault(offset.key, offset)
    if not offsets:
        raise ScheduleError(f"reminder offsets {setting!r}: none given; use e.g. {DEFAULT_OFFSETS_SETTING}")
    return list(offsets.values())


def _parse_offset(part: str, raw: str) -> ReminderOffset:
    if match := _DAYS_AT.fullmatch(part):
        days, hour, minute = (int(g) for g in match.groups())
        if hour > 23 or minute > 59:
            raise ScheduleError(f"reminder offset {raw!r}: {hour:02d}:{minute:02d} is not a time of day")
        return ReminderOffset.days_before_at(days, time(hour, minute))
    match = _BEFORE.fullmatch(part)
    if match and any(match.groups()):
        days, hours, minutes = (int(g or 0) for g in match.groups())
        return ReminderOffset.before(timedelta(days=days, hours=hours, minutes=minutes))
    raise ScheduleError(
        f"reminder offset {raw!r} not understood: use e.g. 1d@17:00 (the day before at 17:00) or 2h (two hours before)"
    )


DEFAULT_OFFSETS = tuple(parse_offsets(DEFAULT_OFFSETS_SETTING))


# -- the periodic job ----------------------------------------------------------------------------


async def local_zone(session: AsyncSession) -> ZoneInfo:
    """The catalog city's zone (WIB, WITA ...): "the day before at 17:00" is 17:00 there."""
    info = await catalog.info(session)
    try:
        return ZoneInfo(info.timezone if info is not None and info.timezone else DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        log.warning("catalog time zone %r unknown: using %s", info.timezone if info else None, DEFAULT_TIMEZONE)
        return ZoneInfo(DEFAULT_TIMEZONE)


def dedupe_prefix(event_id: int, offset: ReminderOffset, revision: int = 0) -> str:
    """ "reminder:12:2h:", then "reminder:12:2h:r1:" once the event was moved: the new time is reminded afresh."""
    return f"reminder:{event_id}:{offset.key}:" + (f"r{revision}:" if revision else "")


def rsvp_data(event_id: int, application_id: int, attending: bool) -> str:
    """A button's data: "@rsvp|12.3456.y" (the engine's "@" action prefix; far below 64 bytes)."""
    return f"@{RSVP_ACTION}|{event_id}.{application_id}.{'y' if attending else 'n'}"


def parse_rsvp(payload: str) -> tuple[int, int, bool] | None:
    """(event id, application id, attending) from "12.3456.y", or None for anything else."""
    parts = payload.split(".")
    if len(parts) != 3 or not all(p.isascii() and p.isdigit() for p in parts[:2]) or parts[2] not in ("y", "n"):
        return None
    return int(parts[0]), int(parts[1]), parts[2] == "y"


async def enqueue_due_reminders(
    session: AsyncSession,
    templates: Templates,
    now: datetime,
    offsets: Sequence[ReminderOffset] = DEFAULT_OFFSETS,
    catch_up: timedelta = CATCH_UP,
    lookahead: timedelta = timedelta(0),
) -> dict[str, int]:
    """Enqueue every reminder due in (now - catch_up, now + lookahead] whose event is still ahead.

    One reminder per invited applicant (programme, stages, not erased, reachable), in their own
    language, with "Hadir / Tidak bisa hadir" buttons. A reminder due later than `now` (within
    `lookahead`) waits in the outbox until its due time, so a job ticking every minute still
    delivers on the minute. When two offsets of one event are due at once (the bot was down, or
    the event was added late), only the later one is sent: one reminder is enough.

    Returns counts for the log: events looked at, (event, offset) pairs due, reminders enqueued,
    pairs passed over for a later one, and reminders enqueued late (caught up).
    """
    now = now.astimezone(UTC)
    offsets = list(offsets)
    counts = {"events": 0, "due": 0, "enqueued": 0, "superseded": 0, "late": 0}
    if not offsets:
        return counts
    zone = await local_zone(session)
    until = now + lookahead
    horizon = max(o.max_lead for o in offsets) + lookahead
    for event in await events.starting_between(session, now, now + horizon):
        counts["events"] += 1
        due = sorted(
            ((offset.due_at(event.starts_at, zone), offset) for offset in offsets),
            key=lambda pair: pair[0],
        )
        due = [(at, offset) for at, offset in due if now - catch_up < at <= until and at < event.starts_at]
        if not due:
            continue
        counts["superseded"] += len(due) - 1
        at, offset = due[-1]
        counts["due"] += 1
        added = await _enqueue_reminder(session, templates, event, offset, zone, now, at)
        counts["enqueued"] += added
        if now - at > LATE:
            counts["late"] += added
    return counts


async def _enqueue_reminder(
    session: AsyncSession,
    templates: Templates,
    event: Event,
    offset: ReminderOffset,
    zone: ZoneInfo,
    now: datetime,
    due: datetime,
) -> int:
    prefix = dedupe_prefix(event.id, offset, event.revision)
    recipients = await events.recipients(session, event, not_keyed=prefix)
    if not recipients:
        return 0
    # The text names no one, so it is rendered once per language (and the outbox holds no personal data).
    texts: dict[str, str] = {}
    pushes = []
    for application_id, contact in recipients:
        lang = contact.language
        if lang not in texts:
            texts[lang] = render_reminder(templates, lang, event, zone, now)
        buttons = rsvp_buttons(templates, lang, event.id, application_id)
        pushes.append(Push(contact, Origin.REMINDER, f"{prefix}{application_id}", texts[lang], buttons))
    # Due later than now (lookahead): the outbox holds it until then.
    return await enqueue(session, pushes, max(due, now))


def rsvp_buttons(templates: Templates, lang: str, event_id: int, application_id: int) -> list[list[dict[str, Any]]]:
    """ "Hadir / Tidak bisa hadir" under a reminder or an invitation, for one application."""
    return [
        [
            {"label": templates.label(lang, "reminders/button_yes"), "data": rsvp_data(event_id, application_id, True)},
            {"label": templates.label(lang, "reminders/button_no"), "data": rsvp_data(event_id, application_id, False)},
        ]
    ]


def render_reminder(templates: Templates, lang: str, event: Event, zone: ZoneInfo, now: datetime) -> str:
    return templates.render(lang, f"reminders/{kind_of(event)}", **describe_event(event, lang, zone, now))


def describe_event(event: Event, lang: str, zone: ZoneInfo, now: datetime) -> dict[str, Any]:
    """What the reminder and RSVP templates say about an event, in the city's local time."""
    when = event.starts_at.astimezone(zone)
    days = (when.date() - now.astimezone(zone).date()).days
    return {
        "kind": kind_of(event),
        "programme": programme_name(event.programme, lang),
        "code": event.programme.code,
        "when": when,
        "place": event.place,
        "bring": event.bring or "",
        "note": event.note or "",
        "day": {0: "today", 1: "tomorrow"}.get(days, ""),
    }


def kind_of(event: Event) -> str:
    """The event's kind, or "other" for a kind this version has no words for."""
    return event.kind if event.kind in _KINDS else EventKind.OTHER.value


_KINDS = frozenset(k.value for k in EventKind)


def programme_name(programme: Programme, lang: str) -> str:
    """The programme's name in `lang`, else Indonesian (as training.text.local, which outreach does not import)."""
    names = programme.name or {}
    return names.get(lang) or names.get("id") or next(iter(names.values()), programme.code)


# -- the answers ---------------------------------------------------------------------------------


class RsvpOutcome(StrEnum):
    RECORDED = "recorded"
    NOT_YOURS = "not_yours"  # unknown event or application, or someone else's: nothing is said about it
    CANCELLED = "cancelled"
    PASSED = "passed"


@dataclass(frozen=True)
class Rsvp:
    outcome: RsvpOutcome
    event: Event | None = None
    attending: bool = False


async def record_attendance(
    session: AsyncSession,
    event_id: int,
    application_id: int,
    contact: Contact,
    attending: bool,
    *,
    now: datetime,
) -> Rsvp:
    """Store "Hadir" / "Tidak bisa hadir" for the contact's own application to that event.

    Button data can be forged by a modified client, so the application must be this contact's
    and of the event's programme; otherwise nothing is stored and nothing about the event is told.
    An answer after the event started, or to a cancelled one, is not stored either.
    """
    event = await events.get(session, event_id)
    application = await events.application(session, application_id)
    if (
        event is None
        or application is None
        or not await people.owns(session, contact, application)
        or application.programme_id != event.programme_id
        or application.anonymised_at is not None
    ):
        return Rsvp(RsvpOutcome.NOT_YOURS)
    if event.cancelled_at is not None:
        return Rsvp(RsvpOutcome.CANCELLED, event, attending)
    if event.starts_at <= now:
        return Rsvp(RsvpOutcome.PASSED, event, attending)
    await events.upsert_attendance(session, event.id, application.id, attending, now)
    return Rsvp(RsvpOutcome.RECORDED, event, attending)
