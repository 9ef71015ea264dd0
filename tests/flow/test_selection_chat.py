"""The selection in the chat: the seat offer's buttons (mid-flow, a double tap, too late), /status
with the seat deadline, and /cek for staff only."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from conversations.io import Inbound
from conversations.runner import Conversations
from messages.render import Templates
from outreach.seats import seat_data
from storage.db import Database
from storage.models import Application, SeatOffer, StaffRole, Stage
from storage.repositories import catalog, contacts, staff
from tests.conftest import Clock
from tests.flow.helpers import CHANNEL, SITI, Resident, Words
from training.permissions import Actor
from training.ranking import apply_proposal, rank

BOSS = Actor("cli", "kepala", "kepala", StaffRole.ADMIN)


async def application_of(db: Database, chat_id: str, number: str, stage: Stage) -> None:
    async with db.transaction() as session:
        contact = await contacts.get_or_create(session, CHANNEL, chat_id, language="id")
        programme = await catalog.programme(session, number.split("-")[0])
        assert programme is not None
        session.add(
            Application(
                number=number,
                programme_id=programme.id,
                contact_id=contact.id,
                stage=stage,
                nik=SITI.nik,
                full_name=SITI.full_name,
            )
        )


async def selected_with_offer(db: Database, templates: Templates, clock: Clock) -> SeatOffer:
    """Siti passed the check for LAS1 and the selection run gave her a seat to confirm."""
    await application_of(db, "siti", "LAS1-2027-0001", Stage.ADMIN_PASSED)
    async with db.transaction() as session:
        proposal = await rank(session, BOSS, "LAS1")
        await apply_proposal(session, templates, BOSS, proposal, clock())
        offer = await session.scalar(select(SeatOffer))
        assert offer is not None
        return offer


async def stage_of(db: Database, number: str) -> str:
    async with db.transaction() as session:
        found = await session.scalar(select(Application.stage).where(Application.number == number))
        assert found is not None
        return found


async def test_the_seat_answer_works_mid_registration_once(
    conversations: Conversations, db: Database, templates: Templates, clock: Clock, words: Words
) -> None:
    offer = await selected_with_offer(db, templates, clock)
    siti = Resident(conversations, "siti")
    await siti.type("/status")
    assert "Menunggu konfirmasi kursi sampai <b>Sabtu, 28 November 2026 pukul 10.00 WIB</b>" in siti.text

    await siti.type("/daftar")
    await siti.press("Tarik, daftar yang baru")  # the old one is withdrawn only if the new one is sent
    await siti.pick("BOGA1", "BOGA")
    await siti.answer_questions()
    question = siti.last.text

    reply = await siti.send(Inbound(choice=seat_data(offer.id, True)))
    assert reply.chosen == "✅ Ya, saya ikut" and not reply.stale
    assert "Kursi Anda di Pengelasan SMAW Dasar (nomor LAS1-2027-0001) sudah kami catat" in reply.messages[0].text
    assert reply.messages[-1].text == question  # the registration goes on where it was
    assert await stage_of(db, "LAS1-2027-0001") == Stage.SELECTED

    reply = await siti.send(Inbound(choice=seat_data(offer.id, False)))  # a second tap, the other button
    assert (
        "Anda sudah menjawab untuk Pengelasan SMAW Dasar (nomor LAS1-2027-0001): Anda ikut." in reply.messages[0].text
    )
    assert await stage_of(db, "LAS1-2027-0001") == Stage.SELECTED
    await siti.type("/status")
    assert "Menunggu konfirmasi kursi" not in siti.text


async def test_a_press_after_the_deadline_is_answered_gently_and_frees_the_seat(
    conversations: Conversations, db: Database, templates: Templates, clock: Clock
) -> None:
    offer = await selected_with_offer(db, templates, clock)
    clock.now = clock.now + timedelta(days=3, minutes=1)
    siti = Resident(conversations, "siti")
    reply = await siti.send(Inbound(choice=seat_data(offer.id, True)))
    assert (
        "batas waktu konfirmasi kursi Pengelasan SMAW Dasar (nomor LAS1-2027-0001) sudah lewat"
        in reply.messages[0].text
    )
    assert await stage_of(db, "LAS1-2027-0001") == Stage.WITHDRAWN


async def test_someone_elses_or_a_forged_seat_button_is_stale(
    conversations: Conversations, db: Database, templates: Templates, clock: Clock, words: Words
) -> None:
    offer = await selected_with_offer(db, templates, clock)
    ani = Resident(conversations, "ani")
    for data in (seat_data(offer.id, False), "@seat|x.y", seat_data(offer.id + 1, True)):
        reply = await ani.send(Inbound(choice=data))
        assert reply.stale and reply.messages[0].text == words("common/stale_button")
    assert await stage_of(db, "LAS1-2027-0001") == Stage.SELECTED


async def test_staff_check_with_cek_and_residents_cannot(
    conversations: Conversations, db: Database, words: Words
) -> None:
    await application_of(db, "siti", "LAS1-2027-0001", Stage.REGISTERED)
    async with db.transaction() as session:
        await staff.add(session, CHANNEL, "rina", "Bu Rina", StaffRole.OPERATOR)
    siti = Resident(conversations, "siti")
    await siti.type("/cek LAS1-2027-0001 lolos")
    assert siti.text.startswith(words("common/unknown_command", command="cek"))
    assert await stage_of(db, "LAS1-2027-0001") == Stage.REGISTERED

    rina = Resident(conversations, "rina")
    await rina.type("/cek LAS1-2027-0001 gagal")
    assert "a failed check needs a reason" in rina.text and "Cara memakai" in rina.text
    await rina.type("/cek LAS1-2027-0001 gagal dokumen KTP tidak terbaca")
    assert (
        "LAS1-2027-0001 (Siti Nur Aini): <b>tidak lolos</b> seleksi administrasi – "
        "Dokumen belum lengkap: KTP tidak terbaca"
    ) in rina.text
    assert await stage_of(db, "LAS1-2027-0001") == Stage.ADMIN_FAILED
