"""Certification: the LSP's competency results, imported per participant from a sheet staff fill in.

The sheet (CSV or XLSX) has one row per participant: `nomor`, `hasil` (K / BK, kompeten /
belum-kompeten), `lsp`, `skema`, `nomor_sertifikat` (competent only) and `tanggal` (the test's
date, 2027-03-20 or 20-03-2027). As with the results import (outreach.result_import): a plan
first, with every bad row named by its line; nothing is applied while a row is wrong; applying
moves each participant to competent / not_yet_competent through `change_stage`, so each is told
once, with the certificate's details and the next steps, and the result is kept in `certifications`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy.ext.asyncio import AsyncSession

from outreach.results import StageReport, change_stage
from storage.models import Application, StaffActionKind, Stage
from storage.repositories import applications
from storage.repositories import training as records
from training import staff
from training.errors import InvalidAnswer, Problem
from training.imports import ANONYMISED, ImportPlan, as_previewed, by_line, match
from training.permissions import Actor, Permission, require
from training.staff_files import ImportProblem, cell, read_table
from training.stages import UnknownStage, parse_stage
from training.validators import parse_date_dmy

if TYPE_CHECKING:
    from messages.render import Templates

COLUMNS: Final = {
    "number": ("nomor", "number", "no_pendaftaran", "nomor pendaftaran"),
    "result": ("hasil", "result", "rekomendasi"),
    "lsp": ("lsp",),
    "scheme": ("skema", "scheme"),
    "certificate": ("nomor_sertifikat", "nomor sertifikat", "certificate_number", "sertifikat"),
    "date": ("tanggal", "date", "tanggal_uji", "tested_on"),
}
HEADER: Final = "nomor,hasil,lsp,skema,nomor_sertifikat,tanggal"
RESULTS: Final = frozenset({Stage.COMPETENT, Stage.NOT_YET_COMPETENT})
CERTIFIABLE: Final = frozenset({Stage.IN_TRAINING, Stage.COMPETENT, Stage.NOT_YET_COMPETENT})
"""Stages a result may be imported for: in training, or a retest of an earlier result."""
TEXT_MAX: Final = {"lsp": 200, "scheme": 200, "certificate": 100}


@dataclass(frozen=True)
class CertRow:
    line: int
    number: str
    stage: Stage
    lsp: str
    scheme: str
    certificate: str | None
    tested_on: date


@dataclass(frozen=True, kw_only=True)
class CertPlan(ImportPlan[CertRow]):
    changes: tuple[CertRow, ...]
    """Rows whose result differs from what is stored (new ones included)."""
    unchanged: int
    """Rows without a problem whose result is stored as the sheet gives it."""

    def of(self, stage: Stage) -> list[CertRow]:
        return [r for r in self.changes if r.stage == stage]


def read_certifications(path: Path) -> tuple[str, list[CertRow], list[Problem]]:
    """The sheet's rows and every problem in it, by line; an unreadable file raises ImportProblem."""
    table = read_table(path, HEADER)
    positions = table.positions(dict(COLUMNS))
    missing = [name for name in ("number", "result", "lsp", "scheme", "date") if name not in positions]
    if missing:
        found = ", ".join(repr(h) for h in table.header)
        raise ImportProblem(table.source, [Problem(1, f"expected a header {HEADER}, found {found}")])
    rows: list[CertRow] = []
    problems = list(table.problems)
    for line, record in table.rows:
        value = {name: cell(record, position) for name, position in positions.items()}
        problem, row = _row(line, value)
        if problem:
            problems.append(Problem(line, problem))
        elif row is not None:
            rows.append(row)
    return table.source, rows, problems


