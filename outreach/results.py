"""Telling applicants where they stand: each stage change sends its templated message once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from messages.render import Templates
from outreach.outbox import Push, enqueue
from storage.errors import BlkbotError
from storage.models import Application, Contact, Origin, Stage
from storage.repositories import applications
from training.permissions import Actor, Permission, require, require_programme

ANNOUNCED = frozenset(
    {
        Stage.ADMIN_PASSED,
        Stage.ADMIN_FAILED,
        Stage.SELECTED,
        Stage.WAITLISTED,
        Stage.NOT_SELECTED,
        Stage.COMPETENT,
        Stage.NOT_YET_COMPETENT,
    }
)
"""Stages an applicant hears about; the others (registered, in training, withdrawn) need no news."""

NEEDS_REASON = frozenset({Stage.ADMIN_FAILED})


class StageError(BlkbotError):
    """A stage change staff asked for that cannot be made."""


@dataclass(frozen=True)
class StageReport:
    changed: int
    """Applications whose stage (or reason) actually changed."""
    announced: int
    """Messages newly queued: an applicant already told about this stage is not told again."""


async def move(
    session: AsyncSession,
    templates: Templates,
    actor: Actor,
    numbers: Sequence[str],
    stage: Stage,
    now: datetime,
    reason: str | None = None,
) -> StageReport:
    """Staff move applications by number (`blkbot applications stage`, later the console): every one
    must exist and be of a programme the actor covers, or none moves."""
    require(actor, Permission.CHANGE_STAGES)
    found: list[Application] = []
    for number in numbers:
        application = await applications.by_number(session, number.strip().upper())
        if application is None:
            raise StageError(f"no application {number}")
        require_programme(actor, Permission.CHANGE_STAGES, application.programme)
        found.append(application)
    return await change_stage(session, templates, found, stage, now, reason)


async def change_stage(
    session: AsyncSession,
    templates: Templates,
    found: Sequence[Application],
    stage: Stage,
    now: datetime,
    reason: str | None = None,
    details: Mapping[int, Mapping[str, Any]] | None = None,
) -> StageReport:
    """Move applications to `stage` and enqueue the matching message for each applicant.

    The dedupe key is (application, stage): moving someone to "selected" twice, or importing the
    same results file again, tells them once. `details` adds, per application id, what the
    stage's template says beside (a certification's LSP, scheme and certificate number).
    """
    if stage in NEEDS_REASON and not (reason and reason.strip()):
        raise StageError(f"stage {stage.value} needs a reason the applicant will read (--reason)")
    anonymised = [a.number for a in found if a.anonymised_at is not None]
    if anonymised:
        raise StageError(f"{', '.join(anonymised)}: anonymised at the applicant's request; stage not changed")
    changed = [a for a in found if a.stage != stage or (reason or None) != a.stage_reason]
    await applications.set_stage(session, changed, stage, now, reason.strip() if reason else None)
    pushes: list[Push] = []
    for application in found:
        contact = await session.get(Contact, application.contact_id) if application.contact_id else None
        if stage in ANNOUNCED and contact is not None and not contact.unreachable:
            pushes.append(
                Push(
                    contact,
                    Origin.RESULT,
                    f"result:{application.id}:{stage.value}",
                    templates.render(
                        contact.language,
                        f"results/{stage.value}",
                        number=application.number,
                        programme=application.programme.name.get(contact.language) or application.programme.name["id"],
                        starts=application.programme.training_starts,
                        reason=application.stage_reason or "",
                        **(details or {}).get(application.id, {}),
                    ),
                )
            )
    return StageReport(changed=len(changed), announced=await enqueue(session, pushes, now))
