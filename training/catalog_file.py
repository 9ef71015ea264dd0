"""Reading the catalog file: the TOML that staff write, checked whole before anything is used.

`parse_catalog(path)` and `parse_catalog_text(text, source)` return a `training.catalog.Catalog`
or raise one `CatalogError` that lists every problem in the file, each on its own line with the
file, the line and the key, for example::

    catalog.toml line 42: programme "LAS1": quota must be a positive whole number, got 'ten'

Nothing is returned until the whole file is right, so a bad file changes nothing.

The format
==========

One `[city]` table, then arrays of tables in any order. Texts residents read (`name`,
`description`, a rule's `question` and `reason`) are either a plain string, taken as Bahasa
Indonesia, or a table of texts per language that must include `id`: ``name = "Teknik Las"`` or
``name = { id = "Teknik Las", en = "Welding" }`` (languages: id, en).

```toml
[city]
name = "Kota Pekalongan"                # shown to residents, at most 80 characters
region = "33.75"                        # the city's own region code; must be a [[region]] below
office = "Dinas Perindustrian dan Tenaga Kerja Kota Pekalongan"   # named in the privacy notice
timezone = "Asia/Jakarta"               # a zoneinfo key: Asia/Jakarta (WIB), Asia/Makassar (WITA)
# How residents reach the office, all optional (shown to a resident who must contact the office,
# e.g. when someone else registered their NIK):
office_phone = "(0285) 421234"          # digits with spaces, dashes, dots, brackets, a leading +
office_whatsapp = "0812-2600-4411"      # the same
office_email = "disperinaker@pekalongankota.go.id"
office_address = "Jl. Mataram No. 1, Pekalongan"    # at most 200 characters
office_hours = "Senin-Kamis 08.00-15.30, Jumat 08.00-11.00"   # plain text, at most 200 characters

[[region]]            # regions whose KTP/NIK codes rules may name
code = "33.75"        # two digits, a dot, two digits (province.regency/city)
name = "Kota Pekalongan"

[[district]]          # kecamatan a resident picks their address district from
code = "33.75.01"     # region code, a dot, two digits; its region must be a [[region]]
name = "Pekalongan Barat"

[[cluster]]           # competency cluster (klaster kompetensi)
code = "LAS"          # 2-16 characters of A-Z, 0-9 and '-'
name = { id = "Teknik Las", en = "Welding" }   # or a plain string

[[venue]]             # where training happens
code = "BLK-PKL"      # 2-16 characters of A-Z, 0-9 and '-'
kind = "BLK"          # BLK | LPKS | BLKK | OTHER
name = "UPT BLK Kota Pekalongan"
address = "Jl. ..."   # at most 200 characters

[[programme]]         # one training: cluster + venue + dates + quota + funding + rules
code = "LAS1"         # 2-12 characters of A-Z, 0-9 and '-', starting and ending with a letter
                      # or digit; it prefixes registration numbers (LAS1-2027-0001)
cluster = "LAS"       # a [[cluster]] code
venue = "BLK-PKL"     # a [[venue]] code
name = { id = "Pengelasan SMAW Dasar", en = "Basic SMAW welding" }
description = { id = "...", en = "..." }   # optional, at most 1000 characters per language
funding = "APBD"      # APBD | APBD_PROVINSI | DBHCHT | APBN | OTHER
wave = 1              # gelombang: the intake of the year, 1 to 12
registration = { opens = 2026-11-01, closes = 2027-01-15 }    # TOML dates, no quotes
training = { starts = 2027-02-01, ends = 2027-03-12 }
quota = 16            # seats, 1 to 10000
rules = [             # required; `rules = []` means anyone may register
  { kind = "ktp_region", regions = ["33.75"] },    # each region must be a [[region]]
  { kind = "min_age", years = 18 },                # age on the training's first day
  { kind = "max_age", years = 35 },
  { kind = "min_education", level = "sma" },       # none | sd | smp | sma | diploma | bachelor
  { kind = "healthy", disability_welcome = true },  # built-in yes/no questions, asked positively:
  { kind = "not_working" },                        #   healthy, not_working ("working or studying?"
  { kind = "never_trained" },                      #   answered "no"), never_trained (likewise; also
                                                   #   checked on record); disability_welcome says in
                                                   #   the health question that people with
                                                   #   disabilities may register
]
```

A programme may also say how its applicants are selected (both optional)::

    score_weights = { written_test = 60, interview = 40 }   # components (a-z, 0-9, _) and weights > 0;
                                                            # without it, any component, weighted equally
    seat_deadline = "3d"      # how long a selected applicant has to confirm: "48h" or "3d", 1h to 30d

and how many training days a participant may miss before staff are warned (optional, default 3)::

    absence_limit = 3         # 1 to 100
and which documents an applicant sends, as a photo or a PDF, after the other questions (optional;
each at most once)::

    documents = ["ktp", "kk", "ijazah", "pas_foto"]   # KTP, family card, diploma, passport photo

A programme's own yes/no question is a `declaration` with a `key`, a `question` and the `reason`
shown to those who answer otherwise (`expect = false` passes a "no"). Inline tables must stay on
one line in TOML, so long rules read better as sub-tables, which replace `rules = [...]` and
must come after the programme's other keys::

    [[programme.rules]]
    kind = "declaration"
    key = "pmi_candidate"
    question = { id = "Apakah Anda calon PMI?", en = "Are you a migrant-worker candidate?" }
    reason = { id = "Pelatihan ini khusus calon PMI.", en = "This track is for PMI candidates." }

Checks: required keys and their types; unknown keys (with a "did you mean" for typos); code
formats; codes unique per kind; references (a programme's cluster and venue, a city's and a
ktp_region rule's regions, a district's region); at least one district in the city's region;
registration.opens <= registration.closes <= training.starts <= training.ends; positive quota
and wave (quota at most 10000, wave at most 12; min_age/max_age years 10-100); a known timezone; an `id` text in every text; names of at most 80 characters (they are
shown on buttons); every rule readable by `training.eligibility.parse_rule`, with no repeated or
contradicting rules. A rule's problem names its number ("rules: rule 3: ...") and points at the
line where that rule starts. Control characters in texts are dropped (a description keeps its line
breaks).

Closing a programme
===================

Loading a file replaces the catalog; a programme the file no longer lists is closed: residents
no longer see it, its applications stay. If it has applications, `blkbot catalog load` refuses
the file, naming each such programme and how many applications it has, and changes nothing,
unless the programme is closed on purpose with `--close CODE` (once per programme). A closed
programme stays closed at later loads; listing it in a file again reopens it.
"""

