"""`blkbot broadcast`, `blkbot deliver`, `blkbot applications stage|import-results`, `blkbot staff`.

Whoever runs the CLI holds the database itself, so the CLI acts as an admin (`cli_actor`) unless
`--as CHANNEL:ID` names a staff account (`acting`): then its role and venue are read like a chat
step reads them. The services check and record it like any other staff action."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from bot.settings import Settings
from storage.errors import BlkbotError
from training.stages import NAMES, STEP, parse_stage, stage_name

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from outreach.result_import import ResultPlan
    from training.errors import Problem
    from training.permissions import Actor


STAGES_HELP = "stages, in funnel order (type either name; case, spaces and hyphens do not matter):\n" + "\n".join(
    f"  {NAMES[s]:<26} {s.value}" for s in sorted(NAMES, key=STEP.__getitem__)
)


def register(sub: argparse._SubParsersAction, applications: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    broadcast = sub.add_parser("broadcast", help="send an announcement to a segment, with a preview and progress")
    broadcast.add_argument("--text", help="the announcement (plain text); or --file")
    broadcast.add_argument("--file", type=Path, help="read the announcement from this UTF-8 file")
    broadcast.add_argument(
        "--segment",
        default="all",
        help='who receives it: "all", or e.g. "cluster=LAS,stage=selected|waitlisted", "programme=LAS1", '
        '"wave=1", "district=33.75.01", "graduates=LAS"',
    )
    broadcast.add_argument("--button", action="append", default=[], help='a link button: "Label|https://..."')
    broadcast.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    broadcast.add_argument("--deliver", action="store_true", help="send it from this process, with a progress bar")
    broadcast.add_argument("--by", help="who is sending (for the report); the login name when not given")
    broadcast.set_defaults(handler=broadcast_command)

    report = sub.add_parser("broadcast-report", help="delivery report of a broadcast")
    report.add_argument("id", type=int)
    report.set_defaults(handler=broadcast_report)

    deliver = sub.add_parser("deliver", help="run only the delivery loop (pushed messages), until Ctrl-C")
    deliver.add_argument("--once", action="store_true", help="send what is due now, then stop")
    deliver.set_defaults(handler=deliver_command)

    stage = applications.add_parser(
        "stage",
        help="move applications to a stage; each applicant is told once",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=STAGES_HELP,
    )
    stage.add_argument("numbers", nargs="+", help="registration numbers, e.g. LAS1-2027-0001")
    stage.add_argument(
        "--to", required=True, metavar="STAGE", help="the new stage, by its Indonesian or English name (below)"
    )
    stage.add_argument("--reason", help="shown to the applicant (required for admin_failed)")
    stage.set_defaults(handler=stage_command)

    results = applications.add_parser(
        "import-results",
        help="stages from a file: the applications export (CSV or XLSX) or a CSV number,stage[,reason]; "
        "shows a preview and asks",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=STAGES_HELP,
    )
    results.add_argument("file", type=Path)
    results.add_argument("--yes", action="store_true", help="apply without asking (after the preview)")
    results.add_argument(
        "--allow-backward",
        action="store_true",
        help="also apply moves that take a decision back (selected -> registered)",
    )
    results.set_defaults(handler=import_results)

    staff = sub.add_parser("staff", help="staff accounts").add_subparsers(dest="staff_command", required=True)
    add = staff.add_parser(
        "add",
        help="allow an account to use staff commands",
        description="e.g. `blkbot staff add telegram:42 --name 'Bu Rina' --role venue --venue BLK-PKL`: "
        "venue staff see and act on the programmes of that one venue only.",
    )
    add.add_argument("user_id", help="CHANNEL:ID, or the Telegram user id (a number; @userinfobot tells it)")
    add.add_argument("name", nargs="?", help="the person's name (or --name)")
    add.add_argument("--name", dest="name_option", metavar="NAME")
    add.add_argument("--role", choices=("admin", "operator", "venue"), default="operator")
    add.add_argument("--venue", metavar="CODE", help="the venue a venue role is limited to (a catalog venue code)")
    add.add_argument("--channel", default="telegram")
    add.set_defaults(handler=staff_add)
    remove = staff.add_parser("remove", help="take an account's staff access away (its next staff step is refused)")
    remove.add_argument("user_id", help="CHANNEL:ID, or the Telegram user id")
    remove.add_argument("--channel", default="telegram")
    remove.set_defaults(handler=staff_remove)
    staff.add_parser("list", help="staff accounts in the database").set_defaults(handler=staff_list)


def cli_actor(by: str | None = None) -> Actor:
    """The person at the terminal, named by `by` or their login name, acting as an admin."""
    import getpass

    from storage.models import StaffRole
    from training.permissions import Actor

    if not by:
        try:
            by = getpass.getuser()
        except (KeyError, OSError):  # no user name in a bare container
            by = "cli"
    return Actor("cli", by[:60], by[:60], StaffRole.ADMIN)


def account(text: str, channel: str = "telegram") -> tuple[str, str]:
    """ "telegram:42" (or a bare "42" on `channel`) as (channel, user id)."""
    found, sep, user_id = text.strip().rpartition(":")
    if sep and not (found and user_id):
        raise BlkbotError(f"{text!r}: expected CHANNEL:ID, e.g. telegram:42")
    return (found, user_id) if sep else (channel, text.strip())


async def acting(session: AsyncSession, settings: Settings, args: argparse.Namespace) -> Actor:
    """Who a staff command acts as: the account `--as CHANNEL:ID` names, with its role and venue read
    now from the settings or the staff table (as a chat step reads them); else the terminal's admin."""
    from training.staff import current_actor

    named = getattr(args, "acting_as", None)
    if not named:
        return cli_actor(getattr(args, "by", None))
    if ":" not in named:
        raise BlkbotError(f"--as {named}: expected CHANNEL:ID, e.g. telegram:42")
    channel, user_id = account(named)
    actor = await current_actor(session, channel, user_id, settings.staff_roles())
    if actor is None:
        raise BlkbotError(f"--as {named}: not a staff account (see `blkbot staff list`)")
    return actor