def _row(line: int, value: dict[str, str]) -> tuple[str | None, CertRow | None]:
    number = value["number"].upper()
    if not number:
        return "the number is empty", None
    try:
        stage = parse_stage(value["result"])
    except UnknownStage:
        stage = None
    if stage not in RESULTS:
        return f"the result must be K (kompeten) or BK (belum kompeten), got {value['result']!r}", None
    for name in ("lsp", "scheme"):
        if not value[name]:
            return f"the {name} is empty", None
    for name, most in TEXT_MAX.items():
        if len(value.get(name, "")) > most:
            return f"the {name} is {len(value[name])} characters long; at most {most}", None
    certificate = value.get("certificate") or None
    if stage == Stage.COMPETENT and not certificate:
        return "a competent participant needs the certificate number", None
    tested_on = _date(value["date"])
    if tested_on is None:
        return f"the date must be like 2027-03-20 or 20-03-2027, got {value['date']!r}", None
    assert stage is not None
    return None, CertRow(line, number, stage, value["lsp"], value["scheme"], certificate, tested_on)


def _date(text: str) -> date | None:
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        pass
    try:
        return parse_date_dmy(text)
    except InvalidAnswer:
        return None


async def plan_certifications(session: AsyncSession, path: Path, actor: Actor) -> CertPlan:
    """What importing the sheet would do; changes nothing. Rows of programmes outside the actor's venue
    are problems."""
    require(actor, Permission.IMPORT_CERTIFICATION)
    source, rows, problems = read_certifications(path)
    return await _plan(session, source, rows, problems, actor)


async def _plan(
    session: AsyncSession,
    source: str,
    rows: Sequence[CertRow],
    problems: Sequence[Problem],
    actor: Actor,
) -> CertPlan:
    problems = list(problems)
    matched = await match(session, actor, rows, problems)
    stored = await records.certifications(session, [a.id for _, a in matched])
    changes: list[CertRow] = []
    unchanged = 0
    for row, application in matched:
        if application.anonymised_at is not None:
            problems.append(Problem(row.line, f"{row.number} {ANONYMISED}"))
        elif Stage(application.stage) not in CERTIFIABLE:
            problems.append(Problem(row.line, f"{row.number} is not in training (stage {application.stage})"))
        elif application.stage == Stage.COMPETENT and row.stage != Stage.COMPETENT:
            problems.append(Problem(row.line, f"{row.number} was found competent already; a result is not taken back"))
        elif _differs(row, application, stored.get(application.id)):
            changes.append(row)
        else:
            unchanged += 1
    return CertPlan(source, tuple(rows), by_line(problems), changes=tuple(changes), unchanged=unchanged)


def _differs(row: CertRow, application: Application, stored: Any) -> bool:
    if stored is None or application.stage != row.stage:
        return True
    now = (stored.competent, stored.lsp, stored.scheme, stored.certificate_number, stored.tested_on)
    return now != (row.stage == Stage.COMPETENT, row.lsp, row.scheme, row.certificate, row.tested_on)


async def apply_certifications(
    session: AsyncSession, templates: Templates, actor: Actor, plan: CertPlan, now: datetime
) -> StageReport:
    """Store the plan's results and tell each participant once, in the caller's transaction; the
    plan is made again first, and nothing is applied if the database changed since the preview."""
    require(actor, Permission.IMPORT_CERTIFICATION)
    await as_previewed(plan, lambda: _plan(session, plan.source, plan.rows, (), actor))
    found = await applications.by_numbers(session, [r.number for r in plan.changes])
    groups: dict[Stage, list[Application]] = defaultdict(list)
    details: dict[int, dict[str, Any]] = {}
    for row in plan.changes:
        application = found[row.number]
        await records.set_certification(
            session,
            application.id,
            competent=row.stage == Stage.COMPETENT,
            lsp=row.lsp,
            scheme=row.scheme,
            certificate_number=row.certificate,
            tested_on=row.tested_on,
            by=actor.label,
            at=now,
        )
        groups[row.stage].append(application)
        details[application.id] = {"lsp": row.lsp, "scheme": row.scheme, "certificate": row.certificate or ""}
    changed = announced = 0
    for stage, group in groups.items():
        report = await change_stage(session, templates, group, stage, now, details=details)
        changed += report.changed
        announced += report.announced
    target = f"{plan.source}: {len(plan.of(Stage.COMPETENT))} K, {len(plan.of(Stage.NOT_YET_COMPETENT))} BK"
    await staff.record(session, actor, StaffActionKind.CERTIFICATION_IMPORTED, target, now)
    return StageReport(changed=changed, announced=announced)
