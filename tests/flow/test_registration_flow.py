"""Registration through the engine and the real database, as a resident meets it.

Each test drives `Conversations.handle` on the console channel (no Telegram) and checks both
what the resident is shown (text compared with the rendered templates, button labels) and what
the database holds afterwards. Every test runs on SQLite and on PostgreSQL (see conftest).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from conversations.io import Inbound
from conversations.runner import Conversations
from messages.render import Templates
from storage.db import Database
from storage.models import PastParticipant, Stage
from storage.repositories import applications as application_repo
from tests.conftest import JAKARTA, NOW, Clock
from tests.flow.helpers import (
    OFFICE,
    OFFICE_CONTACT,
    SITI,
    SITI_BIRTH,
    SITI_NIK,
    Resident,
    Words,
    all_applications,
    application_count,
    contact_of,
    conversation_of,
    last_number,
    male_nik,
    not_qualifying,
    programme_id,
    qualifying,
    registered_count,
    same_moment,
    screenings,
)

REGIONS = {"33.75": "Kota Pekalongan", "33.26": "Kabupaten Pekalongan", "33.25": "Kabupaten Batang"}
BACK = "⬅️ Kembali"


async def to_nik_step(
    resident: Resident, programme: str = "BOGA1", cluster: str = "BOGA", name: str = "Siti Nur Aini"
) -> None:
    await resident.type("/daftar")
    await resident.pick(programme, cluster)
    await resident.answer_questions()
    await resident.choose("education", "sma")
    await resident.type(name)
    assert resident.step == "nik"


async def answers_of(db: Database, chat_id: str) -> dict[str, Any]:
    row = await conversation_of(db, chat_id)
    assert row is not None
    return dict(row.data.get("answers", {}))


async def assert_state_cleared(db: Database, chat_id: str) -> None:
    row = await conversation_of(db, chat_id)
    assert row is not None
    assert (row.flow, row.step, row.data) == (None, None, {})


# -- the happy path ------------------------------------------------------------------------------


async def test_whole_registration_with_buttons_and_typed_answers_stores_numbered_application(
    siti: Resident, db: Database, words: Words
) -> None:
    await siti.start()
    assert siti.messages[0].text == words("common/welcome", subscribed=False)
    assert siti.last.text == words("registration/ask_cluster")
    assert "Tata Boga" in siti.buttons and "Desain Grafis" not in siti.buttons  # DSGN4's window closed

    await siti.type("tata boga")  # a typed label counts as the button
    assert siti.step == "programme"
    assert "<b>Tata Boga</b>" in siti.last.text
    assert "Olahan Kue dan Roti" in siti.last.text and "Kuota 20 orang · sudah mendaftar 0" in siti.last.text
    assert siti.buttons == ["Olahan Kue dan Roti", BACK]

    await siti.press("Olahan Kue dan Roti")
    assert siti.step == "card" and "Punya KTP Kota Pekalongan" in siti.last.text
    assert siti.buttons == ["✅ Daftar", BACK]
    await siti.press("✅ Daftar")
    assert siti.step == "consent"
    assert "Dinas Perindustrian dan Tenaga Kerja Kota Pekalongan" in siti.last.text
    assert siti.buttons == ["✅ Setuju", "Tidak setuju", BACK]
    reply = await siti.press("✅ Setuju")
    assert reply.chosen == "✅ Setuju"
    assert siti.last.text == words("eligibility/ktp_region_question", regions=["Kota Pekalongan"])
    await siti.type("ya")
    assert siti.last.text == words("eligibility/healthy_question", disability_welcome=False)
    await siti.press("Ya")
    assert siti.last.text == words("eligibility/not_working_question")
    await siti.type("ngga")  # asked positively: "not working" is a plain "no"
    assert siti.last.text == words("eligibility/never_trained_question")
    await siti.press("Tidak")
    assert siti.last.text == words("registration/ask_education")
    await siti.type("4")  # the fourth button: SMA / SMK
    assert siti.last.text == words("registration/ask_name")
    assert siti.buttons == [BACK]
    await siti.type("siti nur aini")  # typed in one case: stored title-cased
    assert siti.last.text == words("registration/ask_nik")
    await siti.type("3375 0152 0395 0002")
    assert siti.last.text == words("registration/confirm_birth", birth_date=SITI_BIRTH, sex="Perempuan")
    assert siti.buttons == ["✅ Benar", "❌ Salah", BACK]
    await siti.press("✅ Benar")
    assert siti.last.text == words("registration/ask_address")
    await siti.type("Jl. Merdeka 5 RT 01")
    assert siti.last.text == words("registration/ask_district")
    assert siti.buttons == [
        "Pekalongan Barat",
        "Pekalongan Timur",
        "Pekalongan Utara",
        "Pekalongan Selatan",
        "Di luar kota ini",
        BACK,
    ]
    await siti.press("Pekalongan Barat")
    assert siti.last.text == words("registration/ask_phone")
    assert siti.last.ask_contact == "📱 Kirim nomor HP saya"
    await siti.type("0812-3456-7890")

    assert siti.step == "summary"
    summary = siti.last.text
    for line in (
        "Pelatihan: <b>Olahan Kue dan Roti</b>",
        "Nama: Siti Nur Aini",
        "NIK: 3375015203950002",
        "Tanggal lahir: Minggu, 12 Maret 1995",
        "Jenis kelamin: Perempuan",
        "Alamat: Jl. Merdeka 5 RT 01",
        "Kecamatan: Pekalongan Barat",
        "Nomor HP: 0812-3456-7890",
        "Pendidikan: SMA / SMK / sederajat",
    ):
        assert line in summary
    assert siti.buttons == [
        "✅ Kirim pendaftaran",
        "✏️ Ubah nama",
        "✏️ Ubah NIK",
        "✏️ Ubah alamat",
        "✏️ Ubah kecamatan",
        "✏️ Ubah nomor HP",
        "✏️ Ubah pendidikan",
    ]

    reply = await siti.press("✅ Kirim pendaftaran")
    assert reply.chosen == "✅ Kirim pendaftaran"
    assert "🎉 <b>Pendaftaran terkirim!</b>" in siti.text
    assert "Nomor pendaftaran Anda: <b>BOGA1-2027-0001</b>" in siti.text
    assert siti.buttons == ["📋 Status pendaftaran"]

    [application] = await all_applications(db)
    contact = await contact_of(db, "siti")
    assert application.number == "BOGA1-2027-0001"
    assert application.programme_id == await programme_id(db, "BOGA1")
    assert application.contact_id == contact.id
    assert application.nik == SITI_NIK
    assert application.full_name == "Siti Nur Aini"
    assert application.birth_date == SITI_BIRTH
    assert application.sex == "F"
    assert application.address == "Jl. Merdeka 5 RT 01"
    assert application.district_code == "33.75.01"
    assert application.phone == "+6281234567890"
    assert application.education == "sma"
    assert application.answers == {
        "q_ktp_region": True,
        "q_healthy": True,
        "q_not_working": True,
        "q_never_trained": True,
    }
    assert application.flags == []
    assert application.source is None
    assert application.stage == Stage.REGISTERED
    assert application.anonymised_at is None
    assert contact.subscribed is True
    assert same_moment(contact.consented_at, NOW)
    assert await last_number(db, "BOGA1") == 1
    assert [(s.eligible, s.failed_rule) for s in await screenings(db)] == [(True, None)]
    await assert_state_cleared(db, "siti")


async def test_phone_shared_with_the_contact_button_is_stored_in_e164(siti: Resident, db: Database) -> None:
    await to_nik_step(siti)
    await siti.type(SITI_NIK)
    await siti.choose("confirm_birth", "y")
    await siti.type(SITI.address)
    await siti.choose("district", "other")
    await siti.share_contact("6281234567890")  # Telegram sends it without the "+"
    assert "Nomor HP: 0812-3456-7890" in siti.last.text
    assert "Kecamatan: Di luar kota ini" in siti.last.text
    await siti.submit()
    [application] = await all_applications(db)
    assert (application.phone, application.district_code) == ("+6281234567890", None)


async def test_declining_consent_stores_nothing_personal(siti: Resident, db: Database, words: Words) -> None:
    await siti.start()
    await siti.choose("cluster", "BOGA")
    await siti.choose("programme", "BOGA1")
    await siti.apply(consent=False)
    await siti.press("Tidak setuju")
    assert siti.text == words("registration/consent_declined")
    assert siti.buttons == ["📚 Lihat pelatihan"]
    contact = await contact_of(db, "siti")
    assert contact.consented_at is None and contact.subscribed is False
    assert await application_count(db) == 0
    assert await screenings(db) == []
    await assert_state_cleared(db, "siti")

    await siti.press("📚 Lihat pelatihan")  # browsing still works, and consent is asked again at "Daftar"
    assert siti.step == "cluster"
    await siti.choose("cluster", "BOGA")
    await siti.choose("programme", "BOGA1")
    await siti.apply(consent=False)
    assert siti.step == "consent"


# -- eligibility ---------------------------------------------------------------------------------


Walk = Callable[[Resident], Awaitable[Any]]


def fail_on(question: str) -> Walk:
    """Qualify on every question before `question`, and answer that one the other way."""

    async def walk(resident: Resident) -> None:
        while resident.step != question:
            assert resident.step is not None and resident.step.startswith("q_"), resident.text
            await resident.choose(resident.step, qualifying(resident.step))
        await resident.choose(question, not_qualifying(question))

    return walk


def with_education(level: str) -> Walk:
    async def walk(resident: Resident) -> None:
        await resident.answer_questions()
        await resident.choose("education", level)

    return walk


def with_nik(nik: str, *, confirm: bool = True) -> Walk:
    async def walk(resident: Resident) -> None:
        await resident.answer_questions()
        await resident.choose("education", "sma")
        await resident.type("Budi Santoso")
        await resident.type(nik)
        if confirm:
            await resident.choose("confirm_birth", "y")

    return walk


@dataclass(frozen=True)
class Refusal:
    programme: str
    cluster: str
    walk: Walk
    rule: str
    reason: str
    params: dict[str, Any] = field(default_factory=dict)
    past_participant: bool = False
    answered: bool = True
    """Failed on an answer the resident gave (not on the NIK or the records): "Saya salah jawab" is offered."""


REFUSALS = {
    "ktp_region": Refusal(
        "BOGA1",
        "BOGA",
        fail_on("q_ktp_region"),
        "ktp_region",
        "eligibility/ktp_region_failed",
        {"regions": ("33.75",), "region_names": REGIONS},
    ),
    "healthy": Refusal("BOGA1", "BOGA", fail_on("q_healthy"), "healthy", "eligibility/healthy_failed"),
    "not_working": Refusal("BOGA1", "BOGA", fail_on("q_not_working"), "not_working", "eligibility/not_working_failed"),
    "never_trained": Refusal(
        "BOGA1", "BOGA", fail_on("q_never_trained"), "never_trained", "eligibility/never_trained_failed"
    ),
    "min_age": Refusal(
        "BOGA1",
        "BOGA",
        with_nik("3375010106090001"),
        "min_age",
        "eligibility/min_age_failed",
        {"years": 18, "age": 17, "on": date(2027, 1, 25)},
        answered=False,
    ),
    "max_age": Refusal(
        "BRST1",
        "BARISTA",
        with_nik("3375010101900001"),
        "max_age",
        "eligibility/max_age_failed",
        {"years": 35, "age": 37, "on": date(2027, 5, 17)},
        answered=False,
    ),
    "min_education": Refusal(
        "DIGI1",
        "DIGITAL",
        with_education("smp"),
        "min_education",
        "eligibility/min_education_failed",
        {"level_label": "SMA / SMK / sederajat"},
    ),
    "pmi_candidate": Refusal(
        "LAS-PMI",
        "LAS",
        fail_on("q_pmi_candidate"),
        "pmi_candidate",
        "eligibility/declaration_failed",
        {"text": "Pelatihan ini khusus untuk calon pekerja migran Indonesia (PMI)."},
    ),
    "past_participant": Refusal(
        "BOGA1",
        "BOGA",
        with_nik(male_nik(7), confirm=False),
        "never_trained",
        "eligibility/past_participant",
        {"year": 2024},
        past_participant=True,
        answered=False,
    ),
}


@pytest.mark.parametrize("case", REFUSALS.values(), ids=REFUSALS.keys())
async def test_each_failed_rule_is_named_and_recorded_without_an_application(
    case: Refusal, siti: Resident, db: Database, words: Words
) -> None:
    if case.past_participant:
        async with db.transaction() as session:
            session.add(PastParticipant(nik=male_nik(7), name="Budi Santoso", year=2024))
    await siti.type("/daftar")
    await siti.pick(case.programme, case.cluster)
    await case.walk(siti)

    assert siti.text == words.not_eligible(case.reason, **case.params)
    undo = ["↩️ Saya salah jawab"] if case.answered else []
    assert siti.buttons == [*undo, "🔁 Pilih pelatihan lain", "🔔 Kabari saya pelatihan berikutnya"]
    assert [(s.programme_id, s.eligible, s.failed_rule) for s in await screenings(db)] == [
        (await programme_id(db, case.programme), False, case.rule)
    ]
    assert await application_count(db) == 0
    row = await conversation_of(db, "siti")
    assert row is not None and (row.flow, row.step) == (None, None)
    assert "full_name" not in str(row.data) and "nik" not in str(row.data)
    if not case.answered:
        await assert_state_cleared(db, "siti")


async def test_saya_salah_jawab_asks_the_question_again_with_earlier_answers_kept(
    siti: Resident, db: Database, words: Words
) -> None:
    await siti.type("/daftar")
    await siti.pick("BOGA1", "BOGA")
    await fail_on("q_not_working")(siti)  # "Ya, saya sedang bekerja": a slip of the thumb

    await siti.press("↩️ Saya salah jawab")
    assert siti.text == words("eligibility/not_working_question")
    answers = await answers_of(db, "siti")
    assert {k: answers.get(k) for k in ("cluster", "programme", "q_ktp_region", "q_healthy", "q_not_working")} == {
        "cluster": "BOGA",
        "programme": "BOGA1",
        "q_ktp_region": True,
        "q_healthy": True,
        "q_not_working": None,
    }
    await siti.choose("q_not_working", "n")
    assert siti.step == "q_never_trained"
    await siti.answer_questions()
    await siti.give_details()
    await siti.submit()
    [application] = await all_applications(db)
    assert application.answers["q_not_working"] is True  # stored as what the rule names: not working


async def test_kembali_after_being_turned_away_goes_back_to_that_question(siti: Resident, words: Words) -> None:
    await siti.type("/daftar")
    await siti.pick("BOGA1", "BOGA")
    await fail_on("q_healthy")(siti)
    await siti.type("kembali")
    assert siti.text == words("eligibility/healthy_question", disability_welcome=False)
    await siti.type("ya")
    assert siti.step == "q_not_working"


async def test_saya_salah_jawab_after_starting_again_is_an_old_button(siti: Resident, words: Words) -> None:
    await siti.type("/daftar")
    await siti.pick("BOGA1", "BOGA")
    await fail_on("q_healthy")(siti)
    undo = siti.option("Saya salah jawab")
    await siti.press("Pilih pelatihan lain")
    assert siti.step == "cluster"
    reply = await siti.send(Inbound(choice=undo.data))
    assert reply.stale and siti.step == "cluster"


async def test_custom_declaration_question_uses_the_catalog_text(siti: Resident) -> None:
    await siti.type("/daftar")
    await siti.pick("LAS-PMI", "LAS")
    while siti.step != "q_pmi_candidate":
        await siti.choose(siti.step or "", qualifying(siti.step or ""))
    assert siti.last.text == "Apakah Anda calon pekerja migran Indonesia (PMI) yang berencana bekerja di luar negeri?"


async def test_refused_resident_can_pick_another_programme_or_ask_for_news(siti: Resident, db: Database) -> None:
    await siti.type("/daftar")
    await siti.pick("BOGA1", "BOGA")
    await fail_on("q_healthy")(siti)

    await siti.press("🔔 Kabari saya pelatihan berikutnya")
    assert (await contact_of(db, "siti")).subscribed is True

    await siti.type("/daftar")
    assert siti.step == "cluster"  # consent is not asked twice
    await siti.pick("AC1", "AC")
    assert siti.step == "q_ktp_region"


async def test_nik_from_a_neighbouring_regency_is_accepted_with_a_flag_for_staff(siti: Resident, db: Database) -> None:
    outsider = replace(SITI, full_name="Budi Santoso", nik=male_nik(3, region="3326"))
    await siti.walk_to_summary("BOGA1", "BOGA", outsider)  # answered "yes" to the Kota Pekalongan KTP question
    await siti.submit()
    [application] = await all_applications(db)
    assert application.flags == ["nik_region_outside"]
    assert application.stage == Stage.REGISTERED


async def test_nik_from_a_region_the_programme_accepts_is_not_flagged(
    siti: Resident, db: Database, words: Words
) -> None:
    outsider = replace(SITI, full_name="Budi Santoso", nik=male_nik(3, region="3326"))
    await siti.type("/daftar")
    await siti.pick("AC1", "AC")
    regions = ["Kota Pekalongan", "Kabupaten Pekalongan", "Kabupaten Batang"]
    assert siti.last.text == words("eligibility/ktp_region_question", regions=regions)
    await siti.answer_questions()
    await siti.give_details(outsider)
    await siti.submit()
    [application] = await all_applications(db)
    assert application.number == "AC1-2027-0001"
    assert application.flags == []


# -- what residents type -------------------------------------------------------------------------


async def test_nik_mistakes_reask_with_the_specific_reason_and_keep_earlier_answers(
    siti: Resident, db: Database, words: Words
) -> None:
    await to_nik_step(siti)
    before = await answers_of(db, "siti")

    for typed, key, params in (
        ("12345", "registration/nik_length", {"length": 5}),
        ("3375 0152 0395 000", "registration/nik_length", {"length": 15}),
        ("33750152039500AB", "registration/nik_not_digits", {}),
        ("3375013203950002", "registration/nik_birth_date", {}),  # day 32
        ("3375015213950002", "registration/nik_birth_date", {}),  # month 13
    ):
        await siti.type(typed)
        assert [m.text for m in siti.messages] == [words(key, **params)], typed  # the error alone: no second question
        assert siti.buttons == [BACK]
        assert await answers_of(db, "siti") == before

    await siti.type(SITI_NIK)
    assert siti.step == "confirm_birth"
    answers = await answers_of(db, "siti")
    assert answers == {**before, "nik": SITI_NIK}
    assert answers["full_name"] == "Siti Nur Aini" and answers["programme"] == "BOGA1"


async def test_huge_emoji_and_markup_input_is_refused_kindly_or_stored_safely(
    siti: Resident, db: Database, words: Words
) -> None:
    huge = "x" * 10_000
    await siti.type("/daftar")
    await siti.type(huge)  # at a menu
    assert siti.messages[0].text == words("common/choose_option", count=len([b for b in siti.buttons if b != BACK]))
    assert siti.step == "cluster"
    await siti.choose("cluster", "BOGA")
    await siti.choose("programme", "BOGA1")
    await siti.choose("card", "apply")
    await siti.type(huge)  # at the consent question
    assert siti.messages[0].text == words("common/choose_option", count=2)
    await siti.consent()
    await siti.type("😀")  # at a yes/no question
    assert siti.messages[0].text == words("common/choose_option", count=2)
    await siti.answer_questions()
    await siti.choose("education", "sma")

    for typed, key, params in (
        (huge, "registration/name_too_long", {"max": 100}),
        ("😀😀😀", "registration/name_invalid", {}),
        ("<b>x</b>", "registration/name_invalid", {}),
    ):
        await siti.type(typed)
        assert [m.text for m in siti.messages] == [words(key, **params)]
    await siti.type("Siti Nur Aini")
    await siti.type(huge)
    assert siti.messages[0].text == words("registration/nik_not_digits")
    await siti.type(SITI_NIK)
    await siti.choose("confirm_birth", "y")
    await siti.type(huge)
    assert siti.messages[0].text == words("registration/address_too_long", max=200)
    await siti.type("<b>x</b> Jl. Merdeka 😀 & <i>")
    assert siti.step == "district"
    await siti.choose("district", "33.75.01")
    await siti.type(huge)
    assert siti.messages[0].text == words("registration/phone_invalid")
    await siti.type("😀")
    assert siti.messages[0].text == words("registration/phone_invalid")
    await siti.type(SITI.phone)

    assert siti.step == "summary"
    assert "Alamat: &lt;b&gt;x&lt;/b&gt; Jl. Merdeka 😀 &amp; &lt;i&gt;" in siti.last.text
    assert "<b>x</b>" not in siti.last.text and "<i>" not in siti.last.text
    await siti.submit()
    [application] = await all_applications(db)
    assert application.address == "<b>x</b> Jl. Merdeka 😀 & <i>"

    await siti.type("/dataku")
    assert "&lt;b&gt;x&lt;/b&gt;" in siti.messages[0].text and "<b>x</b>" not in siti.messages[0].text


# -- back ----------------------------------------------------------------------------------------


async def test_back_from_the_nik_step_returns_to_the_name_step(siti: Resident, db: Database, words: Words) -> None:
    await to_nik_step(siti)
    await siti.press(BACK)
    assert siti.text == words("registration/ask_name")
    assert "full_name" not in await answers_of(db, "siti")
    await siti.type("Siti Aini")
    assert siti.step == "nik"


async def test_back_at_the_first_step_says_there_is_nothing_to_go_back_to(siti: Resident, words: Words) -> None:
    await siti.start()
    consent = siti.last.text
    assert BACK not in siti.buttons
    await siti.type("kembali")
    assert [m.text for m in siti.messages] == [words("common/nothing_to_go_back"), consent]
    await siti.type("/kembali")
    assert [m.text for m in siti.messages] == [words("common/nothing_to_go_back"), consent]


async def test_typed_kembali_goes_back_one_step(siti: Resident, words: Words) -> None:
    await to_nik_step(siti)
    await siti.type("Kembali")
    assert siti.text == words("registration/ask_name")
    await siti.type("kembali")
    assert siti.text == words("registration/ask_education")
    await siti.type("/kembali")
    assert siti.step == "q_never_trained"


async def test_back_from_the_summary_asks_the_last_question_again(siti: Resident, db: Database, words: Words) -> None:
    await siti.walk_to_summary()
    await siti.type("kembali")
    assert siti.text == words("registration/ask_phone")
    assert "phone" not in await answers_of(db, "siti")
    await siti.type("kembali")
    assert siti.text == words("registration/ask_district")


async def test_back_after_a_deep_link_reaches_the_programme_and_cluster_choices(siti: Resident, words: Words) -> None:
    await siti.start("BOGA1__poster_kel_podosugih")
    assert siti.step == "card"
    await siti.press(BACK)
    assert siti.step == "programme"
    await siti.press(BACK)
    assert siti.step == "cluster" and BACK not in siti.buttons
    await siti.type("kembali")
    assert [m.text for m in siti.messages] == [words("common/nothing_to_go_back"), words("registration/ask_cluster")]


async def test_first_question_after_consent_offers_no_dead_back_button(siti: Resident, words: Words) -> None:
    await siti.start()
    assert siti.step == "cluster"
    assert BACK not in siti.buttons


async def test_back_after_a_wrong_birth_date_returns_to_the_name_step(siti: Resident, words: Words) -> None:
    await to_nik_step(siti)
    await siti.type(SITI_NIK)
    await siti.choose("confirm_birth", "n")
    assert siti.step == "nik"
    await siti.press(BACK)
    assert siti.text == words("registration/ask_name")


async def test_back_after_an_edit_goes_back_one_step_at_a_time(siti: Resident, words: Words) -> None:
    await siti.walk_to_summary()
    await siti.press("✏️ Ubah nomor HP")
    await siti.type("081311112222")
    await siti.type("kembali")
    assert siti.text == words("registration/ask_phone")
    await siti.type("kembali")
    assert siti.text == words("registration/ask_district")


async def test_back_from_the_summary_after_changing_the_address_walks_back_without_losing_answers(
    siti: Resident, db: Database, words: Words
) -> None:
    await siti.walk_to_summary()
    await siti.press("✏️ Ubah alamat")
    await siti.type("Jl. Kurinci 12")
    assert siti.step == "summary"
    await siti.type("kembali")
    assert siti.text == words("registration/ask_phone")
    answers = await answers_of(db, "siti")
    assert (answers["address"], answers["district"]) == ("Jl. Kurinci 12", SITI.district)
    await siti.type(SITI.phone)
    assert siti.step == "summary" and "Alamat: Jl. Kurinci 12" in siti.last.text


async def test_back_during_a_two_step_edit_returns_to_the_summary_with_the_old_answers(
    siti: Resident, db: Database
) -> None:
    await siti.walk_to_summary()
    summary = siti.last.text
    answers = await answers_of(db, "siti")
    await siti.press("✏️ Ubah NIK")
    await siti.type("3375011203950003")
    assert siti.step == "confirm_birth"
    await siti.press(BACK)
    assert siti.step == "summary" and siti.last.text == summary
    assert await answers_of(db, "siti") == answers


# -- edit from the summary -----------------------------------------------------------------------


async def test_changing_the_phone_from_the_summary_keeps_every_other_answer(
    siti: Resident, db: Database, words: Words
) -> None:
    await siti.walk_to_summary()
    before = siti.last.text
    answers = await answers_of(db, "siti")

    reply = await siti.press("✏️ Ubah nomor HP")
    assert reply.chosen == "✏️ Ubah nomor HP"
    assert siti.text == words("registration/ask_phone")
    await siti.type("+62 813 1111 2222")

    assert siti.step == "summary"
    assert siti.last.text == before.replace("0812-3456-7890", "0813-1111-2222")
    assert await answers_of(db, "siti") == {**answers, "phone": "+6281311112222"}
    await siti.submit()
    [application] = await all_applications(db)
    assert (application.phone, application.full_name, application.nik) == ("+6281311112222", "Siti Nur Aini", SITI_NIK)


async def test_changing_the_nik_asks_nik_then_birth_confirmation_then_summary(
    siti: Resident, db: Database, words: Words
) -> None:
    await siti.walk_to_summary()
    await siti.press("✏️ Ubah NIK")
    assert siti.text == words("registration/ask_nik")
    new_nik = "3375011203950003"
    await siti.type(new_nik)
    assert siti.text == words("registration/confirm_birth", birth_date=date(1995, 3, 12), sex="Laki-laki")
    await siti.press("✅ Benar")
    assert siti.step == "summary"
    assert f"NIK: {new_nik}" in siti.last.text and "Jenis kelamin: Laki-laki" in siti.last.text
    assert "Nama: Siti Nur Aini" in siti.last.text and "Nomor HP: 0812-3456-7890" in siti.last.text
    await siti.submit()
    [application] = await all_applications(db)
    assert (application.nik, application.sex) == (new_nik, "M")
    assert len(await screenings(db)) == 1  # the second birth confirmation is not counted twice


async def test_back_while_editing_restores_the_old_answer(siti: Resident, db: Database) -> None:
    await siti.walk_to_summary()
    summary = siti.last.text
    answers = await answers_of(db, "siti")

    await siti.press("✏️ Ubah nama")
    assert siti.buttons == [BACK]
    await siti.press(BACK)
    assert siti.step == "summary" and siti.last.text == summary

    await siti.press("✏️ Ubah NIK")
    await siti.type("123")  # a wrong try, then back: the old NIK is kept
    await siti.press(BACK)
    assert siti.step == "summary" and siti.last.text == summary

    await siti.press("✏️ Ubah nomor HP")  # the phone question has a contact button, so back is typed
    await siti.type("kembali")
    assert siti.step == "summary" and siti.last.text == summary
    assert await answers_of(db, "siti") == answers


async def test_wrong_birth_date_asks_for_the_nik_again(siti: Resident, db: Database, words: Words) -> None:
    await to_nik_step(siti)
    await siti.type(SITI_NIK)
    await siti.press("❌ Salah")
    assert [m.text for m in siti.messages] == [words("registration/nik_recheck")]
    assert siti.step == "nik" and BACK in siti.buttons
    assert "nik" not in await answers_of(db, "siti")
    await siti.type("3375011203950003")
    assert siti.text == words("registration/confirm_birth", birth_date=date(1995, 3, 12), sex="Laki-laki")


# -- cancel, help, commands ----------------------------------------------------------------------


async def test_cancel_asks_first_and_no_resumes_the_same_question(siti: Resident, db: Database, words: Words) -> None:
    await to_nik_step(siti)
    answers = await answers_of(db, "siti")
    await siti.type("/batal")
    assert siti.text == words("common/confirm_cancel")
    assert siti.buttons == ["Ya, batalkan", "Tidak, lanjutkan"]
    await siti.press("Tidak, lanjutkan")
    assert [m.text for m in siti.messages] == [words("common/continue"), words("registration/ask_nik")]
    assert await answers_of(db, "siti") == answers
    await siti.type(SITI_NIK)
    assert siti.step == "confirm_birth"


async def test_cancel_confirmed_clears_the_state(siti: Resident, db: Database, words: Words) -> None:
    await to_nik_step(siti)
    await siti.type("batal")  # the word alone works like /batal
    await siti.press("Ya, batalkan")
    assert siti.text == words("common/cancelled")
    assert siti.buttons == ["📝 Daftar lagi"]
    await assert_state_cleared(db, "siti")
    assert await application_count(db) == 0


async def test_cancel_with_nothing_running_says_so(siti: Resident, db: Database, words: Words) -> None:
    await siti.type("/batal")
    assert siti.messages[0].text == words("common/nothing_to_cancel")
    assert siti.last.text == words("common/menu")
    assert (await conversation_of(db, "siti")).flow is None  # type: ignore[union-attr]


async def test_answering_instead_of_confirming_the_cancel_keeps_the_registration(
    siti: Resident, db: Database, words: Words
) -> None:
    await to_nik_step(siti)
    await siti.type("/batal")
    await siti.type(SITI_NIK)  # the question still open is answered; the cancel is dropped
    assert siti.step == "confirm_birth"
    row = await conversation_of(db, "siti")
    assert row is not None and "overlay" not in row.data and row.data["answers"]["nik"] == SITI_NIK


async def test_help_explains_the_current_step_and_asks_it_again(siti: Resident, words: Words) -> None:
    await to_nik_step(siti)
    await siti.type("/bantuan")
    assert [m.text for m in siti.messages] == [
        words("help/nik"),
        words("help/commands", **words.office),
        words("registration/ask_nik"),
    ]
    await siti.type(SITI_NIK)
    assert siti.step == "confirm_birth"


async def test_help_without_a_specific_text_and_with_nothing_running(siti: Resident, words: Words) -> None:
    await siti.type("/bantuan")
    assert [m.text for m in siti.messages] == [words("help/general"), words("help/commands", **words.office)]
    assert siti.buttons == ["📚 Lihat pelatihan", "📝 Daftar pelatihan", "📋 Status pendaftaran", "❓ Bantuan"]
    await siti.type("/daftar")
    await siti.type("bantuan")
    assert [m.text for m in siti.messages] == [
        words("help/step"),
        words("help/commands", **words.office),
        words("registration/ask_cluster"),
    ]


async def test_unknown_command_is_named_and_the_question_asked_again(siti: Resident, words: Words) -> None:
    await to_nik_step(siti)
    await siti.type("/daftarkan")
    assert [m.text for m in siti.messages] == [
        words("common/unknown_command", command="daftarkan"),
        words("registration/ask_nik"),
    ]
    await siti.type(SITI_NIK)
    assert siti.step == "confirm_birth"


async def test_status_lists_the_application_and_its_stage(siti: Resident, words: Words) -> None:
    await siti.type("/status")
    assert "belum punya pendaftaran" in siti.text and siti.buttons == ["📝 Daftar pelatihan"]
    await siti.walk_to_summary()
    await siti.submit()
    await siti.type("/status")
    assert "<b>BOGA1-2027-0001</b> – Olahan Kue dan Roti" in siti.text
    assert f"Tahap: <b>{words('stages/registered')}</b>" in siti.text


async def test_stop_and_start_news_switch_the_subscription(siti: Resident, db: Database, words: Words) -> None:
    await to_nik_step(siti)
    await siti.type("/mulai")
    assert [m.text for m in siti.messages] == [words("common/subscribed"), words("registration/ask_nik")]
    assert (await contact_of(db, "siti")).subscribed is True
    await siti.type("/berhenti")
    assert [m.text for m in siti.messages] == [words("common/unsubscribed"), words("registration/ask_nik")]
    assert (await contact_of(db, "siti")).subscribed is False
    await siti.type("/mulai")
    assert (await contact_of(db, "siti")).subscribed is True


async def test_switching_to_english_mid_flow_asks_the_same_question_in_english(
    siti: Resident, db: Database, templates: Templates
) -> None:
    english = Words(templates, "en")
    await to_nik_step(siti)
    await siti.type("/bahasa")
    assert siti.buttons == ["🇮🇩 Bahasa Indonesia", "🇬🇧 English"]
    await siti.press("🇬🇧 English")
    assert [m.text for m in siti.messages] == [english("common/language_set"), english("registration/ask_nik")]
    assert siti.buttons == ["⬅️ Back"]
    assert (await contact_of(db, "siti")).language == "en"
    await siti.type(SITI_NIK)
    assert siti.text == english("registration/confirm_birth", birth_date=SITI_BIRTH, sex="Female")


async def test_my_data_shows_what_is_stored_with_the_full_nik(siti: Resident) -> None:
    await siti.walk_to_summary()
    await siti.submit()
    await siti.type("/dataku")
    text = siti.text
    for shown in (
        "BOGA1-2027-0001",
        "NIK: 3375015203950002",
        "Nama: Siti Nur Aini",
        "Alamat: Jl. Merdeka 5 RT 01",
        "Nomor HP: 0812-3456-7890",
        "Kecamatan: Pekalongan Barat",
        "Tanggal lahir: Minggu, 12 Maret 1995",
    ):
        assert shown in text


async def test_erasing_my_data_anonymises_the_application_and_frees_its_seat(
    siti: Resident, db: Database, words: Words, clock: Clock
) -> None:
    await siti.walk_to_summary()
    await siti.submit()
    assert await registered_count(db, "BOGA1") == 1
    clock.now = datetime(2026, 11, 26, 8, 0, tzinfo=JAKARTA)

    await siti.type("/hapusdata")
    assert siti.text == words("privacy/confirm_erase")
    assert siti.buttons == ["Ya, hapus data saya", "Tidak jadi"]
    await siti.press("Ya, hapus data saya")
    assert siti.text == words("privacy/erased", count=1)

    [application] = await all_applications(db)
    assert application.number == "BOGA1-2027-0001"
    for column in ("nik", "full_name", "birth_date", "sex", "address", "phone", "contact_id"):
        assert getattr(application, column) is None, column
    assert application.answers == {}
    assert same_moment(application.anonymised_at, clock.now)
    assert application.stage == Stage.WITHDRAWN
    contact = await contact_of(db, "siti")
    assert contact.consented_at is None and contact.subscribed is False
    assert await registered_count(db, "BOGA1") == 0

    await siti.type("/dataku")
    assert SITI_NIK not in siti.text and "BOGA1-2027-0001" not in siti.text


async def test_keeping_my_data_changes_nothing(siti: Resident, db: Database, words: Words) -> None:
    await siti.walk_to_summary()
    await siti.submit()
    await siti.type("/hapusdata")
    await siti.press("Tidak jadi")
    assert siti.messages[0].text == words("privacy/erase_kept")
    [application] = await all_applications(db)
    assert application.nik == SITI_NIK and application.stage == Stage.REGISTERED


async def test_after_erasure_the_person_can_register_again_with_the_next_number(siti: Resident, db: Database) -> None:
    await siti.walk_to_summary()
    await siti.submit()
    await siti.type("/hapusdata")
    await siti.press("Ya, hapus data saya")

    await siti.walk_to_summary()  # consent is asked again: it was forgotten
    await siti.submit()
    assert "<b>BOGA1-2027-0002</b>" in siti.text
    old, new = await all_applications(db)
    assert (old.number, old.nik, old.stage) == ("BOGA1-2027-0001", None, Stage.WITHDRAWN)
    assert (new.number, new.nik, new.stage) == ("BOGA1-2027-0002", SITI_NIK, Stage.REGISTERED)
    assert await registered_count(db, "BOGA1") == 1


async def test_erasure_is_confirmed_in_the_language_the_resident_chose(siti: Resident, templates: Templates) -> None:
    await siti.type("/bahasa")
    await siti.press("🇬🇧 English")
    await siti.type("/hapusdata")
    await siti.press("Yes, erase my data")
    assert siti.text == Words(templates, "en")("privacy/erased", count=0)


# -- restarts, stale and double presses ----------------------------------------------------------


async def test_conversation_resumes_after_a_restart(conversations: Conversations, db: Database, words: Words) -> None:
    before = Resident(conversations, "siti")
    await to_nik_step(before)

    restarted = Conversations(db, conversations.services)  # a new process over the same database
    after = Resident(restarted, "siti")
    await after.type("/start")
    assert [m.text for m in after.messages] == [words("common/already_in_flow"), words("registration/ask_nik")]
    await after.type(SITI_NIK)
    await after.choose("confirm_birth", "y")
    await after.type(SITI.address)
    await after.choose("district", SITI.district)
    await after.type(SITI.phone)
    assert "Nama: Siti Nur Aini" in after.last.text
    await after.submit()
    assert "BOGA1-2027-0001" in after.text
    [application] = await all_applications(db)
    assert (application.full_name, application.education) == ("Siti Nur Aini", "sma")


async def test_a_turn_that_fails_half_way_keeps_none_of_its_writes_and_the_next_turn_works(
    siti: Resident, db: Database, words: Words, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storage.repositories import conversations as conversation_repo

    await siti.type("/daftar")
    await siti.choose("cluster", "BOGA")
    await siti.choose("programme", "BOGA1")
    await siti.choose("card", "apply")
    real_save = conversation_repo.save

    async def broken_save(*args: Any, **kwargs: Any) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(conversation_repo, "save", broken_save)
    await siti.consent()  # consent is written, then saving the step fails
    assert siti.text == words("common/error")
    assert (await contact_of(db, "siti")).consented_at is None

    monkeypatch.setattr(conversation_repo, "save", real_save)
    assert (await conversation_of(db, "siti")).step == "consent"  # still at the consent question
    await siti.send(Inbound(choice="consent|y"))  # its button, still in the chat above the apology
    assert siti.step == "q_ktp_region"
    assert (await contact_of(db, "siti")).consented_at is not None


async def test_a_double_tap_advances_once_and_is_answered_with_nothing(siti: Resident, db: Database) -> None:
    await siti.type("/daftar")
    press = Inbound(choice="cluster|BOGA")
    first = await siti.send(press)
    assert first.chosen == "Tata Boga" and not first.stale
    second = await siti.send(press)
    # No "that button is old" note and no second copy of the programme question.
    assert second.stale and second.repeated and second.messages == []
    assert siti.step == "programme"

    await siti.choose("programme", "BOGA1")
    await siti.apply()
    yes = Inbound(choice="q_ktp_region|y")
    await siti.send(yes)
    again = await siti.send(yes)
    assert again.repeated and again.messages == []
    assert siti.step == "q_healthy"
    answers = await answers_of(db, "siti")
    assert answers == {"cluster": "BOGA", "programme": "BOGA1", "card": "apply", "consent": True, "q_ktp_region": True}
    row = await conversation_of(db, "siti")
    assert row is not None and row.data["history"] == ["cluster", "programme", "card", "consent", "q_ktp_region"]


async def test_submitting_twice_creates_one_application_and_the_second_press_is_quiet(
    siti: Resident, db: Database
) -> None:
    await siti.walk_to_summary()
    submit = Inbound(choice="summary|ok")
    first = await siti.send(submit)
    assert "BOGA1-2027-0001" in siti.text and not first.stale
    second = await siti.send(submit)
    assert second.stale and second.repeated and second.messages == []
    assert [a.number for a in await all_applications(db)] == ["BOGA1-2027-0001"]
    assert await last_number(db, "BOGA1") == 1


async def test_one_chat_pressing_submit_twice_at_once_creates_one_application(siti: Resident, db: Database) -> None:
    await siti.walk_to_summary()
    submit = Inbound(choice="summary|ok")
    replies = await asyncio.gather(*(siti.conversations.handle("console", "siti", submit) for _ in range(2)))
    assert sorted(r.stale for r in replies) == [False, True]
    assert [a.number for a in await all_applications(db)] == ["BOGA1-2027-0001"]


async def test_two_workers_handling_the_same_submit_at_once_create_one_application(
    conversations: Conversations, db: Database, words: Words
) -> None:
    siti = Resident(conversations, "siti")
    await siti.walk_to_summary()
    second_worker = Conversations(db, conversations.services)  # its own chat locks: only the version check guards
    submit = Inbound(choice="summary|ok")
    replies = await asyncio.gather(
        conversations.handle("console", "siti", submit), second_worker.handle("console", "siti", submit)
    )
    assert sorted(r.stale for r in replies) == [False, True]
    fresh = next(r for r in replies if not r.stale)
    assert "<b>BOGA1-2027-0001</b>" in fresh.messages[0].text
    stale = next(r for r in replies if r.stale)
    assert stale.repeated and stale.messages == []  # the retried turn sees the press already taken
    assert [a.number for a in await all_applications(db)] == ["BOGA1-2027-0001"]
    assert await last_number(db, "BOGA1") == 1


async def test_an_old_keyboard_gets_a_gentle_reply_and_the_current_question(
    siti: Resident, db: Database, words: Words
) -> None:
    await to_nik_step(siti)
    answers = await answers_of(db, "siti")
    for old in ("cluster|RIAS", "consent|y", "q_healthy|n", "summary|ok", "!cancel|y"):
        reply = await siti.send(Inbound(choice=old))
        assert reply.stale, old
        assert [m.text for m in reply.messages] == [words("common/stale_button"), words("registration/ask_nik")], old
    assert await answers_of(db, "siti") == answers
    assert await screenings(db) == []


async def test_a_button_pressed_again_after_another_turn_is_old_not_a_double_tap(siti: Resident, words: Words) -> None:
    await siti.type("/daftar")
    await siti.choose("cluster", "BOGA")
    await siti.type("/bantuan")  # another turn between: the next press of the cluster button is an old keyboard
    reply = await siti.send(Inbound(choice="cluster|BOGA"))
    assert reply.stale and not reply.repeated
    assert siti.messages[0].text == words("common/stale_button")
    assert siti.step == "programme"


# -- concurrency ---------------------------------------------------------------------------------


async def test_twenty_residents_submitting_at_once_get_numbers_without_gaps_or_duplicates(
    conversations: Conversations, db: Database
) -> None:
    residents = [Resident(conversations, f"resident-{i}") for i in range(1, 21)]
    for i, resident in enumerate(residents, 1):
        await resident.walk_to_summary(person=replace(SITI, full_name=f"Peserta Nomor {chr(64 + i)}", nik=male_nik(i)))

    await asyncio.gather(*(resident.submit() for resident in residents))

    expected = [f"BOGA1-2027-{n:04d}" for n in range(1, 21)]
    stored = await all_applications(db)
    assert sorted(a.number for a in stored) == expected
    assert len({a.nik for a in stored}) == 20
    told = sorted(next(n for n in expected if f"<b>{n}</b>" in r.text) for r in residents)
    assert told == expected
    for resident in residents:
        mine = next(a for a in stored if f"<b>{a.number}</b>" in resident.text)
        assert mine.contact_id == (await contact_of(db, resident.chat_id)).id
    assert await last_number(db, "BOGA1") == 20


async def test_same_nik_submitted_from_two_chats_at_once_registers_once(
    conversations: Conversations, db: Database, words: Words
) -> None:
    a, b = Resident(conversations, "phone-a"), Resident(conversations, "phone-b")
    await a.walk_to_summary()
    await b.walk_to_summary()

    await asyncio.gather(a.submit(), b.submit())

    [application] = await all_applications(db)
    assert application.number == "BOGA1-2027-0001"
    texts = sorted([a.text, b.text], key=lambda t: "terkirim" not in t)
    assert "Pendaftaran terkirim!" in texts[0]
    assert texts[1] == words("registration/nik_taken", office=OFFICE, contact=OFFICE_CONTACT)
    assert [f["flag"] for f in application.flags] == ["nik_claimed_elsewhere"]
    assert await last_number(db, "BOGA1") == 1


async def test_same_nik_submitted_for_two_programmes_at_once_registers_once(
    conversations: Conversations, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = Resident(conversations, "phone-a"), Resident(conversations, "phone-b")
    await a.walk_to_summary("BOGA1", "BOGA")
    await b.walk_to_summary("RIAS1", "RIAS")

    if not db.is_sqlite:
        # SQLite runs one transaction at a time (one connection), so the turns cannot overlap there.
        # On PostgreSQL, make the overlap certain: neither submission inserts before both have
        # started theirs, as two workers can. A per-person lock must then hold the second back.
        started: list[str] = []
        both_started = asyncio.Event()
        lock_person, insert_new = application_repo.lock_person, application_repo.insert_new

        async def note_start(session: AsyncSession, nik: str) -> None:
            started.append(nik)
            if len(started) == 2:
                both_started.set()
            await lock_person(session, nik)

        async def insert_after_both_started(session: AsyncSession, columns: dict[str, Any]) -> int:
            async with asyncio.timeout(10):  # a guard against a hang, not a timing assertion
                await both_started.wait()
            return await insert_new(session, columns)

        monkeypatch.setattr(application_repo, "lock_person", note_start)
        monkeypatch.setattr(application_repo, "insert_new", insert_after_both_started)

    await asyncio.gather(a.submit(), b.submit())

    stored = await all_applications(db)
    assert len([x for x in stored if x.nik == SITI_NIK and Stage(x.stage).is_active]) == 1


async def test_daftar_with_an_application_in_progress_says_so_at_once_and_may_keep_it(
    siti: Resident, db: Database, words: Words
) -> None:
    await siti.walk_to_summary()
    await siti.submit()

    await siti.type("/daftar")  # before any question, not after ten answers
    assert siti.text == words(
        "registration/already_active",
        number="BOGA1-2027-0001",
        programme="Olahan Kue dan Roti",
        stage=words("stages/registered"),
    )
    assert siti.buttons == ["Tarik, daftar yang baru", "Tetap yang lama"]
    await siti.press("Tetap yang lama")
    assert siti.text == words("registration/kept_old", number="BOGA1-2027-0001")
    assert siti.buttons == ["📋 Status pendaftaran"]
    [application] = await all_applications(db)
    assert application.stage == Stage.REGISTERED
    row = await conversation_of(db, "siti")
    assert row is not None and row.flow is None


async def test_replacing_withdraws_the_old_application_only_when_the_new_one_is_sent(
    siti: Resident, db: Database, words: Words, clock: Clock
) -> None:
    await siti.walk_to_summary()
    await siti.submit()
    await siti.type("/daftar")
    await siti.press("Tarik, daftar yang baru")
    assert siti.messages[0].text == words("registration/replace_later", number="BOGA1-2027-0001")
    assert siti.step == "cluster"
    await siti.pick("RIAS1", "RIAS")
    await siti.answer_questions()
    await siti.give_details()  # the same NIK: no "one application at a time" now
    assert siti.step == "summary"
    assert "akan ditarik saat Anda menekan <b>Kirim pendaftaran</b>" in siti.last.text
    assert [a.stage for a in await all_applications(db)] == [Stage.REGISTERED]  # not yet

    await siti.submit()
    old, new = await all_applications(db)
    assert (new.number, new.stage, new.nik) == ("RIAS1-2027-0001", Stage.REGISTERED, SITI_NIK)
    assert (old.stage, old.stage_reason) == (Stage.WITHDRAWN, "ditarik oleh pendaftar")
    assert old.flags == [
        {"flag": "withdrawn_by_applicant", "at": clock.now.astimezone(UTC).isoformat(), "channel": "console"}
    ]
    assert await registered_count(db, "BOGA1") == 0  # the seat is free


async def test_status_withdraws_an_application_after_a_confirmation(siti: Resident, db: Database, words: Words) -> None:
    await siti.walk_to_summary()
    await siti.submit()
    await siti.type("/status")
    assert siti.buttons == ["❌ Tarik BOGA1-2027-0001"]
    await siti.press("❌ Tarik BOGA1-2027-0001")
    assert siti.text == words(
        "registration/confirm_withdraw", number="BOGA1-2027-0001", programme="Olahan Kue dan Roti"
    )
    await siti.press("Tidak jadi")
    assert siti.text == words("registration/kept_old", number="BOGA1-2027-0001")
    assert (await all_applications(db))[0].stage == Stage.REGISTERED

    await siti.type("/status")
    await siti.press("❌ Tarik BOGA1-2027-0001")
    await siti.press("Ya, tarik")
    assert siti.text == words("registration/withdrawn", number="BOGA1-2027-0001")
    [application] = await all_applications(db)
    assert (application.stage, application.stage_reason) == (Stage.WITHDRAWN, "ditarik oleh pendaftar")
    assert await registered_count(db, "BOGA1") == 0

    await siti.type("/status")
    assert siti.buttons == []  # nothing left to withdraw
    await siti.type("/daftar")
    assert siti.step == "cluster"  # no application in progress any more


async def test_a_programme_applied_to_before_is_not_applied_to_again(siti: Resident, db: Database) -> None:
    """Withdrawn, then registered for the same programme again: one application per NIK and programme,
    so the resident hears which one it was and whom to ask, instead of an error, and nothing changes."""
    await siti.walk_to_summary()
    await siti.submit()
    await siti.type("/status")
    await siti.press("❌ Tarik BOGA1-2027-0001")
    await siti.press("Ya, tarik")

    await siti.walk_to_summary()
    await siti.submit()
    assert "pernah mendaftar Olahan Kue dan Roti dengan nomor <b>BOGA1-2027-0001</b>" in siti.text
    assert "tahap: Dibatalkan" in siti.text and "hubungi kantor" in siti.text
    [application] = await all_applications(db)
    assert application.stage == Stage.WITHDRAWN


async def test_replacing_an_application_with_the_same_programme_keeps_it(siti: Resident, db: Database) -> None:
    await siti.walk_to_summary()
    await siti.submit()
    await siti.type("/daftar")
    await siti.press("Tarik, daftar yang baru")
    await siti.pick("BOGA1", "BOGA")
    await siti.answer_questions()
    await siti.give_details()
    await siti.submit()
    assert "pernah mendaftar Olahan Kue dan Roti dengan nomor <b>BOGA1-2027-0001</b>" in siti.text
    [application] = await all_applications(db)
    assert application.stage == Stage.REGISTERED  # not withdrawn for a new one that cannot be


async def test_a_withdraw_button_for_another_persons_application_changes_nothing(
    siti: Resident, db: Database, words: Words
) -> None:
    await siti.walk_to_summary()
    await siti.submit()
    other = Resident(siti.conversations, "someone-else")
    await other.send(Inbound(choice="@withdraw|BOGA1-2027-0001"))  # a forged or copied button
    assert words("registration/not_withdrawable") in other.text
    [application] = await all_applications(db)
    assert application.stage == Stage.REGISTERED


async def test_a_nik_registered_from_another_chat_reveals_nothing_and_points_to_the_office(
    siti: Resident, db: Database, words: Words, clock: Clock
) -> None:
    await siti.walk_to_summary()
    await siti.submit()
    other = Resident(siti.conversations, "someone-else")  # the same NIK from another phone
    await to_nik_step(other, "RIAS1", "RIAS", name="Budi Santoso")

    await other.type(SITI_NIK)

    for secret in ("BOGA1-2027-0001", "Olahan Kue dan Roti", "Roti", words("stages/registered")):
        assert secret not in other.text
    assert other.text == words("registration/nik_taken", office=OFFICE, contact=OFFICE_CONTACT)
    assert "(0285) 421234" in other.text
    assert other.buttons == []
    await assert_state_cleared(db, "someone-else")
    [application] = await all_applications(db)
    assert application.flags == [
        {"flag": "nik_claimed_elsewhere", "at": clock.now.astimezone(UTC).isoformat(), "channel": "console"}
    ]

    await other.type("/daftar")  # again (consent was given): the flag is not repeated
    await other.pick("RIAS1", "RIAS")
    await other.answer_questions()
    await other.choose("education", "sma")
    await other.type("Budi Santoso")
    await other.type(SITI_NIK)
    assert "(0285) 421234" in other.text
    [application] = await all_applications(db)
    assert len(application.flags) == 1

    await siti.type("/daftar")  # the owner hears of their own application at once
    assert "<b>BOGA1-2027-0001</b>" in siti.text and "Olahan Kue dan Roti" in siti.text
    await siti.press("Tetap yang lama")
    assert await application_count(db) == 1


# -- deep links ----------------------------------------------------------------------------------


async def test_deep_link_to_a_programme_skips_the_choices_and_records_the_source(
    siti: Resident, db: Database, words: Words
) -> None:
    await siti.start("BOGA1__poster_kel_podosugih")
    assert siti.messages[0].text == words("common/welcome", subscribed=False)
    assert siti.step == "card"
    await siti.apply()
    assert siti.text == words("eligibility/ktp_region_question", regions=["Kota Pekalongan"])
    await siti.answer_questions()
    await siti.give_details()
    await siti.submit()
    [application] = await all_applications(db)
    assert application.number == "BOGA1-2027-0001"
    assert application.source == "BOGA1__poster_kel_podosugih"
    assert [s.source for s in await screenings(db)] == ["BOGA1__poster_kel_podosugih"]


async def test_deep_link_to_a_cluster_preselects_it(siti: Resident) -> None:
    await siti.start("BOGA")
    assert siti.step == "programme"
    assert "<b>Tata Boga</b>" in siti.last.text
    assert [o.data for o in siti.options] == ["programme|BOGA1", "programme|^"]


async def test_deep_link_to_a_closed_programme_starts_at_the_cluster_choice(siti: Resident, words: Words) -> None:
    await siti.start("DSGN4")
    assert siti.step == "cluster"
    assert siti.last.text == words("registration/ask_cluster")
    assert "cluster|DESAIN" not in [o.data for o in siti.options]


async def test_unknown_deep_link_behaves_like_plain_start(conversations: Conversations) -> None:
    plain, linked = Resident(conversations, "plain"), Resident(conversations, "linked")
    await plain.start()
    await linked.start("NOPE42__whatever")
    assert [m.text for m in linked.messages] == [m.text for m in plain.messages]
    assert linked.options == plain.options
    assert linked.step == "cluster"


# -- the window closes ---------------------------------------------------------------------------


async def test_window_closing_between_summary_and_submit_refuses_the_application(
    siti: Resident, db: Database, words: Words, clock: Clock
) -> None:
    await siti.walk_to_summary()
    clock.now = datetime(2027, 1, 16, 0, 5, tzinfo=JAKARTA)  # BOGA1 closed on 15 January
    await siti.submit()
    assert siti.text == words("registration/closed_meanwhile")
    assert siti.buttons == ["🔁 Pilih pelatihan lain"]
    assert await application_count(db) == 0
    assert await last_number(db, "BOGA1") == 0
    await assert_state_cleared(db, "siti")


async def test_window_still_open_on_its_last_local_day(siti: Resident, db: Database, clock: Clock) -> None:
    await siti.walk_to_summary()
    clock.now = datetime(2027, 1, 15, 23, 55, tzinfo=JAKARTA)  # 16:55 UTC, still 15 January in Pekalongan
    await siti.submit()
    assert [a.number for a in await all_applications(db)] == ["BOGA1-2027-0001"]


async def test_programme_list_gives_the_length_in_training_days_and_weeks(siti: Resident) -> None:
    """BOGA1 runs from Monday 25 January to Friday 12 February 2027: 15 days of training, not 19."""
    await siti.type("/daftar")
    await siti.choose("cluster", "BOGA")
    assert "15 hari pelatihan (3 minggu), Senin–Jumat" in siti.text
    assert "19" not in siti.text.split("Olahan Kue dan Roti")[1].split("Kuota")[0]
