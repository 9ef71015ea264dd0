"""Written-test and interview scores, imported from a sheet with a preview, all or nothing.

The sheet has a `nomor` (or `number`) column and one column per selection component, named as
the programme's `score_weights` in the catalog name them (without weights: `written_test` and
`interview`, or in Indonesian `tes_tertulis` and `wawancara`). A score is a number from 0 to 100
("78,5" as Excel writes it in Indonesia is read too); an empty cell leaves the score as it is.
Other columns (name, notes) are passed over. `plan_scores` says what would change and lists every
bad row by its row number; `apply_scores` writes the plan and records each change, only if the
stored scores still match the preview.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Application, DecisionKind, Programme, Stage
from storage.repositories import applications, catalog
from storage.repositories import selection as records
from training.errors import Problem
from training.imports import ANONYMISED, ImportPlan, as_previewed, by_line, match
from training.permissions import Actor, Permission, require
from training.selection import SelectionError
from training.staff_files import ImportProblem, cell, read_table

DEFAULT_WEIGHTS: Final = {"written_test": 1.0, "interview": 1.0}
"""A programme without `score_weights`: a written test and an interview, counted equally."""
ALIASES: Final = {"tes_tertulis": "written_test", "tes tertulis": "written_test", "wawancara": "interview"}
NUMBER_COLUMNS: Final = ("nomor", "number", "no_pendaftaran", "nomor pendaftaran")
SCORE_RANGE: Final = (0.0, 100.0)
SCORABLE: Final = frozenset({Stage.ADMIN_PASSED, Stage.WAITLISTED})
"""Scores count for applicants who passed the check and hold no seat yet."""


def weights_of(programme: Programme) -> dict[str, float]:
    """The programme's components and weights (the catalog's, else DEFAULT_WEIGHTS)."""
    return {k: float(v) for k, v in (programme.score_weights or DEFAULT_WEIGHTS).items()}


def weighted(scores: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """The weighted mean of the components' scores; a missing component counts as 0."""
    total = sum(weights.values())
    return sum(w * scores.get(c, 0.0) for c, w in weights.items()) / total if total else 0.0


@dataclass(frozen=True)
class ScoreRow:
    line: int
    number: str
    scores: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class ScoreChange:
    line: int
    number: str
    component: str
    old: float | None
    new: float


@dataclass(frozen=True, kw_only=True)
class ScorePlan(ImportPlan[ScoreRow]):
    changes: tuple[ScoreChange, ...]
    unchanged: int
    """Scores the sheet gives as they are stored already."""


def parse_score(text: str) -> float:
    low, high = SCORE_RANGE
    try:
        value = float(text.replace(",", ".").strip())
    except ValueError:
        raise SelectionError(f"{text!r} is not a number") from None
    if not low <= value <= high:
        raise SelectionError(f"{text} is outside {low:g} to {high:g}")
    return round(value, 2)


async def read_scores(session: AsyncSession, path: Path) -> tuple[str, list[ScoreRow], list[Problem]]:
    """The sheet's rows with their scores by component, and every problem by row."""
    table = read_table(path, "nomor,written_test,interview")
    known = set(DEFAULT_WEIGHTS) | {c for p in await catalog.programmes(session) for c in (p.score_weights or {})}
    number_at = table.positions({"number": NUMBER_COLUMNS}).get("number")
    components = {i: ALIASES.get(h, h) for i, h in enumerate(table.header) if ALIASES.get(h, h) in known}
    if number_at is None or not components:
        found = ", ".join(repr(h) for h in table.header)
        wanted = ", ".join(sorted(known))
        raise ImportProblem(table.source, [Problem(1, f"expected nomor and score columns ({wanted}); found {found}")])
    rows: list[ScoreRow] = []
    problems = list(table.problems)
    for line, record in table.rows:
        number = cell(record, number_at).upper()
        if not number:
            problems.append(Problem(line, "the number is empty"))
            continue
        scores: list[tuple[str, float]] = []
        for position, component in components.items():
            text = cell(record, position)
            if not text:
                continue
            try:
                scores.append((component, parse_score(text)))
            except SelectionError as problem:
                problems.append(Problem(line, f"{number}: {component}: {problem}"))
        if scores:
            rows.append(ScoreRow(line, number, tuple(scores)))
    return table.source, rows, problems


async def plan_scores(session: AsyncSession, path: Path, actor: Actor) -> ScorePlan:
    """What importing the sheet would change; changes nothing. Rows of programmes outside the actor's
    venue are problems."""
    require(actor, Permission.CHECK_APPLICATIONS)
    source, rows, problems = await read_scores(session, path)
    return await _plan(session, source, rows, problems, actor)


async def _plan(
    session: AsyncSession,
    source: str,
    rows: Sequence[ScoreRow],
    problems: Sequence[Problem],
    actor: Actor,
) -> ScorePlan:
    problems = list(problems)
    matched = await match(session, actor, rows, problems)
    stored = await records.scores(session, [a.id for _, a in matched])
    changes: list[ScoreChange] = []
    unchanged = 0
    for row, application in matched:
        problem = _row_problem(row, application)
        if problem:
            problems.append(Problem(row.line, problem))
            continue
        weights = weights_of(application.programme)
        foreign = [c for c, _ in row.scores if c not in weights]
        if foreign:
            components = ", ".join(weights)
            problems.append(
                Problem(
                    row.line, f"{row.number}: {application.programme.code} has no {', '.join(foreign)} ({components})"
                )
            )
            continue
        mine = stored.get(application.id, {})
        for component, value in row.scores:
            if mine.get(component) == value:
                unchanged += 1
            else:
                changes.append(ScoreChange(row.line, row.number, component, mine.get(component), value))
    return ScorePlan(source, tuple(rows), by_line(problems), changes=tuple(changes), unchanged=unchanged)


def _row_problem(row: ScoreRow, application: Application) -> str | None:
    if application.anonymised_at is not None:
        return f"{row.number} {ANONYMISED}"
    if Stage(application.stage) not in SCORABLE:
        return f"{row.number} is {application.stage}; scores count only after a passed check and before a seat"
    return None


async def apply_scores(session: AsyncSession, actor: Actor, plan: ScorePlan, now: datetime) -> int:
    """Write the plan's scores and record each change, in the caller's transaction; returns how many."""
    require(actor, Permission.CHECK_APPLICATIONS)
    await as_previewed(plan, lambda: _plan(session, plan.source, plan.rows, (), actor))
    found = await applications.by_numbers(session, [c.number for c in plan.changes])
    await records.set_scores(session, [(found[c.number].id, c.component, c.new) for c in plan.changes], now)
    for change in plan.changes:
        await records.record(
            session,
            found[change.number],
            kind=DecisionKind.SCORE,
            outcome=f"{change.component}={change.new:g}",
            note=None if change.old is None else f"was {change.old:g}",
            actor=actor.label,
            at=now,
        )
    return len(plan.changes)
