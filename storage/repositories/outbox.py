"""The outbox: idempotent inserts, leased claims, and the status of each delivery."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, case, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.dialects import insert_for
from storage.models import SHOWN_ON_READ, Contact, DeliveryStatus, MessageKind, OutboxMessage, WhatsAppChat

ERASED = "cancelled: the person erased their data"
UNSUBSCRIBED = "cancelled: the person stopped announcements (/berhenti)"

_REFUSAL = case(
    (Contact.erased_at.is_not(None), ERASED),
    (and_(OutboxMessage.kind == MessageKind.ANNOUNCEMENT.value, Contact.subscribed.is_(False)), UNSUBSCRIBED),
    else_=None,
)
"""Why the recipient may no longer receive a row, or NULL when it may go (outreach.outbox.may_receive in SQL)."""


@dataclass(frozen=True)
class NewMessage:
    contact_id: int
    channel: str
    chat_id: str
    origin: str
    kind: str
    dedupe_key: str
    text: str
    buttons: list[Any]
    priority: int
    broadcast_id: int | None = None


async def insert_new(session: AsyncSession, messages: Sequence[NewMessage], now: datetime) -> int:
    """Insert the messages whose dedupe key is new; return how many were new.

    ON CONFLICT DO NOTHING makes a repeated enqueue (a double-tapped "send", a retried job) a
    no-op on both databases, without a read before the write.
    """
    if not messages:
        return 0
    rows = [
        {
            "contact_id": m.contact_id,
            "channel": m.channel,
            "chat_id": m.chat_id,
            "origin": m.origin,
            "kind": m.kind,
            "dedupe_key": m.dedupe_key,
            "text": m.text,
            "buttons": m.buttons,
            "priority": m.priority,
            "broadcast_id": m.broadcast_id,
            "status": DeliveryStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        }
        for m in messages
    ]
    insert = insert_for(session)
    total = 0
    for start in range(0, len(rows), 500):
        statement = (
            insert(OutboxMessage).on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(OutboxMessage.id)
        )
        total += len((await session.execute(statement, rows[start : start + 500])).all())
    return total


async def claim_due(
    session: AsyncSession, *, now: datetime, worker: str, lease: timedelta, limit: int
) -> list[OutboxMessage]:
    """Take up to `limit` due messages for `worker` until `now + lease`.

    Due means pending with its next attempt in the past, or claimed by a worker whose lease ran
    out (it died). On PostgreSQL, FOR UPDATE SKIP LOCKED lets several workers claim side by side
    without ever taking the same row; SQLite has a single writer anyway.

    The same query reads the recipient's contact: a row whose recipient erased their data, or
    stopped announcements since it was queued, is cancelled (the reason in last_error) rather
    than claimed, under the same row locks, so no worker sends it.
    """
    due = and_(
        or_(
            and_(OutboxMessage.status == DeliveryStatus.PENDING, OutboxMessage.next_attempt_at <= now),
            and_(OutboxMessage.status == DeliveryStatus.SENDING, OutboxMessage.claimed_until < now),
        ),
        OutboxMessage.channel.not_in(SHOWN_ON_READ),
    )
    ids: list[int] = []
    while len(ids) < limit:
        wanted = limit - len(ids)
        candidates = (
            select(OutboxMessage.id, _REFUSAL)
            .join(Contact, Contact.id == OutboxMessage.contact_id)
            .where(due)
            .order_by(OutboxMessage.priority, OutboxMessage.id)
            .limit(wanted)
        )
        if session.bind.dialect.name == "postgresql":
            candidates = candidates.with_for_update(skip_locked=True, of=OutboxMessage)
        found = (await session.execute(candidates)).all()
        refused: dict[str, list[int]] = {}
        claimed = []
        for message_id, refusal in found:
            if refusal is None:
                claimed.append(message_id)
            else:
                refused.setdefault(refusal, []).append(message_id)
        for reason, cancelled in refused.items():
            await _set(session, cancelled, status=DeliveryStatus.CANCELLED, last_error=reason)
        await _set(session, claimed, status=DeliveryStatus.SENDING, claimed_by=worker, claimed_until=now + lease)
        ids += claimed
        if len(found) < wanted or not refused:
            break  # nothing more is due, or the batch is full: refused rows only ever cost another look
    if not ids:
        return []
    rows = await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
        .order_by(OutboxMessage.priority, OutboxMessage.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def take_shown(session: AsyncSession, channel: str, chat_id: str, now: datetime) -> list[OutboxMessage]:
    """The messages waiting for a chat on a channel that shows them itself (SHOWN_ON_READ), oldest
    first, marked sent as the caller shows them. Rows whose recipient may no longer receive them
    are cancelled with the reason, as `claim_due` does; on PostgreSQL a second reader of the same
    chat skips the rows the first one holds, so nothing is shown twice."""
    if channel not in SHOWN_ON_READ:
        return []
    waiting = (
        select(OutboxMessage.id, _REFUSAL)
        .join(Contact, Contact.id == OutboxMessage.contact_id)
        .where(
            OutboxMessage.channel == channel,
            OutboxMessage.chat_id == chat_id,
            OutboxMessage.status == DeliveryStatus.PENDING,
        )
        .order_by(OutboxMessage.id)
    )
    if session.bind.dialect.name == "postgresql":
        waiting = waiting.with_for_update(skip_locked=True, of=OutboxMessage)
    shown: list[int] = []
    refused: dict[str, list[int]] = {}
    for message_id, refusal in (await session.execute(waiting)).all():
        if refusal is None:
            shown.append(message_id)
        else:
            refused.setdefault(refusal, []).append(message_id)
    for reason, cancelled in refused.items():
        await _set(session, cancelled, status=DeliveryStatus.CANCELLED, last_error=reason)
    await mark_sent(session, shown, now)
    if not shown:
        return []
    rows = await session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.id.in_(shown))
        .order_by(OutboxMessage.id)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def _set(session: AsyncSession, ids: Sequence[int], **values: object) -> None:
    if ids:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(**values)
            .execution_options(synchronize_session=False)
        )


async def release(session: AsyncSession, *, worker: str | None = None) -> int:
    """Give claimed rows back (a worker stopping cleanly, or the only worker starting up)."""
    query = update(OutboxMessage).where(OutboxMessage.status == DeliveryStatus.SENDING)
    if worker is not None:
        query = query.where(OutboxMessage.claimed_by == worker)
    result = await session.execute(
        query.values(status=DeliveryStatus.PENDING, claimed_by=None, claimed_until=None).execution_options(
            synchronize_session=False
        )
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


async def mark_sent(session: AsyncSession, ids: Sequence[int], now: datetime) -> None:
    if ids:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids))
            .values(
                status=DeliveryStatus.SENT,
                sent_at=now,
                attempts=OutboxMessage.attempts + 1,
                claimed_by=None,
                claimed_until=None,
            )
            .execution_options(synchronize_session=False)
        )


async def mark_retry(session: AsyncSession, message_id: int, *, at: datetime, error: str, count: bool = True) -> None:
    """Back to pending for another attempt at `at` (a 429 does not count as a failed attempt)."""
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(
            status=DeliveryStatus.PENDING,
            next_attempt_at=at,
            attempts=OutboxMessage.attempts + (1 if count else 0),
            last_error=error[:300],
            claimed_by=None,
            claimed_until=None,
        )
        .execution_options(synchronize_session=False)
    )


async def mark_failed(session: AsyncSession, message_id: int, error: str) -> None:
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id == message_id)
        .values(
            status=DeliveryStatus.FAILED,
            attempts=OutboxMessage.attempts + 1,
            last_error=error[:300],
            claimed_by=None,
            claimed_until=None,
        )
        .execution_options(synchronize_session=False)
    )


async def mark_unreachable(session: AsyncSession, message_id: int, contact_id: int, error: str) -> None:
    """The person blocked the bot: this message and everything else waiting for them stop here,
    and they leave the subscribers, so no broadcast tries them again."""
    waiting = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
    await session.execute(
        update(OutboxMessage)
        .where(
            or_(
                OutboxMessage.id == message_id,
                and_(OutboxMessage.contact_id == contact_id, OutboxMessage.status.in_(waiting)),
            )
        )
        .values(status=DeliveryStatus.UNREACHABLE, last_error=error[:300], claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(Contact)
        .where(Contact.id == contact_id)
        .values(unreachable=True, subscribed=False)
        .execution_options(synchronize_session=False)
    )


async def erase_for(session: AsyncSession, contact_id: int) -> int:
    """Cancel what still waits for an erased person and blank the text of every row of theirs, sent
    ones too (results quote their number and the staff's reason); returns how many were cancelled.
    The rows stay, without words, so broadcast reports keep their counts."""
    waiting = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)
    result = await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.contact_id == contact_id, OutboxMessage.status.in_(waiting))
        .values(status=DeliveryStatus.CANCELLED, last_error=ERASED, claimed_by=None, claimed_until=None)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.contact_id == contact_id)
        .values(text="", buttons=[])
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


async def status_counts(session: AsyncSession, broadcast_id: int | None = None) -> dict[str, int]:
    query = select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
    if broadcast_id is not None:
        query = query.where(OutboxMessage.broadcast_id == broadcast_id)
    return {status: count for status, count in (await session.execute(query)).all()}


async def unread_count(session: AsyncSession, broadcast_id: int) -> int:
    """A broadcast's rows still waiting for a terminal to show them (SHOWN_ON_READ)."""
    return int(
        await session.scalar(
            select(func.count()).where(
                OutboxMessage.broadcast_id == broadcast_id,
                OutboxMessage.status == DeliveryStatus.PENDING,
                OutboxMessage.channel.in_(SHOWN_ON_READ),
            )
        )
        or 0
    )


async def next_due_at(session: AsyncSession) -> datetime | None:
    """When the earliest pending message becomes due, so an idle loop knows how long to sleep."""
    return await session.scalar(
        select(OutboxMessage.next_attempt_at)
        .where(OutboxMessage.status == DeliveryStatus.PENDING, OutboxMessage.channel.not_in(SHOWN_ON_READ))
        .order_by(OutboxMessage.next_attempt_at)
        .limit(1)
    )


async def by_dedupe_key(session: AsyncSession, key: str) -> OutboxMessage | None:
    return await session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == key))


