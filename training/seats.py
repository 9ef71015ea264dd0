"""Seats: a selected applicant confirms in the chat before a deadline, or the seat moves on.

"Ya, saya ikut" confirms the seat. "Tidak bisa", or no answer by the deadline (the programme's
`seat_deadline` in the catalog, else DEFAULT_HOURS), withdraws the application and offers the
seat to the first on the waitlist, who is told and asked in turn. The deadline is found by a
periodic job (`expire_lapsed`, idempotent: an answered or expired offer is never handled again),
and by a late press of the button itself. Every step is recorded as a decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from sqlalchemy.ext.asyncio import AsyncSession

from outreach import seats as seat_messages
from outreach.results import change_stage
from storage.models import Application, Contact, DecisionKind, SeatAnswer, SeatOffer, Stage
from storage.repositories import selection as records
from training import people
from training.waitlist import seats_held, started, waiting

if TYPE_CHECKING:
    from messages.render import Templates

DEFAULT_HOURS: Final = 72
APPLICANT: Final = "applicant"
"""The actor of a seat answer: the applicant themselves."""
SYSTEM: Final = "system"
"""The actor of what the deadline decides."""
DECLINED_REASON: Final = "Tidak bisa ikut (kursi dilepas)"
EXPIRED_REASON: Final = "Tidak mengonfirmasi kursi sampai batas waktu"
ATTENDED_NOTE: Final = "Hadir di hari pelatihan"


async def offer_seat(
    session: AsyncSession, templates: Templates, application: Application, now: datetime, actor: str
) -> SeatOffer:
    """Open a seat offer for a selected applicant and ask them in the chat."""
    hours = application.programme.seat_deadline_hours or DEFAULT_HOURS
    offer = await records.add_offer(session, application, now, now + timedelta(hours=hours))
    await records.record(
        session,
        application,
        kind=DecisionKind.SEAT,
        outcome="offered",
        note=f"until {offer.deadline:%Y-%m-%d %H:%M} UTC",
        actor=actor,
        at=now,
    )
    await seat_messages.push_offer(session, templates, application, offer, now)
    return offer


async def open_deadlines(session: AsyncSession, applications: Sequence[Application]) -> dict[int, datetime]:
    """The deadline of each application's unanswered seat offer, by application id (for /status)."""
    offers = await records.open_offers(session, [a.id for a in applications])
    return {application_id: offer.deadline for application_id, offer in offers.items()}


class SeatOutcome(StrEnum):
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    ALREADY = "already"  # answered before (a double tap, an old message)
    TOO_LATE = "too_late"  # the deadline passed: the seat went to the waitlist
    IN_TRAINING = "in_training"  # marked present before answering: the seat is theirs, nothing to say
    NOT_YOURS = "not_yours"  # an unknown offer, or someone else's: nothing is said about it


@dataclass(frozen=True)
class SeatReply:
    outcome: SeatOutcome
    offer: SeatOffer | None = None
    previous: str | None = None
    """For ALREADY: the answer given before (a SeatAnswer)."""


async def answer(
    session: AsyncSession, templates: Templates, contact: Contact, offer_id: int, yes: bool, now: datetime
) -> SeatReply:
    """The applicant's answer to their seat offer. Button data can be forged, so the offer must be
    this contact's; a second answer changes nothing."""
    offer = await records.offer(session, offer_id)
    if offer is None or not await people.owns(session, contact, offer.application):
        return SeatReply(SeatOutcome.NOT_YOURS)
    if offer.application.stage == Stage.IN_TRAINING:
        await confirm_attending(session, [offer.application], APPLICANT, now)
        return SeatReply(SeatOutcome.IN_TRAINING, offer)
    if offer.answer is not None:
        return SeatReply(SeatOutcome.ALREADY, offer, offer.answer)
    if offer.application.stage != Stage.SELECTED or now >= offer.deadline:
        await _lapse(session, templates, offer, now, tell=False)
        return SeatReply(SeatOutcome.TOO_LATE, offer)
    application = offer.application
    if yes:
        await records.answer_offer(session, offer, SeatAnswer.CONFIRMED, now)
        await records.record(session, application, kind=DecisionKind.SEAT, outcome="confirmed", actor=APPLICANT, at=now)
        return SeatReply(SeatOutcome.CONFIRMED, offer)
    await records.answer_offer(session, offer, SeatAnswer.DECLINED, now)
    await records.record(
        session, application, kind=DecisionKind.SEAT, outcome="declined", note=DECLINED_REASON, actor=APPLICANT, at=now
    )
    await change_stage(session, templates, [application], Stage.WITHDRAWN, now, DECLINED_REASON)
    await promote_next(session, templates, application, now)
    return SeatReply(SeatOutcome.DECLINED, offer)


async def confirm_attending(session: AsyncSession, attending: Sequence[Application], actor: str, now: datetime) -> int:
    """Turning up on a training day confirms the seat: their open offers are answered, so neither
    the deadline nor a late button press gives the seat away. Returns how many offers."""
    offers = await records.open_offers(session, [a.id for a in attending])
    for application in attending:
        if (offer := offers.get(application.id)) is not None:
            await records.answer_offer(session, offer, SeatAnswer.CONFIRMED, now)
            await records.record(
                session,
                application,
                kind=DecisionKind.SEAT,
                outcome="confirmed",
                note=ATTENDED_NOTE,
                actor=actor,
                at=now,
            )
    return len(offers)


async def expire_lapsed(session: AsyncSession, templates: Templates, now: datetime) -> dict[str, int]:
    """The periodic job: every unanswered offer past its deadline gives its seat to the waitlist.
    Returns counts for the log (offers expired, applicants promoted)."""
    counts = {"expired": 0, "promoted": 0}
    for offer in await records.lapsed_offers(session, now):
        counts["expired"] += 1
        counts["promoted"] += await _lapse(session, templates, offer, now, tell=True)
    return counts


async def _lapse(session: AsyncSession, templates: Templates, offer: SeatOffer, now: datetime, *, tell: bool) -> int:
    """Expire one offer; 1 when someone from the waitlist took the seat."""
    await records.answer_offer(session, offer, SeatAnswer.EXPIRED, now)
    application = offer.application
    if application.stage != Stage.SELECTED:
        # Withdrawn (or moved by staff) before the deadline: the seat may be free all the same.
        return 1 if await promote_next(session, templates, application, now) else 0
    await records.record(
        session, application, kind=DecisionKind.SEAT, outcome="expired", note=EXPIRED_REASON, actor=SYSTEM, at=now
    )
    await change_stage(session, templates, [application], Stage.WITHDRAWN, now, EXPIRED_REASON)
    if tell:
        await seat_messages.push_expired(session, templates, application, offer, now)
    return 1 if await promote_next(session, templates, application, now) else 0


async def promote_next(
    session: AsyncSession, templates: Templates, freed: Application, now: datetime
) -> Application | None:
    """Give a freed seat of `freed`'s programme to the first on its waitlist, who is told and asked;
    not once the training started (training/waitlist.py)."""
    programme = freed.programme
    if await seats_held(session, programme) >= programme.quota or await started(session, programme):
        return None
    queue = await waiting(session, programme)
    if not queue:
        return None
    chosen = queue[0]
    await records.record(
        session,
        chosen,
        kind=DecisionKind.PROMOTED,
        outcome=Stage.SELECTED.value,
        note=f"seat of {freed.number}",
        actor=SYSTEM,
        at=now,
    )
    await change_stage(session, templates, [chosen], Stage.SELECTED, now)
    await offer_seat(session, templates, chosen, now, SYSTEM)
    return chosen
