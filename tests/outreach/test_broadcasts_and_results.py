"""Segments, broadcasts and stage results: who is told what, once, through the fake Bot API."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select

from conversations.runner import Conversations
from messages.render import Templates
from outreach import broadcasts
from outreach.delivery import DeliveryLoop
from outreach.results import StageError, change_stage
from outreach.segments import Segment, SegmentError
from storage.db import Database
from storage.models import Application, Broadcast, Contact, DeliveryStatus, OutboxMessage, StaffRole, Stage
from storage.repositories import applications, contacts, staff
from tests.fakes.telegram_server import FakeTelegramServer
from tests.flow.helpers import SITI, Resident, male_nik
from tests.outreach.conftest import VirtualTime
from training.permissions import Actor, NotAllowed

WELDER = replace(SITI, full_name="Budi Santoso", nik=male_nik(1))
OPERATOR = Actor("telegram", "4242", "Bu Rina", StaffRole.OPERATOR)
ADMIN = Actor("telegram", "42", "Pak Agus", StaffRole.ADMIN)
COOK = replace(SITI, full_name="Ani Lestari", nik="3375015203950003", district="33.75.02")


async def register(conversations: Conversations, chat: str, programme: str, cluster: str, person) -> str:  # type: ignore[no-untyped-def]
    """A real registration through the conversation (on the Telegram channel, so it can be pushed to)."""
    resident = Resident(conversations, chat, channel="telegram")
    await resident.walk_to_summary(programme, cluster, person)
    await resident.submit()
    return chat


@pytest.fixture
async def people(conversations: Conversations, db: Database) -> dict[str, Contact]:
    """A welder and a cook who registered, and a subscriber who never did."""
    await register(conversations, "9001", "LAS1", "LAS", WELDER)
    await register(conversations, "9002", "BOGA1", "BOGA", COOK)
    async with db.transaction() as session:
        reader = await contacts.get_or_create(session, "telegram", "9003", language="en")
        await contacts.set_subscribed(session, reader, True)
        found = {c.chat_id: c for c in await session.scalars(select(Contact))}
    return {"welder": found["9001"], "cook": found["9002"], "reader": found["9003"]}


async def test_segments_select_by_cluster_programme_stage_district_and_graduates(
    db: Database, people: dict[str, Contact]
) -> None:
    async with db.transaction() as session:

        async def ids(text: str) -> set[str]:
            return {c.chat_id for c in await Segment.parse(text).contacts(session)}

        assert await ids("all") == {"9001", "9002", "9003"}
        assert await ids("cluster=LAS") == {"9001"}
        assert await ids("programme=BOGA1") == {"9002"}
        assert await ids("stage=registered") == {"9001", "9002"}
        assert await ids("district=33.75.02") == {"9002"}
        assert await ids("wave=1,cluster=BOGA") == {"9002"}
        assert await ids("graduates=LAS") == set()
        welder = await applications.by_number(session, "LAS1-2027-0001")
        assert welder is not None
        await applications.set_stage(session, [welder], Stage.COMPETENT, welder.created_at)
        assert await ids("graduates=LAS") == {"9001"}


def test_a_bad_segment_is_refused_with_what_is_allowed() -> None:
    with pytest.raises(SegmentError, match="unknown stage 'hired'"):
        Segment.parse("stage=hired")
    with pytest.raises(SegmentError, match="unknown key 'klaster'"):
        Segment.parse("klaster=LAS")


async def test_a_broadcast_reaches_its_segment_once_and_reports_progress(
    db: Database, people: dict[str, Contact], templates: Templates, vtime: VirtualTime
) -> None:
    async with db.transaction() as session:
        sent = await broadcasts.send(
            session,
            templates,
            OPERATOR,
            text="Pelatihan las <gelombang 2> dibuka & gratis!",
            segment=Segment.parse("cluster=LAS"),
            now=vtime.now(),
            buttons=[broadcasts.LinkButton.parse("Info|https://example.org/las")],
        )
        rows = list(await session.scalars(select(OutboxMessage)))
        progress = await broadcasts.progress(session, sent.id)
    assert sent.recipients == 1 and len([r for r in rows if r.broadcast_id == sent.id]) == 1
    message = next(r for r in rows if r.broadcast_id == sent.id)
    assert "Pelatihan las &lt;gelombang 2&gt; dibuka &amp; gratis!" in message.text
    assert message.buttons == [[{"label": "Info", "url": "https://example.org/las"}]]
    assert (progress.recipients, progress.pending, progress.done) == (1, 1, False)


async def test_an_operator_may_not_broadcast_to_everyone_and_nothing_is_stored(
    db: Database, people: dict[str, Contact], templates: Templates, vtime: VirtualTime
) -> None:
    with pytest.raises(NotAllowed, match="broadcast_all"):
        async with db.transaction() as session:
            await broadcasts.send(session, templates, OPERATOR, text="Untuk semua", segment=Segment(), now=vtime.now())
    async with db.transaction() as session:
        assert list(await session.scalars(select(Broadcast))) == []
        assert list(await session.scalars(select(OutboxMessage))) == []
        assert await staff.actions(session) == []


async def test_a_sent_broadcast_is_recorded_with_who_sent_it_and_to_whom(
    db: Database, people: dict[str, Contact], templates: Templates, vtime: VirtualTime
) -> None:
    async with db.transaction() as session:
        sent = await broadcasts.send(session, templates, ADMIN, text="Untuk semua", segment=Segment(), now=vtime.now())
        [action] = await staff.actions(session)
    assert (action.actor, action.role, action.action) == ("telegram:42", "admin", "broadcast_sent")
    assert action.target == f"broadcast {sent.id} to all subscribers, 3 recipients"
    assert sent.created_by == "telegram:42"


async def test_an_unsubscribed_person_gets_no_broadcast_but_still_gets_their_results(
    db: Database, people: dict[str, Contact], templates: Templates, vtime: VirtualTime
) -> None:
    async with db.transaction() as session:
        cook = await session.get(Contact, people["cook"].id)
        assert cook is not None
        await contacts.set_subscribed(session, cook, False)
        assert {c.chat_id for c in await Segment().contacts(session)} == {"9001", "9003"}
        application = await applications.by_number(session, "BOGA1-2027-0001")
        assert application is not None
        report = await change_stage(session, templates, [application], Stage.SELECTED, vtime.now())
    assert (report.changed, report.announced) == (1, 1)


async def test_each_stage_change_is_told_once_in_the_applicants_language(
    db: Database, people: dict[str, Contact], templates: Templates, vtime: VirtualTime
) -> None:
    async with db.transaction() as session:
        welder = await applications.by_number(session, "LAS1-2027-0001")
        assert welder is not None
        first = await change_stage(session, templates, [welder], Stage.ADMIN_PASSED, vtime.now())
        again = await change_stage(session, templates, [welder], Stage.ADMIN_PASSED, vtime.now())
        selected = await change_stage(session, templates, [welder], Stage.SELECTED, vtime.now())
        messages = list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    assert (first.announced, again.announced, selected.announced) == (1, 0, 1)
    assert [m.dedupe_key for m in messages] == [f"result:{welder.id}:admin_passed", f"result:{welder.id}:selected"]
    assert "Lolos seleksi administrasi" in messages[0].text
    assert "Selamat! Anda diterima" in messages[1].text


async def test_a_failed_check_needs_a_reason_and_the_applicant_reads_it(
    db: Database, people: dict[str, Contact], templates: Templates, vtime: VirtualTime
) -> None:
    async with db.transaction() as session:
        cook = await applications.by_number(session, "BOGA1-2027-0001")
        assert cook is not None
        with pytest.raises(StageError, match="needs a reason"):
            await change_stage(session, templates, [cook], Stage.ADMIN_FAILED, vtime.now())
        await change_stage(session, templates, [cook], Stage.ADMIN_FAILED, vtime.now(), "KTP <tidak terbaca>")
        message = await session.scalar(select(OutboxMessage))
        stored = await session.get(Application, cook.id)
    assert message is not None and "Alasan: KTP &lt;tidak terbaca&gt;" in message.text
    assert stored is not None and (stored.stage, stored.stage_reason) == (Stage.ADMIN_FAILED, "KTP <tidak terbaca>")


async def test_results_and_broadcasts_arrive_on_telegram(
    db: Database,
    people: dict[str, Contact],
    templates: Templates,
    vtime: VirtualTime,
    loop: DeliveryLoop,
    server: FakeTelegramServer,
) -> None:
    async with db.transaction() as session:
        welder = await applications.by_number(session, "LAS1-2027-0001")
        assert welder is not None
        await change_stage(session, templates, [welder], Stage.SELECTED, vtime.now())
        await broadcasts.send(
            session, templates, OPERATOR, text="Info las", segment=Segment.parse("cluster=LAS"), now=vtime.now()
        )

    stats = await loop.drain()

    assert stats.sent == 2
    texts = [m.plain_text for m in server.messages(9001)]
    assert texts[0].startswith("🎉 Selamat! Anda diterima")  # the result went first
    assert "Info las" in texts[1]
    async with db.transaction() as session:
        statuses = {m.status for m in await session.scalars(select(OutboxMessage))}
    assert statuses == {DeliveryStatus.SENT}


@pytest.mark.parametrize("segment", ["all", "programme=BOGA1"])
async def test_a_person_with_two_chats_is_counted_and_told_once_in_the_chat_used_last(
    db: Database, people: dict[str, Contact], templates: Templates, vtime: VirtualTime, segment: str
) -> None:
    async with db.transaction() as session:
        cook = await contacts.get(session, "telegram", "9002")
        assert cook is not None
        await contacts.set_subscribed(session, cook, True)
        await contacts.note_turn(session, cook, vtime.now(), "+6281234567890")  # her own number, shared
        whatsapp = await contacts.get_or_create(session, "whatsapp", "6281234567890", language="id")
        await contacts.set_subscribed(session, whatsapp, True)
        await contacts.note_turn(session, whatsapp, vtime.now() + timedelta(minutes=1), "+6281234567890")

        expected = 3 if segment == "all" else 1  # the welder, the cook (two chats), the reader
        assert await Segment.parse(segment).count(session) == expected
        sent = await broadcasts.send(
            session, templates, ADMIN, text="Info", segment=Segment.parse(segment), now=vtime.now()
        )
        rows = list(await session.scalars(select(OutboxMessage).where(OutboxMessage.broadcast_id == sent.id)))
    assert len(rows) == expected and sent.recipients == expected
    assert ("whatsapp", "6281234567890") in {(r.channel, r.chat_id) for r in rows}
    assert ("telegram", "9002") not in {(r.channel, r.chat_id) for r in rows}
