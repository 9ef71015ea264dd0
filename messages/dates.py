"""Date and time wording for the bot's messages, in Indonesian and English.

The names are written out here rather than taken from the machine's locale: servers and
containers rarely have ``id_ID`` installed, and a message must not change language because
of where the bot happens to run.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

DEFAULT_LANG = "id"

_DAYS: dict[str, tuple[str, ...]] = {
    "id": ("Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_MONTHS: dict[str, tuple[str, ...]] = {
    "id": (
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}
# Short forms follow CLDR ("Agu", "Okt", "Des" in Indonesian).
_MONTHS_SHORT: dict[str, tuple[str, ...]] = {
    "id": ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}
# Indonesian writes times as 14.00; English as 14:00.
_TIME_SEP = {"id": ".", "en": ":"}
_AT = {"id": "pukul", "en": "at"}

# The three Indonesian time zones. Asia/Pontianak (West Kalimantan) is WIB too, and
# Asia/Ujung_Pandang is the old alias of Asia/Makassar.
_TZ_ABBREV = {
    "Asia/Jakarta": "WIB",
    "Asia/Pontianak": "WIB",
    "Asia/Makassar": "WITA",
    "Asia/Ujung_Pandang": "WITA",
    "Asia/Jayapura": "WIT",
}


def normalize_lang(lang: str | None) -> str:
    """Map any language code ("en", "en-US", None, "fr") to one we have names for.

    Unknown languages get Indonesian, the bot's default, rather than an error: a date is
    never worth failing a message over.
    """
    if not lang:
        return DEFAULT_LANG
    base = lang.replace("_", "-").split("-", 1)[0].lower()
    return base if base in _DAYS else DEFAULT_LANG


def format_date(d: date, lang: str = DEFAULT_LANG) -> str:
    """ "Senin, 27 Oktober 2025" / "Monday, 27 October 2025"."""
    lg = normalize_lang(lang)
    return f"{_DAYS[lg][d.weekday()]}, {d.day} {_MONTHS[lg][d.month - 1]} {d.year}"


def format_date_short(d: date, lang: str = DEFAULT_LANG) -> str:
    """ "27 Okt 2025" / "27 Oct 2025": for lists where the weekday is noise."""
    lg = normalize_lang(lang)
    return f"{d.day} {_MONTHS_SHORT[lg][d.month - 1]} {d.year}"


def _offset_label(offset: timedelta | None) -> str:
    """ "UTC+7", "UTC+5:30", "UTC-3", "UTC" for a UTC offset."""
    if not offset:
        return "UTC"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{mins:02d}" if mins else "")


def tz_abbrev(tz_name: str, at: datetime | None = None) -> str:
    """The abbreviation a resident expects: WIB/WITA/WIT, else "UTC+N".

    ``at`` picks the moment for zones whose offset changes (daylight saving); it defaults
    to now, and a naive ``at`` is read as wall-clock time in that zone. Raises
    ``zoneinfo.ZoneInfoNotFoundError`` for an unknown zone name: a configuration bug.
    """
    if tz_name in _TZ_ABBREV:
        return _TZ_ABBREV[tz_name]
    zone = ZoneInfo(tz_name)
    if at is None:
        moment = datetime.now(zone)
    elif at.tzinfo is None:  # a wall-clock time in that zone
        moment = at.replace(tzinfo=zone)
    else:
        moment = at.astimezone(zone)
    return _offset_label(zone.utcoffset(moment))


def _abbrev_for(value: datetime | time, tz: tzinfo) -> str:
    """Abbreviation for an aware value: by zone key when it has one, else by offset."""
    key = getattr(tz, "key", None)
    if isinstance(key, str) and key in _TZ_ABBREV:
        return _TZ_ABBREV[key]
    if isinstance(value, datetime):
        return _offset_label(value.utcoffset())
    return _offset_label(tz.utcoffset(None))


def format_time(t: datetime | time, tz_abbrev: str | None = None, lang: str = DEFAULT_LANG) -> str:
    """ "14.00 WIB" / "14:00 WIB".

    ``tz_abbrev=None`` derives the abbreviation from an aware ``t`` (nothing for a naive
    one); pass ``""`` to leave it out on purpose.
    """
    lg = normalize_lang(lang)
    text = f"{t.hour:02d}{_TIME_SEP[lg]}{t.minute:02d}"
    if tz_abbrev is None:
        tz = t.tzinfo
        tz_abbrev = _abbrev_for(t, tz) if tz is not None else ""
    return f"{text} {tz_abbrev}" if tz_abbrev else text


def format_datetime(dt: datetime, lang: str = DEFAULT_LANG) -> str:
    """ "Senin, 27 Oktober 2025 pukul 14.00 WIB" / "Monday, 27 October 2025 at 14:00 WIB".

    ``dt`` must already be in the resident's local zone (no conversion here) and aware,
    because a time without its zone is ambiguous across Indonesia's three zones.
    """
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"format_datetime needs an aware datetime, got naive {dt!r}")
    lg = normalize_lang(lang)
    clock = format_time(dt, _abbrev_for(dt, dt.tzinfo), lg)
    return f"{format_date(dt, lg)} {_AT[lg]} {clock}"


def format_stamp(dt: datetime, zone: ZoneInfo) -> str:
    """ "2027-01-20 08:00 WIB": a moment as staff read it in a terminal, in the office's zone."""
    local = dt.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} {tz_abbrev(zone.key, local)}"
