"""/dataku shows everything stored about the person, in words: a flow test through the engine."""

from __future__ import annotations

from dataclasses import replace

from conversations.io import Attachment, Inbound
from conversations.runner import Conversations
from outreach import schedule
from outreach.results import change_stage
from storage.db import Database
from storage.models import StaffRole, Stage
from storage.repositories import applications, events, participants
from tests.conftest import NOW
from tests.flow.helpers import SITI, Resident, all_applications, male_nik
from training.permissions import Actor

BUDI = replace(SITI, full_name="Budi Santoso", nik=male_nik(7, region="3374"))
"""From Kota Semarang (33.74): his application is flagged for staff, not refused."""


async def test_my_data_shows_declarations_flags_reasons_attendance_past_records_and_the_registration_in_progress(
    conversations: Conversations, db: Database, templates
) -> None:  # type: ignore[no-untyped-def]
    budi = Resident(conversations, "budi")
    await budi.walk_to_summary("LAS1", "LAS", BUDI)
    await budi.submit()
    [application] = await all_applications(db)
    assert application.flags == ["nik_region_outside"]
    async with db.transaction() as session:
        found = await applications.by_number(session, application.number)
        await change_stage(session, templates, [found], Stage.ADMIN_PASSED, NOW, "Berkas lengkap, bawa KTP asli")  # type: ignore[list-item]
        event = (
            await schedule.add_event(
                session,
                templates,
                Actor("cli", "rina", "rina", StaffRole.ADMIN),
                programme_code="LAS1",
                kind="written_test",
                starts_local=NOW.replace(tzinfo=None, year=2027, month=1, day=20, hour=8),
                place="Ruang 2",
                bring=None,
                stages=(Stage.ADMIN_PASSED,),
                now=NOW,
            )
        ).event
        await events.upsert_attendance(session, event.id, application.id, True, NOW)
        await participants.upsert(session, [{"nik": BUDI.nik, "name": "Budi Santoso", "year": 2021}])
    await budi.type("/berhenti")
    # A second registration, as far as the address.
    await budi.type("/daftar")
    await budi.press("Tarik, daftar yang baru")  # one application at a time: this one replaces it
    await budi.pick("BOGA1", "BOGA")
    await budi.answer_questions()
    await budi.choose("education", "smp")
    await budi.type("Budi S")

    await budi.type("/dataku")

    text = budi.messages[0].text
    for shown in (
        "LAS1-2027-0001",
        "NIK: " + BUDI.nik,
        "Apakah kondisi kesehatan Anda saat ini <b>memungkinkan untuk mengikuti pelatihan ini</b> setiap hari sampai selesai? Ya",  # a declaration, in words
        "Apakah saat ini Anda <b>sedang bekerja</b> atau <b>sedang kuliah</b>? Tidak",  # as asked, not as stored
        "NIK dari luar wilayah KTP yang diminta program",  # the flag
        "Catatan petugas: Berkas lengkap, bawa KTP asli",
        "📅 Tes Tertulis, Rabu, 20 Januari 2027",
        ": Hadir",
        "peserta pelatihan lama milik kantor: Budi Santoso, tahun 2021",
        "Pengumuman (siaran umum, lowongan): Anda tidak menerimanya",
        "• Bidang: Tata Boga",
        "• Pelatihan: BOGA1",
        "• Pendidikan: SMP",
        "• Nama: Budi S",
        "sedang kuliah</b>?: Tidak",  # the registration in progress, as answered
    ):
        assert shown in text, shown


async def test_my_data_lists_the_documents_sent_and_those_still_missing(
    conversations: Conversations, db: Database
) -> None:
    """SETIR1 asks for a KTP and a family card: one sent during the registration, the other put off."""
    siti = Resident(conversations, "siti")
    await siti.type("/daftar")
    await siti.pick("SETIR1", "MENGEMUDI")
    await siti.answer_questions()
    await siti.give_details(SITI)
    assert siti.step == "doc_ktp"
    await siti.send(Inbound(attachment=Attachment("image", "image/jpeg", b"\xff\xd8 ktp photo")))

    await siti.type("/dataku")  # in the middle of the registration: the KTP is already kept

    assert "📎 Dokumen yang sudah Anda kirim untuk pendaftaran ini: KTP (25 Nov 2026)" in siti.text

    await siti.type("/daftar")
    while siti.step != "summary":
        await siti.press("⏳ Nanti saja")
    await siti.submit()
    await siti.type("/dataku")

    assert "📎 Dokumen terkirim: KTP (25 Nov 2026)" in siti.text
    assert "📎 Dokumen belum dikirim: Kartu keluarga (KK)" in siti.text
