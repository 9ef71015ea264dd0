"""A programme's waitlist and seats, as the ranking and the seat offers both need them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Application, Programme, Stage
from storage.repositories import applications
from storage.repositories import selection as records
from training.scores import weighted, weights_of

HOLDING: Final = frozenset({Stage.SELECTED, Stage.IN_TRAINING})
"""Stages that hold one of the programme's seats."""


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
