"""Whatever a resident types, every reader gives a value or a friendly InvalidAnswer, never a crash.

Arbitrary Unicode (any category but lone surrogates, control characters included), very long
lines, and digit-like characters that `str.isdigit()` accepts and `int()` refuses ("²", "①"),
through every validator, the NIK parser, every kind of step and the console's line reader.
"""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from conversations.context import Context, Services
from conversations.io import Inbound, Option
from conversations.steps import Choice, Phone, Step, Summary, Text, YesNo
from handlers.console import Console
from messages.render import Templates
from storage.models import Contact
from training.errors import InvalidAnswer
from training.nik import parse_nik
from training.validators import (
    normalise_shared_phone,
    parse_address,
    parse_date_dmy,
    parse_full_name,
    parse_phone,
    parse_yes_no,
    whole_number,
)

TODAY = date(2026, 11, 25)
DIGIT_LIKE = "²³¹①⑳٣۳०๓０𝟙5"
"""Superscripts, circled numbers, Arabic-Indic, Devanagari, Thai, full-width, mathematical and ASCII digits."""

typed = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"]), max_size=80),
    st.text(st.sampled_from(DIGIT_LIKE + " .-\x00\n"), max_size=40),
    st.builds(lambda ch, n: ch * n, st.sampled_from([*DIGIT_LIKE, "\x00", "a"]), st.integers(1_000, 6_000)),
    st.sampled_from(["²", "①", "٣", "5" * 5000, "ya\x00", "\x00", "1\x85", "\u2028"]),
)
bounded = settings(max_examples=200, deadline=None)

PARSERS: dict[str, Callable[[str], Any]] = {
    "parse_full_name": parse_full_name,
    "parse_phone": parse_phone,
    "normalise_shared_phone": normalise_shared_phone,
    "parse_address": parse_address,
    "parse_date_dmy": parse_date_dmy,
    "parse_nik": lambda text: parse_nik(text, today=TODAY),
}


def value_or_reprompt(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except InvalidAnswer as refused:
        assert refused.key
        return None


@bounded
@given(text=typed)
def test_every_validator_gives_a_value_or_a_reprompt(text: str) -> None:
    for parse in PARSERS.values():
        value_or_reprompt(lambda parse=parse: parse(text))  # type: ignore[misc]
    assert parse_yes_no(text) in (True, False, None)


@bounded
@given(text=typed)
def test_whole_number_reads_decimal_digits_only(text: str) -> None:
    number = whole_number(text)
    if number is not None:
        digits = text.strip()
        assert all(unicodedata.decimal(ch, None) is not None for ch in digits)
        assert number == int("".join(str(unicodedata.decimal(ch)) for ch in digits))


@bounded
@given(text=typed)
def test_inbound_keeps_no_control_character_but_line_breaks_and_tabs(text: str) -> None:
    inbound = Inbound.parse_text(text)
    for field in (inbound.text, inbound.command, inbound.argument):
        kept = {ch for ch in field or "" if unicodedata.category(ch) == "Cc"}
        assert kept <= ({"\n", "\t"} if field is inbound.text else set())


TEMPLATES = Templates()


def context() -> Context:
    """What a step's `read` uses: the words and the date; no database (reading stores nothing)."""
    services = Services(templates=TEMPLATES, clock=lambda: datetime(2026, 11, 25, 3, tzinfo=UTC))
    return Context(session=None, contact=Contact(language="id"), services=services, data={})  # type: ignore[arg-type]


OPTIONS = [("BOGA", "Tata Boga"), ("RIAS", "Tata Rias"), ("LAS", "Teknik Las")]


async def _options(ctx: Context) -> list[tuple[str, str]]:
    return OPTIONS


async def _summary_params(ctx: Context) -> dict[str, Any]:
    return {}


STEPS: list[Step] = [
    Choice("cluster", "registration/ask_cluster", _options),
    YesNo("consent", "registration/consent"),
    Text("full_name", "registration/ask_name", lambda ctx, text: parse_full_name(text)),
    Text("nik", "registration/ask_nik", lambda ctx, text: parse_nik(text, today=ctx.today()).value),
    Text("address", "registration/ask_address", lambda ctx, text: parse_address(text)),
    Phone("phone", "registration/ask_phone", parse_phone, normalise_shared_phone),
    Summary("summary", "registration/summary", ("full_name", "nik"), params=_summary_params),
]


@bounded
@given(text=typed)
def test_every_kind_of_step_reads_typed_text_as_a_value_or_a_reprompt(text: str) -> None:
    ctx = context()
    for step in STEPS:
        for inbound in (Inbound.parse_text(text), Inbound(text=text), Inbound(contact_phone=text)):
            value_or_reprompt(lambda step=step, inbound=inbound: asyncio.run(step.read(ctx, inbound)))  # type: ignore[misc]


@bounded
@given(text=typed)
def test_console_reads_any_line_as_a_press_or_an_inbound(text: str) -> None:
    console = Console(conversations=None)  # type: ignore[arg-type]
    console.options = (Option("consent|y", "✅ Setuju"), Option("consent|n", "Tidak setuju"))
    inbound = console.read(text + "\n")
    assert inbound.choice in (None, "consent|y", "consent|n")
