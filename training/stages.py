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

ALIASES: Final = {
    "kompeten": Stage.COMPETENT,
    "k": Stage.COMPETENT,
    "belum kompeten": Stage.NOT_YET_COMPETENT,
    "belum_kompeten": Stage.NOT_YET_COMPETENT,
    "bk": Stage.NOT_YET_COMPETENT,
}
"""The words certification bodies (LSP) write in their result sheets."""


class Direction(StrEnum):
    FORWARD = "forward"
    BACKWARD = "backward"
    UNCHANGED = "unchanged"


class UnknownStage(BlkbotError):
    def __init__(self, text: str) -> None:
        super().__init__(f"unknown stage {text!r}; stages: {', '.join(s.value for s in Stage)}")


def parse_stage(text: str) -> Stage:
    """A stage as staff type it: the stage's name in any case, or the LSP's words for a result."""
    key = " ".join(text.split()).lower()
    if key in ALIASES:
        return ALIASES[key]
    try:
        return Stage(key.replace(" ", "_"))
    except ValueError:
        raise UnknownStage(key) from None


def direction(current: Stage | str, new: Stage) -> Direction:
    """Whether moving from `current` to `new` goes on through the funnel or takes a decision back."""
    current = Stage(current)
    if current == new:
        return Direction.UNCHANGED
    if current in CLOSING or STEP[new] <= STEP[current]:
        return Direction.BACKWARD
    return Direction.FORWARD
