"""/start is shown to residents as "🏠 Mulai"; announcements come back with /langganan, so the word
"mulai" in a menu or help text never means two things."""

from __future__ import annotations

from storage.db import Database
from tests.flow.helpers import Resident, Words, contact_of


async def test_help_shows_start_as_mulai_and_langganan_for_announcements(siti: Resident) -> None:
    await siti.type("/bantuan")
    assert "/start – 🏠 mulai dari awal" in siti.text
    assert "/langganan – terima lagi" in siti.text
    assert "/mulai" not in siti.text


async def test_stopping_points_to_langganan_which_subscribes_again(siti: Resident, db: Database) -> None:
    await siti.type("/berhenti")
    assert "/langganan" in siti.text and "/mulai" not in siti.text
    assert (await contact_of(db, "siti")).subscribed is False
    await siti.type("/langganan")
    assert (await contact_of(db, "siti")).subscribed is True


async def test_after_erasure_the_mulai_button_starts_again(siti: Resident, words: Words) -> None:
    await siti.type("/hapusdata")
    await siti.press("Ya, hapus data saya")
    assert "🏠 Mulai" in siti.text and "/start" not in siti.text
    await siti.press("🏠 Mulai")
    assert siti.messages[0].text == words("common/welcome", subscribed=False)
    assert siti.step == "cluster"
