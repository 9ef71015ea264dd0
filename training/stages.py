"""The selection funnel's order, in one place: which stage changes move an applicant on and which
undo a decision the office already announced.

Steps run registered -> administrative check -> waitlist -> selection -> training -> competency
test -> withdrawn (leaving, from anywhere). A move is forward when it reaches a later step. It is
backward when it goes to an earlier step, switches between the outcomes of one step (selected <->
not_selected, admin_passed <-> admin_failed), or leaves a closing stage (admin_failed,
not_selected, withdrawn): each of those takes back something the applicant was told, so staff
must ask for it explicitly. A waitlisted applicant who is selected moves forward (a seat freed);
a "Belum Kompeten" retested to "Kompeten" too.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from storage.errors import BlkbotError
from storage.models import Stage

STEP: Final[dict[Stage, int]] = {
    Stage.REGISTERED: 0,
    Stage.ADMIN_PASSED: 1,
    Stage.ADMIN_FAILED: 1,
    Stage.WAITLISTED: 2,
    Stage.SELECTED: 3,
    Stage.NOT_SELECTED: 3,
    Stage.IN_TRAINING: 4,
    Stage.NOT_YET_COMPETENT: 5,
    Stage.COMPETENT: 6,
    Stage.WITHDRAWN: 7,
}
"""Each stage's step in the funnel; stages sharing a step are that step's outcomes."""

CLOSING: Final = frozenset({Stage.ADMIN_FAILED, Stage.NOT_SELECTED, Stage.WITHDRAWN})
"""Stages that end an application: leaving one reopens a closed decision."""

NAMES: Final[dict[Stage, str]] = {
    Stage.REGISTERED: "terdaftar",
    Stage.ADMIN_PASSED: "lolos-administrasi",
    Stage.ADMIN_FAILED: "tidak-lolos-administrasi",
    Stage.WAITLISTED: "cadangan",
    Stage.SELECTED: "diterima",
    Stage.NOT_SELECTED: "tidak-diterima",
    Stage.IN_TRAINING: "pelatihan",
    Stage.COMPETENT: "kompeten",
    Stage.NOT_YET_COMPETENT: "belum-kompeten",
    Stage.WITHDRAWN: "mengundurkan-diri",
}
"""Each stage as the office says it (DOMAIN.md): what the export shows and what staff may type."""

ALIASES: Final = {
    "k": Stage.COMPETENT,
    "bk": Stage.NOT_YET_COMPETENT,
    "sedang-pelatihan": Stage.IN_TRAINING,
    "peserta-cadangan": Stage.WAITLISTED,
    "dibatalkan": Stage.WITHDRAWN,
}
"""Other words staff write: the LSP's K / BK in result sheets, and longer forms of the names."""


_BY_WORD: Final[dict[str, Stage]] = {
    **{stage.value.replace("_", "-"): stage for stage in Stage},
    **{name: stage for stage, name in NAMES.items()},
    **ALIASES,
}


def stage_name(stage: Stage | str) -> str:
    """The office's word for a stage; a stored value this version does not know is shown as stored."""
    try:
        return NAMES[Stage(stage)]
    except ValueError:
        return str(stage)


def stage_listing() -> str:
    """Every stage in funnel order as "diterima (selected)", for --help and error messages."""
    return ", ".join(f"{NAMES[s]} ({s.value})" for s in sorted(Stage, key=lambda s: STEP[s]))


class Direction(StrEnum):
    FORWARD = "forward"
    BACKWARD = "backward"
    UNCHANGED = "unchanged"


class UnknownStage(BlkbotError):
    def __init__(self, text: str) -> None:
        super().__init__(f"unknown stage {text!r}; stages: {stage_listing()}")


def parse_stage(text: str) -> Stage:
    """A stage as staff type it, in any case, with spaces, hyphens or underscores: the office's
    Indonesian name (lolos-administrasi), the English code (admin_passed), or an alias (BK)."""
    typed = " ".join(text.split()).lower()
    key = typed.replace(" ", "-").replace("_", "-")
    stage = _BY_WORD.get(key)
    if stage is None:
        raise UnknownStage(typed)
    return stage


def direction(current: Stage | str, new: Stage) -> Direction:
    """Whether moving from `current` to `new` goes on through the funnel or takes a decision back."""
    current = Stage(current)
    if current == new:
        return Direction.UNCHANGED
    if current in CLOSING or STEP[new] <= STEP[current]:
        return Direction.BACKWARD
    return Direction.FORWARD
