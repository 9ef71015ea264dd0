"""`blkbot ...`: run the bot, chat in the terminal, and the staff's commands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bot import event_loop
from bot.logs import configure_logging
from bot.settings import Settings
from storage.db import database_label
from storage.errors import BlkbotError


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        settings = Settings()
    except Exception as problem:  # pydantic's ValidationError names the variable and value
        print(f"blkbot: bad settings: {problem}", file=sys.stderr)
        return 2
    chatting = args.command == "chat" or (
        args.command == "start" and settings.telegram_token is None and not settings.whatsapp_on
    )
    # In a terminal chat the log shares the screen with the conversation: warnings only, SQL included.
    configure_logging(settings.model_copy(update={"log_level": "WARNING"}) if chatting else settings)
    if not chatting and getattr(args, "uses_database", True):
        print(f"blkbot: database {database_label(settings.database_url)}", file=sys.stderr)
    try:
        return event_loop.run(args.handler(settings, args)) or 0
    except BlkbotError as problem:
        print(f"blkbot: {problem}", file=sys.stderr)
        return 1
    except OSError as problem:  # a file that cannot be read or written, a database that does not answer
        print(f"blkbot: {problem}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    from bot import commands

    parser = argparse.ArgumentParser(
        prog="blkbot",
        description="Vocational-training registration bot. Staff commands run as the terminal's admin: whoever "
        "holds the database file is the office. `--as CHANNEL:ID` (before or after the command) runs them as "
        "that staff account instead, with its role and venue: venue staff see and change their venue's "
        "programmes only.",
    )
    parser.add_argument("--as", dest="acting_as", metavar="CHANNEL:ID", help=AS_HELP)
    sub = parser.add_subparsers(dest="command")

    sub.add_parser(
        "start",
        help="the bot when Telegram or WhatsApp is configured, else the terminal chat (what `make run` does)",
    ).set_defaults(handler=commands.start, chat_id="local", no_start=False)
    sub.add_parser(
        "run",
        help="run the bot: Telegram (long polling, or webhook when BLKBOT_TELEGRAM_WEBHOOK_URL is set) and/or "
        "WhatsApp (webhook at /whatsapp when BLKBOT_WHATSAPP_TOKEN is set)",
    ).set_defaults(handler=commands.run)
    chat = sub.add_parser("chat", help="talk to the bot in this terminal (stdin may be piped)")
    chat.add_argument("--chat-id", default="local", help="whose conversation to continue (default: local)")
    chat.add_argument("--no-start", action="store_true", help="do not send /start first")
    chat.set_defaults(handler=commands.chat)

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="apply the Alembic migrations").set_defaults(handler=commands.db_upgrade)

    catalog = sub.add_parser("catalog", help="the programme catalog").add_subparsers(
        dest="catalog_command", required=True
    )
    load = catalog.add_parser("load", help="validate and load a catalog TOML file")
    load.add_argument("file", type=Path)
    load.add_argument(
        "--close",
        action="append",
        default=[],
        metavar="CODE",
        help="close a programme the file leaves out although it has applications (repeat for several)",
    )
    load.set_defaults(handler=commands.catalog_load)
    check = catalog.add_parser("check", help="validate a catalog TOML file without loading it")
    check.add_argument("file", type=Path)
    check.set_defaults(handler=commands.catalog_check, uses_database=False)
    new = catalog.add_parser("new", help="write an annotated catalog to fill in (comments in Bahasa Indonesia)")
    new.add_argument("file", type=Path)
    new.set_defaults(handler=commands.catalog_new, uses_database=False)

    participants = sub.add_parser("participants", help="past participants").add_subparsers(
        dest="participants_command", required=True
    )
    imp = participants.add_parser("import", help="import past participants from CSV (columns: nik, name, year)")
    imp.add_argument("file", type=Path)
    imp.set_defaults(handler=commands.participants_import)

    apps = sub.add_parser("applications", help="applications").add_subparsers(
        dest="applications_command", required=True
    )
    from bot import cli_outreach

    cli_outreach.register(sub, apps)
    export = apps.add_parser(
        "export",
        help="export one row per application, in Indonesian (XLSX recommended for Excel)",
        description="One row per application: headers, stages, sex and schooling in Indonesian; the registration "
        "time as a date in XLSX; a CSV for Excel in Indonesia (';' between fields, UTF-8 with BOM). "
        "Edit the stage column and read it back with `blkbot applications import-results`.",
    )
    export.add_argument("--programme", required=True, help="programme code, or ALL")
    export.add_argument("--format", choices=("csv", "xlsx"), help="default: from the --out file's ending, else xlsx")
    export.add_argument("--out", type=Path, required=True)
    export.add_argument(
        "--codes",
        action="store_true",
        help="English column names and stored codes (selected, M, sma), ISO times, ',' between CSV fields: for scripts",
    )
    export.set_defaults(handler=commands.applications_export)

    from bot import (
        cli_documents,
        cli_reminders,
        cli_report,
        cli_selection,
        cli_training,
        cli_vacancies,
        cli_whatsapp,
    )

    cli_reminders.register(sub)
    cli_vacancies.register(sub)
    cli_selection.register(sub)
    cli_training.register(sub)
    cli_whatsapp.register(sub)
    cli_documents.register(sub)
    cli_report.register(sub)
    stats = sub.add_parser("stats", help="registrations, eligibility and stages per programme and cluster")
    stats.add_argument("--programme", default="ALL", metavar="CODE", help="one programme's figures (default: ALL)")
    stats.set_defaults(handler=commands.stats)
    _offer_as(sub)
    return parser


AS_HELP = "act as this staff account (e.g. telegram:42), with its role and venue; default: the terminal's admin"
NOT_STAFF = frozenset({"start", "run", "chat", "db", "catalog", "deliver", "whatsapp"})
"""Commands that act as no staff account: `--as` is not offered on them."""


def _offer_as(sub: argparse._SubParsersAction, top: bool = True) -> None:  # type: ignore[type-arg]
    """Add `--as` to every staff command once, so it may also follow the command's name; SUPPRESS keeps a
    subcommand from overwriting the value given before it."""
    for name, command in sub.choices.items():
        if top and name in NOT_STAFF:
            continue
        nested = [a for a in command._actions if isinstance(a, argparse._SubParsersAction)]
        if nested:
            _offer_as(nested[0], top=False)
        else:
            command.add_argument(
                "--as", dest="acting_as", metavar="CHANNEL:ID", default=argparse.SUPPRESS, help=AS_HELP
            )


if __name__ == "__main__":
    raise SystemExit(main())
