"""WhatsApp's status callbacks (sent, delivered, read, failed) recorded on the outbox rows they concern.

Meta accepts a message first and tells later what became of it. A row accepted and then failed is
marked failed with Meta's code and title, except a 131047 (the window had closed) on a row that
went free-form: that one is due again at once and goes as its kind's template. Statuses of
conversation replies concern no outbox row and are ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.whatsapp.wire import WaStatus
from storage.repositories import outbox

CHANNEL = "whatsapp"
WINDOW_CLOSED = 131047


async def record(session: AsyncSession, statuses: Sequence[WaStatus], now: datetime) -> int:
    """Apply the statuses to their rows, in the order they happened; returns how many rows changed.
    A row to send again is due at `now` (our clock; a status's own time may lag)."""
    changed = 0
    for status in sorted(statuses, key=lambda s: s.at):
        message = await outbox.by_platform_id(session, CHANNEL, status.message_id)
        if message is None:
            continue
        if status.status != outbox.RECEIPT_FAILED:
            changed += await outbox.note_receipt(session, message, status.status, status.at)
            continue
        reason = f"WhatsApp {status.error_code or '?'}: {status.error_title or 'failed'} (after it was accepted)"
        if status.error_code == WINDOW_CLOSED and message.template is None:
            await outbox.send_again(session, message, f"{reason}; sending it as a template", now)
        else:
            await outbox.mark_failed_after_send(session, message, reason, status.at)
        changed += 1
    return changed
