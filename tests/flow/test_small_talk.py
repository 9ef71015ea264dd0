"""What a resident meets around the registration: a person to turn to, news they asked for, the
menu's hints, short re-prompts. Flow tests through the engine, on SQLite and PostgreSQL."""

from __future__ import annotations

from conversations.io import Inbound
from conversations.runner import Conversations
from outreach.segments import Segment
from storage.db import Database
from tests.flow.helpers import OFFICE_CONTACT, Resident, Words


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
    assert siti.step == "cluster"


async def test_a_turned_away_resident_is_told_how_to_reach_the_office(siti: Resident) -> None:
    await siti.type("/daftar")
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
    assert siti.buttons == ["📚 Lihat pelatihan", "📝 Daftar pelatihan", "📋 Status pendaftaran", "❓ Bantuan"]


# -- who hears the news ----------------------------------------------------------------------------


async def reached_by_a_broadcast_to_all(db: Database) -> int:
    async with db.transaction() as session:
        return await Segment().count(session)


async def test_the_welcome_offers_one_tap_for_announcements_and_a_broadcast_to_all_then_reaches_them(
    conversations: Conversations, db: Database, words: Words
) -> None:
    siti = Resident(conversations, "7001", channel="telegram")
    await siti.start()
    welcome, _ = siti.messages
    assert "pelatihan baru dan lowongan kerja" in welcome.text
    assert [o.label for o in welcome.options] == ["🔔 Kirimi saya pengumuman"]
    await siti.choose("cluster", "BOGA")
    await siti.choose("programme", "BOGA1")
    await siti.apply(consent=False)
    assert (
        "menekan <b>Mulai</b> (/start) saja tidak membuat Anda menerima pengumuman" in siti.last.text
    )  # the privacy notice says so
    assert await reached_by_a_broadcast_to_all(db) == 0  # /start alone puts nobody on a list

    reply = await siti.send(Inbound(choice=welcome.options[0].data))

    assert [m.text for m in reply.messages] == [words("common/subscribed")]  # the question is not sent again
    assert reply.chosen == "🔔 Kirimi saya pengumuman"
    assert await reached_by_a_broadcast_to_all(db) == 1  # a broadcast to "all" now reaches her
    await siti.type("/start")  # still only looking (no consent yet): /start begins again, with no button
    assert siti.messages[0].text == words("common/welcome", subscribed=True) and not siti.messages[0].options


# -- small things ----------------------------------------------------------------------------------


async def test_phone_numbers_are_shown_as_people_write_them_in_the_summary_and_in_my_data(siti: Resident) -> None:
    await siti.walk_to_summary()
    assert "Nomor HP: 0812-3456-7890" in siti.last.text and "+62" not in siti.last.text
    await siti.submit()
    await siti.type("/dataku")
    assert "Nomor HP: 0812-3456-7890" in siti.text and "+62" not in siti.text


async def test_the_erasure_answer_says_in_plain_words_what_happened_to_the_application(siti: Resident) -> None:
    await siti.walk_to_summary()
    await siti.submit()
    await siti.type("/hapusdata")
    await siti.press("Ya, hapus")
    assert "dianonimkan" not in siti.text
    assert "tetap tercatat dalam hitungan kantor, tetapi tanpa nama, NIK, alamat, dan nomor HP" in siti.text
