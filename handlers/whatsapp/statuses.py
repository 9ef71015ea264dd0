"""WhatsApp's status callbacks (sent, delivered, read, failed) recorded on the outbox rows they concern.

Meta accepts a message first and tells later what became of it. A row accepted and then failed is
marked failed with Meta's code and title, except a 131047 (the window had closed) on a row that
went free-form: that one is due again at once and goes as its kind's template.

A status can come before the delivery loop has written down the message id Meta gave back (it
writes outcomes in small batches): such a status is kept (early_statuses) and applied by `settle`
once the id is there. Statuses of conversation replies concern no outbox row: the channel leaves
out those of replies it sent lately, and the rest age out after EARLY_KEPT.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.whatsapp.wire import WaStatus
from storage.models import EarlyStatus, OutboxMessage
from storage.repositories import early_statuses, outbox

CHANNEL = "whatsapp"
WINDOW_CLOSED = 131047
EARLY_KEPT = timedelta(hours=1)
"""How long a status for an id no outbox row holds is kept: the delivery loop writes ids within seconds."""


async def record(session: AsyncSession, statuses: Sequence[WaStatus], now: datetime) -> tuple[int, int]:
    """Apply the statuses to their rows, in the order they happened. A row to send again is due at
    `now` (our clock; a status's own time may lag). Returns (rows changed, statuses kept for later)."""
    changed = 0
    early: list[EarlyStatus] = []
    for status in sorted(statuses, key=lambda s: s.at):
        message = await outbox.by_platform_id(session, CHANNEL, status.message_id)
        if message is None:
            early.append(
                EarlyStatus(
                    channel=CHANNEL,
                    platform_message_id=status.message_id,
                    status=status.status,
                    at=status.at,
                    error_code=status.error_code,
                    error_title=(status.error_title or "")[:200] or None,
                    received_at=now,
                )
            )
            continue
        changed += await _apply(session, message, status.status, status.at, status.error_code, status.error_title, now)
    if early:
        await early_statuses.keep(session, early)
    return changed, len(early)


async def settle(session: AsyncSession, now: datetime) -> int:
    """Apply the kept statuses whose message id is written now; forget those kept too long.
    Returns how many rows changed."""
    await early_statuses.forget_before(session, CHANNEL, now - EARLY_KEPT)
    changed = 0
    matched = await early_statuses.matched(session, CHANNEL)
    for status, message in matched:
        changed += await _apply(session, message, status.status, status.at, status.error_code, status.error_title, now)
    await early_statuses.forget(session, [status.id for status, _ in matched])
    return changed


async def _apply(
    session: AsyncSession,
    message: OutboxMessage,
    status: str,
    at: datetime,
    error_code: int | None,
    error_title: str | None,
    now: datetime,
) -> int:
    if status != outbox.RECEIPT_FAILED:
        return int(await outbox.note_receipt(session, message, status, at))
    reason = f"WhatsApp {error_code or '?'}: {error_title or 'failed'} (after it was accepted)"
    if error_code == WINDOW_CLOSED and message.template is None:
        await outbox.send_again(session, message, f"{reason}; sending it as a template", now)
    else:
        await outbox.mark_failed_after_send(session, message, reason, at)
    return 1
