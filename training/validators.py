"""Parsers for the answers residents type: each returns the normal form or raises InvalidAnswer.

Every parser refuses text longer than MAX_INPUT before looking at it, so a pasted novel costs
nothing; `parse_yes_no` answers None instead, as it does for anything it does not recognise.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from training.errors import InvalidAnswer

MAX_INPUT = 1000
NAME_MIN, NAME_MAX = 2, 100
ADDRESS_MIN, ADDRESS_MAX = 5, 200

_NAME_PUNCTUATION = frozenset(" '.,-")
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'"})
_PHONE_CHARS = frozenset("0123456789+-.()/ ")
_MOBILE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})
_WHITESPACE_CONTROLS = frozenset("\t\n\r")

_YES = frozenset({"ya", "iya", "y", "yes", "betul", "benar", "ok", "oke", "okay", "setuju"})
_NO = frozenset(
    {
        "tidak",
        "tdk",
        "gak",
        "ga",
        "gk",
        "nggak",
        "ngga",
        "enggak",
        "engga",
        "no",
        "n",
        "bukan",
        "tidak setuju",
    }
)

_MONTHS = {
    **dict.fromkeys(("januari", "january", "jan"), 1),
    **dict.fromkeys(("februari", "pebruari", "february", "feb", "peb"), 2),
    **dict.fromkeys(("maret", "march", "mar"), 3),
    **dict.fromkeys(("april", "apr"), 4),
    **dict.fromkeys(("mei", "may"), 5),
    **dict.fromkeys(("juni", "june", "jun"), 6),
    **dict.fromkeys(("juli", "july", "jul"), 7),
    **dict.fromkeys(("agustus", "august", "agu", "agt", "ags", "agus", "aug"), 8),
    **dict.fromkeys(("september", "sep", "sept"), 9),
    **dict.fromkeys(("oktober", "october", "okt", "oct"), 10),
    **dict.fromkeys(("november", "nov", "nop"), 11),
    **dict.fromkeys(("desember", "december", "des", "dec"), 12),
}
_WEEKDAYS = (
    "senin|selasa|rabu|kamis|jumat|jum'at|sabtu|minggu|ahad|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
)
_DATE = re.compile(rf"(?:(?:{_WEEKDAYS}),? )?(\d{{1,2}})[-/. ]+([a-z]+|\d{{1,2}})[-/. ]+(\d{{4}})", re.ASCII)


def strip_invisible(text: str) -> str:
    """Drop format characters (zero-width spaces and joiners, bidi marks, BOM, soft hyphens).

    They are invisible to the resident, yet break staff searches and can reorder text on screen.
    """
    if text.isprintable():  # no format (nor control) characters: the common case, checked in C
        return text
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def ascii_digits(text: str) -> str:
    """Read any Unicode decimal digit as ASCII: keyboards may send Arabic-Indic or full-width."""
    if text.isascii():
        return text
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


def whole_number(text: str, max_digits: int = 9) -> int | None:
    """A typed whole number ("2", Arabic-Indic "٢", full-width "２"), or None for anything else.

    `str.isdigit()` also passes "²" and "①", which `int()` refuses, and a line of 5,000 digits,
    which exceeds `int()`'s digit limit: so only decimal digits count, and only a few of them.
    """
    typed = text.strip()
    if not 0 < len(typed) <= max_digits:
        return None
    typed = ascii_digits(typed)
    return int(typed) if typed.isascii() and typed.isdigit() else None


def collapse_spaces(text: str) -> str:
    return " ".join(text.split())


def clean_text(text: str, *, multiline: bool = False) -> str:
    """Staff text (a file's cell, a command's option) without control characters.

    A NUL is refused by PostgreSQL and other controls garble messages and exports, so they go
    before anything is stored. A one-line field (a name, a place) gets single spaces; a multi-line
    one (an announcement) keeps its line breaks. Format characters stay: emoji such as family or
    flag sequences are joined by them (`strip_invisible` is for what must match exactly).
    """
    if text.isprintable():  # no control characters at all: the common case, checked in C
        return collapse_spaces(text) if not multiline else text.strip()
    lines = text.replace("\r\n", "\n").replace("\r", "\n")
    if not multiline:
        return collapse_spaces(
            "".join(" " if ch in _WHITESPACE_CONTROLS else ch for ch in lines if not _is_control(ch))
        )
    kept = "".join(ch for ch in lines if ch in ("\n", "\t") or not _is_control(ch))
    return "\n".join(line.rstrip() for line in kept.split("\n")).strip()


def bounded_int(value: object, low: int, high: int) -> int | None:
    """`value` as a whole number within [low, high], or None: staff files hold any text or size,
    and a column holds 32 bits (PostgreSQL refuses what SQLite would keep)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if not (text.isascii() and text.isdigit() and len(text) <= 12):
            return None
        value = int(text)
    if isinstance(value, int) and low <= value <= high:
        return value
    return None


def parse_full_name(text: str) -> str:
    """The name as on the KTP; a name typed in one case is title-cased, any other kept as typed."""
    if len(text) > MAX_INPUT:
        raise InvalidAnswer("registration/name_too_long", max=NAME_MAX)
    visible = unicodedata.normalize("NFKC", strip_invisible(text)).translate(_APOSTROPHES)
    if any(_is_control(ch) for ch in visible):
        raise InvalidAnswer("registration/name_invalid")
    name = collapse_spaces(visible)
    if not name:
        raise InvalidAnswer("registration/name_empty")
    if not all(_is_name_char(ch) for ch in name) or not any(ch.isalpha() for ch in name):
        raise InvalidAnswer("registration/name_invalid")
    if len(name) > NAME_MAX:
        raise InvalidAnswer("registration/name_too_long", max=NAME_MAX)
    if len(name) < NAME_MIN:
        raise InvalidAnswer("registration/name_too_short", min=NAME_MIN)
    return _title_if_one_case(name)


