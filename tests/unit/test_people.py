"""Which numbers a platform hands over count as a person's own number (training.people.own_number)."""

from __future__ import annotations

import pytest

from training.people import own_number


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("6281234567890", "+6281234567890"),  # WhatsApp's wa_id, Telegram's shared contact
        ("+6281234567890", "+6281234567890"),
        ("+62 812-3456-7890", "+6281234567890"),
        ("081234567890", None),  # a local number is no platform's: no country code
        ("12345", None),
        ("62812345678901234", None),  # over E.164's 15 digits
        ("62812³4567890", None),
        ("", None),
    ],
)
def test_own_number_is_the_international_digits_or_nothing(given: str, expected: str | None) -> None:
    assert own_number(given) == expected
