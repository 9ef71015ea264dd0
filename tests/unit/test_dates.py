"""Dates and times as residents read them, independent of the machine's locale."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest

from messages.dates import (
    format_date,
    format_date_short,
    format_datetime,
    format_time,
    normalize_lang,
    tz_abbrev,
)

# 27 Oct 2025 is a Monday, so 27..2 Nov walks through the whole week.
WEEK = [date(2025, 10, 27) + timedelta(days=i) for i in range(7)]
DAYS_ID = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"]
DAYS_EN = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS_ID = [
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
]
MONTHS_EN = [
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
]
SHORT_ID = ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"]
SHORT_EN = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

JAKARTA = ZoneInfo("Asia/Jakarta")


def test_example_from_the_spec() -> None:
    d = date(2025, 10, 27)
    assert format_date(d, "id") == "Senin, 27 Oktober 2025"
    assert format_date(d, "en") == "Monday, 27 October 2025"
    assert format_date_short(d, "id") == "27 Okt 2025"
    assert format_date_short(d, "en") == "27 Oct 2025"


@pytest.mark.parametrize(("d", "id_name", "en_name"), list(zip(WEEK, DAYS_ID, DAYS_EN, strict=True)))
def test_every_weekday(d: date, id_name: str, en_name: str) -> None:
    assert format_date(d, "id").startswith(f"{id_name}, ")
    assert format_date(d, "en").startswith(f"{en_name}, ")


@pytest.mark.parametrize("month", range(1, 13))
def test_every_month(month: int) -> None:
    d = date(2026, month, 5)
    assert format_date(d, "id").endswith(f", 5 {MONTHS_ID[month - 1]} 2026")
    assert format_date(d, "en").endswith(f", 5 {MONTHS_EN[month - 1]} 2026")
    assert format_date_short(d, "id") == f"5 {SHORT_ID[month - 1]} 2026"
    assert format_date_short(d, "en") == f"5 {SHORT_EN[month - 1]} 2026"


def test_leap_day() -> None:
    d = date(2028, 2, 29)
    assert format_date(d, "id") == "Selasa, 29 Februari 2028"
    assert format_date(d, "en") == "Tuesday, 29 February 2028"
    assert format_date_short(d, "id") == "29 Feb 2028"


def test_day_has_no_leading_zero() -> None:
    assert format_date(date(2025, 8, 1), "id") == "Jumat, 1 Agustus 2025"


def test_default_and_unknown_languages_are_indonesian() -> None:
    d = date(2025, 10, 27)
    assert format_date(d) == "Senin, 27 Oktober 2025"
    assert format_date(d, "fr") == "Senin, 27 Oktober 2025"
    assert format_date(d, "en-US") == "Monday, 27 October 2025"
    assert normalize_lang(None) == "id"
    assert normalize_lang("EN_gb") == "en"


def test_a_datetime_formats_as_its_date() -> None:
    assert format_date(datetime(2025, 10, 27, 23, 59), "id") == "Senin, 27 Oktober 2025"


def test_format_time() -> None:
    assert format_time(time(14, 0), "WIB", "id") == "14.00 WIB"
    assert format_time(time(14, 0), "WIB", "en") == "14:00 WIB"
    assert format_time(time(8, 5), "WITA") == "08.05 WITA"
    assert format_time(time(8, 5), "", "en") == "08:05"
    assert format_time(time(8, 5)) == "08.05"  # naive, no abbreviation to derive
    assert format_time(datetime(2025, 10, 27, 14, 30, tzinfo=JAKARTA)) == "14.30 WIB"
    assert format_time(datetime(2025, 10, 27, 14, 30), "WIT", "en") == "14:30 WIT"


@pytest.mark.parametrize(
    ("zone", "abbrev"),
    [
        ("Asia/Jakarta", "WIB"),
        ("Asia/Pontianak", "WIB"),
        ("Asia/Makassar", "WITA"),
        ("Asia/Jayapura", "WIT"),
        ("Asia/Tokyo", "UTC+9"),
        ("Asia/Kolkata", "UTC+5:30"),
        ("UTC", "UTC"),
    ],
)
def test_tz_abbrev(zone: str, abbrev: str) -> None:
    assert tz_abbrev(zone) == abbrev


def test_tz_abbrev_offset_follows_daylight_saving() -> None:
    winter = datetime(2025, 1, 15, 12, tzinfo=UTC)
    summer = datetime(2025, 7, 15, 12, tzinfo=UTC)
    assert tz_abbrev("Europe/Amsterdam", winter) == "UTC+1"
    assert tz_abbrev("Europe/Amsterdam", summer) == "UTC+2"
    assert tz_abbrev("America/Sao_Paulo", winter) == "UTC-3"


def test_tz_abbrev_unknown_zone_is_an_error() -> None:
    with pytest.raises(ZoneInfoNotFoundError):
        tz_abbrev("Mars/Olympus_Mons")


def test_format_datetime() -> None:
    dt = datetime(2025, 10, 27, 14, 0, tzinfo=JAKARTA)
    assert format_datetime(dt, "id") == "Senin, 27 Oktober 2025 pukul 14.00 WIB"
    assert format_datetime(dt, "en") == "Monday, 27 October 2025 at 14:00 WIB"


@pytest.mark.parametrize(
    ("zone", "abbrev"),
    [("Asia/Makassar", "WITA"), ("Asia/Jayapura", "WIT"), ("Asia/Pontianak", "WIB")],
)
def test_format_datetime_other_indonesian_zones(zone: str, abbrev: str) -> None:
    dt = datetime(2025, 12, 31, 9, 30, tzinfo=ZoneInfo(zone))
    assert format_datetime(dt, "id") == f"Rabu, 31 Desember 2025 pukul 09.30 {abbrev}"


def test_format_datetime_does_not_convert() -> None:
    """The caller localizes; a UTC datetime is shown as UTC, not moved to WIB."""
    dt = datetime(2025, 10, 27, 7, 0, tzinfo=ZoneInfo("UTC"))
    assert format_datetime(dt, "en") == "Monday, 27 October 2025 at 07:00 UTC"


def test_format_datetime_fixed_offset() -> None:
    dt = datetime(2025, 10, 27, 14, 0, tzinfo=timezone(timedelta(hours=7)))
    assert format_datetime(dt, "id") == "Senin, 27 Oktober 2025 pukul 14.00 UTC+7"


def test_format_datetime_rejects_naive() -> None:
    with pytest.raises(ValueError, match="aware"):
        format_datetime(datetime(2025, 10, 27, 14, 0), "id")


def test_tz_abbrev_naive_moment_is_wall_time_in_that_zone() -> None:
    assert tz_abbrev("Europe/Amsterdam", datetime(2025, 7, 1, 12)) == "UTC+2"
