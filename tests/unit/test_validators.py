import contextlib
import time
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from training.errors import InvalidAnswer
from training.validators import (
    MAX_INPUT,
    ascii_digits,
    normalise_shared_phone,
    parse_address,
    parse_date_dmy,
    parse_full_name,
    parse_phone,
    parse_yes_no,
    strip_invisible,
)

HUGE = "a" * 10_000


def refused(parse: Callable[[str], Any], text: str) -> InvalidAnswer:
    with pytest.raises(InvalidAnswer) as caught:
        parse(text)
    return caught.value


# --- helpers --------------------------------------------------------------------------------


def test_strip_invisible_removes_zero_width_and_bidi_characters() -> None:
    assert strip_invisible("\ufeffSi\u200bti\u200c \u200dNur\u200e\u200f\u202e\u2066\u2060") == ("Siti Nur")


@pytest.mark.parametrize(
    ("typed", "expected"),
    [("０８１２", "0812"), ("٠٨١٢", "0812"), ("۰۸۱۲", "0812"), ("a1²", "a1²")],
)
def test_ascii_digits_reads_any_decimal_digit(typed: str, expected: str) -> None:
    assert ascii_digits(typed) == expected


# --- full name ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Siti Nur'aini", "Siti Nur'aini"),
        ("siti nur'aini", "Siti Nur'aini"),
        ("SITI NUR'AINI", "Siti Nur'aini"),
        ("siti nur’aini", "Siti Nur'aini"),  # typographic apostrophe from a phone keyboard
        ("  Siti \t  Nur'aini \n", "Siti Nur'aini"),
        ("Si\u200bti Nur\u200d'aini", "Siti Nur'aini"),
        ("\u202eSiti Nur'aini\u202c", "Siti Nur'aini"),
        ("\u200fAhmad\u200e", "Ahmad"),
        ("abdul-rahman", "Abdul-Rahman"),
        ("m. yusuf, s.kom", "M. Yusuf, S.Kom"),
        ("McDonald", "McDonald"),  # mixed case is the person's own choice
        ("de la Cruz", "de la Cruz"),
        ("SITI nur", "SITI nur"),
        ("'abdullah", "'Abdullah"),
        ("josé", "José"),
        ("jose\u0301 ramos", "José Ramos"),  # combining accent, composed
        ("Ｓｉｔｉ", "Siti"),  # full-width letters
        ("Ni Luh Putu Ayu", "Ni Luh Putu Ayu"),
        ("محمد", "محمد"),
        ("Bo", "Bo"),
        ("A" * 100, "A" + "a" * 99),
    ],
)
def test_name_is_normalised_keeping_own_capitalisation(typed: str, expected: str) -> None:
    assert parse_full_name(typed) == expected


@pytest.mark.parametrize("typed", ["", " ", "\n\t", "\u200b\u200f", "\u00a0"])
def test_name_empty_or_invisible_is_empty(typed: str) -> None:
    assert refused(parse_full_name, typed).key == "registration/name_empty"


@pytest.mark.parametrize(
    "typed",
    [
        "Siti 2",
        "Siti Nur'aini 😀",
        "😀😀",
        "<b>bold</b>",
        "<script>alert(1)</script>",
        "Siti & Budi",
        "siti@example.com",
        "Siti\x00Nur",
        "Siti\x07",
        "Siti\x1b[31m",
        "Siti\x85Nur",
        "Siti_Nur",
        "Siti ١",  # an Arabic-Indic digit is still a digit
        "Siti ²",
        "...",
        "- -",
        "Siti/Nur",
    ],
)
def test_name_with_digits_emoji_html_or_controls_is_invalid(typed: str) -> None:
    assert refused(parse_full_name, typed).key == "registration/name_invalid"


@pytest.mark.parametrize("typed", ["A", " b ", "é"])
def test_name_of_one_letter_is_too_short(typed: str) -> None:
    error = refused(parse_full_name, typed)
    assert (error.key, error.params) == ("registration/name_too_short", {"min": 2})


@pytest.mark.parametrize("typed", ["A" * 101, "Siti " * 25, HUGE, "<b>" * 400])
def test_name_over_100_characters_is_too_long(typed: str) -> None:
    error = refused(parse_full_name, typed)
    assert (error.key, error.params) == ("registration/name_too_long", {"max": 100})


def test_name_length_counts_after_collapsing_spaces() -> None:
    assert parse_full_name("Ab" + " " * 300 + "Cd" * 48) == "Ab " + "Cd" * 48


