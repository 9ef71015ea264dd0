"""Anyone may look at the programmes and what they ask before giving any personal data: the card
shows a programme's requirements, and consent is asked only after "Daftar"."""

from __future__ import annotations

from sqlalchemy import update

from storage.db import Database
from storage.models import Conversation
from tests.flow.helpers import (
    CHANNEL,
    Resident,
    Words,
    all_applications,
    contact_of,
    conversation_of,
    screenings,
)
from tests.flow.test_second_registration import registered_before

BACK = "⬅️ Kembali"


async def test_browsing_with_pelatihan_and_a_card_stores_nothing_personal(siti: Resident, db: Database) -> None:
    await siti.type("/menu")
    await siti.press("📚 Lihat pelatihan")
    assert siti.step == "cluster"
    await siti.choose("cluster", "BARISTA")
    await siti.choose("programme", "BRST1")
    assert siti.step == "card" and "<b>Barista Muda</b>" in siti.last.text
    assert siti.buttons == ["✅ Daftar", BACK]
    await siti.press(BACK)  # "Kembali" on the card: the programmes again
    assert siti.step == "programme"

    contact = await contact_of(db, "siti")
    assert contact.consented_at is None and contact.subscribed is False
    assert await all_applications(db) == [] and await screenings(db) == []
    row = await conversation_of(db, "siti")
    assert row is not None and set(row.data["answers"]) <= {"cluster", "programme", "card"}


async def test_the_card_lists_the_requirements_in_plain_words(siti: Resident) -> None:
    await siti.type("/pelatihan")
    await siti.choose("cluster", "BARISTA")
    await siti.choose("programme", "BRST1")
    card = siti.last.text
    for line in (
        "Kuota 16 orang",
        "• Punya KTP Kota Pekalongan",
        "• Umur 18–35 tahun saat pelatihan mulai",
        "• Sehat dan bisa ikut pelatihan setiap hari sampai selesai",
        "• Sedang tidak bekerja dan tidak kuliah",
        "• Belum pernah ikut pelatihan dari dinas ini",
    ):
        assert line in card, line

    await siti.press(BACK)
    await siti.press(BACK)
    await siti.choose("cluster", "DIGITAL")
    await siti.choose("programme", "DIGI1")
    assert "• Pendidikan terakhir paling rendah SMA / SMK / sederajat" in siti.last.text
    assert "• Umur paling sedikit 18 tahun saat pelatihan mulai" in siti.last.text


async def test_the_card_names_a_catalog_declaration_and_the_documents(siti: Resident) -> None:
    await siti.type("/pelatihan")
    await siti.choose("cluster", "LAS")
    await siti.choose("programme", "LAS-PMI")
    assert "• Pelatihan ini khusus untuk calon pekerja migran Indonesia (PMI)." in siti.last.text
    await siti.press(BACK)
    await siti.press(BACK)
    await siti.choose("cluster", "JAHIT")
    await siti.choose("programme", "JAHIT1")
    assert "Berkas yang diminta:" in siti.last.text and "Kartu keluarga (KK)" in siti.last.text


async def test_consent_comes_after_daftar_and_before_the_first_personal_question(
    siti: Resident, db: Database, words: Words
) -> None:
    await siti.start()
    await siti.choose("cluster", "BOGA")
    await siti.choose("programme", "BOGA1")
    assert "consent" not in [o.data.partition("|")[0] for o in siti.options]
    await siti.press("✅ Daftar")
    assert siti.step == "consent" and "Apakah Anda setuju?" in siti.last.text
    assert (await contact_of(db, "siti")).consented_at is None
    await siti.press(BACK)  # back from the privacy question: the card again
    assert siti.step == "card"
    await siti.apply()
    assert siti.last.text == words("eligibility/ktp_region_question", regions=["Kota Pekalongan"])
    assert (await contact_of(db, "siti")).consented_at is not None


async def test_declined_consent_leaves_browsing_usable(siti: Resident, db: Database) -> None:
    await siti.type("/pelatihan")
    await siti.choose("cluster", "BOGA")
    await siti.choose("programme", "BOGA1")
    await siti.apply(consent=False)
    await siti.press("Tidak setuju")
    assert (await contact_of(db, "siti")).consented_at is None
    await siti.press("📚 Lihat pelatihan")
    await siti.choose("cluster", "BARISTA")
    await siti.choose("programme", "BRST1")
    assert siti.step == "card" and "Umur 18–35 tahun" in siti.last.text
    assert await all_applications(db) == []


async def test_a_resident_who_consented_is_not_asked_again(siti: Resident, db: Database) -> None:
    await registered_before(siti, db)  # one application, closed by the office
    await siti.type("/pelatihan")
    await siti.choose("cluster", "BARISTA")
    await siti.choose("programme", "BRST1")
    await siti.apply(consent=False)
    assert siti.step == "reuse"  # no privacy question: straight to the earlier answers


async def test_a_deep_link_opens_the_programme_card_then_consent(siti: Resident) -> None:
    await siti.start("BRST1__poster")
    assert siti.step == "card" and "<b>Barista Muda</b>" in siti.last.text
    await siti.press("✅ Daftar")
    assert siti.step == "consent"


async def test_a_conversation_saved_in_the_old_order_goes_on_without_the_card(
    siti: Resident, db: Database, words: Words
) -> None:
    """Before the card, consent came first: such a conversation, stored at its first question,
    answers on after a deploy and is not shown the card."""
    old = Resident(siti.conversations, "lama")
    await old.type("/daftar")
    await old.pick("BOGA1", "BOGA")
    assert old.step == "q_ktp_region"
    async with db.transaction() as session:
        await session.execute(
            update(Conversation)
            .where(Conversation.channel == CHANNEL, Conversation.chat_id == "lama")
            .values(
                data={
                    "answers": {"consent": True, "cluster": "BOGA", "programme": "BOGA1"},
                    "history": ["consent", "cluster", "programme"],
                }
            )
        )
    await old.choose("q_ktp_region", "y")
    assert old.last.text == words("eligibility/healthy_question", disability_welcome=False)
    await old.answer_questions()
    await old.give_details()
    assert old.step == "summary"
    await old.submit()
    [application] = await all_applications(db)
    assert application.number == "BOGA1-2027-0001"


async def test_daftar_on_a_card_with_an_application_running_says_so_at_once(siti: Resident, db: Database) -> None:
    await siti.walk_to_summary()
    await siti.submit()
    await siti.type("/pelatihan")
    await siti.choose("cluster", "BARISTA")
    await siti.choose("programme", "BRST1")
    await siti.press("✅ Daftar")
    assert "BOGA1-2027-0001" in siti.text and "satu pendaftaran" in siti.text
    await siti.press("Pilih pelatihan lain")
    assert "Apakah Anda ingin menarik pendaftaran itu" in siti.text
    assert len(await all_applications(db)) == 1


async def test_browsing_then_pelatihan_or_daftar_begins_again_without_saying_a_registration_is_running(
    siti: Resident, words: Words
) -> None:
    await siti.start()  # the welcome, then the clusters: browsing, nothing personal yet
    await siti.choose("cluster", "BOGA")
    for command in ("/pelatihan", "/daftar", "/start"):
        await siti.type(command)
        assert words("common/already_in_flow") not in siti.text, command
        assert siti.step == "cluster", command

    await siti.pick("BOGA1", "BOGA")  # Daftar and consent: now a registration is under way
    await siti.type("/pelatihan")
    assert words("common/already_in_flow") in siti.text
    assert siti.step == "q_ktp_region"
