"""Characters that look like answers but are not: superscripts, circled digits, endless digits, NULs.

`str.isdigit()` says yes to "²" and "①" and `int()` then refuses them; PostgreSQL refuses a NUL in
text and JSON. Each must get the step's friendly re-prompt, and a deep link carrying a NUL must
start the conversation as usual.
"""

from __future__ import annotations

import pytest

from conversations.runner import Conversations
from storage.db import Database
from tests.flow.helpers import Resident, Words, conversation_of

ODD = ["²", "①", "5" * 5000, "ab\x00cd", "\x00"]


@pytest.mark.parametrize("typed", ODD, ids=["superscript", "circled", "5000-digits", "nul-inside", "nul"])
async def test_odd_characters_at_a_yes_no_a_menu_and_the_nik_step_get_the_reprompt(
    conversations: Conversations, db: Database, words: Words, typed: str
) -> None:
    resident = Resident(conversations, "odd")
    await resident.type("/daftar")
    assert resident.step == "cluster"
    clusters = len(resident.options)
    await resident.type(typed)
    assert resident.messages[0].text == words("common/choose_option", count=clusters)
    assert resident.step == "cluster"

    await resident.choose("cluster", "BOGA")
    await resident.choose("programme", "BOGA1")
    await resident.choose("card", "apply")
    assert resident.step == "consent"
    await resident.type(typed)
    assert resident.messages[0].text == words("common/choose_option", count=2)
    assert resident.step == "consent"
    await resident.consent()
    await resident.answer_questions()
    await resident.choose("education", "sma")
    await resident.type("Siti Nur Aini")
    await resident.type(typed)
    nik_error = "registration/nik_empty" if typed == "\x00" else "registration/nik_not_digits"
    assert [m.text for m in resident.messages] == [words(nik_error)]

    row = await conversation_of(db, "odd")
    assert row is not None and row.step == "nik"
    assert "\x00" not in str(row.data)


async def test_a_deep_link_with_a_nul_starts_normally_and_the_next_turn_works(
    conversations: Conversations, db: Database
) -> None:
    plain = Resident(conversations, "plain")
    await plain.start()
    resident = Resident(conversations, "linked")

    await resident.start("LAS1\x00x")

    assert resident.text == plain.text
    row = await conversation_of(db, "linked")
    assert row is not None and row.data.get("source") == "LAS1x"
    assert resident.step == "cluster"
