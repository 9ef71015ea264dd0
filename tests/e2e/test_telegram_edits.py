"""An edited Telegram message is never taken as an answer: it gets a short note and changes nothing."""

from __future__ import annotations

from sqlalchemy import select

from storage.db import Database
from storage.models import Application, Conversation
from tests.e2e.conftest import Resident
from tests.e2e.test_telegram_registration import walk_to_summary
from tests.fakes.telegram_server import FakeTelegramServer, StoredMessage

NOTE = "Pesan yang diubah tidak dibaca. Silakan ketik jawaban baru."


def typed_by(resident: Resident, server: FakeTelegramServer, text: str) -> StoredMessage:
    return next(m for m in server.history(resident.chat_id) if not m.from_bot and m.plain_text == text)


async def test_editing_an_old_message_to_ya_during_the_erase_question_erases_nothing(
    resident: Resident, server: FakeTelegramServer, db: Database
) -> None:
    await walk_to_summary(resident)
    await resident.press("✅ Kirim pendaftaran")
    await resident.type("/hapusdata")
    question = resident.last
    assert "Ya, hapus data saya" in question.button_texts

    seen = await resident.edit(typed_by(resident, server, "Siti Nur Aini"), "ya")

    assert [m.plain_text for m in seen] == [NOTE]
    assert seen[0].reply_markup is None
    async with db.transaction() as session:
        application = await session.scalar(select(Application))
    assert application is not None and application.nik == "3375015203950002" and application.anonymised_at is None
    assert question.button_texts == ["Ya, hapus data saya", "Tidak jadi"]  # still open, untouched


async def test_editing_the_name_while_the_nik_is_asked_keeps_the_stored_name(
    resident: Resident, server: FakeTelegramServer, db: Database
) -> None:
    await resident.start()
    await resident.press("Tata Boga")
    await resident.press("Olahan Kue dan Roti")
    await resident.press("✅ Daftar")
    await resident.press("✅ Setuju")
    for answer in ("Ya", "Ya", "Tidak", "Tidak"):  # KTP, health, working or studying, trained before
        await resident.press(answer)
    await resident.press("SMA / SMK / sederajat")
    await resident.type("Siti Nur Aini")
    assert "NIK" in resident.last.plain_text

    seen = await resident.edit(typed_by(resident, server, "Siti Nur Aini"), "Budi Santoso")

    assert [m.plain_text for m in seen] == [NOTE]
    async with db.transaction() as session:
        row = await session.scalar(select(Conversation).where(Conversation.chat_id == str(resident.chat_id)))
    assert row is not None and row.step == "nik"
    assert row.data["answers"]["full_name"] == "Siti Nur Aini"
    seen = await resident.type("3375 0152 0395 0002")  # the NIK question is still the one asked
    assert "lahir Minggu, 12 Maret 1995" in seen[-1].plain_text
