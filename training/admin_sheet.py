"""The administrative check in bulk: a worksheet staff fill in Excel, then import with a preview.

`write_sheet` lists a programme's applications still at the check (registered, passed, failed)
with their flags in words and a decision column ("lolos" / "gagal", an Excel drop-down), a reason
column (the fixed list, also a drop-down) and a note. `plan_check` reads the sheet back and says
what would change (n passed, n failed, n unchanged, rows with problems by row number) without
changing anything; `apply_check` makes the plan so in the caller's transaction, all or nothing,
and only if the applications still match the plan. A row whose decision is empty is left alone;
a row that would turn an announced decision around is refused (correct one with `check`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Stage
from storage.repositories import applications, catalog
from training.errors import Problem
from training.imports import ANONYMISED, ImportPlan, as_previewed, by_line, match
from training.permissions import Actor, Permission, require, require_programme
from training.selection import (
    CHECKABLE,
    REASON_WORDS,
    SelectionError,
    Verdict,
    current_verdict,
    decide,
    flags,
    parse_passed,
)
from training.staff_files import ImportProblem, cell, read_table, write_worksheet

if TYPE_CHECKING:
    from messages.render import Templates

HEADER: Final = ("nomor", "nama", "tanggal_daftar", "tahap", "tanda", "keputusan", "alasan", "catatan")
COLUMNS: Final = {
    "number": ("nomor", "number"),
    "decision": ("keputusan", "decision"),
    "reason": ("alasan", "reason"),
    "note": ("catatan", "note"),
}
DECISIONS: Final = ("lolos", "gagal")
SHEET_ROWS_MAX: Final = 10_000


@dataclass(frozen=True)
class CheckRow:
    line: int
    number: str
    verdict: Verdict


@dataclass(frozen=True, kw_only=True)
class CheckPlan(ImportPlan[CheckRow]):
    changes: tuple[CheckRow, ...]
    unchanged: tuple[CheckRow, ...]
    undecided: int

    @property
    def passed(self) -> list[CheckRow]:
        return [r for r in self.changes if r.verdict.passed]

    @property
    def failed(self) -> list[CheckRow]:
        return [r for r in self.changes if not r.verdict.passed]


async def write_sheet(session: AsyncSession, actor: Actor, code: str, out: Path, zone: ZoneInfo) -> int:
    """Write the programme's check worksheet to `out`; returns how many applicants it lists."""
    require(actor, Permission.VIEW_APPLICANTS)
    programme = await catalog.programme(session, code.strip().upper())
    if programme is None:
        raise SelectionError(f"no programme {code}")
    require_programme(actor, Permission.VIEW_APPLICANTS, programme)
    found = [
        a
        for a in await applications.for_programme(session, programme.id)
        if Stage(a.stage) in CHECKABLE and a.anonymised_at is None
    ]
    found.sort(key=lambda a: (a.created_at, a.number))
    rows = []
    for a in found:
        verdict = await current_verdict(session, a)
        rows.append(
            [
                a.number,
                a.full_name or "",
                f"{a.created_at.astimezone(zone):%Y-%m-%d %H:%M}",
                a.stage,
                "; ".join(await flags(session, a, zone)),
                "" if verdict is None else DECISIONS[0] if verdict.passed else DECISIONS[1],
                REASON_WORDS[verdict.reason] if verdict and verdict.reason else "",
                verdict.note or "" if verdict else "",
            ]
        )

    write_worksheet(
        out,
        f"cek {programme.code}",
        HEADER,
        rows,
        choices={"F": DECISIONS, "G": list(REASON_WORDS.values())},
        widths=(18, 28, 17, 14, 40, 11, 34, 34),
        freeze="B2",
        rows_max=SHEET_ROWS_MAX,
        legend=(
            "alasan",
            [
                ("alasan", "kode", "keterangan"),
                *(
                    (words, r.value, "isi kolom catatan" if r.value == "other" else "")
                    for r, words in REASON_WORDS.items()
                ),
            ],
        ),
    )
    return len(rows)


def read_check(path: Path) -> tuple[str, list[CheckRow], int, list[Problem]]:
    """The sheet's decided rows, how many were left undecided, and every problem by row."""
    table = read_table(path, "nomor,keputusan,alasan,catatan")
    positions = table.positions(dict(COLUMNS))
    if "number" not in positions or "decision" not in positions:
        found = ", ".join(repr(h) for h in table.header)
        raise ImportProblem(table.source, [Problem(1, f"expected the check worksheet's header, found {found}")])
    rows: list[CheckRow] = []
    problems = list(table.problems)
    undecided = 0
    for line, record in table.rows:
        number = cell(record, positions["number"]).upper()
        decision = cell(record, positions["decision"])
        if not number:
            problems.append(Problem(line, "the number is empty"))
            continue
        if not decision:
            undecided += 1
            continue
        try:
            verdict = Verdict.of(
                parse_passed(decision), cell(record, positions.get("reason")), cell(record, positions.get("note"))
            )
        except SelectionError as problem:
            problems.append(Problem(line, f"{number}: {problem}"))
            continue
        rows.append(CheckRow(line, number, verdict))
    return table.source, rows, undecided, problems


async def plan_check(session: AsyncSession, path: Path, actor: Actor) -> CheckPlan:
    """What importing the sheet would do; changes nothing. Rows of programmes outside the actor's venue
    are problems."""
    require(actor, Permission.CHECK_APPLICATIONS)
    source, rows, undecided, problems = read_check(path)
    return await _plan(session, source, rows, undecided, problems, actor)


async def _plan(
    session: AsyncSession,
    source: str,
    rows: Sequence[CheckRow],
    undecided: int,
    problems: Sequence[Problem],
    actor: Actor,
) -> CheckPlan:
    problems = list(problems)
    changes: list[CheckRow] = []
    unchanged: list[CheckRow] = []
    for row, application in await match(session, actor, rows, problems):
        if application.anonymised_at is not None:
            problems.append(Problem(row.line, f"{row.number} {ANONYMISED}"))
        elif Stage(application.stage) not in CHECKABLE:
            problems.append(Problem(row.line, f"{row.number} is {application.stage} already; the check is over"))
        elif application.stage == Stage.REGISTERED:
            changes.append(row)
        elif application.stage == row.verdict.stage:
            unchanged.append(row)
        else:
            problems.append(
                Problem(
                    row.line,
                    f"{row.number} is {application.stage} already and was told so; "
                    f"correct it with `blkbot selection check {row.number}`",
                )
            )
    return CheckPlan(
        source,
        tuple(rows),
        by_line(problems),
        changes=tuple(changes),
        unchanged=tuple(unchanged),
        undecided=undecided,
    )


async def apply_check(session: AsyncSession, templates: Templates, actor: Actor, plan: CheckPlan, now: datetime) -> int:
    """Make the plan's decisions, in the caller's transaction; returns how many applications changed."""
    require(actor, Permission.CHECK_APPLICATIONS)
    await as_previewed(plan, lambda: _plan(session, plan.source, plan.rows, plan.undecided, (), actor))
    found = await applications.by_numbers(session, [r.number for r in plan.changes])
    for row in plan.changes:
        await decide(session, templates, actor, found[row.number], row.verdict, now)
    return len(plan.changes)
