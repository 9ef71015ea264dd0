"""`blkbot events ...` and `blkbot reminders ...`: the schedule staff keep, and its reminders.

    blkbot events add --programme LAS1 --kind written_test --at "2027-01-20 08:00" \\
        --place "UPT BLK Kota Pekalongan, Ruang 2" --bring "KTP asli, alat tulis"
    blkbot events list [--programme LAS1] [--all]
    blkbot events change 3 --at "2027-01-21 09:00" [--place "Aula"] [--bring "..."]
    blkbot events cancel 3
    blkbot reminders run-once

Times are wall-clock times of the catalog's city (WIB or WITA). Imports happen inside the
commands so that `blkbot --help` stays fast.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import Settings
    from outreach.schedule import EventChange, EventView

KINDS = ("written_test", "interview", "training_start", "training_day", "competency_test", "other")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this area's `blkbot ...` subcommands."""
    events = sub.add_parser("events", help="the schedule: tests, interviews, training days").add_subparsers(
        dest="events_command", required=True
    )
    add = events.add_parser(
        "add",
        help="add an event; applicants in its stages are invited now and reminded",
        description="Add an event of a programme. Applicants in the event's stages get an invitation at once "
        "and reminders (default: the day before at 17:00 and two hours before; BLKBOT_REMINDER_OFFSETS), "
        "with Hadir / Tidak bisa hadir buttons.",
    )
    add.add_argument("--programme", required=True, help="programme code, e.g. LAS1")
    add.add_argument("--kind", required=True, choices=KINDS)
    add.add_argument("--at", required=True, help='local time of the catalog city, "YYYY-MM-DD HH:MM"')
    add.add_argument("--place", required=True, help="where, as residents should read it")
    add.add_argument("--bring", help="what to bring (KTP, ijazah, pas foto ...)")
    add.add_argument("--note", help="anything else residents should know")
    add.add_argument(
        "--stages",
        help="comma-separated stages to remind (default by kind: written_test/interview -> admin_passed; "
        "training_start/training_day -> selected,in_training; competency_test -> in_training)",
    )
    add.add_argument("--by", help="who is adding it (for the staff audit); the login name when not given")
    add.set_defaults(handler=events_add)

    listing = events.add_parser("list", help="coming events with each applicant's answer")
    listing.add_argument("--programme", help="only this programme")
    listing.add_argument("--all", action="store_true", help="past and cancelled events too")
    listing.set_defaults(handler=events_list)

    change = events.add_parser(
        "change",
        help="move an event to another time or place; its applicants are told",
        description="Move an event or change what to bring. Its applicants are told at once; reminders "
        "start afresh for the new time, and a new time asks everyone to answer again.",
    )
    change.add_argument("id", type=int)
    change.add_argument("--at", help='new local time of the catalog city, "YYYY-MM-DD HH:MM"')
    change.add_argument("--place", help="new place")
    change.add_argument("--bring", help="new list of what to bring")
    change.add_argument("--by", help="who is changing it (for the staff audit)")
    change.set_defaults(handler=events_change)

    cancel = events.add_parser("cancel", help="cancel an event; its applicants are told, unsent reminders dropped")
    cancel.add_argument("id", type=int)
    cancel.add_argument("--by", help="who is cancelling it (for the staff audit)")
    cancel.set_defaults(handler=events_cancel)

    reminders = sub.add_parser("reminders", help="schedule reminders").add_subparsers(
        dest="reminders_command", required=True
    )
    reminders.add_parser(
        "run-once", help="enqueue the reminders due now (what the running bot does every minute)"
    ).set_defaults(handler=reminders_run_once)


def parse_local_time(text: str) -> datetime:
    from outreach.reminders import ScheduleError

    for pattern in ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H.%M"):
        try:
            return datetime.strptime(text.strip(), pattern)
        except ValueError:
            continue
    raise ScheduleError(f'--at has value {text!r}; expected a local time like "2027-01-20 08:00"')