def _confirm(question: str) -> bool:
    print(question, end=" ", flush=True)
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes", "ya")


def go_ahead(applicable: bool, changes: int, *, yes: bool, what: str, again: str = "file") -> int | None:
    """After an import's preview: the exit code to stop with (errors, nothing to do, not confirmed),
    or None to apply it."""
    if not applicable:
        print(f"Nothing changed: fix the rows above and import the {again} again.")
        return 1
    if not changes:
        print("Nothing to change.")
        return 0
    if not yes and not _confirm(f"Apply {changes} {what}? [y/N]"):
        print("Nothing changed.")
        return 1
    return None


class Previewed(Protocol):
    """What an import's plan offers its preview: the file, its problems by line, whether it may be
    applied, and what would change."""

    @property
    def source(self) -> str: ...

    @property
    def problems(self) -> Sequence[Problem]: ...

    @property
    def applicable(self) -> bool: ...

    @property
    def changes(self) -> Sequence[object]: ...


P = TypeVar("P", bound=Previewed)
R = TypeVar("R")


async def import_with_preview(
    settings: Settings,
    args: argparse.Namespace,
    plan: Callable[[AsyncSession, Actor], Awaitable[P]],
    summary: Callable[[P], str],
    apply: Callable[[AsyncSession, Actor, P], Awaitable[R]],
    done: Callable[[P, R], None],
    *,
    what: str,
    again: str = "file",
    unit: str = "line",
) -> int:
    """An import's two steps: the plan read in one transaction and shown (its `summary`, then each
    problem by line — by `unit`, "row", for a worksheet), then, once confirmed (`--yes` or y), applied
    in a second (the service checks it still holds)."""
    from bot.commands import staff_transaction

    async with staff_transaction(settings) as session:
        found = await plan(session, await acting(session, settings, args))
    print(summary(found))
    for problem in found.problems:
        print(problem.render(found.source).replace(" line ", f" {unit} "))
    stop = go_ahead(found.applicable, len(found.changes), yes=args.yes, what=what, again=again)
    if stop is not None:
        return stop
    async with staff_transaction(settings) as session:
        result = await apply(session, await acting(session, settings, args), found)
    done(found, result)
    return 0


