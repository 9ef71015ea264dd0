"""The documents residents sent: which file (by key) belongs to which application or, while a
registration is still being filled in, to which contact."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Document

TABLE = Document.__table__

_REMOVE_UNATTACHED = (
    delete(TABLE)
    .where(TABLE.c.contact_id == bindparam("contact"), TABLE.c.application_id.is_(None))
    .returning(TABLE.c.key)
)
"""Every submission runs it, nearly always deleting nothing: built once."""


async def add(session: AsyncSession, document: Document) -> Document:
    session.add(document)
    await session.flush()
    return document


async def of_application(session: AsyncSession, application_id: int) -> list[Document]:
    return list(
        await session.scalars(select(Document).where(Document.application_id == application_id).order_by(Document.id))
    )


async def of_applications(session: AsyncSession, application_ids: Collection[int]) -> list[Document]:
    if not application_ids:
        return []
    return list(
        await session.scalars(
            select(Document).where(Document.application_id.in_(application_ids)).order_by(Document.id)
        )
    )


async def unattached_of_contact(session: AsyncSession, contact_id: int) -> list[Document]:
    """Files sent during a registration not (yet) submitted."""
    return list(
        await session.scalars(
            select(Document)
            .where(Document.contact_id == contact_id, Document.application_id.is_(None))
            .order_by(Document.id)
        )
    )


async def attach(session: AsyncSession, document_ids: Sequence[int], contact_id: int, application_id: int) -> None:
    """Give the contact's own unattached documents to the application just submitted."""
    if document_ids:
        await session.execute(
            update(Document)
            .where(
                Document.id.in_(document_ids),
                Document.contact_id == contact_id,
                Document.application_id.is_(None),
            )
            .values(application_id=application_id)
        )


async def remove_unattached(session: AsyncSession, contact_id: int) -> list[str]:
    """Delete the rows of the contact's files no application took; returns their keys, for the files."""
    return list(await session.scalars(_REMOVE_UNATTACHED, {"contact": contact_id}))


async def of_person(session: AsyncSession, contact_id: int, application_ids: Collection[int]) -> list[Document]:
    """Everything a person sent: for their applications, and during a registration not submitted."""
    condition = Document.contact_id == contact_id
    if application_ids:
        condition = or_(condition, Document.application_id.in_(application_ids))
    return list(await session.scalars(select(Document).where(condition)))


async def remove(session: AsyncSession, document_ids: Collection[int]) -> None:
    if document_ids:
        await session.execute(delete(Document).where(Document.id.in_(document_ids)))
