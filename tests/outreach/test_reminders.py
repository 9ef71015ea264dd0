"""Schedule reminders: when they fall due (WIB, WITA), who gets them, the answers and the staff's view.

Every test runs on SQLite and PostgreSQL (the `db` fixture). Time is the tests' clock: no test
sleeps or times anything.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from telegram.ext import Application as PtbApplication

from bot.periodic import on_job_queue, run_until
from bot.scheduler import reminder_offsets, reminders_job, tick
from conversations.context import Services
from conversations.io import Inbound
from conversations.runner import Conversations
from messages.render import Templates
from outreach import reminders, schedule
from outreach.delivery import DeliveryLoop
from outreach.reminders import (
    DEFAULT_OFFSETS,
    ReminderOffset,
    RsvpOutcome,
    ScheduleError,
    enqueue_due_reminders,
    parse_offsets,
)
from storage.db import Database
from storage.models import (
    Application,
    Attendance,
    Contact,
    DeliveryStatus,
    Event,
    OutboxMessage,
    StaffAction,
    StaffRole,
    Stage,
)
from storage.repositories import applications, catalog, contacts
from tests.conftest import JAKARTA, NOW, Clock
from tests.fakes.telegram_server import FakeTelegramServer
from tests.flow.helpers import CHANNEL, SITI, Resident, Words, all_applications
from tests.outreach.conftest import VirtualTime, make_contacts
from training.permissions import Actor, NotAllowed

MAKASSAR = ZoneInfo("Asia/Makassar")
STAFF = Actor("telegram", "4242", "Bu Rina", StaffRole.OPERATOR)
TWO_HOURS = parse_offsets("2h")
DAY_BEFORE = parse_offsets("1d@17:00")
_niks = itertools.count(1)


# -- helpers -----------------------------------------------------------------------------------


async def set_city_zone(db: Database, zone: str) -> None:
    async with db.transaction() as session:
        info = await catalog.info(session)
        assert info is not None
        info.timezone = zone


async def add_event(
    db: Database,
    at: str = "2027-01-20 08:00",
    *,
    kind: str = "written_test",
    programme: str = "LAS1",
    stages: tuple[Stage, ...] | None = None,
    bring: str | None = "KTP asli, alat tulis",
) -> Event:
    async with db.transaction() as session:
        added = await schedule.add_event(
            session,
            Templates(),
            STAFF,
            programme_code=programme,
            kind=kind,
            starts_local=datetime.strptime(at, "%Y-%m-%d %H:%M"),
            place="UPT BLK Kota Pekalongan, Ruang 2",
            bring=bring,
            stages=stages,
            now=NOW,
        )
        return added.event


async def people(db: Database, count: int, *, channel: str = "telegram", language: str = "id") -> list[Contact]:
    async with db.transaction() as session:
        return [
            await contacts.get_or_create(session, channel, str(7000 + next(_niks)), language=language)
            for _ in range(count)
        ]


async def enrol(
    db: Database, who: list[Contact], *, programme: str = "LAS1", stage: Stage = Stage.ADMIN_PASSED
) -> list[int]:
    """Applications as selection left them: one per contact, in `stage`."""
    async with db.transaction() as session:
        found = await catalog.programme(session, programme)
        assert found is not None
        ids = []
        for contact in who:
            serial = next(_niks)
            application = await applications.add(
                session,
                Application(
                    number=f"{programme}-2027-{serial:04d}",
                    programme_id=found.id,
                    contact_id=contact.id,
                    stage=stage,
                    nik=f"337501120598{serial:04d}",
                    full_name="Budi Santoso",
                    phone="+6281234567890",
                ),
            )
            ids.append(application.id)
        return ids


async def run(db: Database, templates: Templates, now: datetime, offsets=DEFAULT_OFFSETS, **kwargs) -> dict[str, int]:  # type: ignore[no-untyped-def]
    async with db.transaction() as session:
        return await enqueue_due_reminders(session, templates, now, offsets, **kwargs)


async def outbox_rows(db: Database) -> list[OutboxMessage]:
    async with db.transaction() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def attendance(db: Database) -> list[tuple[int, int, bool]]:
    async with db.transaction() as session:
        rows = await session.scalars(select(Attendance).order_by(Attendance.event_id, Attendance.application_id))
        return [(a.event_id, a.application_id, a.attending) for a in rows]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# -- offsets -----------------------------------------------------------------------------------


def test_offsets_are_read_from_the_setting_and_named_for_dedupe_keys() -> None:
    offsets = parse_offsets("1d@17:00, 2h,90m,1h30m,2d@7.30")
    assert [o.key for o in offsets] == ["1d@17.00", "2h", "1h30m", "2d@07.30"]  # 90m and 1h30m are one offset
    assert offsets[0] == ReminderOffset.days_before_at(1, time(17, 0))
    assert offsets[1] == ReminderOffset.before(timedelta(hours=2))
    assert [o.key for o in DEFAULT_OFFSETS] == ["1d@17.00", "2h"]


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("", "none given"),
        ("3x", "reminder offset '3x' not understood: use e.g. 1d@17:00"),
        ("1d@25:00", "reminder offset '1d@25:00': 25:00 is not a time of day"),
        ("2h@17:00", "'2h@17:00' not understood"),
        ("-2h", "'-2h' not understood"),
        ("0m", "must be positive"),
    ],
)
def test_a_bad_offset_setting_is_refused_saying_why(bad: str, says: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_offsets(bad)
    assert says in str(caught.value)


def test_offsets_come_from_the_environment_variable() -> None:
    assert [o.key for o in reminder_offsets({})] == ["1d@17.00", "2h"]
    assert [o.key for o in reminder_offsets({"BLKBOT_REMINDER_OFFSETS": "3h"})] == ["3h"]
    with pytest.raises(ScheduleError, match="BLKBOT_REMINDER_OFFSETS: reminder offset 'soon'"):
        reminder_offsets({"BLKBOT_REMINDER_OFFSETS": "soon"})


def test_the_day_before_at_17_is_local_time_wib_and_wita() -> None:
    [day_before] = DAY_BEFORE
    wib_event = datetime(2027, 1, 20, 8, 0, tzinfo=JAKARTA)
    wita_event = datetime(2027, 1, 20, 8, 0, tzinfo=MAKASSAR)
    assert day_before.due_at(wib_event, JAKARTA) == utc(2027, 1, 19, 10, 0)
    assert day_before.due_at(wita_event, MAKASSAR) == utc(2027, 1, 19, 9, 0)
    # An event just after local midnight is still reminded the local day before.
    assert day_before.due_at(datetime(2027, 1, 20, 0, 30, tzinfo=MAKASSAR), MAKASSAR) == utc(2027, 1, 19, 9, 0)


# -- when reminders are enqueued ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "due"), [("Asia/Jakarta", utc(2027, 1, 19, 10, 0)), ("Asia/Makassar", utc(2027, 1, 19, 9, 0))]
)
async def test_day_before_reminder_goes_at_17_in_the_city_zone(
    db: Database, templates: Templates, zone: str, due: datetime
) -> None:
    await set_city_zone(db, zone)
    event = await add_event(db, "2027-01-20 08:00")  # 08:00 WIB or WITA, as the city's clock says
    ids = await enrol(db, await people(db, 3))

    assert (await run(db, templates, due - timedelta(minutes=1)))["enqueued"] == 0
    counts = await run(db, templates, due)

    assert counts == {"events": 1, "due": 1, "enqueued": 3, "superseded": 0, "late": 0}
    rows = await outbox_rows(db)
    assert [r.dedupe_key for r in rows] == [f"reminder:{event.id}:1d@17.00:{i}" for i in ids]
    abbrev = "WITA" if zone == "Asia/Makassar" else "WIB"
    assert f"Rabu, 20 Januari 2027 pukul 08.00 {abbrev}</b> (besok)" in rows[0].text
    assert all(r.origin == "reminder" and r.status == DeliveryStatus.PENDING for r in rows)


async def test_two_hours_before(db: Database, templates: Templates) -> None:
    event = await add_event(db, "2027-01-20 08:00")
    [application_id] = await enrol(db, await people(db, 1))
    start = datetime(2027, 1, 20, 8, 0, tzinfo=JAKARTA)

    assert (await run(db, templates, start - timedelta(hours=2, seconds=1), TWO_HOURS))["enqueued"] == 0
    assert (await run(db, templates, start - timedelta(hours=2), TWO_HOURS))["enqueued"] == 1

    [row] = await outbox_rows(db)
    assert row.dedupe_key == f"reminder:{event.id}:2h:{application_id}"
    assert "(hari ini)" in row.text


async def test_catch_up_after_down_time_sends_what_is_still_useful(db: Database, templates: Templates) -> None:
    ahead = await add_event(db, "2027-01-20 08:00")  # its day-before reminder was due 19 Jan 17:00
    await add_event(db, "2027-01-19 18:00", kind="interview")  # its 2h reminder was due 19 Jan 16:00
    await enrol(db, await people(db, 2))

    # The bot was down from 15:00 to 20:00 WIB on 19 January: the reminder due 3 h ago for tomorrow's
    # test still goes; the interview's (due 4 h ago) does not, since the interview is over.
    counts = await run(db, templates, datetime(2027, 1, 19, 20, 0, tzinfo=JAKARTA))

    assert counts["enqueued"] == 2 and counts["late"] == 2 and counts["due"] == 1
    assert {r.dedupe_key.rsplit(":", 1)[0] for r in await outbox_rows(db)} == {f"reminder:{ahead.id}:1d@17.00"}


async def test_a_reminder_due_three_hours_ago_is_caught_up_and_one_due_seven_hours_ago_is_not(
    db: Database, templates: Templates
) -> None:
    three = ReminderOffset.before(timedelta(hours=5))  # due 03:00 for an 08:00 event
    seven = ReminderOffset.before(timedelta(hours=9))  # due 23:00 the day before
    await add_event(db, "2027-01-20 08:00")
    await enrol(db, await people(db, 1))

    counts = await run(db, templates, datetime(2027, 1, 20, 6, 0, tzinfo=JAKARTA), [seven, three])

    assert counts["enqueued"] == 1
    [row] = await outbox_rows(db)
    assert ":5h:" in row.dedupe_key


async def test_repeated_ticks_enqueue_each_reminder_once(db: Database, templates: Templates) -> None:
    await add_event(db, "2027-01-20 08:00")
    await enrol(db, await people(db, 4))
    due = utc(2027, 1, 19, 10, 0)

    first = await run(db, templates, due)
    again = [await run(db, templates, due + timedelta(minutes=m)) for m in (0, 1, 5, 60)]

    assert first["enqueued"] == 4
    assert [c["enqueued"] for c in again] == [0, 0, 0, 0]
    assert len(await outbox_rows(db)) == 4
    # Newly selected applicants in the catch-up window still get theirs, once.
    await enrol(db, await people(db, 1))
    assert (await run(db, templates, due + timedelta(hours=1)))["enqueued"] == 1
    assert len(await outbox_rows(db)) == 5


async def test_only_applicants_of_the_programme_in_the_event_stages_are_reminded(
    db: Database, templates: Templates
) -> None:
    await add_event(db, "2027-01-20 08:00")  # a written test: admin_passed
    invited = await enrol(db, await people(db, 2), stage=Stage.ADMIN_PASSED)
    for stage in (Stage.REGISTERED, Stage.ADMIN_FAILED, Stage.SELECTED, Stage.WITHDRAWN):
        await enrol(db, await people(db, 1), stage=stage)
    await enrol(db, await people(db, 1), programme="MTR1", stage=Stage.ADMIN_PASSED)
    training = await add_event(db, "2027-01-21 08:00", kind="training_start")  # selected, in_training
    trainees = await enrol(db, await people(db, 1), stage=Stage.IN_TRAINING)

    await run(db, templates, utc(2027, 1, 19, 10, 0))
    await run(db, templates, utc(2027, 1, 20, 10, 0))

    keys = [r.dedupe_key for r in await outbox_rows(db) if r.dedupe_key.startswith("reminder:")]
    assert sorted(int(k.rsplit(":", 1)[1]) for k in keys if not k.startswith(f"reminder:{training.id}:")) == invited
    selected = [k for k in keys if k.startswith(f"reminder:{training.id}:")]
    assert len(selected) == 2 and f"reminder:{training.id}:1d@17.00:{trainees[0]}" in selected


async def test_each_reminder_is_in_the_contacts_language_with_buttons(db: Database, templates: Templates) -> None:
    event = await add_event(db, "2027-01-20 08:00")
    [ani] = await people(db, 1, language="id")
    [john] = await people(db, 1, language="en")
    ani_app, john_app = await enrol(db, [ani, john])

    await run(db, templates, utc(2027, 1, 19, 10, 0))

    by_contact = {r.contact_id: r for r in await outbox_rows(db)}
    assert by_contact[ani.id].text.startswith("🔔 <b>Pengingat: Tes Tertulis</b>")
    assert "Yang perlu dibawa: KTP asli, alat tulis" in by_contact[ani.id].text
    assert by_contact[john.id].text.startswith("🔔 <b>Reminder: written test</b>")
    assert "Wednesday, 20 January 2027 at 08:00 WIB" in by_contact[john.id].text
    assert by_contact[ani.id].buttons == [
        [
            {"label": "✅ Hadir", "data": f"@rsvp|{event.id}.{ani_app}.y"},
            {"label": "❌ Tidak bisa hadir", "data": f"@rsvp|{event.id}.{ani_app}.n"},
        ]
    ]
    assert [b["label"] for b in by_contact[john.id].buttons[0]] == ["✅ I'll be there", "❌ I can't come"]
    assert all(len(b["data"].encode()) <= 64 for r in by_contact.values() for b in r.buttons[0])
    assert john_app != ani_app


async def test_unreachable_erased_and_withdrawn_applicants_get_none(db: Database, templates: Templates) -> None:
    await add_event(db, "2027-01-20 08:00")
    reachable, blocked, erased = await people(db, 3)
    ids = await enrol(db, [reachable, blocked, erased])
    async with db.transaction() as session:
        (await session.get(Contact, blocked.id)).unreachable = True  # type: ignore[union-attr]
        erased_application = await session.get(Application, ids[2])
        assert erased_application is not None
        await applications.anonymise(session, erased_application, NOW)

    counts = await run(db, templates, utc(2027, 1, 19, 10, 0))

    assert counts["enqueued"] == 1
    assert [r.contact_id for r in await outbox_rows(db)] == [reachable.id]


async def test_an_unsubscribed_applicant_still_gets_reminders_about_their_own_application(
    db: Database, templates: Templates
) -> None:
    await add_event(db, "2027-01-20 08:00")
    [person] = await people(db, 1)
    await enrol(db, [person])
    async with db.transaction() as session:
        await contacts.set_subscribed(session, (await session.get(Contact, person.id)), False)  # type: ignore[arg-type]

    assert (await run(db, templates, utc(2027, 1, 19, 10, 0)))["enqueued"] == 1


async def test_when_two_offsets_are_due_at_once_only_the_later_is_sent(db: Database, templates: Templates) -> None:
    await add_event(db, "2027-01-20 08:00")
    await enrol(db, await people(db, 1))
    # Down from 16:00 the day before until 06:30: the 17:00 reminder (13.5 h ago) is past catching up
    # with the default window, but with a long one both would be due; one reminder is enough.
    counts = await run(db, templates, datetime(2027, 1, 20, 6, 30, tzinfo=JAKARTA), catch_up=timedelta(hours=24))

    assert counts["superseded"] == 1 and counts["enqueued"] == 1
    [row] = await outbox_rows(db)
    assert ":2h:" in row.dedupe_key


async def test_lookahead_holds_the_reminder_in_the_outbox_until_its_due_time(
    db: Database, templates: Templates
) -> None:
    await add_event(db, "2027-01-20 08:00")
    await enrol(db, await people(db, 1))
    due = utc(2027, 1, 19, 10, 0)

    counts = await run(db, templates, due - timedelta(seconds=40), lookahead=timedelta(seconds=60))

    assert counts["enqueued"] == 1
    [row] = await outbox_rows(db)
    assert row.next_attempt_at == due


async def test_a_cancelled_event_is_not_reminded_and_its_waiting_reminders_are_dropped(
    db: Database, templates: Templates
) -> None:
    event = await add_event(db, "2027-01-20 08:00")
    other = await add_event(db, "2027-01-20 10:00", kind="interview")
    await enrol(db, await people(db, 2))
    await run(db, templates, utc(2027, 1, 19, 10, 0))
    assert len(await outbox_rows(db)) == 4

    async with db.transaction() as session:
        cancelled = await schedule.cancel_event(session, templates, STAFF, event.id, NOW)
    assert cancelled.stopped == 2
    assert (await run(db, templates, utc(2027, 1, 20, 1, 0)))["enqueued"] == 2  # only the interview's 2h

    statuses = {(r.dedupe_key.split(":")[1], r.dedupe_key.split(":")[2], r.status) for r in await outbox_rows(db)}
    assert (str(event.id), "1d@17.00", DeliveryStatus.CANCELLED) in statuses
    assert (str(other.id), "2h", DeliveryStatus.PENDING) in statuses
    assert not any(key == str(event.id) and offset == "2h" for key, offset, _ in statuses)
    with pytest.raises(ScheduleError, match="already cancelled"):
        async with db.transaction() as session:
            await schedule.cancel_event(session, templates, STAFF, event.id, NOW)


async def test_adding_an_event_checks_what_staff_typed(db: Database) -> None:
    async with db.transaction() as session:
        with pytest.raises(ScheduleError, match="unknown programme 'NOPE'; programmes: LAS1"):
            await schedule.add_event(
                session,
                Templates(),
                STAFF,
                programme_code="NOPE",
                kind="interview",
                starts_local=datetime(2027, 1, 2, 8),
                place="x",
                now=NOW,
            )
        with pytest.raises(ScheduleError, match="is in the past"):
            await schedule.add_event(
                session,
                Templates(),
                STAFF,
                programme_code="LAS1",
                kind="interview",
                starts_local=datetime(2026, 1, 2, 8),
                place="x",
                now=NOW,
            )
        with pytest.raises(ScheduleError, match="--stages"):
            await schedule.add_event(
                session,
                Templates(),
                STAFF,
                programme_code="LAS1",
                kind="other",
                starts_local=datetime(2027, 1, 2, 8),
                place="x",
                now=NOW,
            )
    with pytest.raises(ScheduleError, match="unknown stage 'lolos'"):
        schedule.parse_stages("admin_passed,lolos")


# -- delivery ----------------------------------------------------------------------------------


async def test_reminders_reach_telegram_with_their_buttons(
    db: Database, templates: Templates, loop: DeliveryLoop, server: FakeTelegramServer, vtime: VirtualTime
) -> None:
    # vtime starts 2026-11-25 03:00 UTC; the event is at 12:00 WIB that day, so 10:00 WIB = 03:00 UTC is 2h before.
    event = await add_event(db, "2026-11-25 12:00", kind="interview")
    who = await make_contacts(db, 3)
    ids = await enrol(db, who)

    assert (await run(db, templates, vtime.now(), TWO_HOURS))["enqueued"] == 3
    stats = await loop.drain()

    assert stats.sent == 3
    for person, application_id in zip(who, ids, strict=True):
        [message] = server.messages(int(person.chat_id))
        assert message.plain_text is not None and message.plain_text.startswith("🔔 Pengingat: Wawancara")
        assert "Rabu, 25 November 2026 pukul 12.00 WIB (hari ini)" in message.plain_text
        assert message.button_texts == ["✅ Hadir", "❌ Tidak bisa hadir"]
        assert message.callback_data == [f"@rsvp|{event.id}.{application_id}.y", f"@rsvp|{event.id}.{application_id}.n"]


# -- answers -----------------------------------------------------------------------------------


@pytest.fixture
def words(templates: Templates) -> Words:
    return Words(templates)


async def resident_with_application(
    db: Database, chat_id: str = "siti", *, stage: Stage = Stage.ADMIN_PASSED
) -> tuple[Contact, int]:
    async with db.transaction() as session:
        contact = await contacts.get_or_create(session, CHANNEL, chat_id, language="id")
    [application_id] = await enrol(db, [contact], stage=stage)
    return contact, application_id


async def test_an_answer_is_stored_and_thanked_for_with_the_event_and_date(
    conversations: Conversations, db: Database, words: Words
) -> None:
    event = await add_event(db, "2027-01-20 08:00")
    _, application_id = await resident_with_application(db)
    siti = Resident(conversations, "siti")

    reply = await siti.send(Inbound(choice=f"@rsvp|{event.id}.{application_id}.y"))

    assert reply.chosen == "Hadir" and not reply.stale
    [thanks] = reply.messages
    assert "Kehadiran Anda di <b>Tes Tertulis</b> Pengelasan SMAW Dasar pada Rabu, 20 Januari 2027 pukul 08.00 WIB" in (
        thanks.text
    )
    assert siti.buttons == ["❌ Tidak bisa hadir"]  # changing one's mind stays possible
    assert await attendance(db) == [(event.id, application_id, True)]

    await siti.press("❌ Tidak bisa hadir")
    assert "tidak bisa hadir</b> di Tes Tertulis" in siti.text
    assert await attendance(db) == [(event.id, application_id, False)]


async def test_answering_mid_registration_keeps_the_registration_where_it_was(
    conversations: Conversations, db: Database, words: Words
) -> None:
    event = await add_event(db, "2027-01-20 08:00")
    _, application_id = await resident_with_application(db)
    siti = Resident(conversations, "siti")
    await siti.type("/daftar")
    await siti.press("Tarik, daftar yang baru")  # one application at a time: this one replaces it
    await siti.pick("BOGA1", "BOGA")
    await siti.answer_questions()
    assert siti.step == "education"
    education_question = siti.last.text

    reply = await siti.send(Inbound(choice=f"@rsvp|{event.id}.{application_id}.y"))

    assert [m.text for m in reply.messages][1:] == [education_question]
    assert "Kehadiran Anda di <b>Tes Tertulis</b>" in reply.messages[0].text
    assert siti.step == "education"
    await siti.choose("education", "sma")
    await siti.type(SITI.full_name)
    assert siti.last.text == words("registration/ask_nik")

    # Once more at a typed question, answering the other way.
    reply = await siti.send(Inbound(choice=f"@rsvp|{event.id}.{application_id}.n"))
    assert [m.text for m in reply.messages][1:] == [words("registration/ask_nik")]
    await siti.type(SITI.nik)
    await siti.choose("confirm_birth", "y")
    await siti.type(SITI.address)
    await siti.choose("district", SITI.district)
    await siti.type(SITI.phone)
    assert siti.step == "summary"
    await siti.submit()

    assert "Pendaftaran terkirim" in siti.text
    assert [a.nik for a in await all_applications(db)][-1] == SITI.nik
    assert await attendance(db) == [(event.id, application_id, False)]


async def test_answering_while_asked_to_confirm_a_cancel_keeps_the_registration(
    conversations: Conversations, db: Database, words: Words
) -> None:
    event = await add_event(db, "2027-01-20 08:00")
    _, application_id = await resident_with_application(db)
    siti = Resident(conversations, "siti")
    await siti.type("/daftar")
    await siti.press("Tarik, daftar yang baru")  # one application at a time: this one replaces it
    await siti.pick("BOGA1", "BOGA")
    question = siti.last.text  # the first yes/no eligibility question
    await siti.type("/batal")
    assert siti.text == words("common/confirm_cancel")

    reply = await siti.send(Inbound(choice=f"@rsvp|{event.id}.{application_id}.y"))
    assert reply.messages[-1].text == question
    await siti.type("ya")  # answers the question shown, not the forgotten "really cancel?"

    assert siti.step is not None and siti.step != "cancel" and siti.last.text != question
    assert "Pendaftaran dibatalkan" not in siti.text and siti.text != words("common/cancelled")


async def test_someone_elses_answer_button_is_refused(conversations: Conversations, db: Database, words: Words) -> None:
    event = await add_event(db, "2027-01-20 08:00")
    _, budi_application = await resident_with_application(db, "budi")
    await resident_with_application(db, "siti")
    siti = Resident(conversations, "siti")

    reply = await siti.send(Inbound(choice=f"@rsvp|{event.id}.{budi_application}.n"))

    assert reply.stale and reply.messages[0].text == words("common/stale_button")
    assert await attendance(db) == []
    for forged in ("@rsvp|x.y.z", f"@rsvp|{event.id + 99}.{budi_application}.y", "@rsvp|"):
        assert (await siti.send(Inbound(choice=forged))).stale
    assert await attendance(db) == []


async def test_an_answer_after_the_event_or_to_a_cancelled_one_gets_a_gentle_reply(
    conversations: Conversations, db: Database, clock: Clock, words: Words
) -> None:
    over = await add_event(db, "2027-01-20 08:00")
    called_off = await add_event(db, "2027-01-22 08:00", kind="interview")
    _, application_id = await resident_with_application(db)
    async with db.transaction() as session:
        await schedule.cancel_event(session, Templates(), STAFF, called_off.id, NOW)
    siti = Resident(conversations, "siti")

    reply = await siti.send(Inbound(choice=f"@rsvp|{called_off.id}.{application_id}.y"))
    assert "<b>dibatalkan</b>" in reply.messages[0].text and "Wawancara" in reply.messages[0].text

    clock.now = datetime(2027, 1, 20, 9, 0, tzinfo=JAKARTA)
    reply = await siti.send(Inbound(choice=f"@rsvp|{over.id}.{application_id}.y"))
    assert "sudah dimulai" in reply.messages[0].text and not reply.stale
    assert await attendance(db) == []


async def test_record_attendance_checks_whose_application_it_is(db: Database) -> None:
    event = await add_event(db, "2027-01-20 08:00")
    siti, application_id = await resident_with_application(db)
    budi, _ = await resident_with_application(db, "budi")
    async with db.transaction() as session:
        theirs = await reminders.record_attendance(session, event.id, application_id, budi, True, now=NOW)
        mine = await reminders.record_attendance(session, event.id, application_id, siti, True, now=NOW)
    assert theirs.outcome == RsvpOutcome.NOT_YOURS and theirs.event is None
    assert mine.outcome == RsvpOutcome.RECORDED and mine.event is not None and mine.event.id == event.id


async def test_who_said_they_cannot_come_gets_no_second_reminder(db: Database, templates: Templates) -> None:
    event = await add_event(db, "2027-01-20 08:00")
    who = await people(db, 2)
    ids = await enrol(db, who)
    await run(db, templates, utc(2027, 1, 19, 10, 0))
    async with db.transaction() as session:
        await reminders.record_attendance(session, event.id, ids[0], who[0], False, now=NOW)

    assert (await run(db, templates, utc(2027, 1, 20, 0, 0)))["enqueued"] == 1
    assert [r.contact_id for r in await outbox_rows(db) if ":2h:" in r.dedupe_key] == [who[1].id]


# -- staff -------------------------------------------------------------------------------------


@pytest.fixture
def staffed(db: Database, templates: Templates, clock: Clock) -> Conversations:
    return Conversations(
        db, Services(templates=templates, timezone=JAKARTA, clock=clock, staff={(CHANNEL, "petugas"): "operator"})
    )


async def test_staff_see_the_answers_in_jadwal(staffed: Conversations, db: Database) -> None:
    event = await add_event(db, "2027-01-20 08:00")
    await add_event(db, "2027-02-01 08:00", kind="training_start")
    who = await people(db, 3)
    ids = await enrol(db, who)
    async with db.transaction() as session:
        await reminders.record_attendance(session, event.id, ids[0], who[0], True, now=NOW)
        await reminders.record_attendance(session, event.id, ids[1], who[1], False, now=NOW)

    staff = Resident(staffed, "petugas")
    await staff.type("/jadwal")

    text = staff.text
    assert f"<b>#{event.id} Tes Tertulis</b> – LAS1 Pengelasan SMAW Dasar" in text
    assert "Rabu, 20 Januari 2027 pukul 08.00 WIB" in text
    assert "✅ Hadir 1 · ❌ Tidak 1 · ⏳ Belum menjawab 1" in text
    assert "Hari Pertama Pelatihan</b> – LAS1" in text
    assert text.index("Tes Tertulis") < text.index("Hari Pertama Pelatihan")


async def test_a_resident_sees_their_own_events_in_jadwal(staffed: Conversations, db: Database) -> None:
    siti = Resident(staffed, "siti")
    await siti.type("/jadwal")
    assert "Belum ada jadwal untuk pendaftaran Anda" in siti.text

    test = await add_event(db, "2027-01-20 08:00")
    training = await add_event(db, "2027-02-01 08:00", kind="training_start")  # for the selected: not Siti
    elsewhere = await add_event(db, "2027-01-21 08:00", programme="MTR1", kind="interview")
    contact, application_id = await resident_with_application(db)
    async with db.transaction() as session:
        await reminders.record_attendance(session, test.id, application_id, contact, False, now=NOW)

    await siti.type("/jadwal")

    text = siti.text
    assert text.startswith("📅 <b>Jadwal Anda</b>")
    assert "<b>Tes Tertulis</b> – Pengelasan SMAW Dasar (LAS1-2027-" in text
    assert "Rabu, 20 Januari 2027 pukul 08.00 WIB" in text
    assert "📍 UPT BLK Kota Pekalongan, Ruang 2" in text and "Yang perlu dibawa: KTP asli, alat tulis" in text
    assert "Jawaban Anda: Tidak bisa hadir" in text
    assert "Hadir 1" not in text and "Belum menjawab" not in text  # not the staff's counts
    assert training.id != elsewhere.id and "Hari Pertama Pelatihan" not in text and "Wawancara" not in text


async def test_attendance_counts_for_staff(db: Database) -> None:
    event = await add_event(db, "2027-01-20 08:00")
    who = await people(db, 4)
    ids = await enrol(db, who)
    async with db.transaction() as session:
        for contact, application_id, answer in zip(who[:3], ids[:3], (True, True, False), strict=True):
            await reminders.record_attendance(session, event.id, application_id, contact, answer, now=NOW)
        [view] = await schedule.schedule(session, NOW, actor=STAFF)
    assert (view.counts.attending, view.counts.not_attending, view.counts.unanswered) == (2, 1, 1)


# -- the periodic job --------------------------------------------------------------------------


async def test_the_job_without_ptb_ticks_and_wakes_the_delivery_loop(db: Database, templates: Templates) -> None:
    start = datetime.now(UTC) + timedelta(hours=2, minutes=-1)  # its 2h reminder was due a minute ago
    async with db.transaction() as session:
        event = await schedule.add_event(
            session,
            templates,
            STAFF,
            programme_code="LAS1",
            kind="interview",
            starts_local=start.astimezone(JAKARTA).replace(tzinfo=None),
            place="Aula",
            now=datetime.now(UTC),
        )
    await enrol(db, await people(db, 2))
    stop = asyncio.Event()

    await asyncio.wait_for(run_until(reminders_job(db, templates, TWO_HOURS, interval=60, wake=stop.set), stop), 10)

    assert [r.dedupe_key.split(":")[1] for r in await outbox_rows(db)] == [str(event.event.id)] * 2


async def test_the_ptb_job_queue_runs_the_tick(db: Database, templates: Templates) -> None:
    start = datetime.now(UTC) + timedelta(hours=2, minutes=-1)
    async with db.transaction() as session:
        await schedule.add_event(
            session,
            templates,
            STAFF,
            programme_code="LAS1",
            kind="interview",
            starts_local=start.astimezone(JAKARTA).replace(tzinfo=None),
            place="Aula",
            now=datetime.now(UTC),
        )
    await enrol(db, await people(db, 1))
    enqueued = asyncio.Event()
    app = PtbApplication.builder().token("123456789:TEST-fake-token").build()
    assert app.job_queue is not None
    job = on_job_queue(app.job_queue, reminders_job(db, templates, TWO_HOURS, interval=60, wake=enqueued.set))
    assert job.name == "reminders"

    await app.job_queue.start()  # what Application.start() does, without the network
    try:
        await asyncio.wait_for(enqueued.wait(), 10)
    finally:
        await app.job_queue.stop()

    assert len(await outbox_rows(db)) == 1


async def test_tick_returns_counts(db: Database, templates: Templates) -> None:
    await add_event(db, "2027-01-20 08:00")
    await enrol(db, await people(db, 2))
    counts = await tick(db, templates, DEFAULT_OFFSETS, now=utc(2027, 1, 19, 10, 0))
    assert counts["enqueued"] == 2
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 2


# -- staff add, move and cancel: those concerned are told at once --------------------------------


def texts_to(rows: list[OutboxMessage], prefix: str) -> dict[int, OutboxMessage]:
    return {r.contact_id: r for r in rows if r.dedupe_key.startswith(prefix)}


async def test_adding_an_event_invites_its_applicants_at_once(db: Database) -> None:
    who = await people(db, 2)
    applications_ = await enrol(db, who)
    [registered] = await people(db, 1)
    await enrol(db, [registered], stage=Stage.REGISTERED)
    async with db.transaction() as session:
        await contacts.set_subscribed(session, who[1], False)  # /berhenti stops announcements, not this

    event = await add_event(db, "2027-01-20 08:00")

    invited = texts_to(await outbox_rows(db), f"event:{event.id}:invited:")
    assert sorted(invited) == [who[0].id, who[1].id]
    row = invited[who[0].id]
    assert row.origin == "event" and row.kind == "application"
    assert row.text.startswith("📩 <b>Undangan: Tes Tertulis</b>")
    assert "Rabu, 20 Januari 2027 pukul 08.00 WIB" in row.text and "Yang perlu dibawa: KTP asli, alat tulis" in row.text
    assert row.buttons[0][0] == {"label": "✅ Hadir", "data": f"@rsvp|{event.id}.{applications_[0]}.y"}
    assert await audit(db) == [
        ("telegram:4242", "event_added", f"event {event.id}: written_test of LAS1 at 2027-01-20 08:00")
    ]


async def test_moving_an_event_tells_everyone_drops_old_reminders_and_reminds_afresh(
    db: Database, templates: Templates
) -> None:
    event = await add_event(db, "2027-01-20 08:00")
    who = await people(db, 2)
    ids = await enrol(db, who)
    await run(db, templates, utc(2027, 1, 19, 10, 0))  # the evening-before reminders are waiting
    async with db.transaction() as session:
        await reminders.record_attendance(session, event.id, ids[0], who[0], False, now=NOW)

    async with db.transaction() as session:
        moved = await schedule.change_event(
            session, templates, STAFF, event.id, now=NOW, starts_local=datetime(2027, 1, 22, 9, 0)
        )
    assert (moved.told, moved.stopped) == (2, 2)

    rows = await outbox_rows(db)
    assert {r.status for r in rows if r.dedupe_key.startswith(f"reminder:{event.id}:")} == {DeliveryStatus.CANCELLED}
    news = texts_to(rows, f"event:{event.id}:r1:")
    assert sorted(news) == [who[0].id, who[1].id]  # the one who could not come hears of it too
    text = news[who[0].id].text
    assert text.startswith("📢 <b>Jadwal berubah: Tes Tertulis</b>")
    assert "Sebelumnya: Rabu, 20 Januari 2027 pukul 08.00 WIB" in text
    assert "Jumat, 22 Januari 2027 pukul 09.00 WIB" in text and "Tempatnya pindah" not in text
    assert await attendance(db) == []  # "cannot come" was for the old time: everyone is asked again

    assert (await run(db, templates, utc(2027, 1, 21, 10, 0)))["enqueued"] == 2
    fresh = [
        r.dedupe_key for r in await outbox_rows(db) if r.status == DeliveryStatus.PENDING and "reminder" in r.dedupe_key
    ]
    assert sorted(fresh) == sorted(f"reminder:{event.id}:1d@17.00:r1:{i}" for i in ids)


async def test_moving_only_the_place_keeps_the_answers(db: Database, templates: Templates) -> None:
    event = await add_event(db, "2027-01-20 08:00")
    [siti] = await people(db, 1, language="en")
    [application_id] = await enrol(db, [siti])
    async with db.transaction() as session:
        await reminders.record_attendance(session, event.id, application_id, siti, True, now=NOW)
        await schedule.change_event(session, templates, STAFF, event.id, now=NOW, place="Aula Dinas, Lantai 2")

    [row] = texts_to(await outbox_rows(db), f"event:{event.id}:r1:").values()
    assert "The place has moved. It was: UPT BLK Kota Pekalongan, Ruang 2." in row.text
    assert "📍 Aula Dinas, Lantai 2" in row.text and "The time has moved" not in row.text
    assert await attendance(db) == [(event.id, application_id, True)]
    assert [action for _, action, _ in await audit(db)] == ["event_added", "event_changed"]


async def test_cancelling_an_event_tells_its_applicants(db: Database, templates: Templates) -> None:
    event = await add_event(db, "2027-01-20 08:00")
    who = await people(db, 2)
    await enrol(db, who)
    async with db.transaction() as session:
        cancelled = await schedule.cancel_event(session, templates, STAFF, event.id, NOW)
    assert cancelled.told == 2

    news = texts_to(await outbox_rows(db), f"event:{event.id}:cancelled:")
    assert sorted(news) == [w.id for w in who]
    row = news[who[0].id]
    assert row.text.startswith("❌ <b>Tes Tertulis dibatalkan</b>") and row.buttons == []
    assert "Rabu, 20 Januari 2027 pukul 08.00 WIB di UPT BLK Kota Pekalongan, Ruang 2" in row.text
    assert [action for _, action, _ in await audit(db)] == ["event_added", "event_cancelled"]


async def test_a_change_that_cannot_be_is_refused_and_changes_nothing(db: Database, templates: Templates) -> None:
    event = await add_event(db, "2027-01-20 08:00")
    await enrol(db, await people(db, 1))
    nobody = Actor("telegram", "9", "Tamu", "guest")
    cases = [
        (nobody, {"place": "x"}, NotAllowed),
        (STAFF, {}, ScheduleError),  # nothing to change
        (STAFF, {"place": "UPT BLK Kota Pekalongan, Ruang 2"}, ScheduleError),
        (STAFF, {"starts_local": datetime(2026, 1, 1, 8, 0)}, ScheduleError),
    ]
    for actor, change, error in cases:
        with pytest.raises(error):
            async with db.transaction() as session:
                await schedule.change_event(session, templates, actor, event.id, now=NOW, **change)
    with pytest.raises(ScheduleError, match="has started already"):
        async with db.transaction() as session:
            await schedule.change_event(session, templates, STAFF, event.id, now=utc(2027, 1, 20, 2, 0), place="y")
    async with db.transaction() as session:
        await schedule.cancel_event(session, templates, STAFF, event.id, NOW)
    with pytest.raises(ScheduleError, match="was cancelled"):
        async with db.transaction() as session:
            await schedule.change_event(session, templates, STAFF, event.id, now=NOW, place="y")
    assert not [r for r in await outbox_rows(db) if ":r1:" in r.dedupe_key]


async def audit(db: Database) -> list[tuple[str, str, str]]:
    async with db.transaction() as session:
        rows = await session.scalars(select(StaffAction).order_by(StaffAction.id))
        return [(a.actor, a.action, a.target) for a in rows]
