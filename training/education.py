"""Levels of schooling, ordered so a rule can ask for "at least SMP"."""

from enum import StrEnum


class Education(StrEnum):
    NONE = "none"
    SD = "sd"
    SMP = "smp"
    SMA = "sma"
    DIPLOMA = "diploma"
    BACHELOR = "bachelor"

    @property
    def rank(self) -> int:
        return list(Education).index(self)
