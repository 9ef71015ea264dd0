import logging
from dataclasses import FrozenInstanceError
from datetime import date

import pytest

from training.errors import InvalidAnswer
from training.nik import PROVINCES, Nik, Sex, parse_nik

TODAY = date(2026, 3, 15)
MALE = "3375011203950001"
FEMALE = "3375015203950002"


def nik_key(text: str, today: date = TODAY) -> InvalidAnswer:
    with pytest.raises(InvalidAnswer) as caught:
        parse_nik(text, today=today)
    return caught.value


def with_birth(ddmmyy: str, province: str = "33", serial: str = "0001") -> str:
    return f"{province}7501{ddmmyy}{serial}"


# --- a real NIK -----------------------------------------------------------------------------


def test_nik_male_gives_parts_birth_date_and_sex() -> None:
    nik = parse_nik(MALE, today=TODAY)
    assert nik.value == MALE
    assert nik.province == "33"
    assert nik.region == "33.75"
    assert nik.district == "33.75.01"
    assert nik.birth_date == date(1995, 3, 12)
    assert nik.sex is Sex.MALE
    assert nik.serial == "0001"


def test_nik_female_day_plus_40_gives_birth_date() -> None:
    nik = parse_nik(FEMALE, today=TODAY)
    assert nik.birth_date == date(1995, 3, 12)
    assert nik.sex is Sex.FEMALE
    assert nik.serial == "0002"


def test_sex_values_are_single_letters() -> None:
    assert [s.value for s in Sex] == ["M", "F"]


@pytest.mark.parametrize(
    "typed",
    [
        "3375011203950001",
        "  3375011203950001\n",
        "3375 0112 0395 0001",
        "33.75.01.120395.0001",
        "3375-01-120395-0001",
        "33 75 01 - 12 03 95 - 0001",
        "3375–01–120395–0001",  # en dashes from a word processor
        "3375\u00a0011203950001",  # no-break space
        "\u200b3375011203950001\u200f",  # zero-width space and a right-to-left mark
        "\u202e3375011203950001",  # right-to-left override
        "３３７５０１１２０３９５０００１",  # full-width digits
        "٣٣٧٥٠١١٢٠٣٩٥٠٠٠١",  # Arabic-Indic digits
    ],
)
def test_nik_typed_with_separators_or_other_digits_is_read(typed: str) -> None:
    assert parse_nik(typed, today=TODAY).value == MALE


# --- empty and non-digit input --------------------------------------------------------------


@pytest.mark.parametrize("typed", ["", " ", "\n\t", "\u200b", " - . - "])
def test_nik_empty_or_only_separators_is_empty(typed: str) -> None:
    assert nik_key(typed).key == "registration/nik_empty"


@pytest.mark.parametrize(
    "typed",
    [
        "33750112O3950001",  # letter O for zero
        "3375011203950001a",
        "NIK 3375011203950001",
        "3375/0112/0395/0001",
        "+3375011203950001",
        "3375011203950001 😀",
        "<b>3375011203950001</b>",
        "<script>alert(1)</script>",
        "3375\x0011203950001",
        "²375011203950001",  # a superscript is a digit, not a decimal one
    ],
)
def test_nik_with_letters_or_symbols_is_not_digits(typed: str) -> None:
    error = nik_key(typed)
    assert error.key == "registration/nik_not_digits"
    assert error.params == {}


@pytest.mark.parametrize("typed", ["x" * 10_000, "3" * 10_000, "3375011203950001 " * 600])
def test_nik_very_long_input_is_refused_without_echo(typed: str) -> None:
    error = nik_key(typed)
    assert error.key == "registration/nik_not_digits"
    assert error.params == {}
    assert typed[:50] not in str(error)


# --- length ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "length"),
    [
        ("3", 1),
        ("337501120395000", 15),
        ("33750112039500011", 17),
        ("3375 0112 0395 000", 15),
        ("3375-0112-0395-00011", 17),
        ("1" * 900, 900),
    ],
)
def test_nik_wrong_length_reports_the_digit_count(typed: str, length: int) -> None:
    error = nik_key(typed)
    assert error.key == "registration/nik_length"
    assert error.params == {"length": length}


# --- province -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "province", ["00", "10", "20", "22", "30", "37", "50", "54", "66", "80", "83", "90", "98", "99"]
)
def test_nik_unknown_province_is_refused(province: str) -> None:
    assert nik_key(with_birth("120395", province)).key == "registration/nik_province"


