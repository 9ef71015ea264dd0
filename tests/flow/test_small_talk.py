"""What a resident meets around the registration: a person to turn to, news they asked for, the
menu's hints, short re-prompts. Flow tests through the engine, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from conversations.runner import Conversations
from messages.render import Templates
from tests.flow.helpers import OFFICE_CONTACT, Resident, Words


@pytest.fixture
def words(templates: Templates) -> Words:
    return Words(templates)


@pytest.fixture
def siti(conversations: Conversations) -> Resident:
    return Resident(conversations, "siti")


def shows_office_contact(text: str) -> bool:
    contact = OFFICE_CONTACT
    return all(part in text for part in (contact.phone, contact.whatsapp, contact.hours))


# -- a human to turn to ----------------------------------------------------------------------------


async def test_help_gives_the_offices_phone_whatsapp_address_and_hours(siti: Resident) -> None:
    await siti.type("/bantuan")
    assert shows_office_contact(siti.text) and OFFICE_CONTACT.address in siti.text
    await siti.type("/daftar")
    await siti.type("/bantuan")  # within a flow too
    assert shows_office_contact(siti.text)
    assert siti.step == "consent"


async def test_a_turned_away_resident_is_told_how_to_reach_the_office(siti: Resident) -> None:
    await siti.type("/daftar")
    await siti.consent()
    await siti.pick("BOGA1", "BOGA")
    await siti.choose("q_ktp_region", "n")
    assert "belum memenuhi syarat" in siti.text
    assert shows_office_contact(siti.text) and OFFICE_CONTACT.address in siti.text


async def test_free_text_outside_a_flow_says_how_to_reach_a_person_beside_the_menu(
    siti: Resident, words: Words
) -> None:
    await siti.type("Pak, pelatihan menjahit kapan dibuka lagi?")
    assert [m.text for m in siti.messages] == [words("common/not_understood", **words.office)]
    assert OFFICE_CONTACT.whatsapp in siti.text and OFFICE_CONTACT.phone in siti.text
    assert siti.buttons == ["📝 Daftar pelatihan", "📋 Status pendaftaran", "❓ Bantuan"]