async def mark_needs_template(session: AsyncSession, message_id: int, reason: str) -> None:
    """Held, not failed: it waits outside the sending loop until a template for its kind is set."""
    await _set(
        session,
        [message_id],
        status=DeliveryStatus.NEEDS_TEMPLATE,
        last_error=reason[:300],
        claimed_by=None,
        claimed_until=None,
    )


async def release_held(session: AsyncSession, channel: str, kinds: Sequence[str], now: datetime) -> int:
    """Rows held for a template of one of `kinds`, which is configured now: due again at once."""
    if not kinds:
        return 0
    result = await session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.status == DeliveryStatus.NEEDS_TEMPLATE,
            OutboxMessage.channel == channel,
            OutboxMessage.kind.in_(list(kinds)),
        )
        .values(status=DeliveryStatus.PENDING, next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0  # type: ignore[attr-defined]


@dataclass(frozen=True)
class SentAs:
    """What the platform said it accepted: its message id, and the template when one was used."""

    message_id: int
    platform_message_id: str
    template: str | None


async def note_sent_as(session: AsyncSession, sent: Sequence[SentAs], now: datetime) -> None:
    """Keep the platform's id of each sent row, so its later status callbacks find it. One statement
    run for every row (executemany), not a statement each: the delivery loop writes a few of these
    every 50 ms while a broadcast runs, and on PostgreSQL each statement is a round trip."""
    if not sent:
        return
    table = OutboxMessage.__table__
    await session.execute(
        update(table)
        .where(table.c.id == bindparam("sent_id"))
        .values(
            platform_message_id=bindparam("sent_platform_id"),
            template=bindparam("sent_template"),
            receipt=RECEIPT_SENT,
            receipt_at=now,
        ),
        [
            {"sent_id": item.message_id, "sent_platform_id": item.platform_message_id, "sent_template": item.template}
            for item in sent
        ],
    )


RECEIPT_SENT = "sent"
RECEIPT_FAILED = "failed"
RECEIPT_RANK = {"sent": 1, "delivered": 2, "read": 3}
"""Receipts only move forward: a late "delivered" does not undo "read"."""


async def by_platform_id(session: AsyncSession, channel: str, platform_message_id: str) -> OutboxMessage | None:
    return await session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.channel == channel, OutboxMessage.platform_message_id == platform_message_id)
        .execution_options(populate_existing=True)
    )