def parse_phone(text: str) -> str:
    """An Indonesian mobile number in E.164, however the resident wrote it (08…, +62…, 62…, 8…)."""
    if len(text) > MAX_INPUT:
        raise InvalidAnswer("registration/phone_invalid")
    typed = _phone_text(text)
    digits = "".join(ch for ch in typed if ch.isdigit())
    if typed.startswith("+"):
        return _indonesian_mobile(typed, None)
    if digits.startswith("62"):
        return _indonesian_mobile("+" + digits, None)
    if digits.startswith("0062"):  # the European "00" exit code, which people also type
        return _indonesian_mobile("+" + digits[2:], None)
    return _indonesian_mobile(typed, "ID")


def normalise_shared_phone(phone: str) -> str:
    """A number from Telegram's contact button, which is international but often lacks the "+".

    Reading it as international (not as typed national digits) lets a foreign number be told
    apart as "not an Indonesian mobile" rather than as gibberish.
    """
    if len(phone) > MAX_INPUT:
        raise InvalidAnswer("registration/phone_invalid")
    typed = _phone_text(phone)
    return parse_phone(typed if typed.startswith(("+", "0")) else "+" + typed)


def parse_address(text: str) -> str:
    """Free text kept as typed (HTML is escaped at display time), on one line, without controls."""
    if len(text) > MAX_INPUT:
        raise InvalidAnswer("registration/address_too_long", max=ADDRESS_MAX)
    visible = unicodedata.normalize("NFKC", strip_invisible(text))
    address = collapse_spaces("".join(" " if _is_control(ch) else ch for ch in visible))
    if len(address) < ADDRESS_MIN:
        raise InvalidAnswer("registration/address_too_short", min=ADDRESS_MIN)
    if len(address) > ADDRESS_MAX:
        raise InvalidAnswer("registration/address_too_long", max=ADDRESS_MAX)
    return address


def parse_yes_no(text: str) -> bool | None:
    """A typed yes or no, for residents who answer in words instead of pressing the buttons."""
    if len(text) > MAX_INPUT:
        return None
    words = collapse_spaces(unicodedata.normalize("NFKC", strip_invisible(text)).casefold())
    while words and unicodedata.category(words[-1]).startswith("P"):
        words = words[:-1].rstrip()
    if words in _YES:
        return True
    if words in _NO:
        return False
    return None


def parse_date_dmy(text: str) -> date:
    """A day-month-year date as Indonesians write it, with numbers or month names (id or en)."""
    if len(text) > MAX_INPUT:
        raise InvalidAnswer("common/date_invalid")
    typed = collapse_spaces(ascii_digits(unicodedata.normalize("NFKC", strip_invisible(text))))
    match = _DATE.fullmatch(typed.casefold())
    if not match:
        raise InvalidAnswer("common/date_invalid")
    day, month_text, year = match.groups()
    month = int(month_text) if month_text.isdigit() else _MONTHS.get(month_text)
    if month is None:
        raise InvalidAnswer("common/date_invalid")
    try:
        return date(int(year), month, int(day))
    except ValueError:
        raise InvalidAnswer("common/date_invalid") from None


def _is_control(ch: str) -> bool:
    """Control characters other than the line breaks and tabs that whitespace collapsing absorbs."""
    return unicodedata.category(ch) == "Cc" and ch not in _WHITESPACE_CONTROLS


def _is_name_char(ch: str) -> bool:
    """Letters of any script, their combining marks, and the punctuation KTP names carry."""
    return ch in _NAME_PUNCTUATION or unicodedata.category(ch)[0] in "LM"


def _title_if_one_case(name: str) -> str:
    """Title-case a name typed in one case: "nur'aini" gives "Nur'aini", not "Nur'Aini"."""
    if name not in (name.lower(), name.upper()):
        return name
    out: list[str] = []
    word_start = True
    for ch in name:
        if ch.isalpha():
            out.append(ch.title() if word_start else ch.lower())
            word_start = False
        else:
            out.append(ch)
            word_start = word_start if ch == "'" or unicodedata.category(ch)[0] == "M" else True
    return "".join(out)


def _phone_text(text: str) -> str:
    """The typed number in ASCII digits and single spaces, refused if it has what no number has."""
    typed = collapse_spaces(ascii_digits(unicodedata.normalize("NFKC", strip_invisible(text))))
    if not typed:
        raise InvalidAnswer("registration/phone_empty")
    if not all(ch in _PHONE_CHARS for ch in typed) or "+" in typed[1:]:
        raise InvalidAnswer("registration/phone_invalid")
    if not any(ch.isdigit() for ch in typed):
        raise InvalidAnswer("registration/phone_invalid")
    return typed


def _indonesian_mobile(number_text: str, region: str | None) -> str:
    """The bot sends reminders to this number, so a landline or a foreign number will not do."""
    try:
        number = phonenumbers.parse(number_text, region)
    except NumberParseException:
        raise InvalidAnswer("registration/phone_invalid") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidAnswer("registration/phone_invalid")
    if number.country_code != 62 or phonenumbers.number_type(number) not in _MOBILE_TYPES:
        raise InvalidAnswer("registration/phone_not_mobile")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)
