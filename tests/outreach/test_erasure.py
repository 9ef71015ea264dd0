"""/hapusdata and /berhenti against the outbox: what still reaches a person, and what is left of them.

An erased person gets nothing more, whatever was queued for them, and no table keeps their
personal data; a person who sent /berhenti gets no announcements but still hears about their own
application. Both are checked when a row is enqueued and again when the delivery loop claims it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from conversations.runner import Conversations
from messages.render import Templates
from outreach import broadcasts
from outreach.delivery import DeliveryLoop
from outreach.outbox import Push, enqueue
from outreach.results import change_stage
from outreach.segments import Segment
from storage.db import Database
from storage.models import (
    Application,
    Base,
    Contact,
    DeliveryStatus,
    MessageKind,
    Origin,
    OutboxMessage,
    StaffRole,
    Stage,
)
from storage.repositories import applications, contacts, outbox
from storage.repositories.outbox import ERASED, UNSUBSCRIBED, NewMessage
from tests.conftest import JAKARTA
from tests.fakes.telegram_server import FakeTelegramServer
from tests.flow.helpers import SITI, Resident
from tests.outreach.conftest import VirtualTime
from tests.outreach.test_reminders import add_event, run
from training.permissions import Actor

ADMIN = Actor("telegram", "42", "Pak Agus", StaffRole.ADMIN)

CHAT = "9101"
SOURCE = "LAS1__poster_kel_podosugih"
REASON = "Siti Nur Aini: KTP Jl. Merdeka 5 RT 01 buram"


async def registered(conversations: Conversations, chat: str = CHAT) -> Resident:
    """Siti registers for LAS1 through a poster's deep link, on Telegram so she can be pushed to."""
    resident = Resident(conversations, chat, channel="telegram")
    await resident.start(SOURCE)  # the programme's card
    await resident.apply()
    await resident.answer_questions()
    await resident.give_details(SITI)
    await resident.submit()
    return resident


async def application_of(db: Database, contact_id: int) -> Application:
    async with db.transaction() as session:
        found = await applications.for_contacts(session, [contact_id])
    assert len(found) == 1
    return found[0]


async def contact(db: Database, chat: str = CHAT) -> Contact:
    async with db.transaction() as session:
        found = await contacts.get(session, "telegram", chat)
    assert found is not None
    return found


async def outbox_rows(db: Database) -> list[OutboxMessage]:
    async with db.transaction() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def everything_stored(db: Database, *, but: tuple[str, ...] = ()) -> str:
    """Every value of every row of every table (but those named), as one text to search."""
    async with db.transaction() as session:
        cells = []
        for table in Base.metadata.sorted_tables:
            if table.name in but:
                continue
            for row in (await session.execute(select(table))).all():
                cells.extend(repr(value) for value in row)
    return "\n".join(cells)


async def test_an_erased_person_gets_nothing_queued_and_no_table_keeps_their_data(
    db: Database,
    conversations: Conversations,
    templates: Templates,
    vtime: VirtualTime,
    loop: DeliveryLoop,
    server: FakeTelegramServer,
) -> None:
    siti = await registered(conversations)
    person = await contact(db)
    application = await application_of(db, person.id)
    assert application.source == SOURCE
    async with db.transaction() as session:
        found = await applications.by_number(session, application.number)
        await change_stage(session, templates, [found], Stage.ADMIN_PASSED, vtime.now(), REASON)  # type: ignore[list-item]
    await loop.drain()  # the result goes out: its text quotes the staff's reason
    assert len(server.messages(int(CHAT))) == 1
    await add_event(db, stages=(Stage.ADMIN_PASSED,))
    assert (await run(db, templates, datetime(2027, 1, 19, 17, 0, tzinfo=JAKARTA)))["enqueued"] == 1
    async with db.transaction() as session:
        await broadcasts.send(
            session, templates, ADMIN, text="Pelatihan baru dibuka", segment=Segment(), now=vtime.now()
        )
    queued = [r for r in await outbox_rows(db) if r.status == DeliveryStatus.PENDING]
    # The event's invitation, its reminder, the broadcast.
    assert sorted(r.origin for r in queued) == [Origin.BROADCAST, Origin.EVENT, Origin.REMINDER]
    # Siti half-starts a second registration, as far as her name, then asks to be erased.
    await siti.type("/daftar")
    await siti.press("Tarik, daftar yang baru")  # one application at a time: this one replaces it
    await siti.pick("BOGA1", "BOGA")
    await siti.answer_questions()
    await siti.choose("education", SITI.education)
    await siti.type(SITI.full_name)
    await siti.type("/hapusdata")
    await siti.press("Ya")

    vtime.advance(3600)
    await loop.drain()

    assert len(server.messages(int(CHAT))) == 1  # the result sent before, nothing since
    rows = await outbox_rows(db)
    assert [(r.status, r.last_error) for r in rows if r.origin != Origin.RESULT] == [
        (DeliveryStatus.CANCELLED, ERASED)
    ] * 3  # the event's invitation and reminder, and the broadcast
    assert {(r.text, str(r.buttons)) for r in rows} == {("", "[]")}
    stored = await everything_stored(db)
    phone = "81234567890"  # in any form: 0812…, +62812…
    for personal in (SITI.nik, SITI.full_name, SITI.address, phone, REASON):
        assert personal not in stored, personal
    # The poster's code stays only in the screenings, the office's demand figures, which point at no one.
    assert SOURCE not in await everything_stored(db, but=("screenings",))


