"""Job vacancies: staff post one, and it is pushed to the people it suits.

A vacancy goes to subscribers who applied to, train in or graduated from one of the clusters it
lists (every subscriber when it lists none), each in their own language, through the outbox in
the same transaction that stores it: a vacancy is never stored without its messages, nor pushed
without being stored. Dedupe keys make announcing the same vacancy again a no-op.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from messages.render import Templates
from outreach.outbox import Push, enqueue
from storage.errors import BlkbotError
from storage.models import Cluster, Contact, Origin, Vacancy
from storage.repositories import catalog, vacancies
from training import people
from training.permissions import Actor, Permission, require
from training.validators import clean_text

JAKARTA = ZoneInfo("Asia/Jakarta")

BROWSE_COMMAND = "/lowongan"
"""The button under every announcement: the resident's way to the other open vacancies."""

MAX_LENGTH = {"employer": 200, "position": 200, "location": 200, "how_to_apply": 1000, "description": 1500}
"""Column sizes, and a bound on the free texts that keeps one announcement well inside Telegram's
4096 characters (the outbox sends each message whole)."""
ONE_LINE = ("employer", "position", "location")


class VacancyError(BlkbotError):
    """A vacancy that cannot be posted or closed as asked; the message names the field and value."""


@dataclass(frozen=True)
class NewVacancy:
    """What staff give for a vacancy, before it is stored."""

    employer: str
    position: str
    location: str
    deadline: date
    how_to_apply: str
    abroad: bool = False
    clusters: tuple[str, ...] = ()
    """Cluster codes it suits; empty: every subscriber."""
    description: str | None = None
    created_by: str | None = None


async def check(session: AsyncSession, new: NewVacancy, today: date) -> NewVacancy:
    """Trim and validate, naming what is wrong; returns the vacancy as it will be stored.

    Cluster codes are upper-cased and must exist in the catalog (a retired cluster still has
    graduates, so it counts); the deadline may be today but not earlier.
    """
    texts: dict[str, Any] = {}
    for name, limit in MAX_LENGTH.items():
        raw = getattr(new, name) or ""
        value = clean_text(raw, multiline=name not in ONE_LINE)
        label = name.replace("_", " ")
        if not value and name != "description":
            raise VacancyError(f"{label} is empty")
        if len(value) > limit:
            raise VacancyError(f"{label} has {len(value)} characters, at most {limit}")
        texts[name] = value or None
    codes = tuple(dict.fromkeys(code.strip().upper() for code in new.clusters if code.strip()))
    if codes:
        known = [c.code for c in await catalog.clusters(session)]
        unknown = [code for code in codes if code not in known]
        if unknown:
            raise VacancyError(
                f"unknown cluster{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; known: {', '.join(known)}"
            )
    if new.deadline < today:
        raise VacancyError(f"deadline {new.deadline.isoformat()} is in the past (today is {today.isoformat()})")
    return replace(new, clusters=codes, **texts)


async def recipients(session: AsyncSession, clusters: Sequence[str]) -> list[Contact]:
    """Who a vacancy for `clusters` would reach now (see storage.repositories.vacancies.recipients)."""
    return await vacancies.recipients(session, clusters)


async def post_vacancy(
    session: AsyncSession,
    templates: Templates,
    draft: NewVacancy,
    *,
    now: datetime,
    timezone: ZoneInfo = JAKARTA,
    actor: Actor,
) -> tuple[Vacancy, int]:
    """Store the vacancy and enqueue its announcement to everyone it suits, in the caller's
    transaction; returns the vacancy and the number of messages enqueued.

    Raises VacancyError (nothing stored) for an empty field, an unknown cluster or a past deadline.
    Vacancies are city-wide (an employer's job belongs to no venue): venue staff post them like operators.
    """
    require(actor, Permission.POST_VACANCIES)
    new = await check(session, draft, now.astimezone(timezone).date())
    vacancy = await vacancies.add(
        session,
        Vacancy(
            employer=new.employer,
            position=new.position,
            location=new.location,
            abroad=new.abroad,
            clusters=list(new.clusters),
            deadline=new.deadline,
            how_to_apply=new.how_to_apply,
            description=new.description,
            created_by=new.created_by,
            created_at=now,
        ),
    )
    return vacancy, await announce(session, templates, vacancy, now)


async def announce(session: AsyncSession, templates: Templates, vacancy: Vacancy, now: datetime) -> int:
    """Enqueue the vacancy's message to each matching contact not yet given it; returns how many
    were new (0 the second time)."""
    names = await cluster_names(session)
    recipients = await people.once_each(session, await vacancies.recipients(session, vacancy.clusters))
    rendered: dict[str, tuple[str, list[list[dict[str, Any]]]]] = {}
    pushes = []
    for person in recipients:
        if person.language not in rendered:
            rendered[person.language] = (
                announcement(templates, person.language, vacancy, names),
                [[{"label": templates.label(person.language, "vacancies/button_other"), "data": BROWSE_COMMAND}]],
            )
        text, buttons = rendered[person.language]
        pushes.append(Push(person, Origin.VACANCY, vacancies.dedupe_key(vacancy.id, person.id), text, buttons))
    return await enqueue(session, pushes, now)


async def close_vacancy(session: AsyncSession, vacancy_id: int, now: datetime, actor: Actor) -> tuple[Vacancy, int]:
    """Close a vacancy: it leaves /lowongan, and its messages not yet sent are cancelled.
    Returns the vacancy and how many messages were cancelled; closing twice keeps the first date."""
    require(actor, Permission.POST_VACANCIES)
    vacancy = await vacancies.get(session, vacancy_id)
    if vacancy is None:
        raise VacancyError(f"no vacancy with id {vacancy_id}")
    return vacancy, await vacancies.close(session, vacancy, now)


# -- words ---------------------------------------------------------------------------------------


async def cluster_names(session: AsyncSession) -> dict[str, Cluster]:
    return {c.code: c for c in await catalog.clusters(session)}


def describe(vacancy: Vacancy | NewVacancy, names: Mapping[str, Cluster], lang: str) -> dict[str, Any]:
    """A vacancy as the templates show it (vacancies/_vacancy): cluster codes become names."""
    return {
        "id": getattr(vacancy, "id", None),
        "employer": vacancy.employer,
        "position": vacancy.position,
        "location": vacancy.location,
        "abroad": vacancy.abroad,
        "clusters": [_local(names[c].name, lang) if c in names else c for c in vacancy.clusters],
        "deadline": vacancy.deadline,
        "description": vacancy.description,
        "how_to_apply": vacancy.how_to_apply,
    }


def announcement(templates: Templates, lang: str, vacancy: Vacancy | NewVacancy, names: Mapping[str, Cluster]) -> str:
    """The pushed message (Telegram HTML; whatever staff typed is escaped)."""
    return templates.render(lang, "vacancies/announcement", v=describe(vacancy, names, lang))


def _local(text: Mapping[str, str], lang: str) -> str:
    return text.get(lang) or text.get("id") or next(iter(text.values()), "")
