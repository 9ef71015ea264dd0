"""The administrative check: staff pass or fail each application, with a reason from a fixed list.

One service for every caller (the CLI, the staff chat's /cek, the worksheet import, later the web
console): each passes the acting staff member, the service checks the role, moves the application
through `outreach.results.change_stage` (so the applicant is told once) and records the decision
(who, when, what, why) in `selection_decisions`. The flags registration raised (a NIK from outside
the programme's regions, a past participant) are worded here so staff see them beside each decision.

A decision can be corrected one application at a time (`check`); the bulk import leaves decisions
already made alone and refuses rows that would flip one (the applicant was told already).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from outreach.results import change_stage
from storage.models import Application, DecisionKind, SelectionDecision, Stage
from storage.repositories import applications, participants
from storage.repositories import selection as records
from training.applications import NIK_CLAIMED_ELSEWHERE
from training.errors import BlkbotError
from training.permissions import Actor, Permission, require, require_programme
from training.validators import clean_text

if TYPE_CHECKING:
    from messages.render import Templates


class SelectionError(BlkbotError):
    """A selection step staff asked for that cannot be taken; the message says why."""


class Reason(StrEnum):
    """Why an application fails the administrative check."""

    DOCUMENTS_INCOMPLETE = "documents_incomplete"
    NOT_RESIDENT = "not_resident"
    AGE = "age"
    ALREADY_TRAINED = "already_trained"
    OTHER = "other"


REASON_WORDS: Final[dict[Reason, str]] = {
    Reason.DOCUMENTS_INCOMPLETE: "Dokumen belum lengkap",
    Reason.NOT_RESIDENT: "Bukan penduduk wilayah program",
    Reason.AGE: "Usia tidak memenuhi syarat",
    Reason.ALREADY_TRAINED: "Sudah pernah mengikuti pelatihan",
    Reason.OTHER: "Lainnya",
}
"""The reason as the applicant reads it (it becomes the stage's reason) and as the worksheet's
drop-down offers it: the office's own words, in Bahasa Indonesia."""

REASON_ALIASES: Final[dict[str, Reason]] = {
    "dokumen": Reason.DOCUMENTS_INCOMPLETE,
    "berkas": Reason.DOCUMENTS_INCOMPLETE,
    "domisili": Reason.NOT_RESIDENT,
    "bukan_warga": Reason.NOT_RESIDENT,
    "bukan_penduduk": Reason.NOT_RESIDENT,
    "usia": Reason.AGE,
    "umur": Reason.AGE,
    "pernah_ikut": Reason.ALREADY_TRAINED,
    "pernah_pelatihan": Reason.ALREADY_TRAINED,
    "lainnya": Reason.OTHER,
    "lain": Reason.OTHER,
}
"""Short words staff type in `/cek` and in the sheet, besides the codes and the full words."""
SHORT_WORDS: Final[dict[Reason, str]] = {
    Reason.DOCUMENTS_INCOMPLETE: "dokumen",
    Reason.NOT_RESIDENT: "domisili",
    Reason.AGE: "usia",
    Reason.ALREADY_TRAINED: "pernah_ikut",
    Reason.OTHER: "lainnya",
}
"""The one short word per reason that /cek's help shows."""

REASON_CODES: Final = frozenset(r.value for r in Reason)

PASS_WORDS: Final = frozenset({"lolos", "lulus", "pass", "passed", "admin_passed"})
FAIL_WORDS: Final = frozenset({"gagal", "tidak lolos", "fail", "failed", "admin_failed"})
NOTE_MAX: Final = 200
"""A note stays short: with the reason's words it becomes the stage's reason (300 characters)."""

CHECKABLE: Final = frozenset({Stage.REGISTERED, Stage.ADMIN_PASSED, Stage.ADMIN_FAILED})
"""Stages the administrative check may (re)decide; later ones went through the ranking already."""

FLAG_WORDS: Final = {
    "nik_region_outside": "NIK dari luar wilayah program",
}


def parse_reason(text: str) -> Reason:
    """A reason as staff write it: its code, its words, or a short word ("dokumen", "usia" ...)."""
    key = "_".join(clean_text(text).lower().replace("-", " ").split())
    for reason, words in REASON_WORDS.items():
        if key in (reason.value, "_".join(words.lower().split())):
            return reason
    if key in REASON_ALIASES:
        return REASON_ALIASES[key]
    choices = ", ".join(f"{r.value} ({REASON_WORDS[r]})" for r in Reason)
    raise SelectionError(f"unknown reason {text!r}; reasons: {choices}")


def parse_passed(text: str) -> bool:
    """ "lolos" / "gagal" (or pass / fail) as a verdict."""
    key = " ".join(clean_text(text).lower().split())
    if key in PASS_WORDS:
        return True
    if key in FAIL_WORDS:
        return False
    raise SelectionError(f"unknown decision {text!r}; write lolos or gagal")


@dataclass(frozen=True)
class Verdict:
    """A checked decision: passed, or failed with a reason (and a note, which "other" needs)."""

    passed: bool
    reason: Reason | None = None
    note: str | None = None

    @classmethod
    def of(cls, passed: bool, reason: Reason | str | None = None, note: str | None = None) -> Verdict:
        """A verdict, refused when a failure has no reason, "other" has no note, or the note is too long."""
        note = clean_text(note or "") or None
        if isinstance(reason, str) and not isinstance(reason, Reason):
            reason = parse_reason(reason) if reason.strip() else None
        if note and len(note) > NOTE_MAX:
            raise SelectionError(f"the note is {len(note)} characters long; at most {NOTE_MAX}")
        if passed:
            return cls(True, None, note)
        if reason is None:
            raise SelectionError("a failed check needs a reason: " + ", ".join(r.value for r in Reason))
        if reason is Reason.OTHER and not note:
            raise SelectionError("the reason 'other' needs a note that says what is wrong")
        return cls(False, reason, note)

    @property
    def stage(self) -> Stage:
        return Stage.ADMIN_PASSED if self.passed else Stage.ADMIN_FAILED

    @property
    def stage_reason(self) -> str | None:
        """What the applicant reads about a failure: the reason's words, and the note."""
        if self.passed or self.reason is None:
            return None
        if self.reason is Reason.OTHER:
            return self.note
        return f"{REASON_WORDS[self.reason]}: {self.note}" if self.note else REASON_WORDS[self.reason]

    @property
    def outcome(self) -> str:
        return "passed" if self.passed else "failed"


@dataclass(frozen=True)
class Checked:
    application: Application
    changed: bool
    flags: tuple[str, ...]


async def check(
    session: AsyncSession, templates: Templates, actor: Actor, number: str, verdict: Verdict, now: datetime
) -> Checked:
    """Pass or fail one application; the applicant is told, the decision recorded. Checking it again
    the same way changes nothing; the other way corrects the decision (and tells them)."""
    require(actor, Permission.CHECK_APPLICATIONS)
    application = await applications.by_number(session, clean_text(number).upper())
    if application is None:
        raise SelectionError(f"no application {number}")
    require_programme(actor, Permission.CHECK_APPLICATIONS, application.programme)
    if application.anonymised_at is not None:
        raise SelectionError(f"{application.number} was anonymised at the applicant's request")
    if Stage(application.stage) not in CHECKABLE:
        raise SelectionError(f"{application.number} is {application.stage} already; the administrative check is over")
    changed = await decide(session, templates, actor, application, verdict, now)
    return Checked(application, changed, tuple(await flags(session, application)))


async def decide(
    session: AsyncSession, templates: Templates, actor: Actor, application: Application, verdict: Verdict, now: datetime
) -> bool:
    """Apply one verdict (the caller checked the role and the stage); False when it was so already."""
    if application.stage == verdict.stage and application.stage_reason == verdict.stage_reason:
        return False
    await change_stage(session, templates, [application], verdict.stage, now, verdict.stage_reason)
    await records.record(
        session,
        application,
        kind=DecisionKind.ADMIN_CHECK,
        outcome=verdict.outcome,
        reason=verdict.reason.value if verdict.reason else None,
        note=verdict.note,
        actor=actor.label,
        at=now,
    )
    return True


async def flags(session: AsyncSession, application: Application, zone: ZoneInfo | None = None) -> list[str]:
    """What registration flagged about the application, in words: a NIK from outside the
    programme's regions, the NIK typed from another chat, a past participant of the office."""
    from training.reports import describe_flag

    words = []
    for flag in application.flags or []:
        if isinstance(flag, str) and flag in FLAG_WORDS:
            words.append(FLAG_WORDS[flag])
        elif isinstance(flag, dict) and flag.get("flag") == NIK_CLAIMED_ELSEWHERE:
            words.append(describe_flag(flag, zone or ZoneInfo("Asia/Jakarta")))
        else:
            words.append(str(flag))
    if application.nik:
        year = await participants.year_for_nik(session, application.nik)
        if year is not None:
            words.append(f"Pernah ikut pelatihan dinas ({year})")
    return words


async def history(session: AsyncSession, actor: Actor, number: str) -> tuple[Application, list[SelectionDecision]]:
    """An application and every decision about it, oldest first."""
    require(actor, Permission.VIEW_APPLICANTS)
    application = await applications.by_number(session, clean_text(number).upper())
    if application is None:
        raise SelectionError(f"no application {number}")
    require_programme(actor, Permission.VIEW_APPLICANTS, application.programme)
    return application, await records.decisions(session, application.id)


async def current_verdict(session: AsyncSession, application: Application) -> Verdict | None:
    """The check's decision as it stands, for the worksheet to show: the last recorded one, or one
    read from the stage when staff moved it by hand (`applications stage`)."""
    if application.stage == Stage.ADMIN_PASSED:
        return Verdict(True)
    if application.stage != Stage.ADMIN_FAILED:
        return None
    checks = [d for d in await records.decisions(session, application.id) if d.kind == DecisionKind.ADMIN_CHECK]
    last = checks[-1] if checks else None
    if last is not None and last.outcome == "failed" and last.reason in REASON_CODES:
        verdict = Verdict(False, Reason(last.reason), last.note)
        if verdict.stage_reason == application.stage_reason:
            return verdict
    return Verdict(False, Reason.OTHER, application.stage_reason)


def describe(decisions: Sequence[SelectionDecision]) -> list[str]:
    """Decisions as one line each, for staff: when, who, what, why."""
    lines = []
    for d in decisions:
        why = REASON_WORDS[Reason(d.reason)] if d.reason in REASON_CODES else d.reason
        parts = [f"{d.created_at:%Y-%m-%d %H:%M} UTC", d.actor, f"{d.kind}: {d.outcome}"]
        if why:
            parts.append(f"reason: {why}")
        if d.note:
            parts.append(f"note: {d.note}")
        lines.append("  ".join(parts))
    return lines