# --- phone ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "081234567890",
        "0812-3456-7890",
        "0812 3456 7890",
        "0812.3456.7890",
        "(0812) 3456 7890",
        "+62 812 3456 7890",
        "+62-812-3456-7890",
        "+62 0812 3456 7890",
        "6281234567890",
        "62 812 3456 7890",
        "81234567890",
        "0062 812 3456 7890",
        "  081234567890\n",
        "\u200e+62 812\u200b3456 7890",
        "０８１２３４５６７８９０",
        "＋６２８１２３４５６７８９０",
        "٠٨١٢٣٤٥٦٧٨٩٠",
    ],
)
def test_phone_typed_any_usual_way_becomes_e164(typed: str) -> None:
    assert parse_phone(typed) == "+6281234567890"


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("0811234567", "+62811234567"),
        ("085712345678", "+6285712345678"),
        ("0896 1234 5678", "+6289612345678"),
    ],
)
def test_phone_other_mobile_prefixes_and_lengths_are_accepted(typed: str, expected: str) -> None:
    assert parse_phone(typed) == expected


@pytest.mark.parametrize("typed", ["", " ", "\u200b", "\t\n"])
def test_phone_empty_is_empty(typed: str) -> None:
    assert refused(parse_phone, typed).key == "registration/phone_empty"


@pytest.mark.parametrize(
    "typed",
    [
        "0812",
        "08123456789012345",
        "0812-3456-789O",  # letter O
        "nomor saya 081234567890",
        "081234567890 😀",
        "<b>081234567890</b>",
        "<script>alert(1)</script>",
        "0812+34567890",
        "++6281234567890",
        "---",
        "+",
        "081234567890\x00",
        "1234567",
        "0000000000",
        HUGE,
        "0" * 10_000,
        "081234567890" + " " * 2000,
    ],
)
def test_phone_that_is_no_number_is_invalid(typed: str) -> None:
    assert refused(parse_phone, typed).key == "registration/phone_invalid"


@pytest.mark.parametrize(
    "typed",
    [
        "021 1234567",  # Jakarta landline
        "(0285) 421234",  # Pekalongan landline
        "+62 21 1234567",
        "+65 9123 4567",  # Singapore mobile
        "+60 12 345 6789",  # Malaysian mobile
    ],
)
def test_phone_landline_or_foreign_is_not_an_indonesian_mobile(typed: str) -> None:
    assert refused(parse_phone, typed).key == "registration/phone_not_mobile"


@pytest.mark.parametrize("shared", ["6281234567890", "+6281234567890", " 6281234567890 ", "081234567890"])
def test_shared_contact_phone_becomes_e164(shared: str) -> None:
    assert normalise_shared_phone(shared) == "+6281234567890"


def test_shared_contact_phone_foreign_without_plus_is_not_an_indonesian_mobile() -> None:
    assert refused(normalise_shared_phone, "6591234567").key == "registration/phone_not_mobile"


@pytest.mark.parametrize(
    ("shared", "key"),
    [
        ("", "registration/phone_empty"),
        ("62812", "registration/phone_invalid"),
        ("abc", "registration/phone_invalid"),
        (HUGE, "registration/phone_invalid"),
        ("62211234567", "registration/phone_not_mobile"),
    ],
)
def test_shared_contact_phone_follows_the_same_rules(shared: str, key: str) -> None:
    assert refused(normalise_shared_phone, shared).key == key


# --- address --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Jl. Merdeka No. 5, RT 02/RW 03", "Jl. Merdeka No. 5, RT 02/RW 03"),
        ("  Jl. Merdeka   5\nRT 02\r\nRW 03  ", "Jl. Merdeka 5 RT 02 RW 03"),
        ("Jl.\u200b Merdeka\u202e 5", "Jl. Merdeka 5"),
        ("Jl. Merdeka\x005\x07", "Jl. Merdeka 5"),
        ("<b>Jl. Merdeka</b> 5", "<b>Jl. Merdeka</b> 5"),  # escaped at display, not here
        ("Gg. Mawar 😀 3", "Gg. Mawar 😀 3"),
        ("Jl. Ｍerdeka ５", "Jl. Merdeka 5"),
        ("abcde", "abcde"),
        ("a" * 200, "a" * 200),
    ],
)
def test_address_is_kept_as_typed_on_one_line_without_controls(typed: str, expected: str) -> None:
    assert parse_address(typed) == expected


@pytest.mark.parametrize("typed", ["", " ", "abcd", " a  b ", "\u200b\u200babcd", "\x00\x01\x02ab"])
def test_address_under_5_characters_is_too_short(typed: str) -> None:
    error = refused(parse_address, typed)
    assert (error.key, error.params) == ("registration/address_too_short", {"min": 5})


@pytest.mark.parametrize("typed", ["a" * 201, "Jl. Merdeka " * 20, HUGE])
def test_address_over_200_characters_is_too_long(typed: str) -> None:
    error = refused(parse_address, typed)
    assert (error.key, error.params) == ("registration/address_too_long", {"max": 200})


# --- yes / no -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "ya",
        "Ya",
        "YA",
        "iya",
        "y",
        "Y",
        "yes",
        "Yes!",
        "betul",
        "benar",
        "ok",
        "OK.",
        "oke",
        "setuju",
        " ya ",
        "ya!!!",
        "iya.",
        "Setuju?",
        "\u200bya",
        "ｙａ",
    ],
)
def test_yes_words_in_indonesian_and_english_are_yes(typed: str) -> None:
    assert parse_yes_no(typed) is True


