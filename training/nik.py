"""The NIK, the 16-digit number on the KTP, read from what residents type.

Layout: province (2), regency/city (2), district (2), birth date DDMMYY with day + 40 for women,
serial (4). Any Unicode decimal digit (full-width, Arabic-Indic…) is read as its ASCII digit, since
some phone keyboards send those and they are the same number to the resident. A NIK whose region
lies outside the city is valid here: people keep their NIK when they move, so that is a staff flag.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from training.errors import InvalidAnswer
from training.validators import MAX_INPUT, ascii_digits, strip_invisible

NIK_LENGTH: Final = 16
FEMALE_DAY_OFFSET: Final = 40

PROVINCES: Final = {
    "11": "Aceh",
    "12": "Sumatera Utara",
    "13": "Sumatera Barat",
    "14": "Riau",
    "15": "Jambi",
    "16": "Sumatera Selatan",
    "17": "Bengkulu",
    "18": "Lampung",
    "19": "Kepulauan Bangka Belitung",
    "21": "Kepulauan Riau",
    "31": "DKI Jakarta",
    "32": "Jawa Barat",
    "33": "Jawa Tengah",
    "34": "DI Yogyakarta",
    "35": "Jawa Timur",
    "36": "Banten",
    "51": "Bali",
    "52": "Nusa Tenggara Barat",
    "53": "Nusa Tenggara Timur",
    "61": "Kalimantan Barat",
    "62": "Kalimantan Tengah",
    "63": "Kalimantan Selatan",
    "64": "Kalimantan Timur",
    "65": "Kalimantan Utara",
    "71": "Sulawesi Utara",
    "72": "Sulawesi Tengah",
    "73": "Sulawesi Selatan",
    "74": "Sulawesi Tenggara",
    "75": "Gorontalo",
    "76": "Sulawesi Barat",
    "81": "Maluku",
    "82": "Maluku Utara",
    "91": "Papua",
    "92": "Papua Barat",
    "93": "Papua Selatan",
    "94": "Papua Tengah",
    "95": "Papua Pegunungan",
    "96": "Papua Barat Daya",
    "97": "Papua Pegunungan (BPS numbering)",
}
"""Province codes a NIK can start with: the Kemendagri codes of the 38 provinces (the four Papua
provinces of 2022 are 93-96), plus 97, which BPS gives Papua Pegunungan. Accepting 97 lets a rare
typo through; refusing a real resident's NIK would stop their registration."""


class Sex(StrEnum):
    MALE = "M"
    FEMALE = "F"


@dataclass(frozen=True, repr=False)
class Nik:
    """A checked NIK; str() and repr() give only the masked form, so it cannot leak into a log.

    `birth_date` is the date the NIK encodes, its century settled by `parse_nik` on the day it was
    read (a two-digit year cannot say it alone), so it is kept rather than derived.
    """

    value: str
    birth_date: date

    def __post_init__(self) -> None:
        if len(self.value) != NIK_LENGTH or not (self.value.isascii() and self.value.isdigit()):
            raise ValueError("a NIK is 16 ASCII digits")
        if self.value[6:12] != _encode_birth_date(self.birth_date, self.sex):
            raise ValueError(f"birth date does not match the one in NIK {self.masked}")

    @property
    def province(self) -> str:
        return self.value[:2]

    @property
    def region(self) -> str:
        """Dotted, as the catalog writes region codes ("33.75")."""
        return f"{self.value[:2]}.{self.value[2:4]}"

    @property
    def district(self) -> str:
        return f"{self.region}.{self.value[4:6]}"

    @property
    def sex(self) -> Sex:
        return Sex.FEMALE if int(self.value[6:8]) > FEMALE_DAY_OFFSET else Sex.MALE

    @property
    def serial(self) -> str:
        return self.value[12:]

    @property
    def masked(self) -> str:
        """Region and last two digits only: enough for staff to tell records apart in a log."""
        return f"{self.value[:4]}{'*' * 10}{self.value[14:]}"

    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return self.masked