async def broadcast_command(settings: Settings, args: argparse.Namespace) -> int:
    from bot.commands import staff_transaction
    from bot.runtime import now_utc
    from messages.markup import html_to_plain
    from messages.render import Templates
    from outreach import broadcasts
    from outreach.segments import Segment

    if bool(args.text) == bool(args.file):
        raise BlkbotError("give the announcement with --text or --file (one of them)")
    text = broadcasts.check_text(args.text or args.file.read_text(encoding="utf-8"))
    segment = Segment.parse(args.segment)
    buttons = [broadcasts.LinkButton.parse(b) for b in args.button]
    templates = Templates()
    async with staff_transaction(settings) as session:
        actor = await acting(session, settings, args)
        await broadcasts.require_reach(session, actor, segment)
        count = await segment.count(session)
    print(f"Segment: {segment.describe()} — {count} recipients")
    print(f"Kind: {segment.describe_kind()}")
    print("Preview:\n" + "-" * 40)
    print(html_to_plain(broadcasts.render(templates, settings.language, text)))
    for button in buttons:
        print(f"[{button.label}] -> {button.url}")
    print("-" * 40)
    if count == 0:
        print("Nobody to send to; nothing sent.")
        return 1
    if not args.yes and not _confirm(f"Send to {count} recipients? [y/N]"):
        print("Not sent.")
        return 1
    async with staff_transaction(settings) as session:
        broadcast = await broadcasts.send(
            session, templates, actor, text=text, segment=segment, now=now_utc(), buttons=buttons
        )
    print(f"Broadcast {broadcast.id}: {broadcast.recipients} messages queued.")
    if args.deliver:
        await _deliver_with_progress(settings, broadcast.id)
    else:
        print(f"The running bot sends them; follow with `blkbot broadcast-report {broadcast.id}`.")
    return 0


async def broadcast_report(settings: Settings, args: argparse.Namespace) -> int:
    from bot.commands import staff_transaction
    from bot.runtime import office_zone
    from messages.dates import format_stamp
    from outreach import broadcasts
    from outreach.segments import Segment

    async with staff_transaction(settings) as session:
        found, progress = await broadcasts.report(session, await acting(session, settings, args), args.id)
        zone = await office_zone(settings, session)
    print(f"Broadcast {found.id} by {found.created_by} at {format_stamp(found.created_at, zone)}")
    print(f"Segment: {Segment.from_json(found.segment or {}).describe()}")
    print(_progress_line(progress))
    return 0


def _progress_line(progress) -> str:  # type: ignore[no-untyped-def]
    total = max(progress.recipients, 1)
    done = progress.sent + progress.failed + progress.unreachable + progress.needs_template
    width = 30
    bar = "#" * round(width * done / total) + "." * (width - round(width * done / total))
    unread = f"  shown when their terminal reads {progress.unread}" if progress.unread else ""
    return (
        f"[{bar}] {done}/{progress.recipients}  sent {progress.sent}  failed {progress.failed}  "
        f"unreachable {progress.unreachable}  pending {progress.pending}{unread}"
        + (f"  needs template {progress.needs_template}" if progress.needs_template else "")
    )


async def _deliver_with_progress(settings: Settings, broadcast_id: int) -> None:
    from bot.commands import staff_transaction
    from bot.runtime import delivery_loop
    from outreach import broadcasts

    loop, close = await delivery_loop(settings, "broadcast")
    stop = asyncio.Event()
    task = asyncio.create_task(loop.run(stop))
    try:
        while True:
            async with staff_transaction(settings) as session:
                progress = await broadcasts.progress(session, broadcast_id)
            print("\r" + _progress_line(progress), end="", flush=True)
            if progress.done or task.done():
                break
            await asyncio.sleep(1)
    finally:
        stop.set()
        await task
        await close()
        print()


async def deliver_command(settings: Settings, args: argparse.Namespace) -> int:
    from bot.runtime import delivery_loop

    loop, close = await delivery_loop(settings, "deliver")
    try:
        if args.once:
            stats = await loop.drain()
            print(
                f"sent {stats.sent}, failed {stats.failed}, unreachable {stats.unreachable}, retried {stats.retried}, "
                f"needs template {stats.needs_template}"
            )
        else:
            stop = asyncio.Event()
            for sig in ("SIGINT", "SIGTERM"):
                import signal

                asyncio.get_running_loop().add_signal_handler(getattr(signal, sig), stop.set)
            await loop.run(stop)
    finally:
        await close()
    return 0