async def test_a_row_queued_for_someone_who_then_erased_is_cancelled_when_claimed(
    db: Database, conversations: Conversations, vtime: VirtualTime, loop: DeliveryLoop, server: FakeTelegramServer
) -> None:
    await registered(conversations)
    person = await contact(db)
    async with db.transaction() as session:
        await contacts.erase(session, await session.get(Contact, person.id), vtime.now())  # type: ignore[arg-type]
        # As a staff transaction that read her before the erasure committed would have written it:
        await outbox.insert_new(
            session,
            [NewMessage(person.id, "telegram", CHAT, "result", MessageKind.APPLICATION, "r:1", "Lolos", [], 1)],
            vtime.now(),
        )

    stats = await loop.drain()

    assert stats.sent == 0 and server.messages(int(CHAT)) == []
    assert [(r.status, r.last_error) for r in await outbox_rows(db)] == [(DeliveryStatus.CANCELLED, ERASED)]


async def test_a_person_who_erased_and_consents_again_is_pushed_to_again(
    db: Database, conversations: Conversations, templates: Templates, vtime: VirtualTime, loop: DeliveryLoop
) -> None:
    siti = await registered(conversations)
    await siti.type("/hapusdata")
    await siti.press("Ya")
    assert (await contact(db)).erased_at is not None
    await registered(conversations)
    person = await contact(db)
    assert person.erased_at is None
    async with db.transaction() as session:
        found = await applications.for_contacts(session, [person.id])
        await change_stage(session, templates, found, Stage.SELECTED, vtime.now())

    assert (await loop.drain()).sent == 1


async def test_berhenti_stops_announcements_but_not_news_of_ones_own_application(
    db: Database,
    conversations: Conversations,
    templates: Templates,
    vtime: VirtualTime,
    loop: DeliveryLoop,
    server: FakeTelegramServer,
) -> None:
    siti = await registered(conversations)
    person = await contact(db)
    async with db.transaction() as session:
        queued_before = await broadcasts.send(
            session, templates, ADMIN, text="Info umum", segment=Segment(), now=vtime.now()
        )
        await enqueue(session, [Push(person, Origin.VACANCY, "vacancy:1:x", "Lowongan")], vtime.now())
    await siti.type("/berhenti")
    assert "Pesan tentang pendaftaran Anda sendiri tetap dikirim" in siti.text
    async with db.transaction() as session:
        to_all = await broadcasts.send(
            session, templates, ADMIN, text="Info umum 2", segment=Segment(), now=vtime.now()
        )
        to_programme = await broadcasts.send(
            session,
            templates,
            ADMIN,
            text="Tes tertulis LAS1 pindah ke Ruang 3",
            segment=Segment.parse("programme=LAS1"),
            now=vtime.now(),
        )
        found = await applications.for_contacts(session, [person.id])
        await change_stage(session, templates, found, Stage.SELECTED, vtime.now())
    assert (to_all.recipients, to_programme.recipients) == (0, 1)

    stats = await loop.drain()

    texts = [m.plain_text for m in server.messages(int(CHAT))]
    assert stats.sent == 2 and len(texts) == 2
    assert texts[0].startswith("🎉 Selamat! Anda diterima") and "Ruang 3" in texts[1]
    rows = {r.dedupe_key: r for r in await outbox_rows(db)}
    for key in (f"broadcast:{queued_before.id}:{person.id}", "vacancy:1:x"):
        assert (rows[key].status, rows[key].last_error) == (DeliveryStatus.CANCELLED, UNSUBSCRIBED)
    assert rows[f"broadcast:{to_programme.id}:{person.id}"].kind == MessageKind.APPLICATION


@pytest.mark.parametrize(
    ("segment", "kind"),
    [
        ("all", MessageKind.ANNOUNCEMENT),
        ("cluster=LAS", MessageKind.ANNOUNCEMENT),
        ("district=33.75.01", MessageKind.ANNOUNCEMENT),
        ("graduates=LAS", MessageKind.ANNOUNCEMENT),
        ("programme=LAS1", MessageKind.APPLICATION),
        ("cluster=LAS,stage=selected", MessageKind.APPLICATION),
    ],
)
def test_a_segment_naming_a_programme_or_a_stage_is_about_the_application(segment: str, kind: MessageKind) -> None:
    assert Segment.parse(segment).kind is kind


async def test_several_refused_rows_do_not_stop_a_batch_short(
    db: Database, conversations: Conversations, vtime: VirtualTime
) -> None:
    await registered(conversations)
    person = await contact(db)
    async with db.transaction() as session:
        await outbox.insert_new(
            session,
            [
                NewMessage(person.id, "telegram", CHAT, "broadcast", kind, f"k{i}", "t", [], 6)
                for i, kind in enumerate([MessageKind.ANNOUNCEMENT] * 3 + [MessageKind.APPLICATION] * 2)
            ],
            vtime.now(),
        )
        await contacts.set_subscribed(session, await session.get(Contact, person.id), False)  # type: ignore[arg-type]
    async with db.transaction() as session:
        claimed = await outbox.claim_due(session, now=vtime.now(), worker="w", lease=timedelta(minutes=1), limit=2)
    assert [m.dedupe_key for m in claimed] == ["k3", "k4"]
