"""Ranking a programme's applicants and handing out its seats: a proposal first, then all of it.

`rank` orders the applicants who passed the administrative check (and any still waitlisted) by
their weighted score (`training.scores`), ties going to the earlier registration (then the lower
number), and proposes: the first up to the free seats (the catalog's quota less the seats held)
selected, the next ones waitlisted in that order (all of them, or `waitlist` of them), the rest
not selected. Nothing changes until `apply_proposal`, which ranks again and refuses a proposal the
database no longer matches; it moves every applicant through `outreach.results.change_stage` (each
is told once), records each decision, and offers each selected applicant their seat
(`training.seats`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Final

from sqlalchemy.ext.asyncio import AsyncSession

from outreach.results import change_stage
from storage.models import DecisionKind, Stage
from storage.repositories import applications, catalog
from storage.repositories import selection as records
from training.permissions import Actor, Permission, require, require_programme
from training.scores import weights_of
from training.seats import offer_seat
from training.selection import SelectionError
from training.waitlist import HOLDING, order

if TYPE_CHECKING:
    from messages.render import Templates

RANKED: Final = frozenset({Stage.ADMIN_PASSED, Stage.WAITLISTED})
"""Who a run ranks: passed the check and holding no seat yet."""


@dataclass(frozen=True)
class Ranked:
    number: str
    score: float
    missing: tuple[str, ...]
    """Components with no score (counted as 0)."""
    current: Stage


@dataclass(frozen=True)
class Proposal:
    programme: str
    quota: int
    held: int
    selected: tuple[Ranked, ...]
    waitlist: tuple[Ranked, ...]
    not_selected: tuple[Ranked, ...]

    @property
    def missing_scores(self) -> list[Ranked]:
        return [r for r in (*self.selected, *self.waitlist, *self.not_selected) if r.missing]

    @property
    def changes(self) -> int:
        """Applicants whose stage the proposal changes."""
        groups = (
            (self.selected, Stage.SELECTED),
            (self.waitlist, Stage.WAITLISTED),
            (self.not_selected, Stage.NOT_SELECTED),
        )
        return sum(1 for group, stage in groups for r in group if r.current != stage)


async def rank(session: AsyncSession, actor: Actor, code: str, *, waitlist: int | None = None) -> Proposal:
    """The proposed selection for one programme; changes nothing."""
    require(actor, Permission.RUN_SELECTION)
    programme = await catalog.programme(session, code.strip().upper())
    if programme is None:
        raise SelectionError(f"no programme {code}")
    require_programme(actor, Permission.RUN_SELECTION, programme)
    if waitlist is not None and waitlist < 0:
        raise SelectionError("the waitlist cannot be shorter than 0")
    everyone = await applications.for_programme(session, programme.id)
    found = [a for a in everyone if Stage(a.stage) in RANKED and a.anonymised_at is None]
    held = sum(1 for a in everyone if Stage(a.stage) in HOLDING)
    scores = await records.scores(session, [a.id for a in found])
    weights = weights_of(programme)
    ranked = [
        Ranked(a.number, score, tuple(c for c in weights if c not in scores.get(a.id, {})), Stage(a.stage))
        for a, score in order(found, scores, weights)
    ]
    free = max(programme.quota - held, 0)
    rest = ranked[free:]
    cut = len(rest) if waitlist is None else waitlist
    return Proposal(programme.code, programme.quota, held, tuple(ranked[:free]), tuple(rest[:cut]), tuple(rest[cut:]))


@dataclass(frozen=True)
class Applied:
    changed: int
    announced: int
    offers: int


async def apply_proposal(
    session: AsyncSession,
    templates: Templates,
    actor: Actor,
    proposal: Proposal,
    now: datetime,
    *,
    waitlist: int | None = None,
) -> Applied:
    """Make the proposal so, in the caller's transaction, if the database still matches it."""
    fresh = await rank(session, actor, proposal.programme, waitlist=waitlist)
    if fresh != proposal:
        raise SelectionError("the applicants changed since the proposal; nothing was applied, run it again")
    found = await applications.by_numbers(
        session, [r.number for r in (*proposal.selected, *proposal.waitlist, *proposal.not_selected)]
    )
    changed = announced = offers = 0
    position = 0
    for group, stage in (
        (proposal.selected, Stage.SELECTED),
        (proposal.waitlist, Stage.WAITLISTED),
        (proposal.not_selected, Stage.NOT_SELECTED),
    ):
        moving = []
        for ranked in group:
            position += 1
            if ranked.current == stage:
                continue
            application = found[ranked.number]
            moving.append(application)
            await records.record(
                session,
                application,
                kind=DecisionKind.RANKED,
                outcome=stage.value,
                note=f"rank {position}, score {ranked.score:g}",
                actor=actor.label,
                at=now,
            )
        report = await change_stage(session, templates, moving, stage, now)
        changed += report.changed
        announced += report.announced
        if stage == Stage.SELECTED:
            for application in moving:
                await offer_seat(session, templates, application, now, actor.label)
                offers += 1
    return Applied(changed, announced, offers)