@pytest.mark.parametrize(
    "province",
    [
        "11",
        "19",
        "21",
        "31",
        "36",
        "51",
        "53",
        "61",
        "64",
        "65",
        "71",
        "76",
        "81",
        "82",
        "91",
        "92",
        "93",
        "94",
        "95",
        "96",
        "97",
    ],
)
def test_nik_real_province_is_accepted(province: str) -> None:
    assert parse_nik(with_birth("120395", province), today=TODAY).province == province


def test_province_list_has_38_provinces_plus_one_alternative_papua_code() -> None:
    assert len(PROVINCES) == 39


def test_nik_region_outside_the_city_is_still_valid() -> None:
    assert parse_nik("6474011203950001", today=TODAY).region == "64.74"


# --- birth date -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ddmmyy", "expected"),
    [
        ("290296", date(1996, 2, 29)),  # leap year
        ("690296", date(1996, 2, 29)),  # leap year, woman
        ("290200", date(2000, 2, 29)),  # 2000 is a leap year
        ("010101", date(2001, 1, 1)),
        ("311299", date(1999, 12, 31)),
        ("710190", date(1990, 1, 31)),  # the highest woman's day
        ("410190", date(1990, 1, 1)),  # the lowest woman's day
        ("300490", date(1990, 4, 30)),
    ],
)
def test_nik_real_calendar_date_is_accepted(ddmmyy: str, expected: date) -> None:
    assert parse_nik(with_birth(ddmmyy), today=TODAY).birth_date == expected


@pytest.mark.parametrize(
    "ddmmyy",
    [
        "290295",  # 29 February on a non-leap year
        "690295",  # same, woman
        "000395",  # day 00
        "320395",  # day 32
        "400395",  # day 40: neither a man's nor a woman's day
        "720395",  # day 72 (woman's 32)
        "990395",
        "120095",  # month 00
        "121395",  # month 13
        "310495",  # 31 April
        "710495",  # 31 April, woman
        "300295",  # 30 February
    ],
)
def test_nik_impossible_birth_date_is_refused(ddmmyy: str) -> None:
    assert nik_key(with_birth(ddmmyy)).key == "registration/nik_birth_date"


@pytest.mark.parametrize(
    ("ddmmyy", "today", "expected"),
    [
        ("120305", date(2026, 3, 15), date(2005, 3, 12)),
        ("120330", date(2026, 3, 15), date(1930, 3, 12)),
        ("120300", date(2026, 3, 15), date(2000, 3, 12)),
        ("120399", date(2026, 3, 15), date(1999, 3, 12)),
        ("150326", date(2026, 3, 15), date(2026, 3, 15)),  # born today
        ("160326", date(2026, 3, 15), date(1926, 3, 16)),  # tomorrow in 2026 means 1926
        ("010126", date(2026, 1, 1), date(2026, 1, 1)),
        ("311225", date(2026, 1, 1), date(2025, 12, 31)),
        ("020126", date(2026, 1, 1), date(1926, 1, 2)),
        ("560326", date(2026, 3, 15), date(1926, 3, 16)),  # woman, same boundary
        ("010100", date(2099, 12, 31), date(2000, 1, 1)),
        ("010100", date(2100, 1, 1), date(2100, 1, 1)),
    ],
)
def test_nik_century_is_the_latest_not_after_today(ddmmyy: str, today: date, expected: date) -> None:
    assert parse_nik(with_birth(ddmmyy), today=today).birth_date == expected


def test_nik_29_february_00_before_its_date_in_2000_would_be_1900_and_is_refused() -> None:
    assert nik_key(with_birth("290200"), today=date(2000, 1, 15)).key == ("registration/nik_birth_date")


@pytest.mark.parametrize("ddmmyy", ["160326", "150327", "010127", "311226"])
def test_nik_century_never_gives_a_future_date_or_age_of_100(ddmmyy: str) -> None:
    born = parse_nik(with_birth(ddmmyy), today=TODAY).birth_date
    assert born <= TODAY
    assert born > date(TODAY.year - 100, TODAY.month, TODAY.day)


# --- serial ---------------------------------------------------------------------------------


def test_nik_serial_0000_is_refused() -> None:
    assert nik_key(with_birth("120395", serial="0000")).key == "registration/nik_serial"


@pytest.mark.parametrize("serial", ["0001", "0010", "9999"])
def test_nik_serial_from_0001_is_accepted(serial: str) -> None:
    assert parse_nik(with_birth("120395", serial=serial), today=TODAY).serial == serial


def test_nik_checks_province_before_birth_date_before_serial() -> None:
    assert nik_key("0075010003950000").key == "registration/nik_province"
    assert nik_key("3375010003950000").key == "registration/nik_birth_date"


