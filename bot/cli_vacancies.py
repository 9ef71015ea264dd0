"""`blkbot vacancies ...`: staff post, list and close job vacancies.

Posting shows how many people the vacancy reaches and the message as they will read it, and
asks before anything is stored (unless --yes): a vacancy cannot be unsent.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.settings import Settings

EVERYONE = ("ALL", "*")


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this area's `blkbot ...` subcommands."""
    vacancies = sub.add_parser("vacancies", help="job vacancies pushed to trainees and graduates").add_subparsers(
        dest="vacancies_command", required=True
    )
    post = vacancies.add_parser(
        "post", help="post a vacancy: shows the recipients and a preview, then asks to confirm (unless --yes)"
    )
    post.add_argument("--employer", required=True, help='company or employer, e.g. "PT Maju Jaya"')
    post.add_argument("--position", required=True, help='the job, e.g. "Juru las SMAW"')
    post.add_argument("--location", required=True, help='where the job is, e.g. "Batang" or "Osaka, Jepang"')
    post.add_argument("--abroad", action="store_true", help="the job is outside Indonesia (marked 🌏 Luar negeri)")
    post.add_argument(
        "--clusters",
        required=True,
        help="comma-separated cluster codes it suits, e.g. LAS,MOTOR; ALL sends it to every subscriber",
    )
    post.add_argument("--deadline", required=True, type=_date, help="last day to apply, YYYY-MM-DD")
    post.add_argument("--how", required=True, help="how to apply (address, e-mail, link, documents to bring)")
    post.add_argument("--description", help="more about the job: contract, salary, requirements")
    post.add_argument("--yes", action="store_true", help="post without asking for confirmation")
    post.set_defaults(handler=post_vacancy)

    listing = vacancies.add_parser("list", help="vacancies with their deadline, status and delivery")
    listing.add_argument("--open", action="store_true", help="only the vacancies still open")
    listing.set_defaults(handler=list_vacancies)

    close = vacancies.add_parser("close", help="close a vacancy: it leaves /lowongan, unsent messages are cancelled")
    close.add_argument("id", type=int, help="the vacancy's id (see `blkbot vacancies list`)")
    close.set_defaults(handler=close_vacancy)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2027-02-28, got {text!r}") from None


def _clusters(text: str) -> tuple[str, ...]:
    from outreach.vacancies import VacancyError

    if text.strip().upper() in EVERYONE:
        return ()
    codes = tuple(code.strip().upper() for code in text.split(",") if code.strip())
    if not codes:
        raise VacancyError("--clusters is empty: give cluster codes such as LAS,MOTOR, or ALL for every subscriber")
    return codes


def _author() -> str:
    import getpass

    try:
        return f"cli:{getpass.getuser()}"[:64]
    except (KeyError, OSError):  # no user name in a bare container
        return "cli"


def _confirm(prompt: str) -> bool:
    """One line from stdin (a terminal or a pipe): y or yes posts; anything else, or nothing, does not."""
    print(prompt, end=" ", flush=True)
    answer = sys.stdin.readline()
    if not sys.stdin.isatty():
        print(answer.strip())  # a piped answer is not echoed by the terminal: show it
    return answer.strip().casefold() in ("y", "yes", "ya")


async def post_vacancy(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from bot.cli_outreach import acting
    from bot.commands import staff_transaction
    from bot.runtime import office_timezone, prepare_database
    from messages.markup import html_to_plain
    from messages.render import Templates
    from outreach import vacancies

    db = await prepare_database(settings)
    try:
        timezone = await office_timezone(settings, db)
    finally:
        await db.dispose()
    now = datetime.now(UTC)
    templates = Templates()
    draft = vacancies.NewVacancy(
        employer=args.employer,
        position=args.position,
        location=args.location,
        deadline=args.deadline,
        how_to_apply=args.how,
        abroad=args.abroad,
        clusters=_clusters(args.clusters),
        description=args.description,
        created_by=_author(),
    )
    async with staff_transaction(settings) as session:
        draft = await vacancies.check(session, draft, now.astimezone(timezone).date())
        count = len(await vacancies.recipients(session, draft.clusters))
        names = await vacancies.cluster_names(session)
    lang = settings.language
    text = html_to_plain(vacancies.announcement(templates, lang, draft, names))
    button = templates.label(lang, "vacancies/button_other")
    if draft.clusters:
        labels = vacancies.describe(draft, names, lang)["clusters"]
        fields = ", ".join(f"{label} ({code})" for label, code in zip(labels, draft.clusters, strict=True))
        audience = f"subscribers who applied to, train in or graduated from {fields}"
    else:
        audience = "every subscriber"
    rule = "-" * 60
    print(f"Preview ({lang}), as residents will read it:\n{rule}\n{text}\n[ {button} ]\n{rule}")
    print(f"For: {audience}")
    print(f"Recipients now: {count}")
    if not args.yes and not _confirm(f"Post this vacancy and send it to {count} recipients? [y/N]"):
        print("Not posted: nothing was stored or sent.")
        return 1
    async with staff_transaction(settings) as session:
        actor = await acting(session, settings, args)
        vacancy, queued = await vacancies.post_vacancy(
            session, templates, draft, now=now, timezone=timezone, actor=actor
        )
    print(f"vacancy {vacancy.id} posted: {queued} messages queued for delivery")
    return 0


async def list_vacancies(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from bot.commands import staff_transaction
    from bot.runtime import office_timezone, prepare_database
    from storage.models import DeliveryStatus
    from storage.repositories import vacancies

    db = await prepare_database(settings)
    try:
        today = datetime.now(UTC).astimezone(await office_timezone(settings, db)).date()
    finally:
        await db.dispose()
    async with staff_transaction(settings) as session:
        found = await vacancies.every(session, open_on=today if args.open else None)
        counts = {v.id: await vacancies.delivery_counts(session, v.id) for v in found}
    if not found:
        print("no open vacancies" if args.open else "no vacancies yet")
        return 0
    print(f"{'ID':>4}  {'STATUS':<7}  {'DEADLINE':<10}  {'CLUSTERS':<14}  {'SENT':>9}  VACANCY")
    for v in found:
        status = "closed" if v.closed_at is not None else "expired" if v.deadline < today else "open"
        sent = counts[v.id].get(DeliveryStatus.SENT.value, 0)
        where = f"{v.location}, abroad" if v.abroad else v.location
        print(
            f"{v.id:>4}  {status:<7}  {v.deadline.isoformat():<10}  {','.join(v.clusters) or 'ALL':<14}  "
            f"{f'{sent}/{sum(counts[v.id].values())}':>9}  {v.position} – {v.employer} ({where})"
        )
    return 0


async def close_vacancy(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from bot.cli_outreach import acting
    from bot.commands import staff_transaction
    from bot.runtime import office_zone
    from messages.dates import format_stamp
    from outreach import vacancies

    now = datetime.now(UTC)
    async with staff_transaction(settings) as session:
        vacancy, cancelled = await vacancies.close_vacancy(session, args.id, now, await acting(session, settings, args))
        zone = await office_zone(settings, session)
    if vacancy.closed_at != now:
        print(f"vacancy {vacancy.id} was already closed on {format_stamp(vacancy.closed_at, zone)}")
        return 0
    note = f"; {cancelled} messages not yet sent were cancelled" if cancelled else ""
    print(f"vacancy {vacancy.id} closed: {vacancy.position} – {vacancy.employer}{note}")
    return 0
