"""Staff access is checked on every staff step, against the database: a removal or a lower role
takes effect at the next button press, and residents can never reach a staff action."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
from sqlalchemy import event, select

from conversations.commands import build_engine
from conversations.context import Context, Services
from conversations.engine import Engine, StaffButton, State
from conversations.io import Inbound, Reply
from conversations.runner import Conversations
from messages.render import Templates
from storage.db import Database
from storage.models import Broadcast, OutboxMessage, StaffRole
from storage.repositories import contacts, staff
from tests.conftest import JAKARTA, NOW, Clock
from tests.flow.helpers import CHANNEL, SITI, Resident, Words, contact_of, conversation_of, male_nik
from training import staff as staff_service
from training.permissions import Actor, Permission

BOSS = Actor("cli", "kepala", "kepala", StaffRole.ADMIN)
"""Who removes or demotes staff in these tests, as `blkbot staff remove|add` does."""


@pytest.fixture
def words(templates: Templates) -> Words:
    return Words(templates)


@pytest.fixture
def conversations(db: Database, templates: Templates, clock: Clock) -> Conversations:
    return Conversations(db, Services(templates=templates, timezone=JAKARTA, clock=clock))


async def make_staff(db: Database, user_id: str, role: StaffRole) -> None:
    async with db.transaction() as session:
        await staff.add(session, CHANNEL, user_id, "Bu Rina", role)


async def welder(conversations: Conversations) -> None:
    """A resident registered for LAS1 on Telegram (subscribed, so broadcasts reach them)."""
    resident = Resident(conversations, "9001", channel="telegram")
    await resident.walk_to_summary("LAS1", "LAS", replace(SITI, full_name="Budi Santoso", nik=male_nik(1)))
    await resident.submit()


async def subscriber(db: Database, chat_id: str) -> None:
    async with db.transaction() as session:
        await contacts.set_subscribed(
            session, await contacts.get_or_create(session, "telegram", chat_id, language="id"), True
        )


async def compose(petugas: Resident, target: str, value: str | None = None) -> None:
    """/siaran up to the preview with its "Kirim" button."""
    await petugas.type("/siaran")
    await petugas.type("Pendaftaran gelombang 2 dibuka")
    await petugas.choose("siaran_target", target)
    if value is not None:
        await petugas.choose("siaran_value", value)
    assert petugas.step == "siaran_confirm", petugas.text


async def sent(db: Database) -> tuple[list[Broadcast], list[OutboxMessage]]:
    async with db.transaction() as session:
        return list(await session.scalars(select(Broadcast))), list(await session.scalars(select(OutboxMessage)))


async def test_staff_removed_before_pressing_kirim_sends_nothing(
    conversations: Conversations, db: Database, words: Words, caplog: pytest.LogCaptureFixture
) -> None:
    await subscriber(db, "9003")
    await make_staff(db, "petugas", StaffRole.ADMIN)
    petugas = Resident(conversations, "petugas")
    await compose(petugas, "all")

    async with db.transaction() as session:  # as `blkbot staff remove petugas` does
        await staff_service.remove(session, BOSS, channel=CHANNEL, user_id="petugas", configured={}, now=NOW)
    with caplog.at_level(logging.WARNING):
        await petugas.choose("siaran_confirm", "ok")

    assert petugas.text == words("staff/access_gone")
    assert await sent(db) == ([], [])
    conversation = await conversation_of(db, "petugas")
    assert conversation is not None and (conversation.flow, conversation.data) == (None, {})
    contact = await contact_of(db, "petugas")
    assert (
        f"contact {contact.id}: staff broadcast_segment refused (no longer staff), flow broadcast ended" in caplog.text
    )


async def test_staff_removed_mid_flow_cannot_go_on_typing(
    conversations: Conversations, db: Database, words: Words
) -> None:
    await make_staff(db, "petugas", StaffRole.OPERATOR)
    petugas = Resident(conversations, "petugas")
    await petugas.type("/siaran")
    async with db.transaction() as session:
        await staff_service.remove(session, BOSS, channel=CHANNEL, user_id="petugas", configured={}, now=NOW)

    await petugas.type("Pengumuman penting")

    assert petugas.text == words("staff/access_gone")
    conversation = await conversation_of(db, "petugas")
    assert conversation is not None and conversation.flow is None


async def test_a_removed_staff_member_is_refused_a_staff_command_at_once(
    conversations: Conversations, db: Database, words: Words
) -> None:
    await make_staff(db, "petugas", StaffRole.OPERATOR)
    petugas = Resident(conversations, "petugas")
    await petugas.type("/jadwal")  # recognised as staff (the directory's cache now holds them)
    assert petugas.text.startswith("📅 <b>Jadwal mendatang</b>")
    async with db.transaction() as session:
        await staff_service.remove(session, BOSS, channel=CHANNEL, user_id="petugas", configured={}, now=NOW)

    await petugas.type("/siaran")
    assert petugas.text == words("staff/access_gone")
    await petugas.type("/jadwal")  # what any resident sees: their own schedule
    assert petugas.text.startswith("📅 <b>Jadwal Anda</b>")


async def test_an_operator_cannot_broadcast_to_everyone_but_can_to_a_programme(
    conversations: Conversations, db: Database, words: Words
) -> None:
    await make_staff(db, "petugas", StaffRole.OPERATOR)  # before any turn fills the staff directory's cache
    await welder(conversations)
    await subscriber(db, "9003")
    petugas = Resident(conversations, "petugas")
    await petugas.type("/siaran")
    await petugas.type("Tes tertulis LAS1 hari Senin")
    assert "siaran_target|all" not in [o.data for o in petugas.options]

    await petugas.send(Inbound(choice="siaran_target|all"))  # a forged or old "everyone" button
    assert words("common/option_gone") in petugas.text
    assert await sent(db) == ([], [])

    await petugas.choose("siaran_target", "programme")
    await petugas.choose("siaran_value", "LAS1")
    await petugas.choose("siaran_confirm", "ok")

    broadcasts, outbox = await sent(db)
    assert [(b.segment, b.recipients, b.created_by) for b in broadcasts] == [
        ({"programme": "LAS1"}, 1, f"{CHANNEL}:petugas")
    ]
    assert len(outbox) == 1
    async with db.transaction() as session:
        [action] = await staff.actions(session)
    assert (action.actor, action.role, action.action) == (f"{CHANNEL}:petugas", "operator", "broadcast_sent")


async def test_an_admin_demoted_before_kirim_cannot_send_to_everyone(
    conversations: Conversations, db: Database, words: Words
) -> None:
    await subscriber(db, "9003")
    await make_staff(db, "petugas", StaffRole.ADMIN)
    petugas = Resident(conversations, "petugas")
    await compose(petugas, "all")
    async with db.transaction() as session:
        await staff_service.add(
            session, BOSS, channel=CHANNEL, user_id="petugas", name="Bu Rina", role=StaffRole.OPERATOR, now=NOW
        )

    await petugas.choose("siaran_confirm", "ok")

    assert petugas.text == words("staff/not_allowed", role="operator")
    assert await sent(db) == ([], [])
    conversation = await conversation_of(db, "petugas")
    assert conversation is not None and conversation.flow is None


@pytest.mark.parametrize("forged", ["siaran_confirm|ok", "siaran_target|all", "/siaran"])
async def test_a_resident_pressing_a_staff_button_gets_the_stale_or_unknown_answer(
    conversations: Conversations, db: Database, words: Words, forged: str
) -> None:
    await subscriber(db, "9003")
    siti = Resident(conversations, "siti")
    await siti.start()

    reply = await siti.send(Inbound(choice=forged))

    if forged.startswith("/"):
        assert siti.messages[0].text == words("common/unknown_command", command="siaran")
    else:
        assert reply.stale and siti.messages[0].text == words("common/stale_button")
    assert await sent(db) == ([], [])
    conversation = await conversation_of(db, "siti")
    assert conversation is not None and conversation.flow == "registration"


@contextmanager
def staff_queries(db: Database) -> Iterator[list[str]]:
    """The statements that read the staff table while the block runs."""
    seen: list[str] = []

    def note(conn, cursor, statement: str, *args) -> None:  # type: ignore[no-untyped-def]
        if "FROM staff" in statement:
            seen.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", note)


async def test_a_residents_turn_reads_no_staff_and_a_staff_turn_reads_one_row(
    conversations: Conversations, db: Database
) -> None:
    await make_staff(db, "petugas", StaffRole.OPERATOR)
    siti, petugas = Resident(conversations, "siti"), Resident(conversations, "petugas")
    await siti.start()  # the first turn fills the staff directory's cache
    await petugas.type("/siaran")

    with staff_queries(db) as resident_reads:
        await siti.choose("cluster", "LAS")
    with staff_queries(db) as staff_reads:
        await petugas.type("Pengumuman")

    assert resident_reads == []
    assert len(staff_reads) == 1


async def test_a_staff_button_runs_for_staff_only_and_stops_once_access_is_gone(
    db: Database, templates: Templates, clock: Clock, words: Words
) -> None:
    pressed: list[str] = []

    async def probe(engine: Engine, ctx: Context, state: State, payload: str) -> Reply:
        pressed.append(payload)
        return Reply([ctx.say("common/menu")])

    engine = build_engine()
    engine.staff_buttons["probe"] = StaffButton(probe, Permission.MANAGE_EVENTS)
    conversations = Conversations(db, Services(templates=templates, timezone=JAKARTA, clock=clock), engine)
    await make_staff(db, "petugas", StaffRole.OPERATOR)
    petugas, siti = Resident(conversations, "petugas"), Resident(conversations, "siti")

    await petugas.send(Inbound(choice="@probe|12"))
    reply = await siti.send(Inbound(choice="@probe|13"))  # forged: residents never get this button
    assert reply.stale and siti.messages[0].text == words("common/stale_button")
    async with db.transaction() as session:
        await staff_service.remove(session, BOSS, channel=CHANNEL, user_id="petugas", configured={}, now=NOW)
    await petugas.send(Inbound(choice="@probe|14"))

    assert pressed == ["12"]
    assert petugas.text == words("staff/access_gone")
