"""Importing selection and test results from a file staff edited: a preview first, then all or nothing.

The file is the applications export (CSV or XLSX, its own headers) fed back after editing, or a
plain `number,stage[,reason]` CSV. Fed back untouched it changes nothing: rows whose stage and
reason are what the database holds are left alone and nobody is told again. A move that takes a
decision back (see `training.stages`) is refused unless staff allow it explicitly, and an empty
reason cell keeps the reason on record instead of wiping it. A plan (`plan_results`) says what
would happen; `apply_results` makes it so, in the caller's transaction, only if the database still
matches the plan. The CLI prints the plan and asks; a web console can do the same.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from messages.render import Templates
from outreach.results import NEEDS_REASON, StageReport, change_stage
from storage.models import Application, Stage
from storage.repositories import applications
from training.errors import Problem
from training.imports import ANONYMISED, ImportPlan, as_previewed, by_line, match
from training.permissions import Actor, Permission, require
from training.reports import HEADERS
from training.staff_files import ImportProblem, cell, read_table
from training.stages import Direction, UnknownStage, direction, parse_stage

COLUMNS: Final = {
    "number": (HEADERS["number"].lower(), "number", "nomor", "no_pendaftaran"),
    "stage": (HEADERS["stage"].lower(), "stage", "hasil"),
    "reason": (HEADERS["stage_reason"].lower(), "reason", "stage_reason", "catatan"),
}
"""Accepted headers: the export's own (Indonesian, or its codes: number, stage, stage_reason) and the
words staff write."""
REASON_MAX: Final = 300
"""The stored reason's column size."""


@dataclass(frozen=True)
class ResultRow:
    line: int
    number: str
    stage: Stage
    reason: str | None


@dataclass(frozen=True)
class Move:
    """One row's effect: the application's stage (and reason) now and after the import."""

    line: int
    number: str
    current: Stage
    stage: Stage
    reason: str | None
    """The reason stored afterwards: the row's, or the one on record when the cell is empty."""
    direction: Direction
    reason_changed: bool


@dataclass(frozen=True, kw_only=True)
class ResultPlan(ImportPlan[ResultRow]):
    moves: tuple[Move, ...]
    allow_backward: bool = False

    def of(self, kind: Direction) -> list[Move]:
        return [m for m in self.moves if m.direction == kind]

    @property
    def reasons_only(self) -> list[Move]:
        """Rows that keep their stage and change only the reason (nobody is told again)."""
        return [m for m in self.moves if m.direction == Direction.UNCHANGED and m.reason_changed]

    @property
    def changes(self) -> list[Move]:
        return [m for m in self.moves if m.direction != Direction.UNCHANGED or m.reason_changed]

    @property
    def refused(self) -> list[Move]:
        """Backward moves staff did not allow: the whole import waits for them."""
        return [] if self.allow_backward else self.of(Direction.BACKWARD)

    @property
    def applicable(self) -> bool:
        return super().applicable and not self.refused


def read_results(path: Path) -> tuple[str, list[ResultRow], list[Problem]]:
    """The file's rows and every problem in it, by line; an unreadable file raises ImportProblem."""
    table = read_table(path, "number,stage[,reason]")
    positions = table.positions(dict(COLUMNS))
    if "number" not in positions or "stage" not in positions:
        found = ", ".join(repr(h) for h in table.header)
        problem = f"expected a header with number,stage[,reason] (or the applications export's), found {found}"
        raise ImportProblem(table.source, [Problem(1, problem)])
    rows: list[ResultRow] = []
    problems = list(table.problems)
    for line, record in table.rows:
        number = cell(record, positions["number"]).upper()
        reason = cell(record, positions.get("reason")) or None
        try:
            stage = parse_stage(cell(record, positions["stage"]))
        except UnknownStage as unknown:
            problems.append(Problem(line, str(unknown)))
            continue
        if not number:
            problems.append(Problem(line, "the number is empty"))
        elif reason and len(reason) > REASON_MAX:
            problems.append(Problem(line, f"the reason is {len(reason)} characters long; at most {REASON_MAX}"))
        else:
            rows.append(ResultRow(line, number, stage, reason))
    return table.source, rows, problems


async def plan_results(session: AsyncSession, path: Path, *, allow_backward: bool = False, actor: Actor) -> ResultPlan:
    """What importing the file would do to the stored applications; changes nothing. Rows of programmes
    outside the actor's venue are problems."""
    require(actor, Permission.CHANGE_STAGES)
    source, rows, problems = read_results(path)
    return await _plan(session, source, rows, problems, allow_backward, actor)


async def _plan(
    session: AsyncSession,
    source: str,
    rows: Sequence[ResultRow],
    problems: Sequence[Problem],
    allow_backward: bool,
    actor: Actor,
) -> ResultPlan:
    problems = list(problems)
    moves: list[Move] = []
    for row, application in await match(session, actor, rows, problems):
        move = _move(row, application)
        problem = _problem(move, application)
        if problem:
            problems.append(Problem(row.line, problem))
        else:
            moves.append(move)
    return ResultPlan(source, tuple(rows), by_line(problems), moves=tuple(moves), allow_backward=allow_backward)


def _move(row: ResultRow, application: Application) -> Move:
    current = Stage(application.stage)
    reason = row.reason or application.stage_reason
    return Move(
        row.line,
        row.number,
        current,
        row.stage,
        reason,
        direction(current, row.stage),
        reason != application.stage_reason,
    )


def _problem(move: Move, application: Application) -> str | None:
    changes = move.direction != Direction.UNCHANGED or move.reason_changed
    if changes and application.anonymised_at is not None:
        return f"{move.number} {ANONYMISED}; its stage cannot change"
    if move.stage in NEEDS_REASON and not move.reason:
        return f"stage {move.stage.value} needs a reason the applicant will read"
    return None


async def apply_results(
    session: AsyncSession, templates: Templates, actor: Actor, plan: ResultPlan, now: datetime
) -> StageReport:
    """Make the plan's changes and tell each moved applicant once, in the caller's transaction.

    The plan is made again first: if another staff member or the bot changed an application
    since the preview, nothing is applied and StalePlan says so.
    """
    require(actor, Permission.CHANGE_STAGES)
    await as_previewed(
        plan,
        lambda: _plan(session, plan.source, plan.rows, (), plan.allow_backward, actor),
        "this import has problems or refused backward moves",
    )
    found = await applications.by_numbers(session, [m.number for m in plan.changes])
    groups: dict[tuple[Stage, str | None], list[Application]] = defaultdict(list)
    for move in plan.changes:
        groups[(move.stage, move.reason)].append(found[move.number])
    changed = announced = 0
    for (stage, reason), group in groups.items():
        report = await change_stage(session, templates, group, stage, now, reason)
        changed += report.changed
        announced += report.announced
    return StageReport(changed=changed, announced=announced)