from __future__ import annotations

import difflib
import itertools
import re
import tomllib
import zoneinfo
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from training.catalog import (
    Catalog,
    City,
    Cluster,
    District,
    Funding,
    OfficeContact,
    Programme,
    Region,
    Venue,
    VenueKind,
)
from training.documents import DocumentKind
from training.eligibility import (
    KNOWN_DECLARATIONS,
    Declaration,
    KtpRegion,
    MaxAge,
    MinAge,
    Rule,
    RuleError,
    parse_rule,
)
from training.errors import CatalogError, Problem
from training.text import LANGUAGES, LocalText
from training.validators import bounded_int, clean_text

BUTTON_TEXT_MAX = 80
"""Names are shown on buttons and in lists: longer ones are cut off or wrap badly."""
LINE_TEXT_MAX = 200
PHONE_TEXT_MAX = 40
DESCRIPTION_MAX = 1000
QUOTA_MAX = 10_000
"""Seats in one programme: real intakes have tens; the bound also keeps the number in its column."""
WAVE_MAX = 12
"""Intakes (gelombang) in a year: cities run a few, at most one a month."""
AGE_YEARS = (10, 100)
"""Ages a min_age or max_age rule may name."""
WEIGHT_MAX = 1000
SEAT_DEADLINE = re.compile(r"(\d{1,4})\s*([hd])")
SEAT_DEADLINE_HOURS = (1, 720)
ABSENCE_LIMIT_MAX = 100
"""A seat offer stays open from an hour to 30 days."""
COMPONENT = re.compile(r"[a-z][a-z0-9_]{0,31}")

PROGRAMME_CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,10}[A-Z0-9]")
CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,14}[A-Z0-9]")
REGION_CODE = re.compile(r"\d{2}\.\d{2}")
DISTRICT_CODE = re.compile(r"\d{2}\.\d{2}\.\d{2}")
PHONE_TEXT = re.compile(r"\+?[0-9 ().-]+")
PHONE_DIGITS = (6, 15)
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")

_PROGRAMME_CODE_TEXT = "2-12 characters of A-Z, 0-9 and '-', starting and ending with a letter or digit"
_CODE_TEXT = "2-16 characters of A-Z, 0-9 and '-', starting and ending with a letter or digit"
_REGION_CODE_TEXT = 'a region code like "33.75"'
_DISTRICT_CODE_TEXT = 'a district code like "33.75.01"'

SECTIONS = ("city", "region", "district", "cluster", "venue", "programme")
CITY_KEYS = (
    "name",
    "region",
    "office",
    "timezone",
    "office_phone",
    "office_whatsapp",
    "office_email",
    "office_address",
    "office_hours",
)
REGION_KEYS = ("code", "name")
DISTRICT_KEYS = ("code", "name")
CLUSTER_KEYS = ("code", "name")
VENUE_KEYS = ("code", "kind", "name", "address")
PROGRAMME_KEYS = (
    "code",
    "cluster",
    "venue",
    "name",
    "description",
    "funding",
    "wave",
    "registration",
    "training",
    "quota",
    "rules",
    "score_weights",
    "seat_deadline",
    "absence_limit",
    "documents",
)
RULE_KEYS: Mapping[str, tuple[str, ...]] = {
    "min_age": ("years",),
    "max_age": ("years",),
    "ktp_region": ("regions",),
    "min_education": ("level",),
    "declaration": ("key", "expect", "question", "reason"),
    **{key: ("expect",) for key in KNOWN_DECLARATIONS},
    "healthy": ("expect", "disability_welcome"),
}
"""The keys each rule kind reads besides `kind`; parse_rule ignores others, so typos show here."""

_E = TypeVar("_E", bound=StrEnum)


class CatalogInvalid(CatalogError):
    """A catalog file with problems; `problems` lists them all, in file order."""

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        ordered = sorted(problems, key=lambda p: p.line or 0)
        if len(ordered) == 1:
            super().__init__(source, ordered[0].text, ordered[0].line)
        else:
            listing = "\n".join(p.render(source) for p in ordered)
            super().__init__(source, f"{len(ordered)} problems:\n{listing}")
        self.problems = tuple(ordered)


