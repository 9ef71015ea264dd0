"""The training, its certification and the tracer study: staff's attendance marks and the absence
flag, the competency results import (preview, errors by line, told once), and the graduates' tracer
rounds with a hand-moved clock, their answer in the chat, the reminder, /dataku and erasure."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from conversations.io import Inbound
from conversations.runner import Conversations
from messages.render import Templates
from storage.db import Database
from storage.models import Application, Certification, Event, EventKind, OutboxMessage, Outcome, StaffRole, Stage
from storage.repositories import catalog, contacts, vacancies
from tests.conftest import Clock
from tests.flow.helpers import CHANNEL, SITI, Resident, male_nik
from training import attendance
from training.certification import apply_certifications, plan_certifications
from training.outcomes import enqueue_due, tracer_data
from training.permissions import Actor, NotAllowed

BOSS = Actor("cli", "kepala", "kepala", StaffRole.ADMIN)


async def participant(db: Database, chat_id: str, number: str, nik: str, stage: Stage = Stage.IN_TRAINING) -> None:
    async with db.transaction() as session:
        contact = await contacts.get_or_create(session, CHANNEL, chat_id, language="id")
        programme = await catalog.programme(session, number.split("-")[0])
        assert programme is not None
        session.add(
            Application(
                number=number, programme_id=programme.id, contact_id=contact.id, stage=stage, nik=nik, full_name=chat_id
            )
        )


async def training_day(db: Database, clock: Clock, days: int) -> int:
    async with db.transaction() as session:
        programme = await catalog.programme(session, "LAS1")
        assert programme is not None
        event = Event(
            programme_id=programme.id,
            kind=EventKind.TRAINING_DAY,
            starts_at=clock() + timedelta(days=days),
            place="BLK",
            stages=[Stage.IN_TRAINING.value],
        )
        session.add(event)
        await session.flush()
        return event.id


async def application(db: Database, number: str) -> Application:
    async with db.transaction() as session:
        found = await session.scalar(select(Application).where(Application.number == number))
        assert found is not None
        return found


async def pushed(db: Database) -> list[OutboxMessage]:
    async with db.transaction() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_a_participant_absent_on_the_limit_of_days_is_flagged_once(db: Database, clock: Clock) -> None:
    await participant(db, "siti", "LAS1-2027-0001", SITI.nik)
    await participant(db, "budi", "LAS1-2027-0002", male_nik(1))
    days = [await training_day(db, clock, d) for d in (1, 2, 3, 4)]
    flagged: list[str] = []
    for day in days[:3]:
        async with db.transaction() as session:
            await attendance.mark(session, Templates(), BOSS, day, ["LAS1-2027-0002"], True, clock())
            report = await attendance.mark(session, Templates(), BOSS, day, ["las1-2027-0001"], False, clock())
            flagged += report.flagged
    assert flagged == ["LAS1-2027-0001"]  # on the third absence (the default limit), not before
    async with db.transaction() as session:
        report = await attendance.mark(session, Templates(), BOSS, days[3], ["LAS1-2027-0001"], False, clock())
        assert report.flagged == []  # flagged already
        view = await attendance.show(session, BOSS, "LAS1")
    rows = {p.number: p for p in view.participants}
    assert (rows["LAS1-2027-0001"].absent, rows["LAS1-2027-0001"].flagged) == (4, True)
    assert (rows["LAS1-2027-0002"].present, rows["LAS1-2027-0002"].flagged) == (3, False)
    siti = await application(db, "LAS1-2027-0001")
    assert [f["days"] for f in siti.flags if f.get("flag") == "absent_days"] == [3]


async def test_a_selected_applicant_marked_present_starts_training_and_can_complete(db: Database, clock: Clock) -> None:
    await participant(db, "siti", "LAS1-2027-0001", SITI.nik, Stage.SELECTED)
    await participant(db, "budi", "LAS1-2027-0002", male_nik(1), Stage.SELECTED)
    day = await training_day(db, clock, 1)
    async with db.transaction() as session:
        await attendance.mark(session, Templates(), BOSS, day, ["LAS1-2027-0001"], True, clock())
        await attendance.mark(session, Templates(), BOSS, day, ["LAS1-2027-0002"], False, clock())
    assert (await application(db, "LAS1-2027-0001")).stage == Stage.IN_TRAINING
    assert (await application(db, "LAS1-2027-0002")).stage == Stage.SELECTED  # absent: not started
    async with db.transaction() as session:
        assert await attendance.complete(session, BOSS, "LAS1", clock()) == 1
    assert (await application(db, "LAS1-2027-0001")).completed_at is not None
    assert await pushed(db) == []  # starting is not announced: the participant is in the room


async def test_marks_refuse_strangers_and_operators_may_mark_but_residents_have_no_actor(
    db: Database, clock: Clock
) -> None:
    await participant(db, "siti", "LAS1-2027-0001", SITI.nik)
    await participant(db, "ani", "LAS1-2027-0009", male_nik(2), Stage.REGISTERED)
    day = await training_day(db, clock, 1)
    async with db.transaction() as session:
        with pytest.raises(attendance.TrainingError, match="not in training: LAS1-2027-0009"):
            await attendance.mark(session, Templates(), BOSS, day, ["LAS1-2027-0001", "LAS1-2027-0009"], True, clock())
        with pytest.raises(attendance.TrainingError, match="BOGA1-2027-0001"):
            await attendance.mark(session, Templates(), BOSS, day, ["BOGA1-2027-0001"], True, clock())
    view_only = Actor("telegram", "9", "x", "nobody")
    async with db.transaction() as session:
        with pytest.raises(NotAllowed):
            await attendance.mark(session, Templates(), view_only, day, ["LAS1-2027-0001"], True, clock())


async def test_drop_and_complete(db: Database, clock: Clock, templates: Templates) -> None:
    await participant(db, "siti", "LAS1-2027-0001", SITI.nik)
    await participant(db, "budi", "LAS1-2027-0002", male_nik(1))
    async with db.transaction() as session:
        await attendance.drop(session, templates, BOSS, "LAS1-2027-0002", "Pindah kota", clock())
        assert await attendance.complete(session, BOSS, "LAS1", clock()) == 1
        assert await attendance.complete(session, BOSS, "LAS1", clock()) == 0
    budi = await application(db, "LAS1-2027-0002")
    assert (budi.stage, budi.stage_reason, budi.completed_at) == (Stage.WITHDRAWN, "Pindah kota", None)
    siti = await application(db, "LAS1-2027-0001")
    assert (siti.stage, siti.completed_at) == (Stage.IN_TRAINING, clock())


async def test_certification_import_previews_errors_by_line_and_tells_each_once(
    db: Database, clock: Clock, templates: Templates, tmp_path: Path
) -> None:
    await participant(db, "siti", "LAS1-2027-0001", SITI.nik)
    await participant(db, "budi", "LAS1-2027-0002", male_nik(1))
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "nomor,hasil,lsp,skema,nomor_sertifikat,tanggal\n"
        "LAS1-2027-0001,K,LSP Las,SMAW 3G,,2027-03-20\n"
        "LAS1-2027-0002,lulus,LSP Las,SMAW 3G,,2027-03-20\n"
        "LAS1-2027-0404,BK,LSP Las,SMAW 3G,,20-03-2027\n"
    )
    async with db.transaction() as session:
        plan = await plan_certifications(session, bad, BOSS)
    assert [(p.line, p.text) for p in plan.problems] == [
        (2, "a competent participant needs the certificate number"),
        (3, "the result must be K (kompeten) or BK (belum kompeten), got 'lulus'"),
        (4, "no application LAS1-2027-0404"),
    ]
    assert not plan.applicable
    good = tmp_path / "good.csv"
    good.write_text(
        "nomor;hasil;lsp;skema;nomor_sertifikat;tanggal\n"
        "LAS1-2027-0001;K;LSP Las Nusantara;SMAW 3G;123 4567 8 2027;20-03-2027\n"
        "LAS1-2027-0002;BK;LSP Las Nusantara;SMAW 3G;;2027-03-20\n"
    )
    async with db.transaction() as session:
        plan = await plan_certifications(session, good, BOSS)
        assert plan.applicable and len(plan.changes) == 2
        report = await apply_certifications(session, templates, BOSS, plan, clock())
    assert (report.changed, report.announced) == (2, 2)
    texts = [m.text for m in await pushed(db)]
    assert "Nomor sertifikat: 123 4567 8 2027" in texts[0] and "/lowongan" in texts[0]
    assert "Belum Kompeten" in texts[1] and "LSP Las Nusantara" in texts[1]
    async with db.transaction() as session:  # the same file again: nothing changes, nobody is told twice
        again = await plan_certifications(session, good, BOSS)
        assert again.changes == () and again.unchanged == 2
        stored = list(await session.scalars(select(Certification).order_by(Certification.id)))
    assert [(c.competent, c.certificate_number) for c in stored] == [(True, "123 4567 8 2027"), (False, None)]
    assert (await application(db, "LAS1-2027-0001")).stage == Stage.COMPETENT
    assert len(await pushed(db)) == 2


async def graduate(db: Database, clock: Clock) -> None:
    await participant(db, "siti", "LAS1-2027-0001", SITI.nik, Stage.COMPETENT)
    async with db.transaction() as session:
        found = await session.scalar(select(Application))
        assert found is not None
        found.completed_at = clock()


async def test_the_tracer_question_comes_at_one_month_once_then_one_reminder(
    db: Database, clock: Clock, templates: Templates
) -> None:
    await graduate(db, clock)
    completed = clock()
    clock.now = completed + timedelta(days=29, hours=23)  # an hour short of a month (25 November to 25 December)
    async with db.transaction() as session:
        assert await enqueue_due(session, templates, clock()) == {"asked": 0, "reminded": 0}
    clock.now = completed + timedelta(days=30)
    for _ in range(2):
        async with db.transaction() as session:
            assert (await enqueue_due(session, templates, clock()))["asked"] in (1, 0)
    rows = await pushed(db)
    assert len(rows) == 1 and "Sudah 1 bulan sejak Anda menyelesaikan pelatihan" in rows[0].text
    clock.now += timedelta(days=7)
    async with db.transaction() as session:
        assert await enqueue_due(session, templates, clock()) == {"asked": 0, "reminded": 1}
        assert await enqueue_due(session, templates, clock()) == {"asked": 0, "reminded": 0}
    rows = await pushed(db)
    assert rows[1].text.startswith("Pengingat:") and rows[1].buttons == rows[0].buttons


async def test_the_answer_flow_stores_the_round_and_erasure_removes_it(
    db: Database, clock: Clock, templates: Templates, conversations: Conversations
) -> None:
    await graduate(db, clock)
    clock.now += timedelta(days=95)  # past 3 months: only the latest round due is asked
    async with db.transaction() as session:
        await enqueue_due(session, templates, clock())
        outcome = await session.scalar(select(Outcome))
        assert outcome is not None and outcome.months == 3
    siti = Resident(conversations, "siti")
    ani = Resident(conversations, "ani")
    assert (await ani.send(Inbound(choice=tracer_data(outcome.id)))).stale
    await siti.send(Inbound(choice=tracer_data(outcome.id)))
    assert "Apa kegiatan Anda sekarang?" in siti.text
    await siti.press("Bekerja")
    await siti.press("Di luar kota")
    await siti.type("bengkel motor")
    assert "Terima kasih atas jawaban Anda!" in siti.text
    async with db.transaction() as session:
        stored = await session.scalar(select(Outcome))
        assert stored is not None
        assert (stored.status, stored.workplace, stored.sector) == ("working", "elsewhere", "bengkel motor")
    clock.now += timedelta(days=10)  # answered: no reminder
    async with db.transaction() as session:
        assert (await enqueue_due(session, templates, clock()))["reminded"] == 0
    await siti.type("/dataku")
    assert "Bekerja" in siti.text and "bengkel motor" in siti.text
    await siti.type("/hapusdata")
    await siti.press("Ya")
    async with db.transaction() as session:
        assert list(await session.scalars(select(Outcome))) == []


async def test_a_graduate_who_says_they_work_gets_no_more_vacancies_until_they_say_they_are_looking(
    db: Database, clock: Clock, templates: Templates, conversations: Conversations
) -> None:
    await graduate(db, clock)
    async with db.transaction() as session:
        (await contacts.get_or_create(session, CHANNEL, "siti", language="id")).subscribed = True
    siti = Resident(conversations, "siti")

    async def reached_by_a_welding_vacancy() -> bool:
        async with db.transaction() as session:
            return [c.chat_id for c in await vacancies.recipients(session, ["LAS"])] == ["siti"]

    async def answer_round(*presses: str) -> None:
        async with db.transaction() as session:
            await enqueue_due(session, templates, clock())
            outcome = await session.scalar(select(Outcome).order_by(Outcome.id.desc()))
            assert outcome is not None
        await siti.send(Inbound(choice=tracer_data(outcome.id)))
        for label in presses:
            await siti.press(label)

    assert await reached_by_a_welding_vacancy()
    clock.now += timedelta(days=31)
    await answer_round("Berwirausaha")
    await siti.type("bengkel las sendiri")
    assert "tidak kami kirim lagi" in siti.text and "/lowongan" in siti.text
    assert not await reached_by_a_welding_vacancy()

    clock.now += timedelta(days=62)  # the 3-month round: the business closed
    await answer_round("Belum bekerja")
    assert await reached_by_a_welding_vacancy()


async def test_a_participant_marked_present_who_then_presses_the_seat_button_is_told_they_are_in(
    db: Database, clock: Clock, templates: Templates, conversations: Conversations
) -> None:
    from outreach.seats import seat_data
    from training.seats import offer_seat

    await participant(db, "siti", "LAS1-2027-0001", SITI.nik, Stage.SELECTED)
    day = await training_day(db, clock, 1)
    async with db.transaction() as session:
        siti = await session.scalar(select(Application).where(Application.number == "LAS1-2027-0001"))
        assert siti is not None
        offer = await offer_seat(session, templates, siti, clock(), "system")
        await attendance.mark(session, templates, BOSS, day, ["LAS1-2027-0001"], True, clock())
    clock.now += timedelta(days=5)  # past the seat deadline too
    resident = Resident(conversations, "siti")
    await resident.send(Inbound(choice=seat_data(offer.id, True)))
    assert "sudah tercatat hadir" in resident.text and "sudah lewat" not in resident.text
    assert (await application(db, "LAS1-2027-0001")).stage == Stage.IN_TRAINING


async def test_the_tracer_button_in_the_middle_of_a_registration_comes_back_to_it_after_the_answer(
    db: Database, clock: Clock, templates: Templates, conversations: Conversations
) -> None:
    await graduate(db, clock)
    clock.now += timedelta(days=31)
    async with db.transaction() as session:
        await enqueue_due(session, templates, clock())
        outcome = await session.scalar(select(Outcome))
        assert outcome is not None
    siti = Resident(conversations, "siti")
    await siti.type("/daftar")
    await siti.pick("BOGA1", "BOGA")
    await siti.answer_questions()
    assert siti.step == "education"
    education_question = siti.last.text

    await siti.send(Inbound(choice=tracer_data(outcome.id)))
    assert "Apa kegiatan Anda sekarang?" in siti.text
    await siti.press("Belum bekerja")

    assert "Terima kasih atas jawaban Anda!" in siti.text
    assert "Kita lanjutkan dari pertanyaan terakhir" in siti.text
    assert siti.step == "education" and siti.last.text == education_question
    await siti.give_details(SITI)
    await siti.submit()
    async with db.transaction() as session:
        codes = [a.number.split("-")[0] for a in await session.scalars(select(Application).order_by(Application.id))]
        assert codes == ["LAS1", "BOGA1"]
        answered = await session.scalar(select(Outcome))
        assert answered is not None and answered.status == "looking"
