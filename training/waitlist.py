"""A programme's waitlist and seats, as the ranking, the seat offers and the training start need them.

The waitlist closes when the training starts (the first participant marked present on a training
day, or `blkbot selection close-waitlist`): whoever still waits is not selected this time, is told
so kindly, and is remembered for the field's next programme (a "Kabari saya" interest, so the
"programme opens" notice reaches them). A seat freed after the start is not passed on: the
newcomer would have missed the first days.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Final

from sqlalchemy.ext.asyncio import AsyncSession

from outreach import seats as seat_messages
from storage.models import Application, DecisionKind, Programme, StaffActionKind, Stage
from storage.repositories import applications, catalog, interests
from storage.repositories import selection as records
from training import staff
from training.errors import BlkbotError
from training.permissions import Actor, Permission, require_programme
from training.scores import weighted, weights_of

if TYPE_CHECKING:
    from messages.render import Templates

HOLDING: Final = frozenset({Stage.SELECTED, Stage.IN_TRAINING})
"""Stages that hold one of the programme's seats."""
STARTED: Final = frozenset({Stage.IN_TRAINING, Stage.COMPETENT, Stage.NOT_YET_COMPETENT})
"""Stages only reached once the programme's training began."""
CLOSED_REASON: Final = "Kuota penuh; pelatihan sudah dimulai"
"""The stage reason of those the closing waitlist leaves out (staff read it beside the stage)."""


class WaitlistError(BlkbotError):
    """A waitlist step staff asked for that cannot be taken."""


def order(
    found: Sequence[Application], scores: Mapping[int, Mapping[str, float]], weights: Mapping[str, float]
) -> list[tuple[Application, float]]:
    """Applications best first: weighted score, then the earlier registration, then the lower number."""
    scored = [(a, round(weighted(scores.get(a.id, {}), weights), 4)) for a in found]
    return sorted(scored, key=lambda pair: (-pair[1], pair[0].created_at, pair[0].number))


async def waiting(session: AsyncSession, programme: Programme) -> list[Application]:
    """The programme's waitlist, best first."""
    found = [a for a in await applications.for_programme(session, programme.id) if a.stage == Stage.WAITLISTED]
    scores = await records.scores(session, [a.id for a in found])
    return [a for a, _ in order(found, scores, weights_of(programme))]


async def seats_held(session: AsyncSession, programme: Programme) -> int:
    return sum(1 for a in await applications.for_programme(session, programme.id) if Stage(a.stage) in HOLDING)


async def started(session: AsyncSession, programme: Programme) -> bool:
    """Whether the programme's training began: someone is (or was) in training."""
    return any(Stage(a.stage) in STARTED for a in await applications.for_programme(session, programme.id))


async def close(
    session: AsyncSession, templates: Templates, programme: Programme, actor: str, why: str, now: datetime
) -> list[Application]:
    """Everyone still on the programme's waitlist is not selected now, told once, remembered for the
    field's next programme, and the decision recorded; returns them (none when closed before)."""
    queue = await waiting(session, programme)
    await applications.set_stage(session, queue, Stage.NOT_SELECTED, now, CLOSED_REASON)
    for application in queue:
        await records.record(
            session,
            application,
            kind=DecisionKind.WAITLIST_CLOSED,
            outcome=Stage.NOT_SELECTED.value,
            note=why,
            actor=actor,
            at=now,
        )
        if application.contact_id is not None and application.anonymised_at is None:
            await interests.remember(session, application.contact_id, programme.cluster_code, None, now)
            await seat_messages.push_waitlist_closed(session, templates, application, now)
    return queue


async def waitlist_of(session: AsyncSession, actor: Actor, code: str) -> tuple[Programme, list[Application]]:
    """The programme and its waitlist, for the preview of `close_waitlist`."""
    programme = await catalog.programme(session, code.strip().upper())
    if programme is None:
        raise WaitlistError(f"no programme {code}")
    require_programme(actor, Permission.RUN_SELECTION, programme)
    return programme, await waiting(session, programme)


async def close_waitlist(
    session: AsyncSession, templates: Templates, actor: Actor, code: str, now: datetime
) -> list[Application]:
    """Staff close the waitlist by hand (training started without marks in blkbot)."""
    programme, _ = await waitlist_of(session, actor, code)
    closed = await close(session, templates, programme, actor.label, "daftar cadangan ditutup", now)
    await staff.record(session, actor, StaffActionKind.WAITLIST_CLOSED, f"{programme.code}: {len(closed)}", now)
    return closed