def parse_nik(text: str, *, today: date) -> Nik:
    """Read a NIK as people type it (spaces, dots, dashes between groups) and check its parts."""
    digits = _nik_digits(text)
    if len(digits) != NIK_LENGTH:
        raise InvalidAnswer("registration/nik_length", length=len(digits))
    if digits[:2] not in PROVINCES:
        raise InvalidAnswer("registration/nik_province")
    birth_date = _birth_date(digits[6:12], today)
    if digits[12:] == "0000":
        raise InvalidAnswer("registration/nik_serial")
    return Nik(digits, birth_date)


def _nik_digits(text: str) -> str:
    """The digits typed, once separators and invisible characters are dropped.

    Only decimal digits count: "²" or "①" are symbols, most likely a slip, so they are refused.
    """
    if len(text) > MAX_INPUT:
        raise InvalidAnswer("registration/nik_not_digits")
    typed = ascii_digits(strip_invisible(text))
    kept = typed if typed.isdigit() else "".join(ch for ch in typed if not _is_separator(ch))
    if not kept:
        raise InvalidAnswer("registration/nik_empty")
    if not (kept.isascii() and kept.isdigit()):
        raise InvalidAnswer("registration/nik_not_digits")
    return kept


def _is_separator(ch: str) -> bool:
    return ch.isspace() or ch == "." or unicodedata.category(ch) == "Pd"


def _birth_date(ddmmyy: str, today: date) -> date:
    """The latest date with these digits that is not after `today`.

    So a future birth date cannot come out, and neither can an age of 100 or more: the oldest
    reading is a day short of 100 years.
    """
    day, month, yy = int(ddmmyy[:2]), int(ddmmyy[2:4]), int(ddmmyy[4:])
    if day > FEMALE_DAY_OFFSET:
        day -= FEMALE_DAY_OFFSET
    if not (1 <= day <= 31 and 1 <= month <= 12):
        raise InvalidAnswer("registration/nik_birth_date")
    year = today.year - (today.year - yy) % 100
    if (month, day) > (today.month, today.day) and year == today.year:
        year -= 100
    try:
        return date(year, month, day)
    except ValueError:
        raise InvalidAnswer("registration/nik_birth_date") from None


def _encode_birth_date(birth_date: date, sex: Sex) -> str:
    day = birth_date.day + (FEMALE_DAY_OFFSET if sex is Sex.FEMALE else 0)
    return f"{day:02d}{birth_date.month:02d}{birth_date.year % 100:02d}"


_DIGIT_RUN = re.compile(r"\d(?:\W*\d)*")
"""Digits joined by anything but letters: holds every form the parser reads, to be split further."""


def redact_niks(text: str) -> str:
    """Mask, in text bound for a log, every NIK in any form `parse_nik` reads: digits (any script)
    with spaces, dots, dashes or invisible characters between them. A longer number joined the
    same way is masked too, since a NIK may hide in it; shorter ones (phones, ids) stay."""
    return _DIGIT_RUN.sub(_mask_run, text)


def _mask_run(match: re.Match[str]) -> str:
    """Split the run where a character stands that the parser would not drop ("/", ",", ":")."""
    run, pieces, start = match.group(), [], 0
    for index, ch in enumerate(run):
        if not (ch.isdecimal() or _is_dropped(ch)):
            pieces += [_mask_group(run[start:index]), ch]
            start = index + 1
    pieces.append(_mask_group(run[start:]))
    return "".join(pieces)


def _mask_group(group: str) -> str:
    positions = [index for index, ch in enumerate(group) if ch.isdecimal()]
    if len(positions) < NIK_LENGTH:
        return group
    digits = ascii_digits("".join(group[i] for i in positions))
    first, last = positions[0], positions[-1]
    return f"{group[:first]}{digits[:4]}{'*' * 10}{digits[-2:]}{group[last + 1 :]}"


def _is_dropped(ch: str) -> bool:
    """What the parser drops between digits: separators and invisible (format) characters."""
    return _is_separator(ch) or unicodedata.category(ch) == "Cf"


class RedactNiks(logging.Filter):
    """A logging filter that masks NIKs in the message, arguments and traceback of every record.

    Subclasses widen `redact` to hide more (bot/logs.py hides the bot's token too)."""

    def redact(self, text: str) -> str:
        return redact_niks(text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True
