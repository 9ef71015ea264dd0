"""`blkbot selection ...`: the office's selection from the terminal, on the same services the staff
chat (and later the web console) call. Every bulk change shows a preview and asks first."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli_outreach import _confirm, acting, go_ahead, import_with_preview
from bot.settings import Settings

if TYPE_CHECKING:
    from training.admin_sheet import CheckPlan
    from training.ranking import Proposal, Ranked
    from training.scores import ScorePlan


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    selection = sub.add_parser("selection", help="administrative check, scores, ranking and seats").add_subparsers(
        dest="selection_command", required=True
    )
    check = selection.add_parser("check", help="pass or fail one application's administrative check")
    check.add_argument("number")
    verdict = check.add_mutually_exclusive_group(required=True)
    verdict.add_argument("--pass", dest="passed", action="store_true", help="the application passes")
    verdict.add_argument(
        "--fail",
        metavar="REASON",
        help="documents_incomplete, not_resident, age, already_trained or other (other needs --note)",
    )
    check.add_argument("--note", help="a short note; the applicant reads it with a failure")
    check.add_argument("--by", help="who decides (for the record); the login name when not given")
    check.set_defaults(handler=check_command)

    sheet = selection.add_parser("sheet", help="write the administrative-check worksheet (XLSX) of a programme")
    sheet.add_argument("--programme", required=True)
    sheet.add_argument("--out", type=Path, required=True)
    sheet.set_defaults(handler=sheet_command)

    for name, handler, what in (
        ("import-check", import_check, "decisions from the filled-in check worksheet"),
        ("import-scores", import_scores, "scores from a sheet: nomor and one column per component"),
    ):
        imp = selection.add_parser(name, help=f"{what}; shows a preview and asks")
        imp.add_argument("file", type=Path)
        imp.add_argument("--yes", action="store_true", help="apply without asking (after the preview)")
        imp.add_argument("--by", help="who decides (for the record)")
        imp.set_defaults(handler=handler)

    run = selection.add_parser("run", help="rank a programme, propose seats and waitlist, apply when confirmed")
    run.add_argument("--programme", required=True)
    run.add_argument("--waitlist", type=int, help="waitlist at most this many (the rest: not selected); default all")
    run.add_argument("--yes", action="store_true", help="apply without asking (after the proposal)")
    run.add_argument("--by", help="who decides (for the record)")
    run.set_defaults(handler=run_command)

    show = selection.add_parser("show", help="every selection decision about one application")
    show.add_argument("number")
    show.set_defaults(handler=show_command)

    close = selection.add_parser(
        "close-waitlist", help="the training started: the waitlisted are not selected, each told; preview, then ask"
    )
    close.add_argument("--programme", required=True)
    close.add_argument("--yes", action="store_true", help="close without asking (after the preview)")
    close.add_argument("--by", help="who decides (for the record)")
    close.set_defaults(handler=close_waitlist_command)

    deadlines = selection.add_parser("deadlines", help="give away seats whose confirmation deadline passed, now")
    deadlines.set_defaults(handler=deadlines_command)


async def check_command(settings: Settings, args: argparse.Namespace) -> int:
    from bot.commands import staff_transaction
    from bot.runtime import now_utc
    from messages.render import Templates
    from training import selection

    verdict = selection.Verdict.of(bool(args.passed), args.fail, args.note)
    async with staff_transaction(settings) as session:
        checked = await selection.check(
            session, Templates(), await acting(session, settings, args), args.number, verdict, now_utc()
        )
    what = "passed" if verdict.passed else f"failed ({verdict.stage_reason})"
    done = "the applicant will be told" if checked.changed else "it was so already; nothing changed"
    print(f"{checked.application.number}: {what}; {done}.")
    for flag in checked.flags:
        print(f"  flag: {flag}")
    return 0


async def sheet_command(settings: Settings, args: argparse.Namespace) -> int:
    from bot.commands import staff_transaction
    from outreach.reminders import local_zone
    from training.admin_sheet import write_sheet

    async with staff_transaction(settings) as session:
        count = await write_sheet(
            session, await acting(session, settings, args), args.programme, args.out, await local_zone(session)
        )
    print(f"{args.out}: {count} applicants; fill in 'keputusan' (lolos/gagal) and 'alasan', then")
    print(f"  blkbot selection import-check {args.out}")
    return 0


async def import_check(settings: Settings, args: argparse.Namespace) -> int:
    from bot.runtime import now_utc
    from messages.render import Templates
    from training.admin_sheet import apply_check, plan_check

    return await import_with_preview(
        settings,
        args,
        lambda session, actor: plan_check(session, args.file, actor),
        _check_summary,
        lambda session, actor, plan: apply_check(session, Templates(), actor, plan, now_utc()),
        lambda _plan, changed: print(f"{changed} applications decided; each applicant will be told."),
        what="decisions",
        again="sheet",
        unit="row",
    )


def _check_summary(plan: CheckPlan) -> str:
    return (
        f"{plan.source}: {len(plan.passed)} pass, {len(plan.failed)} fail, {len(plan.unchanged)} unchanged, "
        f"{plan.undecided} without a decision, {len(plan.problems)} rows with errors"
    )


async def import_scores(settings: Settings, args: argparse.Namespace) -> int:
    from bot.runtime import now_utc
    from training.scores import apply_scores, plan_scores

    return await import_with_preview(
        settings,
        args,
        lambda session, actor: plan_scores(session, args.file, actor),
        _scores_summary,
        lambda session, actor, plan: apply_scores(session, actor, plan, now_utc()),
        lambda _plan, changed: print(f"{changed} scores stored."),
        what="scores",
        again="sheet",
        unit="row",
    )


def _scores_summary(plan: ScorePlan) -> str:
    """The counts, then each score that changes from an earlier one."""
    new = sum(1 for c in plan.changes if c.old is None)
    lines = [
        f"{plan.source}: {len(plan.rows)} applicants: {new} new scores, {len(plan.changes) - new} changed, "
        f"{plan.unchanged} unchanged, {len(plan.problems)} rows with errors"
    ]
    lines += [
        f"  {c.number} {c.component}: {c.old:g} -> {c.new:g} (row {c.line})" for c in plan.changes if c.old is not None
    ]
    return "\n".join(lines)


async def run_command(settings: Settings, args: argparse.Namespace) -> int:
    from bot.commands import staff_transaction
    from bot.runtime import now_utc
    from messages.render import Templates
    from training.ranking import apply_proposal, rank

    async with staff_transaction(settings) as session:
        actor = await acting(session, settings, args)
        proposal = await rank(session, actor, args.programme, waitlist=args.waitlist)
    _print_proposal(proposal)
    if not proposal.changes:
        print("Nothing to change.")
        return 0
    if not args.yes and not _confirm(f"Apply this selection ({proposal.changes} applicants change)? [y/N]"):
        print("Nothing changed.")
        return 1
    async with staff_transaction(settings) as session:
        applied = await apply_proposal(session, Templates(), actor, proposal, now_utc(), waitlist=args.waitlist)
    print(
        f"{applied.changed} applications changed; {applied.announced} applicants will be told; "
        f"{applied.offers} seat offers sent."
    )
    return 0


def _print_proposal(proposal: Proposal) -> None:
    free = proposal.quota - proposal.held
    print(
        f"{proposal.programme}: quota {proposal.quota}, {proposal.held} seats held, {free} free; "
        f"{len(proposal.selected)} selected, {len(proposal.waitlist)} waitlisted, "
        f"{len(proposal.not_selected)} not selected"
    )
    position = 0
    for title, group in (
        ("Selected", proposal.selected),
        ("Waitlist (in order)", proposal.waitlist),
        ("Not selected", proposal.not_selected),
    ):
        if group:
            print(f"{title}:")
        for ranked in group:
            position += 1
            print(f"  {position:4d}. {_ranked(ranked)}")
    if proposal.missing_scores:
        print(f"{len(proposal.missing_scores)} applicants miss a score (counted as 0).")


def _ranked(ranked: Ranked) -> str:
    missing = f"  missing: {', '.join(ranked.missing)}" if ranked.missing else ""
    return f"{ranked.number}  {ranked.score:6.2f}  (now {ranked.current.value}){missing}"


async def show_command(settings: Settings, args: argparse.Namespace) -> int:
    from bot.commands import staff_transaction
    from training import selection

    async with staff_transaction(settings) as session:
        application, decisions = await selection.history(session, await acting(session, settings, args), args.number)
        flags = await selection.flags(session, application)
    print(f"{application.number}  {application.full_name or '(anonymised)'}  stage {application.stage}")
    for flag in flags:
        print(f"  flag: {flag}")
    for line in selection.describe(decisions) or ["no selection decisions yet"]:
        print(f"  {line}")
    return 0


async def deadlines_command(settings: Settings, args: argparse.Namespace) -> int:
    from bot.commands import staff_transaction
    from bot.runtime import now_utc
    from messages.render import Templates
    from training.permissions import Permission, require
    from training.seats import expire_lapsed

    async with staff_transaction(settings) as session:
        # expire_lapsed is also the scheduler's job, with no one acting; from the terminal it hands out
        # seats of every venue at once, as `selection run` does: the same permission.
        require(await acting(session, settings, args), Permission.RUN_SELECTION)
        counts = await expire_lapsed(session, Templates(), now_utc())
    print(f"{counts['expired']} seat offers lapsed; {counts['promoted']} from the waitlist offered a seat.")
    return 0


async def close_waitlist_command(settings: Settings, args: argparse.Namespace) -> int:
    from bot.commands import staff_transaction
    from bot.runtime import now_utc
    from messages.render import Templates
    from training.waitlist import close_waitlist, waitlist_of

    async with staff_transaction(settings) as session:
        programme, queue = await waitlist_of(session, await acting(session, settings, args), args.programme)
        print(f"{programme.code}: {len(queue)} on the waitlist would be not selected and told")
        for application in queue:
            print(f"  {application.number}")
    stop = go_ahead(True, len(queue), yes=args.yes, what="closings", again="programme")
    if stop is not None:
        return stop
    async with staff_transaction(settings) as session:
        closed = await close_waitlist(
            session, Templates(), await acting(session, settings, args), args.programme, now_utc()
        )
    print(f"The waitlist of {programme.code} closed: {len(closed)} not selected; each will be told.")
    return 0
