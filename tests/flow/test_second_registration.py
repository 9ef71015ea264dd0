"""A second registration from the same chat: the answers of the earlier application are offered
again ("Pakai data ini"), checked for the new programme, and only the programme's own questions asked."""

from __future__ import annotations

from dataclasses import replace

from conversations.runner import Conversations
from storage.db import Database
from storage.models import Stage
from storage.repositories import applications
from tests.conftest import NOW
from tests.flow.helpers import SITI, Person, Resident, all_applications

OLDER = replace(SITI, full_name="Bambang Wijaya", nik="3375011203850001", district="other")
"""Born 12 March 1985: 42 when Barista Muda (18 to 35) starts in May 2027."""


async def registered_before(resident: Resident, db: Database, person: Person = SITI) -> None:
    """One application sent for BOGA1 and closed by the office (not selected)."""
    await resident.walk_to_summary("BOGA1", "BOGA", person)
    await resident.submit()
    async with db.transaction() as session:
        mine = await applications.by_number(session, (await all_applications(db))[-1].number)
        assert mine is not None
        await applications.set_stage(session, [mine], Stage.NOT_SELECTED, NOW)


async def test_second_registration_offers_the_earlier_answers_and_asks_only_the_programme_questions(
    conversations: Conversations, db: Database
) -> None:
    siti = Resident(conversations, "siti")
    await registered_before(siti, db)

    await siti.type("/daftar")
    await siti.choose("cluster", "BARISTA")
    await siti.choose("programme", "BRST1")
    await siti.apply()
    assert siti.step == "reuse"
    assert "Pakai data sebelumnya?" in siti.text
    for shown in ("Siti Nur Aini", SITI.nik, "Jl. Merdeka 5 RT 01", "Pekalongan Barat", "0812-3456-7890", "SMA"):
        assert shown in siti.text
    assert siti.buttons[:2] == ["✅ Pakai data ini", "✏️ Isi baru"]

    await siti.press("Pakai data ini")
    assert siti.step is not None and siti.step.startswith("q_")
    await siti.answer_questions()
    assert siti.step == "summary", siti.text
    assert "Siti Nur Aini" in siti.text and "0812-3456-7890" in siti.text
    await siti.submit()

    first, second = await all_applications(db)
    assert second.programme.code == "BRST1"
    for column in ("full_name", "nik", "birth_date", "address", "district_code", "phone", "education"):
        assert getattr(second, column) == getattr(first, column), column


async def test_fill_new_asks_every_question_again(conversations: Conversations, db: Database) -> None:
    siti = Resident(conversations, "siti")
    await registered_before(siti, db)
    await siti.type("/daftar")
    await siti.pick("BRST1", "BARISTA")  # "Isi baru"
    await siti.answer_questions()
    assert siti.step == "education"
    await siti.give_details(replace(SITI, address="Jl. Hayam Wuruk 9"))
    assert siti.step == "summary" and "Jl. Hayam Wuruk 9" in siti.text


async def test_back_to_the_offer_and_fill_new_forgets_the_earlier_answers(
    conversations: Conversations, db: Database
) -> None:
    siti = Resident(conversations, "siti")
    await registered_before(siti, db)
    await siti.type("/daftar")
    await siti.pick("BRST1", "BARISTA", reuse=True)
    await siti.type("kembali")
    assert siti.step == "reuse"
    await siti.press("Isi baru")
    await siti.answer_questions()
    assert siti.step == "education"


async def test_reused_nik_is_checked_against_the_new_programme_age(conversations: Conversations, db: Database) -> None:
    bambang = Resident(conversations, "bambang")
    await registered_before(bambang, db, OLDER)
    await bambang.type("/daftar")
    await bambang.pick("BRST1", "BARISTA", reuse=True)
    assert "umur maksimal 35 tahun" in bambang.text
    assert len(await all_applications(db)) == 1


async def test_another_chat_and_an_erased_person_are_offered_nothing(
    conversations: Conversations, db: Database
) -> None:
    siti = Resident(conversations, "siti")
    await registered_before(siti, db)

    budi = Resident(conversations, "budi")
    await budi.type("/daftar")
    await budi.choose("cluster", "BARISTA")
    await budi.choose("programme", "BRST1")
    await budi.apply()
    assert budi.step != "reuse" and "Siti" not in budi.text

    await siti.type("/hapusdata")
    await siti.press("Hapus")
    await siti.type("/daftar")
    await siti.choose("cluster", "BARISTA")
    await siti.choose("programme", "BRST1")
    await siti.apply()
    assert siti.step != "reuse" and SITI.nik not in siti.text
