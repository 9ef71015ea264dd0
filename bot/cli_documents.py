"""`blkbot documents ...`: staff list and open an applicant's documents, through training.documents."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli_outreach import acting
from bot.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    documents = sub.add_parser("documents", help="an applicant's documents (KTP, KK, diploma, photo)").add_subparsers(
        dest="documents_command", required=True
    )
    listing = documents.add_parser("list", help="the documents of one application, and those still missing")
    listing.add_argument("number")
    listing.add_argument("--by", help="who asks (for the record); the login name when not given")
    listing.set_defaults(handler=list_command)
    get = documents.add_parser("get", help="write one document of an application to a file")
    get.add_argument("number")
    get.add_argument("kind", help="ktp, kk, ijazah or pas_foto")
    get.add_argument("--out", type=Path, required=True)
    get.add_argument("--by", help="who asks (for the record); the login name when not given")
    get.set_defaults(handler=get_command)


async def list_command(settings: Settings, args: argparse.Namespace) -> int:
    from bot.commands import staff_transaction
    from training.documents import list_for

    async with staff_transaction(settings) as session:
        listing = await list_for(session, await acting(session, settings, args), args.number)
    print(f"{listing.application.number}  {listing.application.full_name or '(anonymised)'}")
    for document in listing.received:
        print(
            f"  {document.kind:<9} {document.mime_type:<16} {document.size:>9} bytes  {document.received_at:%Y-%m-%d}"
        )
    print(f"  missing: {', '.join(k.value for k in listing.missing)}" if listing.missing else "  complete")
    return 0


async def get_command(settings: Settings, args: argparse.Namespace) -> int:
    from bot.commands import staff_transaction
    from bot.runtime import file_store
    from training.documents import open_document

    async with staff_transaction(settings) as session:
        document, content = await open_document(
            session, file_store(settings), await acting(session, settings, args), args.number, args.kind
        )
    args.out.write_bytes(content)
    print(f"{args.out}: {document.kind}, {document.mime_type}, {len(content)} bytes")
    return 0
