"""The terminal shows what the office pushed to it: queued like any other message, shown by the
console when it next reads, never claimed by the delivery loop."""

from __future__ import annotations

import io

from sqlalchemy import select

from conversations.io import Inbound
from conversations.runner import Conversations
from handlers.console import Console
from messages.markup import html_to_plain
from messages.render import Templates
from outreach import broadcasts
from outreach.delivery import DeliveryLoop
from outreach.outbox import Push, enqueue
from outreach.results import change_stage
from outreach.segments import Segment
from storage.db import Database
from storage.models import Contact, DeliveryStatus, Origin, OutboxMessage, StaffRole, Stage
from storage.repositories import applications, contacts
from storage.repositories import outbox as outbox_repo
from tests.fakes.telegram_server import FakeTelegramServer
from tests.flow.helpers import Resident
from tests.outreach.conftest import VirtualTime
from training.permissions import Actor

ADMIN = Actor("cli", "rina", "rina", StaffRole.ADMIN)


async def console_applicant(conversations: Conversations) -> Console:
    """Siti registered for BOGA1 in the terminal (chat "local", as `blkbot chat` names it)."""
    resident = Resident(conversations, "local", channel="console")
    await resident.walk_to_summary()
    await resident.submit()
    return Console(conversations, chat_id="local", out=io.StringIO())


async def rows(db: Database) -> list[OutboxMessage]:
    async with db.transaction() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_a_result_reaches_the_console_when_it_next_reads_and_only_once(
    db: Database, conversations: Conversations, templates: Templates, vtime: VirtualTime
) -> None:
    console = await console_applicant(conversations)
    async with db.transaction() as session:
        application = await applications.by_number(session, "BOGA1-2027-0001")
        assert application is not None
        report = await change_stage(session, templates, [application], Stage.SELECTED, vtime.now())
    assert report.announced == 1

    assert await console.show_pushes() == 1
    shown = console.out.getvalue()  # type: ignore[attr-defined]
    assert "Selamat! Anda diterima" in shown and "BOGA1-2027-0001" in shown
    assert [(r.channel, r.status) for r in await rows(db)] == [("console", DeliveryStatus.SENT)]

    assert await console.show_pushes() == 0
    assert console.out.getvalue() == shown  # type: ignore[attr-defined]


async def test_the_delivery_loop_leaves_the_consoles_messages_to_it(
    db: Database,
    conversations: Conversations,
    templates: Templates,
    loop: DeliveryLoop,
    server: FakeTelegramServer,
    vtime: VirtualTime,
) -> None:
    console = await console_applicant(conversations)
    async with db.transaction() as session:
        application = await applications.by_number(session, "BOGA1-2027-0001")
        assert application is not None
        await change_stage(session, templates, [application], Stage.SELECTED, vtime.now())

    stats = await loop.drain()

    assert (stats.sent, stats.failed) == (0, 0)
    assert server.calls_to("sendMessage") == []
    assert [r.status for r in await rows(db)] == [DeliveryStatus.PENDING]
    async with db.transaction() as session:
        assert await outbox_repo.next_due_at(session) is None  # an idle loop does not spin on it
    assert await console.show_pushes() == 1


async def test_a_reminders_answer_buttons_become_the_consoles_menu_and_links_are_printed(
    db: Database, conversations: Conversations, vtime: VirtualTime
) -> None:
    console = await console_applicant(conversations)
    async with db.transaction() as session:
        me = await contacts.get(session, "console", "local")
        assert me is not None
        buttons = [[{"label": "Hadir", "data": "@rsvp|7|yes"}, {"label": "Tidak bisa hadir", "data": "@rsvp|7|no"}]]
        await enqueue(
            session, [Push(me, Origin.REMINDER, "reminder:test", "Besok <b>tes tertulis</b>", buttons)], vtime.now()
        )
        link = [[{"label": "Info", "url": "https://disnaker.example.go.id/?a=1&b=2"}]]
        await enqueue(session, [Push(me, Origin.BROADCAST, "broadcast:test", "Bursa kerja", link)], vtime.now())

    assert await console.show_pushes() == 2

    shown = console.out.getvalue()  # type: ignore[attr-defined]
    assert "Besok tes tertulis\n  1. Hadir\n  2. Tidak bisa hadir" in shown
    assert "[Info] https://disnaker.example.go.id/?a=1&b=2" in shown
    assert console.read("1") == Inbound(choice="@rsvp|7|yes")


async def test_a_broadcast_reaches_the_console_and_its_report_does_not_wait_on_the_loop(
    db: Database, conversations: Conversations, templates: Templates, vtime: VirtualTime
) -> None:
    console = await console_applicant(conversations)
    async with db.transaction() as session:
        me = await session.scalar(select(Contact).where(Contact.channel == "console"))
        assert me is not None
        await contacts.set_subscribed(session, me, True)
        sent = await broadcasts.send(
            session, templates, ADMIN, text="Pendaftaran gelombang 2 dibuka", segment=Segment(), now=vtime.now()
        )
        waiting = await broadcasts.progress(session, sent.id)
    assert (waiting.recipients, waiting.pending, waiting.unread, waiting.done) == (1, 0, 1, True)

    assert await console.show_pushes() == 1

    assert "Pendaftaran gelombang 2 dibuka" in html_to_plain(console.out.getvalue())  # type: ignore[attr-defined]
    async with db.transaction() as session:
        read = await broadcasts.progress(session, sent.id)
    assert (read.sent, read.unread) == (1, 0)
