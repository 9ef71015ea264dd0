"""What the staff imports share: the results import, the check sheet, the scores and the certification.

Each reads its rows through training.staff_files and keeps its own rules (columns, what a row may
change) in its own module; here is what is the same in all four: a row is matched to its stored
application (a number listed twice, unknown or of a programme outside the actor's venue is a
problem of that line), the plan's problems are listed by line, and a plan is applied only when it
has none and a fresh plan, made in the applying transaction, is still the same as the preview.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import BlkbotError
from storage.models import Application
from storage.repositories import applications
from training.errors import Problem
from training.permissions import Actor, beyond

ANONYMISED = "was anonymised at the applicant's request"


class StalePlan(BlkbotError):
    """The plan has problems, or the applications changed between the preview and the confirmation."""


class Row(Protocol):
    """A file's row about one application."""

    @property
    def line(self) -> int: ...

    @property
    def number(self) -> str: ...


R = TypeVar("R", bound=Row)


@dataclass(frozen=True)
class ImportPlan(Generic[R]):
    """What importing a file would do, changing nothing: its rows and every problem by line. Each
    import adds what its preview counts (keyword-only fields)."""

    source: str
    rows: tuple[R, ...]
    problems: tuple[Problem, ...]

    @property
    def applicable(self) -> bool:
        return not self.problems


P = TypeVar("P", bound="ImportPlan[Any]")


async def match(
    session: AsyncSession, actor: Actor, rows: Sequence[R], problems: list[Problem]
) -> list[tuple[R, Application]]:
    """Each row with its application, in file order. A number listed again, no application of that
    number, or one of a programme outside the actor's venue adds a problem to `problems` instead."""
    found = await applications.by_numbers(session, [r.number for r in rows])
    matched: list[tuple[R, Application]] = []
    first: dict[str, int] = {}
    for row in rows:
        if row.number in first:
            problems.append(Problem(row.line, f"{row.number} is listed already on line {first[row.number]}"))
            continue
        first[row.number] = row.line
        application = found.get(row.number)
        if application is None:
            problems.append(Problem(row.line, f"no application {row.number}"))
        elif outside := beyond(actor, application.programme):
            problems.append(Problem(row.line, f"{row.number}: {outside}"))
        else:
            matched.append((row, application))
    return matched


def by_line(problems: Iterable[Problem]) -> tuple[Problem, ...]:
    """The problems as the preview lists them: in the file's order, the file's own first."""
    return tuple(sorted(problems, key=lambda p: p.line or 0))


async def as_previewed(plan: P, replan: Callable[[], Awaitable[P]], why: str = "this import has problems") -> None:
    """Raise StalePlan unless the plan may be applied now: it has no problems (`why` says what else
    stops it) and planning again in this transaction gives the same plan."""
    if not plan.applicable:
        raise StalePlan(f"{why}; nothing was applied")
    if await replan() != plan:
        raise StalePlan("the applications changed since the preview; nothing was applied, import the file again")
