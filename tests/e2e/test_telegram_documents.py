"""Documents on Telegram: real python-telegram-bot fetching the files from the fake Bot API server."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from conversations.context import Services
from conversations.runner import Conversations
from storage.db import Database
from storage.files import LocalFolderStore
from storage.models import Application, Document
from tests.conftest import Clock
from tests.e2e.conftest import Resident, start_bot, stop_bot
from tests.fakes.telegram_server import FakeTelegramServer
from training.documents import open_document
from training.permissions import Actor

PHOTO = b"\xff\xd8\xff\xe0" + b"ktp photo" * 100
PDF = b"%PDF-1.4 family card"
STAFF = Actor("cli", "rina", "rina", "operator")


@pytest.fixture
def store(tmp_path) -> LocalFolderStore:  # type: ignore[no-untyped-def]
    return LocalFolderStore(tmp_path / "documents")


@pytest.fixture
async def resident(server: FakeTelegramServer, db: Database, templates, clock: Clock, store):  # type: ignore[no-untyped-def]
    from tests.conftest import JAKARTA

    conversations = Conversations(db, Services(templates=templates, timezone=JAKARTA, clock=clock, files=store))
    app = await start_bot(conversations, server)
    yield Resident(server, 7001)
    await stop_bot(app)


async def walk_to_documents(resident: Resident) -> None:
    await resident.start()
    await resident.press("Menjahit")
    await resident.press("Menjahit Busana Muslim")
    await resident.press("✅ Daftar")
    await resident.press("✅ Setuju")
    for answer in ("Ya", "Ya", "Tidak", "Tidak"):  # KTP, health, working or studying, trained before
        await resident.press(answer)
    await resident.press("SMA / SMK / sederajat")
    await resident.type("Siti Nur Aini")
    await resident.type("3375015203950002")
    await resident.press("✅ Benar")
    await resident.type("Jl. Merdeka 5 RT 01/RW 02")
    await resident.press("Pekalongan Barat")
    seen = await resident.share_phone("6281234567890")
    assert "Dokumen 1 dari 4: KTP" in seen[-1].plain_text


async def test_photo_accepted_sticker_and_large_file_refused_then_read_by_staff(
    resident: Resident, server: FakeTelegramServer, db: Database, store: LocalFolderStore
) -> None:
    await walk_to_documents(resident)

    seen = await resident._turn(server.send_sticker(resident.chat_id))
    assert "foto atau file PDF" in seen[0].plain_text
    assert "Dokumen 1 dari 4: KTP" in seen[-1].plain_text

    seen = await resident._turn(server.send_photo(resident.chat_id, PHOTO))
    assert "Dokumen 2 dari 4: Kartu keluarga (KK)" in seen[-1].plain_text

    big = await resident._turn(
        server.send_document(
            resident.chat_id, b"%PDF-1.4 big", file_name="kk.pdf", mime_type="application/pdf", size=8 * 1024 * 1024
        )
    )
    assert "terlalu besar (8.0 MB). Batasnya 5 MB" in big[0].plain_text.replace(",", ".")
    video = await resident._turn(
        server.send_document(resident.chat_id, b"", file_name="kk.mp4", mime_type="video/mp4", size=30 * 1024 * 1024)
    )
    assert "Video tidak bisa kami terima" in video[0].plain_text
    assert len(server.file_downloads) == 1  # only the photo: the large file and the video were never fetched

    await resident._turn(server.send_document(resident.chat_id, PDF, file_name="kk.pdf", mime_type="application/pdf"))
    await resident.press("⏳ Nanti saja")  # diploma
    seen = await resident.press("⏳ Nanti saja")  # photo
    summary = seen[-1].plain_text
    assert "KTP: ✅ diterima" in summary and "Ijazah terakhir: ⏳ dikirim nanti" in summary

    seen = await resident.press("✅ Kirim pendaftaran")
    assert "Dokumen yang belum dikirim: Ijazah terakhir, Pas foto" in seen[0].plain_text

    async with db.transaction() as session:
        application = await session.scalar(select(Application))
        rows = list(await session.scalars(select(Document).order_by(Document.id)))
        assert application is not None
        assert [(d.kind, d.application_id, d.mime_type) for d in rows] == [
            ("ktp", application.id, "image/jpeg"),
            ("kk", application.id, "application/pdf"),
        ]
        document, content = await open_document(session, store, STAFF, application.number, "ktp")
    assert content == PHOTO and document.size == len(PHOTO)
    assert sorted(await store.list()) == sorted(d.key for d in rows)
    assert all("siti" not in d.key and "3375" not in d.key for d in rows)


async def test_missing_document_sent_later_from_status_and_erasure_deletes_files(
    resident: Resident, server: FakeTelegramServer, db: Database, store: LocalFolderStore
) -> None:
    await walk_to_documents(resident)
    await resident._turn(server.send_photo(resident.chat_id, PHOTO))
    for _ in range(3):
        await resident.press("⏳ Nanti saja")
    await resident.press("✅ Kirim pendaftaran")

    seen = await resident.type("/status")
    assert "Dokumen yang kurang: Kartu keluarga (KK), Ijazah terakhir, Pas foto" in seen[0].plain_text
    seen = await resident.press("📎 Kirim dokumen yang kurang (JAHIT1-2027-0001)")
    assert "Kartu keluarga (KK)" in seen[-1].plain_text
    await resident._turn(server.send_document(resident.chat_id, PDF, file_name="kk.pdf", mime_type="application/pdf"))
    await resident.press("⏳ Nanti saja")
    seen = await resident.press("⏳ Nanti saja")
    assert "masih kurang: Ijazah terakhir, Pas foto" in seen[-1].plain_text

    async with db.transaction() as session:
        kinds = [d.kind for d in await session.scalars(select(Document).order_by(Document.id))]
    assert kinds == ["ktp", "kk"]
    assert len(await store.list()) == 2

    await resident.type("/hapusdata")
    before = {m.message_id for m in server.messages(resident.chat_id)}
    await server.click(resident.chat_id, "Ya, hapus data saya")
    await server.wait_for_message(resident.chat_id, predicate=lambda m: m.message_id not in before)
    async with db.transaction() as session:
        assert list(await session.scalars(select(Document))) == []
    assert await store.list() == []
