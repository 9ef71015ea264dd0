"""Announcements staff send to a segment: a preview and a count first, then one outbox row per
recipient, then progress and a delivery report read from the outbox. Sending checks the actor's
role (everyone at once needs broadcast_all) and is recorded in the staff's audit table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from messages.render import Templates
from outreach.outbox import Push, enqueue
from outreach.segments import Segment
from storage.errors import BlkbotError
from storage.models import Broadcast, Contact, DeliveryStatus, Origin, StaffActionKind
from storage.repositories import broadcasts, catalog, outbox
from training import staff
from training.permissions import Actor, OutsideVenue, Permission, require, require_programme
from training.validators import clean_text

MAX_TEXT = 3500
"""Leaves room under Telegram's 4,096 characters for the header and the footer."""


class BroadcastError(BlkbotError):
    """A broadcast that cannot be sent as composed (empty, too long, a bad link)."""


@dataclass(frozen=True)
class LinkButton:
    label: str
    url: str

    @classmethod
    def parse(cls, text: str) -> LinkButton:
        """ "Daftar sekarang|https://t.me/..." -> a button under the announcement."""
        label, sep, url = text.partition("|")
        label, url = label.strip(), url.strip()
        if not sep or not label or not url.startswith(("https://", "http://", "tg://")):
            raise BroadcastError(f"button {text!r}: expected 'Label|https://...'")
        if len(label) > 60:
            raise BroadcastError(f"button label {label!r} is over 60 characters")
        return cls(label, url)


@dataclass(frozen=True)
class Progress:
    recipients: int
    sent: int
    failed: int
    unreachable: int
    pending: int
    """Waiting for the delivery loop."""
    unread: int = 0
    """Waiting for a terminal to read them (storage.models.SHOWN_ON_READ): not the loop's to finish."""
    needs_template: int = 0
    """Held: outside the person's WhatsApp window, and no template is configured for this kind."""

    @property
    def done(self) -> bool:
        return self.pending == 0


def render(templates: Templates, lang: str, text: str) -> str:
    """Staff write plain text; the template escapes it, so a stray "<" cannot break the markup."""
    return templates.render(lang, "broadcasts/announcement", body=text)


def check_text(text: str) -> str:
    """The announcement as it will be sent: control characters dropped, line breaks kept."""
    text = clean_text(text, multiline=True)
    if not text:
        raise BroadcastError("the announcement is empty")
    if len(text) > MAX_TEXT:
        raise BroadcastError(f"the announcement has {len(text)} characters; at most {MAX_TEXT}")
    return text


def permission_for(segment: Segment) -> Permission:
    """Reaching every subscriber at once takes more than reaching a part of them."""
    return Permission.BROADCAST_ALL if segment == Segment() else Permission.BROADCAST_SEGMENT


async def require_reach(session: AsyncSession, actor: Actor, segment: Segment) -> None:
    """The actor may send to this segment: its role's permission, and for venue staff a segment inside
    one programme of their venue (a cluster, district, stage or everyone reaches other venues' people)."""
    permission = permission_for(segment)
    require(actor, permission)
    if not actor.scoped:
        return
    programme = await catalog.programme(session, segment.programme) if segment.programme else None
    if programme is None:
        raise OutsideVenue(actor, permission, segment.describe())
    require_programme(actor, permission, programme)


async def send(
    session: AsyncSession,
    templates: Templates,
    actor: Actor,
    *,
    text: str,
    segment: Segment,
    now: datetime,
    buttons: Sequence[LinkButton] = (),
) -> Broadcast:
    """Store the broadcast and enqueue it for every recipient of the segment, in one transaction."""
    await require_reach(session, actor, segment)
    text = check_text(text)
    recipients: list[Contact] = await segment.contacts(session)
    rows = [[{"label": b.label, "url": b.url}] for b in buttons]
    broadcast = await broadcasts.add(
        session,
        Broadcast(
            text=text,
            buttons=rows,
            segment=segment.to_json(),
            created_by=actor.label,
            recipients=len(recipients),
            created_at=now,
        ),
    )
    rendered = {lang: render(templates, lang, text) for lang in {c.language for c in recipients}}
    await enqueue(
        session,
        [
            Push(
                c,
                Origin.BROADCAST,
                f"broadcast:{broadcast.id}:{c.id}",
                rendered[c.language],
                rows,
                broadcast.id,
                kind=segment.kind,
            )
            for c in recipients
        ],
        now,
    )
    target = f"broadcast {broadcast.id} to {segment.describe()}, {len(recipients)} recipients"
    await staff.record(session, actor, StaffActionKind.BROADCAST_SENT, target, now)
    return broadcast


async def report(session: AsyncSession, actor: Actor, broadcast_id: int) -> tuple[Broadcast, Progress]:
    """A broadcast and its delivery so far, for staff who send broadcasts; venue staff see only those
    to a programme of their venue (a report names the segment and its reach)."""
    require(actor, Permission.BROADCAST_SEGMENT)
    found = await broadcasts.get(session, broadcast_id)
    if found is None:
        raise BroadcastError(f"no broadcast {broadcast_id}")
    if actor.scoped:
        await require_reach(session, actor, Segment.from_json(found.segment or {}))
    return found, await progress(session, broadcast_id)


async def progress(session: AsyncSession, broadcast_id: int) -> Progress:
    counts = await outbox.status_counts(session, broadcast_id)
    unread = await outbox.unread_count(session, broadcast_id)
    total = sum(counts.values())
    return Progress(
        recipients=total,
        sent=counts.get(DeliveryStatus.SENT, 0),
        failed=counts.get(DeliveryStatus.FAILED, 0) + counts.get(DeliveryStatus.CANCELLED, 0),
        unreachable=counts.get(DeliveryStatus.UNREACHABLE, 0),
        pending=counts.get(DeliveryStatus.PENDING, 0) + counts.get(DeliveryStatus.SENDING, 0) - unread,
        unread=unread,
        needs_template=counts.get(DeliveryStatus.NEEDS_TEMPLATE, 0),
    )
