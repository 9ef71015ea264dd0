"""/lowongan through the engine: anyone browses open vacancies by field, and a registration in
progress is asked again afterwards, unbroken."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from conversations.io import Inbound
from messages.render import Templates
from outreach.vacancies import NewVacancy, close_vacancy, post_vacancy
from storage.db import Database
from storage.models import Vacancy
from storage.repositories import vacancies as vacancy_repo
from tests.conftest import NOW, OFFICE
from tests.flow.helpers import Resident, Words, all_applications, contact_of, conversation_of

TODAY = date(2026, 11, 25)


async def post(db: Database, templates: Templates, position: str, clusters: list[str], **fields: object) -> Vacancy:
    values: dict[str, object] = {
        "employer": "PT Maju Jaya",
        "position": position,
        "location": "Kabupaten Batang",
        "deadline": date(2027, 1, 31),
        "how_to_apply": "Kirim lamaran ke hrd@majujaya.co.id",
        "clusters": tuple(clusters),
    }
    values.update(fields)
    async with db.transaction() as session:
        vacancy, _ = await post_vacancy(session, templates, NewVacancy(**values), now=NOW, actor=OFFICE)  # type: ignore[arg-type]
        return vacancy


@pytest.fixture
async def jobs(db: Database, templates: Templates) -> dict[str, Vacancy]:
    """Three open vacancies (welding; welding or motorcycles, abroad; any field), one closed, one expired."""
    welder = await post(db, templates, "Juru las SMAW", ["LAS"], deadline=date(2026, 12, 20))
    abroad = await post(
        db,
        templates,
        "Welder & mekanik",
        ["LAS", "MOTOR"],
        employer="Osaka <Kogyo> KK",
        location="Osaka, Jepang",
        abroad=True,
        description="Kontrak 3 tahun, lewat P3MI resmi.",
    )
    anyone = await post(db, templates, "Staf gudang", [], employer="CV Sumber Rejeki", deadline=date(2027, 3, 1))
    closed = await post(db, templates, "Tukang las pipa", ["LAS"])
    async with db.transaction() as session:
        await close_vacancy(session, closed.id, NOW, OFFICE)
        expired = await vacancy_repo.add(
            session,
            Vacancy(
                employer="PT Lama",
                position="Montir",
                location="Pekalongan",
                clusters=["MOTOR"],
                deadline=TODAY - timedelta(days=1),
                how_to_apply="-",
            ),
        )
    return {"welder": welder, "abroad": abroad, "anyone": anyone, "closed": closed, "expired": expired}


async def test_nothing_open_offers_news_to_someone_not_subscribed(siti: Resident, db: Database, words: Words) -> None:
    await siti.type("/lowongan")
    assert siti.text == words("vacancies/none_open", subscribed=False)
    assert siti.buttons == ["🔔 Kabari saya lowongan baru"]

    await siti.press("🔔 Kabari saya lowongan baru")
    assert siti.text == words("common/subscribed")
    assert (await contact_of(db, "siti")).subscribed is True

    await siti.type("/lowongan")
    assert siti.text == words("vacancies/none_open", subscribed=True)
    assert siti.buttons == []


async def test_browse_fields_then_a_fields_vacancies_then_one_in_full(
    siti: Resident, jobs: dict[str, Vacancy], words: Words
) -> None:
    await siti.type("/lowongan")
    assert siti.text == words("vacancies/choose_cluster", total=3)
    # A vacancy for any field counts in every field; closed and expired ones are not shown.
    assert siti.buttons == ["Teknik Las (3)", "Otomotif Sepeda Motor (2)", "🌐 Semua bidang (3)"]

    await siti.press("Teknik Las (3)")
    assert siti.reply.chosen == "Teknik Las"
    assert siti.text.startswith("💼 <b>Teknik Las</b> – lowongan yang masih dibuka:")
    assert "<b>2. Welder &amp; mekanik</b> – Osaka &lt;Kogyo&gt; KK\n📍 Osaka, Jepang · 🌏 Luar negeri" in siti.text
    assert "⏳ Batas melamar: 20 Des 2026" in siti.text
    assert "Tukang las pipa" not in siti.text
    assert siti.buttons == [
        "1. Juru las SMAW – PT Maju Jaya",
        "2. Welder & mekanik – Osaka <Kogyo> KK",
        "3. Staf gudang – CV Sumber Rejeki",
        "⬅️ Bidang lain",
    ]

    await siti.press("2. Welder & mekanik")
    assert siti.reply.chosen == "Welder & mekanik – Osaka <Kogyo> KK"
    assert "🏢 Osaka &lt;Kogyo&gt; KK" in siti.text
    assert "🛠 Bidang: Teknik Las, Otomotif Sepeda Motor" in siti.text
    assert "Kontrak 3 tahun, lewat P3MI resmi." in siti.text
    assert "<b>Cara melamar:</b>\nKirim lamaran ke hrd@majujaya.co.id" in siti.text
    assert siti.buttons == ["⬅️ Kembali ke daftar"]

    await siti.press("⬅️ Kembali ke daftar")
    assert siti.text.startswith("💼 <b>Teknik Las</b>")
    await siti.press("⬅️ Bidang lain")
    assert siti.text == words("vacancies/choose_cluster", total=3)

    await siti.press("🌐 Semua bidang (3)")
    assert siti.text.startswith("💼 <b>Semua lowongan</b> yang masih dibuka:")
    assert len(siti.buttons) == 4


async def test_a_field_can_be_named_with_the_command(siti: Resident, jobs: dict[str, Vacancy]) -> None:
    await siti.type("/lowongan motor")
    assert siti.text.startswith("💼 <b>Otomotif Sepeda Motor</b>")
    assert siti.buttons == [
        "1. Welder & mekanik – Osaka <Kogyo> KK",
        "2. Staf gudang – CV Sumber Rejeki",
        "⬅️ Bidang lain",
    ]
    await siti.type("/lowongan JAHIT")  # nothing for sewing in particular: the vacancy for any field
    assert siti.buttons == ["1. Staf gudang – CV Sumber Rejeki", "⬅️ Bidang lain"]
    await siti.type("/lowongan TAMBANG")  # no such field: the fields
    assert siti.buttons[-1] == "🌐 Semua bidang (3)"


async def test_a_field_whose_last_vacancy_closed_says_so_and_offers_news(
    siti: Resident, db: Database, templates: Templates, words: Words
) -> None:
    welder = await post(db, templates, "Juru las SMAW", ["LAS"])
    await siti.type("/lowongan")
    assert siti.buttons == ["Teknik Las (1)", "🌐 Semua bidang (1)"]
    async with db.transaction() as session:
        await close_vacancy(session, welder.id, NOW, OFFICE)

    await siti.press("Teknik Las (1)")
    assert [m.text for m in siti.messages] == [
        "Lowongan bidang <b>Teknik Las</b> sudah tidak ada yang dibuka.",
        words("vacancies/none_open", subscribed=False),
    ]
    assert siti.buttons == ["🔔 Kabari saya lowongan baru"]


async def test_a_vacancy_closed_since_the_list_was_shown_is_said_to_be_gone(
    siti: Resident, db: Database, jobs: dict[str, Vacancy], words: Words
) -> None:
    await siti.type("/lowongan")
    await siti.press("Teknik Las (3)")
    async with db.transaction() as session:
        await close_vacancy(session, jobs["welder"].id, NOW, OFFICE)

    await siti.press("1. Juru las SMAW")
    assert siti.messages[0].text == words("vacancies/gone")
    assert siti.buttons == ["Teknik Las (2)", "Otomotif Sepeda Motor (2)", "🌐 Semua bidang (2)"]

    await siti.send(Inbound(choice="@job|999999|LAS"))  # an old or forged button
    assert siti.messages[0].text == words("vacancies/gone")


async def test_english_alias_answers_in_english(siti: Resident, jobs: dict[str, Vacancy], templates: Templates) -> None:
    await siti.type("/bahasa")
    await siti.press("🇬🇧 English")
    await siti.type("/jobs")
    assert siti.text == Words(templates, "en")("vacancies/choose_cluster", total=3)
    assert siti.buttons == ["Welding (3)", "Motorcycle repair (2)", "🌐 All fields (3)"]
    await siti.press("Welding (3)")
    assert "📍 Osaka, Jepang · 🌏 Abroad" in siti.text


async def test_browsing_keeps_nothing_personal_and_starts_no_flow(
    siti: Resident, db: Database, jobs: dict[str, Vacancy]
) -> None:
    await siti.type("/lowongan")
    await siti.press("Teknik Las (3)")
    await siti.press("1. Juru las SMAW")

    conversation = await conversation_of(db, "siti")
    assert conversation is not None and conversation.flow is None and conversation.data in ({}, {"answers": {}})
    contact = await contact_of(db, "siti")
    assert contact.consented_at is None and contact.subscribed is False


async def test_lowongan_mid_registration_then_the_same_question_and_registration_completes(
    siti: Resident, db: Database, jobs: dict[str, Vacancy], words: Words
) -> None:
    await siti.type("/daftar")
    await siti.pick("BOGA1", "BOGA")
    await siti.answer_questions()
    assert siti.step == "education"
    question = siti.last.text

    await siti.type("/lowongan")
    assert [m.text for m in siti.messages] == [words("vacancies/choose_cluster", total=3), question]
    fields = [o.data for o in siti.messages[0].options]
    assert "@jobs|LAS" in fields and siti.step == "education"

    # The buttons of the vacancy messages still work while registration is running.
    await siti.send(Inbound(choice="@jobs|LAS"))
    assert siti.messages[0].text.startswith("💼 <b>Teknik Las</b>") and siti.messages[-1].text == question
    item = siti.messages[0].options[0].data
    await siti.send(Inbound(choice=item))
    assert "<b>Cara melamar:</b>" in siti.messages[0].text and siti.messages[-1].text == question
    assert siti.step == "education"

    await siti.give_details()
    assert siti.step == "summary"
    await siti.submit()
    assert "Pendaftaran terkirim" in siti.text
    [application] = await all_applications(db)
    assert application.programme.code == "BOGA1" and application.full_name == "Siti Nur Aini"
