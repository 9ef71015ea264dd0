"""A registration left unfinished loses its answers after BLKBOT_ABANDONED_AFTER_DAYS; the resident
who comes back is told and starts afresh. Time is the tests' hand-moved clock."""

from __future__ import annotations

from datetime import timedelta

from bot.scheduler import expire_abandoned
from conversations.runner import Conversations
from storage.db import Database
from tests.conftest import Clock
from tests.flow.helpers import SITI, Resident, Words, conversation_of

THIRTY_DAYS = timedelta(days=30)


async def half_registered(conversations: Conversations, chat: str) -> Resident:
    """As far as the NIK: name and NIK are in the conversation state."""
    resident = Resident(conversations, chat)
    await resident.type("/daftar")
    await resident.pick("BOGA1", "BOGA")
    await resident.answer_questions()
    await resident.choose("education", SITI.education)
    await resident.type(SITI.full_name)
    await resident.type(SITI.nik)
    return resident


async def test_an_abandoned_registration_is_forgotten_and_the_resident_starts_afresh(
    conversations: Conversations, db: Database, clock: Clock, words: Words
) -> None:
    siti = await half_registered(conversations, "siti")
    clock.now += timedelta(days=10)
    ani = await half_registered(conversations, "ani")
    row = await conversation_of(db, "siti")
    assert row is not None and row.data["answers"]["nik"] == SITI.nik

    clock.now += timedelta(days=21)  # siti: 31 days since her last answer, ani: 21
    assert await expire_abandoned(db, THIRTY_DAYS, now=clock.now) == 1

    row = await conversation_of(db, "siti")
    assert (
        row is not None and row.flow is None and SITI.nik not in str(row.data) and SITI.full_name not in str(row.data)
    )
    kept = await conversation_of(db, "ani")
    assert kept is not None and kept.data["answers"]["nik"] == SITI.nik
    await siti.press("Benar")  # the birth-date question she left open
    assert siti.messages[0].text == words("common/registration_expired")
    await siti.type("/daftar")
    assert siti.step == "cluster" and siti.messages[0].text != words("common/registration_expired")
    await ani.press("Benar")
    assert ani.step == "address"