async def stage_command(settings: Settings, args: argparse.Namespace) -> int:
    from bot.commands import staff_transaction
    from bot.runtime import now_utc
    from messages.render import Templates
    from outreach.results import move

    stage = parse_stage(args.to)
    async with staff_transaction(settings) as session:
        actor = await acting(session, settings, args)
        report = await move(session, Templates(), actor, args.numbers, stage, now_utc(), args.reason)
    print(f"{report.changed} moved to {stage_name(stage)} ({stage.value}); {report.announced} applicants will be told.")
    return 0


async def import_results(settings: Settings, args: argparse.Namespace) -> int:
    from bot.commands import staff_transaction
    from bot.runtime import now_utc
    from messages.render import Templates
    from outreach.result_import import apply_results, plan_results

    async with staff_transaction(settings) as session:
        actor = await acting(session, settings, args)
        plan = await plan_results(session, args.file, allow_backward=args.allow_backward, actor=actor)
    _print_plan(plan)
    if plan.refused and not plan.problems:
        print(f"Nothing changed: {len(plan.refused)} rows move back; import again with --allow-backward to do that.")
        return 1
    stop = go_ahead(not plan.problems, len(plan.changes), yes=args.yes, what="changes")
    if stop is not None:
        return stop
    async with staff_transaction(settings) as session:
        report = await apply_results(session, Templates(), actor, plan, now_utc())
    print(f"{report.changed} applications changed; {report.announced} applicants will be told.")
    return 0


def _print_plan(plan: ResultPlan) -> None:
    """The preview: counts, each backward move by number, each problem by line."""
    from training.stages import Direction

    forward, backward = plan.of(Direction.FORWARD), plan.of(Direction.BACKWARD)
    unchanged = len(plan.of(Direction.UNCHANGED)) - len(plan.reasons_only)
    print(
        f"{plan.source}: {len(plan.rows)} rows: {len(forward)} forward, {len(backward)} backward, "
        f"{unchanged} unchanged, {len(plan.reasons_only)} reason only, {len(plan.problems)} errors"
    )
    if backward:
        allowed = "allowed by --allow-backward" if plan.allow_backward else "refused without --allow-backward"
        print(f"Backward (takes back a decision; {allowed}):")
        for move in backward:
            print(f"  {move.number}: {move.current.value} -> {move.stage.value} (line {move.line})")
    for problem in plan.problems:
        print(problem.render(plan.source))


async def staff_add(settings: Settings, args: argparse.Namespace) -> int:
    from bot.commands import staff_transaction
    from bot.runtime import now_utc
    from training import staff

    channel, user_id = account(args.user_id, args.channel)
    name = args.name_option or args.name
    if not name:
        raise BlkbotError("give the person's name (--name)")
    async with staff_transaction(settings) as session:
        member = await staff.add(
            session,
            await acting(session, settings, args),
            channel=channel,
            user_id=user_id,
            name=name,
            role=args.role,
            venue=args.venue,
            now=now_utc(),
        )
    scope = f" of {member.venue}" if member.venue else ""
    print(f"{member.name} ({member.channel}:{member.user_id}) is {member.role}{scope}")
    return 0


async def staff_remove(settings: Settings, args: argparse.Namespace) -> int:
    from bot.commands import staff_transaction
    from bot.runtime import now_utc
    from training import staff

    configured = settings.staff_roles()
    channel, user_id = account(args.user_id, args.channel)
    try:
        async with staff_transaction(settings) as session:
            actor = await acting(session, settings, args)
            member = await staff.remove(
                session, actor, channel=channel, user_id=user_id, configured=configured, now=now_utc()
            )
    except staff.ConfiguredStaff:
        raise BlkbotError(
            f"{channel}:{user_id} is listed in BLKBOT_STAFF; remove it from that setting "
            "(environment or .env) and restart the bot"
        ) from None
    print(f"{member.name} ({member.channel}:{member.user_id}) is no longer staff; their next staff step is refused")
    return 0


async def staff_list(settings: Settings, args: argparse.Namespace) -> int:
    from bot.commands import staff_transaction
    from training import staff

    async with staff_transaction(settings) as session:
        for member in await staff.members(session, await acting(session, settings, args)):
            print(f"{member.channel}:{member.user_id}\t{member.role}\t{member.venue or 'all venues'}\t{member.name}")
    for (channel, user), role in settings.staff_roles().items():
        print(f"{channel}:{user}\t{role}\tall venues\t(from BLKBOT_STAFF)")
    return 0
