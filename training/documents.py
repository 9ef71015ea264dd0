"""Documents a programme asks for (KTP, family card, diploma, a photo): which files are accepted,
where they are kept, and what staff may see of them.

A resident sends a document as a photo or a file. It is checked here (kind, type, size) before it
is kept, so a sticker, a 30 MB video or an oversized PDF each get their own answer. The file goes to
the file store under a key that names no person (the application number, or "draft" while a
registration is being filled in, the kind and a random part); the row in `documents` ties it to the
application, or to the contact until the registration is submitted.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from storage.files import FileStore
from storage.models import Application, Contact, Document, Programme
from storage.repositories import applications, documents
from training.errors import BlkbotError, InvalidAnswer
from training.permissions import Actor, Permission, require_programme
from training.validators import clean_text


class DocumentKind(StrEnum):
    KTP = "ktp"
    KK = "kk"
    """Kartu keluarga, the family card."""
    IJAZAH = "ijazah"
    """The last diploma."""
    PAS_FOTO = "pas_foto"
    """A passport-style photo."""


MAX_MB = 5
MAX_BYTES = MAX_MB * 1024 * 1024
"""A phone photo is well under 1 MB and a scanned diploma a few; Telegram lets a bot fetch up to 20 MB."""

ACCEPTED = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "application/pdf": "pdf"}
"""What staff can open anywhere: photos and PDF. The value is the stored file's extension."""


class DocumentError(BlkbotError):
    """A staff request about documents that cannot be answered; the message says why."""


@dataclass(frozen=True)
class Incoming:
    """A file as the platform handed it over; `size` is the platform's figure when `content` was not
    fetched (too large, or a video), else the content's length."""

    kind: str
    mime_type: str
    content: bytes
    size: int


def required(programme: Programme | None) -> list[DocumentKind]:
    """The documents a programme asks for, in the catalog's order (unknown names skipped)."""
    known = {k.value for k in DocumentKind}
    return [DocumentKind(k) for k in (programme.documents or []) if k in known] if programme else []


def check(incoming: Incoming | None) -> str:
    """The stored file's extension, or InvalidAnswer saying what to send instead."""
    if incoming is None:
        raise InvalidAnswer("documents/send_file")
    if incoming.kind == "video" or incoming.mime_type.startswith("video/"):
        raise InvalidAnswer("documents/video_refused")
    if incoming.size > MAX_BYTES:
        raise InvalidAnswer("documents/too_large", limit_mb=MAX_MB, size_mb=round(incoming.size / 1024 / 1024, 1))
    extension = ACCEPTED.get(incoming.mime_type.lower())
    if extension is None:
        raise InvalidAnswer("documents/wrong_type")
    if not incoming.content:
        raise InvalidAnswer("documents/send_file")
    return extension


async def receive(
    session: AsyncSession,
    files: FileStore,
    contact: Contact,
    kind: DocumentKind,
    incoming: Incoming | None,
    now: datetime,
    application: Application | None = None,
) -> Document:
    """Check and keep one document: for `application` when given, else for the contact's
    registration in progress (see `attach`)."""
    extension = check(incoming)
    assert incoming is not None
    owner = application.number.lower() if application is not None else "draft"
    key = f"{owner}/{kind.value}-{secrets.token_hex(8)}.{extension}"
    await files.put(key, incoming.content)
    return await documents.add(
        session,
        Document(
            application_id=application.id if application is not None else None,
            contact_id=contact.id,
            kind=kind.value,
            key=key,
            mime_type=incoming.mime_type.lower(),
            size=len(incoming.content),
            received_at=now,
        ),
    )


async def attach(
    session: AsyncSession, files: FileStore, contact: Contact, application_id: int, document_ids: Sequence[int]
) -> None:
    """Give the registration's documents to the application just submitted, and delete the other
    files the contact sent while filling it in (replaced ones, those of an abandoned registration)."""
    await documents.attach(session, document_ids, contact.id, application_id)
    for key in await documents.remove_unattached(session, contact.id):
        await files.delete(key)


async def missing(session: AsyncSession, application: Application) -> list[DocumentKind]:
    """What the programme asks for that the application does not have yet."""
    have = {d.kind for d in await documents.of_application(session, application.id)}
    return [k for k in required(application.programme) if k.value not in have]


async def missing_by_application(session: AsyncSession, mine: Sequence[Application]) -> dict[int, list[DocumentKind]]:
    have: dict[int, set[str]] = {}
    for document in await documents.of_applications(session, [a.id for a in mine]):
        have.setdefault(document.application_id or 0, set()).add(document.kind)
    return {a.id: [k for k in required(a.programme) if k.value not in have.get(a.id, set())] for a in mine}


async def erase_for(session: AsyncSession, files: FileStore, contact: Contact, mine: Sequence[Application]) -> int:
    """Delete every file a person sent, and its row (/hapusdata). Returns how many."""
    sent = await documents.of_person(session, contact.id, [a.id for a in mine])
    await _delete(session, files, sent)
    return len(sent)


async def _delete(session: AsyncSession, files: FileStore, sent: Sequence[Document]) -> None:
    for document in sent:
        await files.delete(document.key)
    await documents.remove(session, [d.id for d in sent])


# -- for staff ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    application: Application
    received: list[Document]
    missing: list[DocumentKind]


async def list_for(session: AsyncSession, actor: Actor, number: str) -> Listing:
    """An application's documents, and those it still lacks."""
    application = await _application(session, number)
    require_programme(actor, Permission.VIEW_APPLICANTS, application.programme)
    received = await documents.of_application(session, application.id)
    have = {d.kind for d in received}
    return Listing(application, received, [k for k in required(application.programme) if k.value not in have])


async def open_document(
    session: AsyncSession, files: FileStore, actor: Actor, number: str, kind: str
) -> tuple[Document, bytes]:
    """The latest file of this kind for the application, with its content."""
    application = await _application(session, number)
    require_programme(actor, Permission.VIEW_APPLICANTS, application.programme)
    matching = [d for d in await documents.of_application(session, application.id) if d.kind == kind.lower()]
    if not matching:
        raise DocumentError(f"{application.number} has no {kind} document")
    document = matching[-1]
    return document, await files.get(document.key)


async def _application(session: AsyncSession, number: str) -> Application:
    application = await applications.by_number(session, clean_text(number).upper())
    if application is None:
        raise DocumentError(f"no application {number}")
    return application
