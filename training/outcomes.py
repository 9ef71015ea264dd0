"""The tracer study: 1, 3 and 6 months (BLKBOT_TRACER_MONTHS) after completing a training, each
graduate is asked in the chat what they do now; one reminder follows if they do not answer.

A periodic tick (`enqueue_due`) finds graduates whose latest due round has not been asked, writes
the round (`outcomes`) and queues the question with one button (dedupe key per round, so a tick run
twice asks once). A graduate found late (the bot was off) is asked only the latest round due, not
every round missed. The button starts a small flow (conversations/outcomes.py) whose answers
`record_answer` stores; the answers feed the office's figures and /dataku, and erasure removes them.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from outreach.outbox import Push, enqueue
from outreach.reminders import programme_name
from storage.models import Application, Contact, Origin, Outcome, OutcomeStatus, WorkPlace
from storage.repositories import training as records
from training.errors import BlkbotError
from training.permissions import Actor, Permission, require

if TYPE_CHECKING:
    from messages.render import Templates

DEFAULT_MONTHS: Final = (1, 3, 6)
DEFAULT_REMIND_AFTER: Final = timedelta(days=7)
TRACER_ACTION: Final = "tracer"
SECTOR_MAX: Final = 100
BUSINESS_MAX: Final = 200


class TracerError(BlkbotError):
    """A tracer setting that cannot be read."""


def parse_months(setting: str) -> tuple[int, ...]:
    """ "1,3,6" as sorted distinct months, each 1 to 60."""
    months: set[int] = set()
    for part in filter(None, (p.strip() for p in setting.split(","))):
        if not part.isdigit() or not 1 <= int(part) <= 60:
            raise TracerError(f"months must be whole numbers from 1 to 60, like 1,3,6; got {part!r}")
        months.add(int(part))
    if not months:
        raise TracerError(f"no months given in {setting!r}")
    return tuple(sorted(months))


def add_months(moment: datetime, months: int) -> datetime:
    """The same day `months` later (the month's last day when it is shorter)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def tracer_data(outcome_id: int) -> str:
    """The question's button data: "@tracer|17"."""
    return f"@{TRACER_ACTION}|{outcome_id}"


async def ask_graduates(
    session: AsyncSession,
    templates: Templates,
    actor: Actor,
    now: datetime,
    months: Sequence[int] = DEFAULT_MONTHS,
    remind_after: timedelta = DEFAULT_REMIND_AFTER,
) -> dict[str, int]:
    """`enqueue_due` run by staff now (`blkbot tracer run-once`): venue staff ask their venue's graduates only."""
    require(actor, Permission.MANAGE_TRAINING)
    return await enqueue_due(
        session, templates, now, months, remind_after, lambda a: actor.covers(a.programme.venue_code)
    )


async def enqueue_due(
    session: AsyncSession,
    templates: Templates,
    now: datetime,
    months: Sequence[int] = DEFAULT_MONTHS,
    remind_after: timedelta = DEFAULT_REMIND_AFTER,
    covered: Callable[[Application], bool] = lambda _: True,
) -> dict[str, int]:
    """Ask each graduate the latest round due and remind those who did not answer; counts for the log.
    The periodic tick covers every graduate; `covered` narrows a staff member's run to their venue's."""
    counts = {"asked": 0, "reminded": 0}
    earliest = add_months(now, -(max(months) + 1))
    found = [a for a in await records.graduates(session, earliest, add_months(now, -min(months))) if covered(a)]
    asked = await records.outcome_rounds(session, [a.id for a in found])
    for application in found:
        assert application.completed_at is not None
        due = [m for m in months if add_months(application.completed_at, m) <= now]
        if not due or (application.id, due[-1]) in asked:
            continue
        contact = await session.get(Contact, application.contact_id)
        if contact is None or contact.unreachable:
            continue
        outcome = await records.add_outcome(session, application.id, due[-1], now)
        counts["asked"] += await _push(session, templates, contact, outcome, "ask", now)
    for outcome in await records.unanswered_since(session, now - remind_after):
        if not covered(outcome.application):
            continue
        await records.mark_reminded(session, outcome, now)
        contact = await session.get(Contact, outcome.application.contact_id) if outcome.application.contact_id else None
        if contact is not None and not contact.unreachable:
            counts["reminded"] += await _push(session, templates, contact, outcome, "reminder", now)
    await session.flush()
    return counts


async def _push(
    session: AsyncSession, templates: Templates, contact: Contact, outcome: Outcome, what: str, now: datetime
) -> int:
    lang = contact.language
    text = templates.render(
        lang,
        f"outcomes/{what}",
        months=outcome.months,
        programme=programme_name(outcome.application.programme, lang),
        number=outcome.application.number,
    )
    buttons = [[{"label": templates.label(lang, "outcomes/button_answer"), "data": tracer_data(outcome.id)}]]
    return await enqueue(session, [Push(contact, Origin.TRACER, f"tracer:{outcome.id}:{what}", text, buttons)], now)


async def open_round(session: AsyncSession, contact: Contact, outcome_id: int) -> Outcome | None:
    """The contact's own round with this id, whether answered or not; None for anyone else's
    (button data can be forged)."""
    outcome = await records.outcome(session, outcome_id)
    if outcome is None or outcome.application.contact_id != contact.id or outcome.application.anonymised_at:
        return None
    return outcome


async def record_answer(
    session: AsyncSession, contact: Contact, outcome_id: int, answers: Mapping[str, Any], now: datetime
) -> Outcome | None:
    """Store the flow's answers in the round; a second answer replaces the first."""
    outcome = await open_round(session, contact, outcome_id)
    if outcome is None:
        return None
    status = OutcomeStatus(answers["status"])
    working = status == OutcomeStatus.WORKING
    await records.answer_outcome(
        session,
        outcome,
        status=status,
        workplace=WorkPlace(answers["workplace"]).value if working else None,
        sector=str(answers.get("sector"))[:SECTOR_MAX] if working else None,
        business=str(answers.get("business"))[:BUSINESS_MAX] if status == OutcomeStatus.SELF_EMPLOYED else None,
        at=now,
    )
    return outcome


async def answers_of(session: AsyncSession, application_ids: Sequence[int]) -> list[Outcome]:
    return await records.outcomes_of(session, application_ids)