# --- keeping the NIK out of logs ------------------------------------------------------------


@pytest.mark.parametrize("value", [MALE, FEMALE, "6474014107850123"])
def test_nik_masked_keeps_region_and_last_two_digits_only(value: str) -> None:
    nik = parse_nik(value, today=TODAY)
    assert nik.masked == value[:4] + "*" * 10 + value[14:]
    assert len(nik.masked) == 16


@pytest.mark.parametrize("value", [MALE, FEMALE])
def test_nik_masked_str_repr_and_format_never_show_birth_date_or_district(value: str) -> None:
    nik = parse_nik(value, today=TODAY)
    for shown in (
        nik.masked,
        str(nik),
        repr(nik),
        f"{nik}",
        repr([nik]),
        repr({"nik": nik}),
    ):
        assert value[6:12] not in shown
        assert value not in shown
        assert "**********" in shown
    assert str(nik) == repr(nik) == nik.masked


def test_nik_logged_with_percent_s_shows_only_the_masked_form(
    caplog: pytest.LogCaptureFixture,
) -> None:
    nik = parse_nik(MALE, today=TODAY)
    with caplog.at_level(logging.INFO):
        logging.getLogger("blkbot.test").info("registered %s / %r", nik, nik)
    assert caplog.messages == ["registered 3375**********01 / 3375**********01"]
    assert MALE not in caplog.text


def test_nik_is_frozen_and_compares_by_value() -> None:
    nik = parse_nik(MALE, today=TODAY)
    assert nik == parse_nik("3375 0112 0395 0001", today=TODAY)
    assert hash(nik) == hash(parse_nik(MALE, today=TODAY))
    with pytest.raises(FrozenInstanceError):
        nik.value = FEMALE  # type: ignore[misc]


@pytest.mark.parametrize("value", ["337501120395000", "337501120395000x", "３３７５０１１２０３９５０００１"])
def test_nik_built_directly_needs_16_ascii_digits(value: str) -> None:
    with pytest.raises(ValueError):
        Nik(value, date(1995, 3, 12))


@pytest.mark.parametrize(
    ("value", "birth_date"),
    [(MALE, date(1995, 3, 13)), (MALE, date(1985, 3, 12)), (FEMALE, date(1995, 4, 12))],
)
def test_nik_built_directly_with_another_birth_date_is_refused(value: str, birth_date: date) -> None:
    with pytest.raises(ValueError) as caught:
        Nik(value, birth_date)
    assert value not in str(caught.value)


def test_nik_built_directly_keeps_a_stored_century() -> None:
    assert Nik(MALE, date(1895, 3, 12)).birth_date.year == 1895


def test_redact_niks_masks_every_sixteen_digit_run_and_leaves_phone_numbers() -> None:
    from training.nik import redact_niks

    text = "nik=3375015203950002, phone +6281234567890, two: 3375011203950001/3375015203950002"
    assert redact_niks(text) == "nik=3375**********02, phone +6281234567890, two: 3375**********01/3375**********02"


TYPED_FORMS = [
    "3375015203950002",
    "3375 0152 0395 0002",
    "3375  0152   0395 0002",
    "3375.0152.0395.0002",
    "3375-0152-0395-0002",
    "3375–0152—0395‐0002",  # en dash, em dash, hyphen
    "3375\u00a00152\u00a00395\u00a00002",  # no-break spaces
    "3375\u200b0152\u200d0395\u00ad0002",  # zero-width space, joiner, soft hyphen
    "３３７５０１５２０３９５０００２",  # full-width
    "٣٣٧٥٠١٥٢٠٣٩٥٠٠٠٢",  # Arabic-Indic
    "33 75 01 52 03 95 00 02",
    "3375.0152 0395-0002",
]


@pytest.mark.parametrize("typed", TYPED_FORMS)
def test_redact_niks_masks_every_form_the_parser_reads(typed: str) -> None:
    from training.nik import redact_niks

    assert parse_nik(typed, today=TODAY).value == FEMALE  # the parser reads it: so must the mask
    assert redact_niks(f"resident typed '{typed}' at step nik") == "resident typed '3375**********02' at step nik"


def test_redact_niks_leaves_shorter_numbers_and_splits_at_other_punctuation() -> None:
    from training.nik import redact_niks

    text = "chat 7001, phone 0812 3456 7890, at 2026-11-30 04:09:39, ids 3375015203950002,3375 0112 0395 0001"
    assert redact_niks(text) == (
        "chat 7001, phone 0812 3456 7890, at 2026-11-30 04:09:39, ids 3375**********02,3375**********01"
    )