async def note_receipt(session: AsyncSession, message: OutboxMessage, receipt: str, at: datetime) -> bool:
    """Record sent / delivered / read on the row, never moving back; returns whether it changed."""
    if message.receipt == RECEIPT_FAILED or RECEIPT_RANK.get(receipt, 0) <= RECEIPT_RANK.get(message.receipt or "", 0):
        return False
    await _set(session, [message.id], receipt=receipt, receipt_at=at)
    return True


async def mark_failed_after_send(session: AsyncSession, message: OutboxMessage, reason: str, at: datetime) -> None:
    """The platform accepted the row, then could not deliver it: failed, with its reason."""
    await _set(
        session,
        [message.id],
        status=DeliveryStatus.FAILED,
        receipt=RECEIPT_FAILED,
        receipt_at=at,
        last_error=reason[:300],
    )


async def send_again(session: AsyncSession, message: OutboxMessage, reason: str, now: datetime) -> None:
    """Accepted, then refused for a reason another form can overcome (a closed window: the template):
    due again at once, its failed receipt telling the sender why."""
    await _set(
        session,
        [message.id],
        status=DeliveryStatus.PENDING,
        next_attempt_at=now,
        receipt=RECEIPT_FAILED,
        receipt_at=now,
        last_error=reason[:300],
    )