def parse_catalog(path: Path) -> Catalog:
    """Read and check a catalog file; raise CatalogError listing every problem."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # Notepad may add a BOM
    except UnicodeDecodeError as error:
        raise CatalogError(source, f"the file is not UTF-8 text ({error.reason})") from None
    except OSError as error:
        raise CatalogError(source, f"cannot read the file: {error.strerror or error}") from None
    return parse_catalog_text(text, source)


def parse_catalog_text(text: str, source: str) -> Catalog:
    """Check catalog TOML as a whole; `source` names it in messages (usually the file's path)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise _syntax_error(error, text, source) from None
    reader = _Reader(_Locator(text))
    catalog = reader.catalog(data)
    if reader.problems or catalog is None:
        raise CatalogInvalid(source, reader.problems or [Problem(None, "the catalog is empty")])
    return catalog


# --- TOML syntax errors ----------------------------------------------------------------------

_TOML_WHERE = re.compile(r"^(?P<msg>.*) \(at (?:line (?P<line>\d+), column (?P<col>\d+)|end of document)\)$")


def _syntax_error(error: tomllib.TOMLDecodeError, text: str, source: str) -> CatalogError:
    message = str(error)
    match = _TOML_WHERE.match(message)
    if not match:
        return CatalogInvalid(source, [Problem(None, f"not valid TOML: {message}")])
    if match["line"]:
        line, where = int(match["line"]), f" (column {match['col']})"
    else:
        line, where = max(1, text.count("\n") + (0 if text.endswith("\n") else 1)), " (at the end)"
    return CatalogInvalid(source, [Problem(line, f"not valid TOML: {match['msg']}{where}")])


# --- Finding lines ---------------------------------------------------------------------------

_KEY_PART = r"""(?:[A-Za-z0-9_-]+|"[^"\n]*"|'[^'\n]*')"""
_DOTTED = rf"{_KEY_PART}(?:\s*\.\s*{_KEY_PART})*"
_HEADER = re.compile(rf"^\s*\[\[?\s*(?P<name>{_DOTTED})\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(rf"^\s*(?P<key>{_DOTTED})\s*=")
_PART = re.compile(_KEY_PART)
_TRIPLE = re.compile(r'"""|' + "'''")


def _key_path(text: str) -> tuple[str, ...]:
    return tuple(part.strip("\"'") for part in _PART.findall(text))


@dataclass(frozen=True)
class _Header:
    index: int  # 0-based line index
    path: tuple[str, ...]


class _Locator:
    """Maps (table name, n-th table, key) to a line by scanning the text, as tomllib keeps none.

    `[[programme]]` number n is the n-th such header; a key is the first line in its block that
    starts with `key =` (sub-tables such as `[programme.registration]` and dotted keys such as
    `registration.opens =` count); failing that, the line of the nearest enclosing table or inline
    table, then the block's header.
    """

    def __init__(self, text: str) -> None:
        self.lines = [line.rstrip("\r") for line in text.split("\n")]
        self.code = self._code_mask(self.lines)
        self.headers: list[_Header] = []
        for i, line in enumerate(self.lines):
            match = _HEADER.match(line) if self.code[i] else None
            if match:
                self.headers.append(_Header(i, _key_path(match["name"])))

    @staticmethod
    def _code_mask(lines: Sequence[str]) -> list[bool]:
        """False for lines that start inside a multi-line string (they are text, not keys)."""
        mask: list[bool] = []
        inside: str | None = None
        for line in lines:
            mask.append(inside is None)
            pos = 0
            while True:
                if inside is None:
                    match = _TRIPLE.search(line, pos)
                    if not match:
                        break
                    inside, pos = match.group(), match.end()
                else:
                    end = line.find(inside, pos)
                    if end < 0:
                        break
                    inside, pos = None, end + 3
        return mask

    def _block(self, section: str | None, index: int) -> tuple[int | None, int, int] | None:
        """(header line number, first index, end index) of a table's lines, sub-tables included."""
        if section is None:
            end = self.headers[0].index if self.headers else len(self.lines)
            return None, 0, end
        starts = [h for h in self.headers if h.path == (section,)]
        if index >= len(starts):
            return None
        start = starts[index]
        end = len(self.lines)
        for header in self.headers:
            if header.index <= start.index:
                continue
            if header.path[:1] != (section,) or header.path == (section,):
                end = header.index
                break
        return start.index + 1, start.index + 1, end

    def line(self, section: str | None, index: int, key: Sequence[str] = (), item: int | None = None) -> int | None:
        """The line of `key` in the index-th `[[section]]`; with `item`, of that (1-based) element
        of the array `key` where it can be found (its line is the fallback)."""
        key = tuple(key)
        block = self._block(section, index)
        if block is None:
            # an array written inline (`region = [...]`) or dotted keys at the top
            return self.line(None, 0, (section, *key), item) if section else None
        header_line, first, end = block
        if not key:
            return header_line
        best, best_len = header_line, 0
        sub: tuple[str, ...] = ()
        elements: list[int] = []  # [[section.key]] headers: one element of the array each
        for i in range(first, end):
            if not self.code[i]:
                continue
            header = _HEADER.match(self.lines[i])
            if header:
                path = _key_path(header["name"])
                sub = path[1:] if section else path
                if sub == key:
                    elements.append(i + 1)
                if sub and key[: len(sub)] == sub and len(sub) > best_len:
                    best, best_len = i + 1, len(sub)
                continue
            match = _KEY.match(self.lines[i])
            if not match:
                continue
            full = sub + _key_path(match["key"])
            if full == key:
                found = self._inline_element(i, match.end(), item) if item else None
                return found or i + 1
            if len(full) < len(key) and key[: len(full)] == full and len(full) > best_len:
                best, best_len = i + 1, len(full)
        if item and elements:
            return elements[item - 1] if item <= len(elements) else elements[0]
        if best is None and section is None:
            for header in self.headers:  # a key at the top may be a table: [[programmes]]
                if header.path[: len(key)] == key or key[: len(header.path)] == header.path:
                    return header.index + 1
        return best

    def _inline_element(self, row: int, column: int, item: int) -> int | None:
        """The line where the item-th element of the inline array at (row, column) begins."""
        depth, count, quote, expecting = 0, 0, "", False
        for i in range(row, len(self.lines)):
            line, j = self.lines[i], column if i == row else 0
            if quote in ('"', "'"):
                quote = ""  # single-line strings end with their line
            while j < len(line):
                char = line[j]
                if quote:
                    if quote[0] == '"' and char == "\\":
                        j += 2
                    elif line.startswith(quote, j):
                        j, quote = j + len(quote), ""
                    else:
                        j += 1
                    continue
                if char.isspace():
                    j += 1
                    continue
                if char == "#":
                    break
                if depth == 1 and expecting and char not in ",]":
                    count, expecting = count + 1, False
                    if count == item:
                        return i + 1
                if line.startswith(('"""', "'''"), j):
                    quote, j = line[j : j + 3], j + 3
                    continue
                if char in "\"'":
                    quote = char
                elif char in "[{":
                    depth += 1
                    expecting = depth == 1
                elif char in "]}":
                    depth -= 1
                    if depth <= 0:
                        return None
                elif char == "," and depth == 1:
                    expecting = True
                j += 1
        return None


# --- Checking --------------------------------------------------------------------------------


class _Missing:
    pass


_MISSING = _Missing()


def _show(value: Any) -> str:
    """A value as a message shows it: strings quoted, TOML's own words for the rest."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _did_you_mean(word: Any, options: Collection[str]) -> str:
    if not isinstance(word, str):
        return ""
    for option in options:
        if option.lower() == word.lower() and option != word:
            return f" (did you mean {option!r}?)"
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class _Reader:
    def __init__(self, locator: _Locator) -> None:
        self.locator = locator
        self.problems: list[Problem] = []
        self.region_codes: set[str] = set()
        self.cluster_codes: set[str] = set()
        self.venue_codes: set[str] = set()

    def entry(self, section: str | None, index: int, data: Any, label: str) -> _Entry:
        return _Entry(self, section, index, label, data if isinstance(data, dict) else {}, "")

    def catalog(self, data: dict[str, Any]) -> Catalog | None:
        root = self.entry(None, 0, data, "")
        for key, value in data.items():
            if key not in SECTIONS:
                table = isinstance(value, dict) or (
                    isinstance(value, list) and all(isinstance(v, dict) for v in value) and value
                )
                what = "table" if table else "key"
                root.problem(key, f"unknown {what} {key!r}{_did_you_mean(key, SECTIONS)}")
        arrays = {name: self.array(root, name) for name in SECTIONS[1:]}
        # codes declared, however badly, so one bad code does not also break every reference
        self.region_codes = _declared(arrays["region"])
        self.cluster_codes = _declared(arrays["cluster"])
        self.venue_codes = _declared(arrays["venue"])

        for name, items in arrays.items():
            self.unique(name, items)
        regions = [self.region(i, raw) for i, raw in enumerate(arrays["region"])]
        districts = [self.district(i, raw) for i, raw in enumerate(arrays["district"])]
        clusters = [self.cluster(i, raw) for i, raw in enumerate(arrays["cluster"])]
        venues = [self.venue(i, raw) for i, raw in enumerate(arrays["venue"])]
        programmes = [self.programme(i, raw) for i, raw in enumerate(arrays["programme"])]
        city = self.city(root, _declared(arrays["district"]))
        if self.problems or city is None:
            return None
        return Catalog(
            city=city,
            regions=tuple(r for r in regions if r),
            districts=tuple(d for d in districts if d),
            clusters=tuple(c for c in clusters if c),
            venues=tuple(v for v in venues if v),
            programmes=tuple(p for p in programmes if p),
        )

    def array(self, root: _Entry, name: str) -> list[Any]:
        value = root.data.get(name, _MISSING)
        if value is _MISSING:
            return []
        if not isinstance(value, list):
            root.problem(name, f"{name} must be written as [[{name}]] tables, one per {name}")
            return []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                line = self.locator.line(name, i) or self.locator.line(None, 0, (name,))
                self.add(line, f"[[{name}]] #{i + 1} must be a table, got {_show(item)}")
        return value

    def add(self, line: int | None, text: str) -> None:
        self.problems.append(Problem(line, text))

    def unique(self, section: str, items: list[Any]) -> None:
        """Report codes used twice in one kind (however the rest of each table reads)."""
        first: dict[str, int] = {}
        for index, raw in enumerate(items):
            code = raw.get("code") if isinstance(raw, dict) else None
            if not isinstance(code, str):
                continue
            if code in first:
                where = self.locator.line(section, first[code], ("code",))
                self.labelled(section, index, raw).problem(
                    "code",
                    f"code {code!r} is used twice: [[{section}]] #{first[code] + 1}"
                    + (f" at line {where}" if where else "")
                    + " has it too",
                )
            first.setdefault(code, index)

    def labelled(self, section: str, index: int, raw: Any) -> _Entry:
        code = raw.get("code") if isinstance(raw, dict) else None
        if isinstance(code, str) and code:
            label = f'{section} "{code}"'
        else:
            label = f"[[{section}]] #{index + 1}"
        return self.entry(section, index, raw, label)

    # --- one table each ----------------------------------------------------------------------

    def city(self, root: _Entry, districts: set[str]) -> City | None:
        raw = root.data.get("city", _MISSING)
        if raw is _MISSING:
            self.add(None, "missing the [city] table (name, region, office, timezone)")
            return None
        if not isinstance(raw, dict):
            root.problem("city", "city must be one [city] table, not a list of them")
            return None
        e = self.entry("city", 0, raw, "city")
        e.check_keys(CITY_KEYS)
        name = e.text("name", limit=BUTTON_TEXT_MAX)
        region = e.code("region", REGION_CODE, _REGION_CODE_TEXT)
        office = e.text("office", limit=LINE_TEXT_MAX)
        timezone = e.text("timezone", limit=LINE_TEXT_MAX)
        if region is not None:
            if region not in self.region_codes:
                e.problem(
                    "region",
                    f"region {region!r} is not declared in any [[region]]",
                )
            elif not any(code.startswith(region + ".") for code in districts):
                e.problem(
                    "region",
                    f"no [[district]] lies in the city's region {region!r}: residents pick "
                    "their address district from them",
                )
        if timezone is not None and not _valid_timezone(timezone):
            e.problem(
                "timezone",
                f"timezone must be a time zone name like 'Asia/Jakarta', got {timezone!r}"
                + _did_you_mean(timezone, zoneinfo.available_timezones()),
            )
        contact = self.office_contact(e)
        if name and region and office and timezone and _valid_timezone(timezone):
            return City(name=name, region=region, office=office, timezone=timezone, contact=contact)
        return None

    def office_contact(self, e: _Entry) -> OfficeContact:
        """The optional ways to reach the office; each one checked if given."""
        phones = {}
        for key in ("office_phone", "office_whatsapp"):
            phone = e.text(key, limit=PHONE_TEXT_MAX, required=False)
            digits = sum(ch.isdigit() for ch in phone or "")
            if phone is not None and not (PHONE_TEXT.fullmatch(phone) and PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1]):
                e.problem(
                    key, f"{key} must be a phone number like '(0285) 421234' or '+62 812-2600-4411', got {phone!r}"
                )
                phone = None
            phones[key] = phone
        email = e.text("office_email", limit=LINE_TEXT_MAX, required=False)
        if email is not None and not EMAIL.fullmatch(email):
            e.problem("office_email", f"office_email must be an e-mail address like 'kantor@kota.go.id', got {email!r}")
            email = None
        return OfficeContact(
            phone=phones["office_phone"],
            whatsapp=phones["office_whatsapp"],
            email=email,
            address=e.text("office_address", limit=LINE_TEXT_MAX, required=False),
            hours=e.text("office_hours", limit=LINE_TEXT_MAX, required=False),
        )

    def region(self, index: int, raw: Any) -> Region | None:
        e = self.labelled("region", index, raw)
        e.check_keys(REGION_KEYS)
        code = e.code("code", REGION_CODE, _REGION_CODE_TEXT)
        name = e.text("name", limit=BUTTON_TEXT_MAX)
        return Region(code, name) if code and name else None

    def district(self, index: int, raw: Any) -> District | None:
        e = self.labelled("district", index, raw)
        e.check_keys(DISTRICT_KEYS)
        code = e.code("code", DISTRICT_CODE, _DISTRICT_CODE_TEXT)
        name = e.text("name", limit=BUTTON_TEXT_MAX)
        if code is not None and code[:5] not in self.region_codes:
            e.problem(
                "code",
                f"code {code!r} lies in region {code[:5]!r}, which is not declared in any [[region]]",
            )
            return None
        return District(code, name) if code and name else None

    def cluster(self, index: int, raw: Any) -> Cluster | None:
        e = self.labelled("cluster", index, raw)
        e.check_keys(CLUSTER_KEYS)
        code = e.code("code", CODE, _CODE_TEXT)
        name = e.local_text("name", limit=BUTTON_TEXT_MAX)
        return Cluster(code, name) if code and name else None

    def venue(self, index: int, raw: Any) -> Venue | None:
        e = self.labelled("venue", index, raw)
        e.check_keys(VENUE_KEYS)
        code = e.code("code", CODE, _CODE_TEXT)
        kind = e.choice("kind", VenueKind)
        name = e.text("name", limit=BUTTON_TEXT_MAX)
        address = e.text("address", limit=LINE_TEXT_MAX)
        if code and kind and name and address:
            return Venue(code=code, kind=kind, name=name, address=address)
        return None

    def programme(self, index: int, raw: Any) -> Programme | None:
        e = self.labelled("programme", index, raw)
        e.check_keys(PROGRAMME_KEYS)
        code = e.code("code", PROGRAMME_CODE, _PROGRAMME_CODE_TEXT)
        cluster = e.reference("cluster", self.cluster_codes)
        venue = e.reference("venue", self.venue_codes)
        name = e.local_text("name", limit=BUTTON_TEXT_MAX)
        description = e.local_text("description", limit=DESCRIPTION_MAX, required=False)
        funding = e.choice("funding", Funding)
        wave = e.positive_int("wave", WAVE_MAX)
        quota = e.positive_int("quota", QUOTA_MAX)
        registration = e.table("registration", ("opens", "closes"))
        training = e.table("training", ("starts", "ends"))
        opens = registration.date("opens") if registration else None
        closes = registration.date("closes") if registration else None
        starts = training.date("starts") if training else None
        ends = training.date("ends") if training else None
        dates_ok = self.dates_in_order(
            e,
            [
                ("registration.opens", opens),
                ("registration.closes", closes),
                ("training.starts", starts),
                ("training.ends", ends),
            ],
        )
        rules = self.rules(e)
        weights = self.score_weights(e)
        seat_hours = self.seat_deadline(e)
        absence_limit = self.absence_limit(e)
        documents = self.documents(e)
        if weights is None or seat_hours == 0 or absence_limit == 0 or documents is None:
            return None
        if not (code and cluster and venue and name and funding and wave and quota and dates_ok):
            return None
        if rules is None:
            return None
        assert opens and closes and starts and ends
        return Programme(
            code=code,
            cluster=cluster,
            venue=venue,
            name=name,
            funding=funding,
            wave=wave,
            registration_opens=opens,
            registration_closes=closes,
            training_starts=starts,
            training_ends=ends,
            quota=quota,
            rules=rules,
            description=description,
            score_weights=weights,
            seat_deadline_hours=seat_hours,
            absence_limit=absence_limit,
            documents=documents,
        )

    @staticmethod
    def score_weights(e: _Entry) -> tuple[tuple[str, float], ...] | None:
        """The optional `score_weights` table: component names and positive weights; () when absent."""
        value = e.value("score_weights", required=False)
        if value is _MISSING:
            return ()
        example = "{ written_test = 60, interview = 40 }"
        if not isinstance(value, dict) or not value:
            e.problem("score_weights", f"score_weights must be a table like {example}, got {_show(value)}")
            return None
        weights: list[tuple[str, float]] = []
        for name, weight in value.items():
            if not COMPONENT.fullmatch(name):
                e.problem(
                    "score_weights",
                    f"score_weights: {name!r} is not a component name (a-z, 0-9 and _, at most 32, like written_test)",
                )
                return None
            if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight <= WEIGHT_MAX:
                e.problem("score_weights", f"score_weights.{name} must be a number above 0 and at most {WEIGHT_MAX}")
                return None
            weights.append((name, float(weight)))
        return tuple(weights)

    @staticmethod
    def documents(e: _Entry) -> tuple[str, ...] | None:
        """The optional `documents` list of DocumentKind names; () when absent, None when wrong."""
        value = e.value("documents", required=False)
        if value is _MISSING:
            return ()
        names = ", ".join(repr(k.value) for k in DocumentKind)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            e.problem("documents", f"documents must be a list of names ({names}), got {_show(value)}")
            return None
        for name in value:
            if name not in {k.value for k in DocumentKind}:
                hint = difflib.get_close_matches(name, [k.value for k in DocumentKind], n=1)
                e.problem(
                    "documents",
                    f"documents: {name!r} is not a document"
                    + (f" (did you mean {hint[0]!r}?)" if hint else f"; known: {names}"),
                )
                return None
        if len(set(value)) != len(value):
            e.problem("documents", f"documents names {_show(value)}: each document at most once")
            return None
        return tuple(value)

    @staticmethod
    def seat_deadline(e: _Entry) -> int | None:
        """The optional `seat_deadline` ("48h", "3d") in hours; None when absent, 0 when wrong."""
        value = e.value("seat_deadline", required=False)
        if value is _MISSING:
            return None
        low, high = SEAT_DEADLINE_HOURS
        match = SEAT_DEADLINE.fullmatch(value.strip().lower()) if isinstance(value, str) else None
        hours = int(match[1]) * (24 if match[2] == "d" else 1) if match else 0
        if not low <= hours <= high:
            e.problem(
                "seat_deadline",
                f'seat_deadline must be hours or days like "48h" or "3d", from {low}h to {high // 24}d, '
                f"got {_show(value)}",
            )
            return 0
        return hours

    @staticmethod
    def absence_limit(e: _Entry) -> int | None:
        """The optional `absence_limit` (training days missed before staff are warned); None when
        absent, 0 when wrong."""
        value = e.value("absence_limit", required=False)
        if value is _MISSING:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= ABSENCE_LIMIT_MAX:
            e.problem(
                "absence_limit",
                f"absence_limit must be a whole number from 1 to {ABSENCE_LIMIT_MAX}, got {_show(value)}",
            )
            return 0
        return value

    @staticmethod
    def dates_in_order(e: _Entry, dates: list[tuple[str, date | None]]) -> bool:
        if any(value is None for _, value in dates):
            return False
        ok = True
        for (key_a, a), (key_b, b) in itertools.pairwise(dates):
            assert a is not None and b is not None
            if a > b:
                ok = False
                e.problem(
                    key_b,
                    f"{key_b} ({b.isoformat()}) is before {key_a} ({a.isoformat()}); dates must "
                    "run registration.opens <= registration.closes <= training.starts "
                    "<= training.ends",
                )
        return ok

    def rules(self, e: _Entry) -> tuple[Rule, ...] | None:
        value = e.value("rules")
        if value is _MISSING:
            return None
        if not isinstance(value, list):
            e.problem(
                "rules",
                f'rules must be a list of rules like [{{ kind = "min_age", years = 18 }}], got {_show(value)}',
            )
            return None
        before = len(self.problems)
        rules: list[tuple[int, Rule]] = []
        for n, raw in enumerate(value, 1):
            rule = self.rule(e, n, raw)
            if rule is not None:
                rules.append((n, rule))
        self.rules_together(e, rules)
        if len(self.problems) > before:
            return None
        return tuple(rule for _, rule in rules)

    def rule(self, e: _Entry, n: int, raw: Any) -> Rule | None:
        where = f"rules: rule {n}"
        problems = len(self.problems)

        def report(message: str) -> None:
            e.problem("rules", f"{where}{message}", item=n)

        if not isinstance(raw, dict):
            hint = f' (write {{ kind = "{raw}" }})' if isinstance(raw, str) and raw in RULE_KEYS else ""
            report(f' must be a table like {{ kind = "min_age", years = 18 }}, got {_show(raw)}{hint}')
            return None
        kind = raw.get("kind")
        if isinstance(kind, str) and kind in RULE_KEYS:
            allowed = ("kind", *RULE_KEYS[kind])
            for key in raw:
                if key not in allowed:
                    hint = _did_you_mean(key, allowed)
                    report(f": unknown key {key!r} for a {kind} rule{hint}")
        if "expect" in raw and not isinstance(raw["expect"], bool):
            report(f": 'expect' must be true or false, got {_show(raw['expect'])}")
        if kind == "ktp_region" and isinstance(raw.get("regions"), str):
            report(f": 'regions' must be a list like [\"33.75\"], got {raw['regions']!r}")
            return None
        try:
            rule = parse_rule(raw)
        except RuleError as error:
            report(f": {error}")
            return None
        if isinstance(rule, MinAge | MaxAge) and bounded_int(rule.years, *AGE_YEARS) is None:
            report(f": years must be from {AGE_YEARS[0]} to {AGE_YEARS[1]}, got {rule.years}")
        if isinstance(rule, KtpRegion):
            for code in rule.regions:
                if not REGION_CODE.fullmatch(code):
                    report(f": region must be {_REGION_CODE_TEXT}, got {code!r}")
                elif code not in self.region_codes:
                    report(f": region {code!r} is not declared in any [[region]]")
        if isinstance(rule, Declaration):
            for attr in ("question", "reason"):
                text: LocalText | None = getattr(rule, attr)
                if text is None:
                    continue
                if not text.get("id", "").strip():
                    report(f": {attr} needs an 'id' (Bahasa Indonesia) text")
                for lang in text:
                    if lang not in LANGUAGES:
                        hint = _did_you_mean(lang, LANGUAGES)
                        report(f": {attr} has unknown language {lang!r}{hint}")
                    elif len(text[lang]) > DESCRIPTION_MAX:
                        report(f": {attr} is over {DESCRIPTION_MAX} characters in {lang!r}")
        return rule if len(self.problems) == problems else None

    @staticmethod
    def rules_together(e: _Entry, rules: list[tuple[int, Rule]]) -> None:
        """Rules that repeat or contradict each other: the resident would be asked twice."""
        first: dict[str, int] = {}
        for n, rule in rules:
            name = f"declaration {rule.key!r}" if isinstance(rule, Declaration) else rule.kind
            if name in first:
                e.problem("rules", f"rules: rule {n} repeats the {name} rule of rule {first[name]}", n)
            first.setdefault(name, n)
        low = [(n, r.years) for n, r in rules if isinstance(r, MinAge)]
        high = [(n, r.years) for n, r in rules if isinstance(r, MaxAge)]
        if low and high and low[0][1] > high[0][1]:
            e.problem(
                "rules",
                f"rules: rule {high[0][0]}: max_age ({high[0][1]}) is below min_age "
                f"({low[0][1]}) of rule {low[0][0]}, so nobody qualifies",
                high[0][0],
            )


def _declared(items: list[Any]) -> set[str]:
    return {item["code"] for item in items if isinstance(item, dict) and isinstance(item.get("code"), str)}


def _valid_timezone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


@dataclass
class _Entry:
    """One table of the file (or a table inside it) and the checks of its values."""

    reader: _Reader
    section: str | None
    index: int
    label: str
    data: dict[str, Any]
    prefix: str  # "registration." inside a nested table

    def problem(self, key: str | None, message: str, item: int | None = None) -> None:
        path = tuple(self.full(key).split(".")) if key else tuple(self.prefix.split(".")[:-1])
        line = self.reader.locator.line(self.section, self.index, path, item)
        self.reader.add(line, f"{self.label}: {message}" if self.label else message)

    def full(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def check_keys(self, allowed: Sequence[str], what: str = "key") -> None:
        for key in self.data:
            if key not in allowed:
                full = self.full(key)
                hint = _did_you_mean(full, [self.full(k) for k in allowed])
                self.problem(key, f"unknown {what} {full!r}{hint}")

    def value(self, key: str, required: bool = True) -> Any:
        value = self.data.get(key, _MISSING)
        if value is _MISSING and required:
            self.problem(None, f"missing required key {self.full(key)!r}")
        return value

    def text(self, key: str, *, limit: int, required: bool = True) -> str | None:
        value = self.value(key, required)
        if value is _MISSING:
            return None
        return self.string(key, value, limit)

    def string(self, key: str, value: Any, limit: int) -> str | None:
        """The text without control characters (a description keeps its line breaks), within `limit`."""
        full = self.full(key)
        if not isinstance(value, str):
            self.problem(key, f"{full} must be text in quotes, got {_show(value)}")
            return None
        value = clean_text(value, multiline=limit >= DESCRIPTION_MAX)
        if not value.strip():
            self.problem(key, f"{full} must not be empty")
            return None
        if len(value) > limit:
            why = " (it is shown on buttons)" if limit == BUTTON_TEXT_MAX else ""
            self.problem(key, f"{full} is {len(value)} characters long; at most {limit} fit{why}")
            return None
        return value

    def local_text(self, key: str, *, limit: int, required: bool = True) -> LocalText | None:
        value = self.value(key, required)
        if value is _MISSING:
            return None
        full = self.full(key)
        if isinstance(value, str):
            text = self.string(key, value, limit)
            return {"id": text} if text is not None else None
        if not isinstance(value, dict):
            self.problem(
                key,
                f'{full} must be text, or texts per language like {{ id = "...", en = "..." }}, got {_show(value)}',
            )
            return None
        inner = self.child(key, value)
        inner.check_keys(LANGUAGES)
        texts = {}
        ok = True
        for lang in LANGUAGES:
            if lang in value:
                text = inner.string(lang, value[lang], limit)
                ok = ok and text is not None
                if text is not None:
                    texts[lang] = text
        if "id" not in value:
            self.problem(key, f"{full} needs an 'id' (Bahasa Indonesia) text")
            ok = False
        if not ok or any(lang not in LANGUAGES for lang in value):
            return None
        return texts

    def code(self, key: str, pattern: re.Pattern[str], rule: str) -> str | None:
        value = self.value(key)
        if value is _MISSING:
            return None
        if not isinstance(value, str) or not pattern.fullmatch(value):
            hint = ""
            if isinstance(value, str) and pattern.fullmatch(value.strip().upper()):
                hint = f" (did you mean {value.strip().upper()!r}?)"
            self.problem(key, f"{self.full(key)} must be {rule}, got {_show(value)}{hint}")
            return None
        return value

    def reference(self, key: str, declared: set[str]) -> str | None:
        value = self.value(key)
        if value is _MISSING:
            return None
        if not isinstance(value, str):
            got = _show(value)
            self.problem(key, f"{self.full(key)} must be a {key} code in quotes, got {got}")
            return None
        if value not in declared:
            self.problem(
                key,
                f"{self.full(key)} {value!r} is not declared in any [[{key}]]" + _did_you_mean(value, declared),
            )
            return None
        return value

    def choice(self, key: str, enum: type[_E]) -> _E | None:
        value = self.value(key)
        if value is _MISSING:
            return None
        options = [member.value for member in enum]
        if isinstance(value, str) and value in options:
            return enum(value)
        self.problem(
            key,
            f"{self.full(key)} must be one of {', '.join(options)}, got {_show(value)}" + _did_you_mean(value, options),
        )
        return None

    def positive_int(self, key: str, high: int) -> int | None:
        value = self.value(key)
        if value is _MISSING:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            self.problem(key, f"{self.full(key)} must be a positive whole number, got {_show(value)}")
            return None
        if bounded_int(value, 1, high) is None:
            self.problem(key, f"{self.full(key)} must be a whole number from 1 to {high}, got {value}")
            return None
        return value

    def date(self, key: str) -> date | None:
        value = self.value(key)
        if value is _MISSING:
            return None
        full = self.full(key)
        if isinstance(value, datetime):
            got = _show(value)
            self.problem(key, f"{full} must be a date without a time, like 2026-11-01, got {got}")
            return None
        if isinstance(value, date):
            return value
        hint = ""
        if isinstance(value, str):
            try:
                date.fromisoformat(value)
                hint = " (write dates without quotes)"
            except ValueError:
                pass
        self.problem(key, f"{full} must be a date like 2026-11-01, got {_show(value)}{hint}")
        return None

    def table(self, key: str, keys: Sequence[str]) -> _Entry | None:
        value = self.value(key)
        if value is _MISSING:
            return None
        if not isinstance(value, dict):
            example = ", ".join(f"{k} = 2026-11-01" for k in keys)
            got = _show(value)
            self.problem(key, f"{self.full(key)} must be a table like {{ {example} }}, got {got}")
            return None
        inner = self.child(key, value)
        inner.check_keys(keys)
        return inner

    def child(self, key: str, data: dict[str, Any]) -> _Entry:
        return _Entry(self.reader, self.section, self.index, self.label, data, f"{self.full(key)}.")
