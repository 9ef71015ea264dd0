"""Documents over WhatsApp: a photo and a PDF arrive through the Cloud API's media endpoint and are
kept for the application; what is not a document gets its own answer at the documents step."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import Application, Document
from tests.flow.helpers import SITI_NIK
from tests.whatsapp.conftest import Phone, WhatsApp

pytestmark = pytest.mark.usefixtures("whatsapp")


async def send_media(siti: Phone, whatsapp: WhatsApp, kind: str, content: bytes, mime_type: str) -> None:
    media_id = whatsapp.server.add_media(content, mime_type)
    media = {"id": media_id, "mime_type": mime_type, **({"filename": "kk.pdf"} if kind == "document" else {})}
    message = {"type": kind, kind: media}
    assert (await whatsapp.server.webhook(whatsapp.server.message_value(siti.wa_id, message))).status_code == 200
    await siti.replies()


async def test_a_ktp_photo_and_a_family_card_pdf_sent_on_whatsapp_are_kept_for_the_application(
    siti: Phone, whatsapp: WhatsApp
) -> None:
    await siti.say("DAFTAR SETIR1")  # the programme's card
    await siti.press("Daftar")
    await siti.press("✅ Setuju")
    for answer in ("Ya", "Ya", "Tidak", "Tidak"):  # KTP, health, working or studying, trained before
        await siti.press(answer)
    await siti.press("SMA")
    await siti.say("Siti Nur Aini")
    await siti.say(SITI_NIK)
    await siti.press("Benar")
    await siti.say("Jl. Merdeka 5 RT 01")
    await siti.press("Pekalongan Barat")
    await siti.press("Pakai nomor ini")
    assert "KTP" in siti.last.text

    await siti.say("ini ktp saya")  # words, not a file
    assert "Dokumen 1 dari 2: *KTP*" in siti.last.text  # asked again
    sticker = {"type": "sticker", "sticker": {"id": "1", "mime_type": "image/webp"}}
    assert (await whatsapp.server.webhook(whatsapp.server.message_value(siti.wa_id, sticker))).status_code == 200
    [refused, *_] = await siti.replies()
    assert refused.text.startswith("Yang kami perlukan adalah foto atau file PDF")  # not "type your answer"
    await send_media(siti, whatsapp, "image", b"\xff\xd8 a KTP photo", "image/jpeg")
    assert "Kartu keluarga" in siti.last.text
    await send_media(siti, whatsapp, "document", b"%PDF-1.4 family card", "application/pdf")
    assert "Periksa data Anda" in siti.last.text or "Kirim pendaftaran" in str(siti.last.choices)
    await siti.press("Kirim pendaftaran")
    assert "SETIR1-2027-0001" in siti.last.text

    async with whatsapp.conversations.db.transaction() as session:
        application = await session.scalar(select(Application))
        kept = list(await session.scalars(select(Document).order_by(Document.id)))
    assert [(d.kind, d.mime_type, d.application_id) for d in kept] == [
        ("ktp", "image/jpeg", application.id),
        ("kk", "application/pdf", application.id),
    ]
    files = whatsapp.conversations.services.files
    assert [await files.get(d.key) for d in kept] == [b"\xff\xd8 a KTP photo", b"%PDF-1.4 family card"]
