"""Putting pushed messages in the outbox: idempotent, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import PUSH_CHANNELS, Contact, MessageKind, Origin
from storage.repositories import outbox
from storage.repositories.outbox import NewMessage
from training import people

PRIORITY = {
    Origin.RESULT: 1,
    Origin.REMINDER: 2,
    Origin.EVENT: 2,
    Origin.TRACER: 4,
    Origin.VACANCY: 5,
    Origin.OPENING: 5,
    Origin.BROADCAST: 6,
}
"""Lower goes first: a result or a reminder must not wait behind a 10,000-person broadcast."""

KIND = {
    Origin.RESULT: MessageKind.APPLICATION,
    Origin.REMINDER: MessageKind.APPLICATION,
    Origin.EVENT: MessageKind.APPLICATION,
    Origin.TRACER: MessageKind.APPLICATION,
    Origin.OPENING: MessageKind.ANNOUNCEMENT,
    Origin.VACANCY: MessageKind.ANNOUNCEMENT,
    Origin.BROADCAST: MessageKind.ANNOUNCEMENT,
}
"""The kind of each origin's messages; a broadcast to a programme or a stage says otherwise (Segment.kind)."""


@dataclass(frozen=True)
class Push:
    """One message for one contact. `key` is unique per meaning (e.g. "result:42:selected"), so
    enqueueing the same thing twice sends it once."""

    contact: Contact
    origin: Origin
    key: str
    text: str
    buttons: list[list[dict[str, Any]]] = field(default_factory=list)
    broadcast_id: int | None = None
    kind: MessageKind | None = None
    """None: the origin's usual kind (KIND)."""

    @property
    def message_kind(self) -> MessageKind:
        return self.kind or KIND[self.origin]


def may_receive(contact: Contact, kind: MessageKind) -> bool:
    """An erased person gets nothing; one who sent /berhenti still hears about their own application."""
    if contact.erased_at is not None:
        return False
    return contact.subscribed or kind is MessageKind.APPLICATION


async def enqueue(session: AsyncSession, pushes: Sequence[Push], now: datetime) -> int:
    """Add the pushes whose keys are new and whose recipient may receive them; return how many
    were added (none for the console). The delivery loop checks the recipient again when it
    claims a row, as they may send /berhenti or /hapusdata while it waits.

    A person with chats on two channels is pushed to the one they used last (training.people)."""
    chats = await people.reach(session, [p.contact for p in pushes])
    pushes = [replace(p, contact=chats[p.contact.id]) for p in pushes]
    pushes = [p for p in pushes if p.contact.channel in PUSH_CHANNELS and may_receive(p.contact, p.message_kind)]
    return await outbox.insert_new(
        session,
        [
            NewMessage(
                contact_id=p.contact.id,
                channel=p.contact.channel,
                chat_id=p.contact.chat_id,
                origin=p.origin.value,
                kind=p.message_kind.value,
                dedupe_key=p.key,
                text=p.text,
                buttons=p.buttons,
                priority=PRIORITY[p.origin],
                broadcast_id=p.broadcast_id,
            )
            for p in pushes
        ],
        now,
    )