async def events_add(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli_outreach import acting
    from bot.commands import staff_transaction
    from messages.render import Templates
    from outreach import reminders, schedule

    starts = parse_local_time(args.at)
    stages = schedule.parse_stages(args.stages) if args.stages else None
    async with staff_transaction(settings) as session:
        added = await schedule.add_event(
            session,
            Templates(),
            await acting(session, settings, args),
            programme_code=args.programme,
            kind=args.kind,
            starts_local=starts,
            place=args.place,
            bring=args.bring,
            note=args.note,
            stages=stages,
            now=_now(),
        )
        event = added.event
        zone = await reminders.local_zone(session)
        invited = await schedule.invited_count(session, event)
    print(
        f"event {event.id} added: {event.kind} of {args.programme} on {_when(event.starts_at.astimezone(zone))} "
        f"at {event.place}; reminders go to {invited} applicant(s) now in {', '.join(event.stages)}; "
        f"{_told(added)}"
    )
    return 0


async def events_list(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli_outreach import acting
    from bot.commands import staff_transaction
    from outreach import schedule

    async with staff_transaction(settings) as session:
        views = await schedule.schedule(
            session,
            _now(),
            programme_code=args.programme,
            include_past=args.all,
            include_cancelled=args.all,
            with_people=True,
            actor=await acting(session, settings, args),
        )
    print(render_events(views))
    return 0


async def events_change(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli_outreach import acting
    from bot.commands import staff_transaction
    from messages.render import Templates
    from outreach import reminders, schedule

    starts = parse_local_time(args.at) if args.at else None
    async with staff_transaction(settings) as session:
        changed = await schedule.change_event(
            session,
            Templates(),
            await acting(session, settings, args),
            args.id,
            now=_now(),
            starts_local=starts,
            place=args.place,
            bring=args.bring,
        )
        event = changed.event
        zone = await reminders.local_zone(session)
    print(
        f"event {event.id} changed: {event.kind} of {event.programme.code} on "
        f"{_when(event.starts_at.astimezone(zone))} at {event.place}; {_told(changed)}"
    )
    return 0


async def events_cancel(settings: Settings, args: argparse.Namespace) -> int:
    from bot.cli_outreach import acting
    from bot.commands import staff_transaction
    from messages.render import Templates
    from outreach import schedule

    async with staff_transaction(settings) as session:
        cancelled = await schedule.cancel_event(
            session, Templates(), await acting(session, settings, args), args.id, _now()
        )
    print(f"event {cancelled.event.id} cancelled; {_told(cancelled)}")
    return 0


def _told(change: EventChange) -> str:
    dropped = f"; {change.stopped} reminder(s) not yet sent were dropped" if change.stopped else ""
    return f"{change.told} applicant(s) told{dropped}"


async def reminders_run_once(settings: Settings, args: argparse.Namespace) -> int:
    from bot.runtime import prepare_database
    from bot.scheduler import reminder_offsets, tick
    from messages.render import Templates

    offsets = reminder_offsets()
    db = await prepare_database(settings)  # the staff commands' schema check, then the job's own transaction
    try:
        counts = await tick(db, Templates(), offsets, now=_now())
    finally:
        await db.dispose()
    print(
        f"reminders ({', '.join(o.key for o in offsets)}): {counts['enqueued']} enqueued for {counts['due']} "
        f"event reminder(s) due, {counts['late']} of them late (caught up), {counts['superseded']} passed over "
        f"for a later one; {counts['events']} event(s) ahead looked at"
    )
    return 0


def render_events(views: list[EventView]) -> str:
    """A plain table for the terminal: one line per event with its answers counted, then under
    each event its applicants by registration number and name with their answer."""
    if not views:
        return "no events (add one with `blkbot events add`)"
    header = ("ID", "PROGRAMME", "KIND", "WHEN", "PLACE", "STAGES", "HADIR", "TIDAK", "BELUM MENJAWAB")
    rows = [
        (
            str(v.event.id),
            v.programme.code,
            v.event.kind + (" (cancelled)" if v.cancelled else ""),
            _when(v.local_start),
            _cut(v.event.place, 40),
            ",".join(v.event.stages),
            str(v.counts.attending),
            str(v.counts.not_attending),
            str(v.counts.unanswered),
        )
        for v in views
    ]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    numeric = {6, 7, 8}

    def line(row: tuple[str, ...]) -> str:
        return "  ".join(
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i]) for i, cell in enumerate(row)
        ).rstrip()

    lines = [line(header)]
    for view, row in zip(views, rows, strict=True):
        lines.append(line(row))
        lines.extend(f"    {p.number}  {_cut(p.full_name or '–', 40):<40}  {ANSWERS[p.attending]}" for p in view.people)
    return "\n".join(lines)


ANSWERS = {True: "hadir", False: "tidak bisa hadir", None: "belum menjawab"}
"""An applicant's answer in the staff's words (as the columns HADIR, TIDAK, BELUM MENJAWAB)."""


def _when(local: datetime) -> str:
    from zoneinfo import ZoneInfo

    from messages.dates import format_stamp

    assert isinstance(local.tzinfo, ZoneInfo), "a local time of the catalog city"
    return format_stamp(local, local.tzinfo)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _now() -> datetime:
    from datetime import UTC

    return datetime.now(UTC)