async def reasons(session: AsyncSession, broadcast_id: int, status: DeliveryStatus) -> dict[str, int]:
    """How many of a broadcast's rows in `status` give each reason (last_error)."""
    query = (
        select(OutboxMessage.last_error, func.count())
        .where(OutboxMessage.broadcast_id == broadcast_id, OutboxMessage.status == status)
        .group_by(OutboxMessage.last_error)
    )
    return {reason or "": count for reason, count in (await session.execute(query)).all()}


@dataclass(frozen=True)
class Recipient:
    """What a WhatsApp sender needs of a row's recipient: their language, and when they last wrote."""

    language: str | None
    last_message_at: datetime | None


async def recipients(session: AsyncSession, message_ids: Sequence[int]) -> dict[int, Recipient]:
    """The recipients of a claimed batch, by message id, in one query rather than two lookups a
    message: at 80 messages a second those lookups were a fifth of the delivery loop's work."""
    if not message_ids:
        return {}
    rows = await session.execute(
        select(OutboxMessage.id, Contact.language, WhatsAppChat.last_message_at)
        .outerjoin(Contact, Contact.id == OutboxMessage.contact_id)
        .outerjoin(WhatsAppChat, WhatsAppChat.wa_id == OutboxMessage.chat_id)
        .where(OutboxMessage.id.in_(list(message_ids)))
    )
    return {message_id: Recipient(language, heard) for message_id, language, heard in rows.all()}
