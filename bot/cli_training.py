"""`blkbot training ...`, `blkbot certification import` and `blkbot tracer run-once`: the training,
its competency results and the tracer study from the terminal, on the services in training/."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli_outreach import acting, import_with_preview
from bot.settings import Settings
from storage.errors import BlkbotError

if TYPE_CHECKING:
    from outreach.results import StageReport
    from training.attendance import MarkReport, SheetPlan
    from training.certification import CertPlan


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    training = sub.add_parser("training", help="attendance per training day, drop-outs, completion").add_subparsers(
        dest="training_command", required=True
    )
    attend = training.add_parser(
        "attend", help="mark participants present or absent on one training day, or the whole class present"
    )
    attend.add_argument("--event", type=int, required=True, help="the training day's id (blkbot events list)")
    attend.add_argument("numbers", nargs="*", metavar="NUMBER")
    mark = attend.add_mutually_exclusive_group(required=True)
    mark.add_argument("--present", dest="mode", action="store_const", const="present")
    mark.add_argument("--absent", dest="mode", action="store_const", const="absent")
    mark.add_argument(
        "--all-present", dest="mode", action="store_const", const="all", help="every participant expected that day"
    )
    attend.add_argument(
        "--except", dest="away", nargs="+", default=[], metavar="NUMBER", help="with --all-present: these were absent"
    )
    attend.add_argument("--by", help="who marks (for the record)")
    attend.set_defaults(handler=attend_command)

    sheet = training.add_parser("sheet", help="write a training day's attendance sheet (XLSX) to fill in")
    sheet.add_argument("--event", type=int, required=True, help="the training day's id (blkbot events list)")
    sheet.add_argument("--out", type=Path, required=True)
    sheet.set_defaults(handler=sheet_command)

    imp = training.add_parser("import-attendance", help="marks from the filled-in attendance sheet; preview, then ask")
    imp.add_argument("file", type=Path)
    imp.add_argument("--yes", action="store_true", help="apply without asking (after the preview)")
    imp.add_argument("--by", help="who marks (for the record)")
    imp.set_defaults(handler=import_attendance)

    show = training.add_parser("show", help="participants with days present and absent, and their own answers")
    show.add_argument("--programme", required=True)
    show.set_defaults(handler=show_command)

    drop = training.add_parser("drop", help="a participant leaves the training (withdrawn, with the reason)")
    drop.add_argument("number")
    drop.add_argument("--reason", required=True)
    drop.add_argument("--by", help="who decides (for the record)")
    drop.set_defaults(handler=drop_command)

    complete = training.add_parser("complete", help="every participant still in training completes it now")
    complete.add_argument("--programme", required=True)
    complete.add_argument("--by", help="who decides (for the record)")
    complete.set_defaults(handler=complete_command)

    certification = sub.add_parser("certification", help="competency results from the LSP").add_subparsers(
        dest="certification_command", required=True
    )
    imp = certification.add_parser(
        "import", help="results per participant (nomor,hasil,lsp,skema,nomor_sertifikat,tanggal); preview, then ask"
    )
    imp.add_argument("file", type=Path)
    imp.add_argument("--yes", action="store_true", help="apply without asking (after the preview)")
    imp.add_argument("--by", help="who imports (for the record)")
    imp.set_defaults(handler=certification_import)

    tracer = sub.add_parser("tracer", help="the tracer study of graduates").add_subparsers(
        dest="tracer_command", required=True
    )
    tracer.add_parser("run-once", help="ask the graduates due now and remind those who did not answer").set_defaults(
        handler=tracer_run_once
    )


async def attend_command(settings: Settings, args: argparse.Namespace) -> int:
    from bot.commands import staff_transaction
    from bot.runtime import now_utc
    from messages.render import Templates
    from training import attendance

    if (args.mode == "all") == bool(args.numbers) or (args.away and args.mode != "all"):
        raise BlkbotError("give the numbers with --present or --absent, or --all-present [--except NUMBER ...]")
    async with staff_transaction(settings) as session:
        actor = await acting(session, settings, args)
        if args.mode == "all":
            reports = await attendance.mark_all(session, Templates(), actor, args.event, args.away, now_utc())
        else:
            present = args.mode == "present"
            report = await attendance.mark(session, Templates(), actor, args.event, args.numbers, present, now_utc())
            reports = (report, attendance.MarkReport(0)) if present else (attendance.MarkReport(0), report)
    _print_marks(args.event, *reports)
    return 0


def _print_marks(event: int, present: MarkReport, absent: MarkReport) -> None:
    print(f"Training day {event}: {present.marked} marked present, {absent.marked} marked absent.")
    for number in absent.flagged:
        print(f"  flagged: {number} reached the programme's absence limit")
    if present.not_selected:
        print(
            f"The training started: the waitlist closed; {len(present.not_selected)} waitlisted are not selected "
            "and will be told (they hear when the field's next programme opens)."
        )


async def sheet_command(settings: Settings, args: argparse.Namespace) -> int:
    from bot.commands import staff_transaction
    from outreach.reminders import local_zone
    from training.attendance import write_sheet

    async with staff_transaction(settings) as session:
        count = await write_sheet(
            session, await acting(session, settings, args), args.event, args.out, await local_zone(session)
        )
    print(f"{args.out}: {count} participants; fill in 'hadir' (Hadir / Tidak hadir), then")
    print(f"  blkbot training import-attendance {args.out}")
    return 0


async def import_attendance(settings: Settings, args: argparse.Namespace) -> int:
    from bot.runtime import now_utc
    from messages.render import Templates
    from training.attendance import apply_sheet, plan_sheet

    def summary(plan: SheetPlan) -> str:
        return (
            f"{plan.source}: {len(plan.present)} present, {len(plan.absent)} absent, {plan.unchanged} unchanged, "
            f"{plan.blank} blank, {len(plan.problems)} rows with errors"
        )

    return await import_with_preview(
        settings,
        args,
        lambda session, actor: plan_sheet(session, actor, args.file),
        summary,
        lambda session, actor, plan: apply_sheet(session, Templates(), actor, plan, now_utc()),
        lambda plan, reports: _print_marks(plan.event_id or 0, *reports),
        what="marks",
        again="sheet",
    )


async def show_command(settings: Settings, args: argparse.Namespace) -> int:
    from bot.commands import staff_transaction
    from training import attendance

    async with staff_transaction(settings) as session:
        view = await attendance.show(session, await acting(session, settings, args), args.programme)
    print(f"{view.programme.code}: {view.days} training days; flagged after {view.absence_limit} absences")
    print(f"  {'number':<18} {'present':>7} {'absent':>6}  {'said yes/no':>11}  stage")
    for p in view.participants:
        notes = " ".join(n for n, on in (("FLAGGED", p.flagged), ("completed", p.completed)) if on)
        said = f"{p.said_yes}/{p.said_no}"
        print(f"  {p.number:<18} {p.present:>7} {p.absent:>6}  {said:>11}  {p.stage} {notes}".rstrip())
    if not view.participants:
        print("  no participants")
    return 0


async def drop_command(settings: Settings, args: argparse.Namespace) -> int:
    from bot.commands import staff_transaction
    from bot.runtime import now_utc
    from messages.render import Templates
    from training import attendance

    async with staff_transaction(settings) as session:
        application = await attendance.drop(
            session, Templates(), await acting(session, settings, args), args.number, args.reason, now_utc()
        )
    print(f"{application.number}: withdrawn from the training ({application.stage_reason}).")
    return 0


async def complete_command(settings: Settings, args: argparse.Namespace) -> int:
    from bot.commands import staff_transaction
    from bot.runtime import now_utc
    from training import attendance

    async with staff_transaction(settings) as session:
        count = await attendance.complete(session, await acting(session, settings, args), args.programme, now_utc())
    print(f"{count} participants completed the training; import the competency results with")
    print("  blkbot certification import FILE")
    return 0


async def certification_import(settings: Settings, args: argparse.Namespace) -> int:
    from bot.runtime import now_utc
    from messages.render import Templates
    from storage.models import Stage
    from training.certification import apply_certifications, plan_certifications

    def summary(plan: CertPlan) -> str:
        return (
            f"{plan.source}: {len(plan.of(Stage.COMPETENT))} kompeten, {len(plan.of(Stage.NOT_YET_COMPETENT))} "
            f"belum kompeten, {plan.unchanged} unchanged, {len(plan.problems)} rows with errors"
        )

    def done(_: CertPlan, report: StageReport) -> None:
        print(f"{report.changed} results stored; {report.announced} participants will be told.")

    return await import_with_preview(
        settings,
        args,
        lambda session, actor: plan_certifications(session, args.file, actor),
        summary,
        lambda session, actor, plan: apply_certifications(session, Templates(), actor, plan, now_utc()),
        done,
        what="results",
    )


async def tracer_run_once(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import timedelta

    from bot.commands import staff_transaction
    from bot.runtime import now_utc
    from messages.render import Templates
    from training.outcomes import ask_graduates, parse_months

    months = parse_months(settings.tracer_months)
    async with staff_transaction(settings) as session:
        counts = await ask_graduates(
            session,
            Templates(),
            await acting(session, settings, args),
            now_utc(),
            months,
            timedelta(days=settings.tracer_reminder_days),
        )
    print(f"{counts['asked']} graduates asked; {counts['reminded']} reminded.")
    return 0