@pytest.mark.parametrize(
    "typed",
    [
        "tidak",
        "Tidak.",
        "TIDAK",
        "tdk",
        "gak",
        "nggak",
        "enggak",
        "no",
        "No!",
        "n",
        "bukan",
        "tidak setuju",
        "Tidak   setuju!",
        " gak ",
        "ga",
    ],
)
def test_no_words_in_indonesian_and_english_are_no(typed: str) -> None:
    assert parse_yes_no(typed) is False


@pytest.mark.parametrize(
    "typed",
    [
        "",
        " ",
        "mungkin",
        "yaa tidak",
        "ya tidak",
        "okey dokey",
        "👍",
        "<b>ya</b>",
        "tidak ya",
        "y e s",
        "!!!",
        "ya" * 600,
        HUGE,
    ],
)
def test_unrecognised_yes_no_answer_is_none(typed: str) -> None:
    assert parse_yes_no(typed) is None


# --- dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "27-10-2025",
        "27/10/2025",
        "27.10.2025",
        "27 10 2025",
        "27 Oktober 2025",
        "27 oktober 2025",
        "27 OKTOBER 2025",
        "27 Okt 2025",
        "27 Okt. 2025",
        "27-Okt-2025",
        "27 October 2025",
        "27 Oct 2025",
        "  27  Oktober   2025 ",
        "Senin, 27 Oktober 2025",
        "monday 27 october 2025",
        "２７－１０－２０２５",
        "٢٧-١٠-٢٠٢٥",
    ],
)
def test_date_written_the_indonesian_way_is_read(typed: str) -> None:
    assert parse_date_dmy(typed) == date(2025, 10, 27)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1-2-2025", date(2025, 2, 1)),
        ("29 Februari 2024", date(2024, 2, 29)),
        ("5 Mei 2025", date(2025, 5, 5)),
        ("5 May 2025", date(2025, 5, 5)),
        ("17 Agustus 1945", date(1945, 8, 17)),
        ("17 Agt 1945", date(1945, 8, 17)),
        ("17 Aug 1945", date(1945, 8, 17)),
        ("1 Des 2025", date(2025, 12, 1)),
        ("1 Dec 2025", date(2025, 12, 1)),
        ("3 Mar 2025", date(2025, 3, 3)),
        ("9 Sept 2025", date(2025, 9, 9)),
        ("9 Nop 2025", date(2025, 11, 9)),
        ("9 Peb 2025", date(2025, 2, 9)),
    ],
)
def test_date_month_names_and_abbreviations_are_read(typed: str, expected: date) -> None:
    assert parse_date_dmy(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "",
        " ",
        "besok",
        "29 Februari 2025",  # not a leap year
        "31-04-2025",
        "32-10-2025",
        "00-10-2025",
        "27-13-2025",
        "27-00-2025",
        "27 Oktobr 2025",
        "27-10-25",  # two-digit years are ambiguous
        "2025-10-27",
        "27102025",
        "27 Oktober",
        "<b>27-10-2025</b>",
        "27-10-2025 😀",
        "Kamisan, 27 Oktober 2025",
        "27-10-2025\x00",
        "٢٧-١٠-٢٠٢٥x",
        HUGE,
        "27-10-2025" * 200,
    ],
)
def test_date_that_is_no_real_day_month_year_is_invalid(typed: str) -> None:
    assert refused(parse_date_dmy, typed).key == "common/date_invalid"


# --- the input-size guard -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parse", "key"),
    [
        (parse_full_name, "registration/name_too_long"),
        (parse_phone, "registration/phone_invalid"),
        (normalise_shared_phone, "registration/phone_invalid"),
        (parse_address, "registration/address_too_long"),
        (parse_date_dmy, "common/date_invalid"),
    ],
)
def test_input_over_max_is_refused_with_the_fields_key(parse: Callable[[str], Any], key: str) -> None:
    assert refused(parse, "1" * (MAX_INPUT + 1)).key == key


@pytest.mark.parametrize(
    "parse",
    [
        parse_full_name,
        parse_phone,
        normalise_shared_phone,
        parse_address,
        parse_date_dmy,
        parse_yes_no,
    ],
)
def test_ten_thousand_characters_are_refused_cheaply(parse: Callable[[str], Any]) -> None:
    texts = ["😀" * 10_000, "<script>" * 1250, "1 " * 5000, "\u200b" * 10_000]
    started = time.perf_counter()
    for _ in range(100):
        for text in texts:
            with contextlib.suppress(InvalidAnswer):
                assert parse(text) is None
    assert time.perf_counter() - started < 0.5


def test_invalid_answer_message_never_echoes_the_input() -> None:
    secret = "Jl. Rahasia 12 " * 70
    error = refused(parse_address, secret)
    assert "Rahasia" not in str(error)
    assert "Rahasia" not in repr(error.params)
