"""Staff access is checked on every staff step, against the database: a removal or a lower role
takes effect at the next button press, and residents can never reach a staff action."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import event, select

from conversations.commands import build_engine
from conversations.context import Context, Services
from conversations.engine import Engine, StaffButton, State
from conversations.io import Inbound, Reply
from conversations.runner import Conversations
from messages.render import Templates
from outreach import broadcasts, result_import, results, schedule
from outreach.segments import Segment
from storage.db import Database
from storage.models import Application, Broadcast, Event, OutboxMessage, StaffRole, Stage
from storage.repositories import contacts, staff
from tests.conftest import JAKARTA, NOW, Clock
from tests.flow.helpers import CHANNEL, SITI, Resident, Words, contact_of, conversation_of, male_nik
from training import attendance, documents, selection
from training import staff as staff_service
from training.imports import StalePlan
from training.permissions import Actor, NotAllowed, OutsideVenue, Permission
from training.reports import export_applications, funnel

BOSS = Actor("cli", "kepala", "kepala", StaffRole.ADMIN)
"""Who removes or demotes staff in these tests, as `blkbot staff remove|add` does."""


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


# -- venue staff: one venue's programmes, nothing of the others ----------------------------------

RASA = Actor(CHANNEL, "rasa", "Bu Sari", StaffRole.VENUE, "LPKS-RASA")
"""Staff of LPKS Rasa Nusantara (BOGA1, BRST1); LAS1 is held at BLK-PKL, another venue."""


async def cook(conversations: Conversations) -> None:
    """A resident registered for BOGA1 (LPKS-RASA) on Telegram, subscribed."""
    resident = Resident(conversations, "9002", channel="telegram")
    await resident.walk_to_summary("BOGA1", "BOGA")
    await resident.submit()


async def two_venues(conversations: Conversations, db: Database) -> dict[str, str]:
    """A welder (LAS1 at BLK-PKL) and a cook (BOGA1 at LPKS-RASA): programme code -> application number;
    and Bu Sari as venue staff of LPKS-RASA in the staff table."""
    async with db.transaction() as session:  # before any turn fills the staff directory's cache
        await staff.add(session, CHANNEL, "rasa", "Bu Sari", StaffRole.VENUE, "LPKS-RASA")
        await staff.add(session, CHANNEL, "kepala", "Pak Budi", StaffRole.ADMIN)
    await welder(conversations)
    await cook(conversations)
    async with db.transaction() as session:
        found = await session.scalars(select(Application))
        return {a.programme.code: a.number for a in found}


async def stages_and_outbox(db: Database) -> tuple[dict[str, str], int]:
    async with db.transaction() as session:
        stages = {a.programme.code: a.stage for a in await session.scalars(select(Application))}
        return stages, len(list(await session.scalars(select(OutboxMessage))))


async def test_venue_staff_move_their_venues_applications_only(
    conversations: Conversations, db: Database, templates: Templates
) -> None:
    numbers = await two_venues(conversations, db)
    before = await stages_and_outbox(db)

    async with db.transaction() as session:
        with pytest.raises(OutsideVenue, match="may not act on LAS1"):
            await results.move(session, templates, RASA, [numbers["BOGA1"], numbers["LAS1"]], Stage.ADMIN_PASSED, NOW)
    assert await stages_and_outbox(db) == before  # not even the cook moved: all of them or none

    async with db.transaction() as session:
        await results.move(session, templates, RASA, [numbers["BOGA1"]], Stage.ADMIN_PASSED, NOW)
        await results.move(session, templates, BOSS, [numbers["LAS1"]], Stage.ADMIN_PASSED, NOW)  # the admin: any venue
    stages, queued = await stages_and_outbox(db)
    assert stages == {"BOGA1": Stage.ADMIN_PASSED, "LAS1": Stage.ADMIN_PASSED}
    assert queued == before[1] + 2


async def test_venue_staff_check_view_and_schedule_their_venue_only(
    conversations: Conversations, db: Database, templates: Templates, tmp_path: Path
) -> None:
    numbers = await two_venues(conversations, db)
    async with db.transaction() as session:
        with pytest.raises(OutsideVenue):
            await selection.check(session, templates, RASA, numbers["LAS1"], selection.Verdict.of(True), NOW)
        with pytest.raises(OutsideVenue):
            await selection.history(session, RASA, numbers["LAS1"])
        with pytest.raises(OutsideVenue):
            await documents.list_for(session, RASA, numbers["LAS1"])
        with pytest.raises(OutsideVenue):
            await attendance.show(session, RASA, "LAS1")
        with pytest.raises(OutsideVenue):
            await export_applications(session, "LAS1", "csv", tmp_path / "las.csv", codes=True, actor=RASA)
        with pytest.raises(OutsideVenue):
            await schedule.add_event(
                session,
                templates,
                RASA,
                programme_code="LAS1",
                kind="written_test",
                starts_local=datetime(2027, 1, 20, 8),
                place="Ruang 2",
                stages=(Stage.REGISTERED,),
                now=NOW,
            )
        assert list(await session.scalars(select(Event))) == []
        assert (await documents.list_for(session, RASA, numbers["BOGA1"])).application.number == numbers["BOGA1"]

        mine = await export_applications(session, "ALL", "csv", tmp_path / "all.csv", codes=True, actor=RASA)
        everyone = await export_applications(session, "ALL", "csv", tmp_path / "office.csv", codes=True, actor=BOSS)
        figures = await funnel(session, RASA)
    assert (mine, everyone) == (1, 2)
    exported = (tmp_path / "all.csv").read_text(encoding="utf-8")
    assert numbers["BOGA1"] in exported and numbers["LAS1"] not in exported
    assert {p.code for p in figures.programmes} == {"BOGA1", "BRST1"}  # LPKS-RASA's programmes
    assert figures.total.stages == {Stage.REGISTERED: 1}


async def test_venue_staff_broadcast_inside_one_of_their_programmes_only(
    conversations: Conversations, db: Database, templates: Templates
) -> None:
    await two_venues(conversations, db)
    async with db.transaction() as session:
        for wider in (Segment(programme="LAS1"), Segment(cluster="BOGA"), Segment(district="33.75.01")):
            with pytest.raises(OutsideVenue):
                await broadcasts.send(session, templates, RASA, text="Tes", segment=wider, now=NOW)
        with pytest.raises(NotAllowed):
            await broadcasts.send(session, templates, RASA, text="Tes", segment=Segment(), now=NOW)
    assert await sent(db) == ([], [])

    async with db.transaction() as session:
        await broadcasts.send(session, templates, RASA, text="Tes", segment=Segment(programme="BOGA1"), now=NOW)
    [broadcast], outbox = await sent(db)
    assert (broadcast.segment, broadcast.recipients, len(outbox)) == ({"programme": "BOGA1"}, 1, 1)


async def test_venue_staff_compose_a_broadcast_from_their_programmes(
    conversations: Conversations, db: Database, words: Words
) -> None:
    await two_venues(conversations, db)
    sari = Resident(conversations, "rasa")
    await sari.type("/siaran")
    await sari.type("Praktik memasak hari Senin")
    assert [o.data for o in sari.options] == ["siaran_target|programme", "siaran_target|^"]  # and "back"
    await sari.choose("siaran_target", "programme")
    assert [o.data for o in sari.options] == ["siaran_value|BOGA1", "siaran_value|BRST1", "siaran_value|^"]

    await sari.send(Inbound(choice="siaran_value|LAS1"))  # a forged button for another venue's programme
    assert words("common/option_gone") in sari.text
    assert await sent(db) == ([], [])
    await sari.choose("siaran_value", "BOGA1")
    await sari.choose("siaran_confirm", "ok")
    [broadcast], _ = await sent(db)
    assert broadcast.segment == {"programme": "BOGA1"}


async def test_venue_staff_moved_to_another_venue_before_kirim_are_told_so_and_nothing_is_sent(
    conversations: Conversations, db: Database, words: Words
) -> None:
    await two_venues(conversations, db)
    sari = Resident(conversations, "rasa")
    await compose(sari, "programme", "BOGA1")
    async with db.transaction() as session:  # the office moves her to BLK-PKL meanwhile
        await staff.add(session, CHANNEL, "rasa", "Bu Sari", StaffRole.VENUE, "BLK-PKL")

    await sari.choose("siaran_confirm", "ok")

    assert sari.text == words("staff/outside_venue", programme="BOGA1", venue="BLK-PKL")
    assert await sent(db) == ([], [])


async def test_venue_staff_cek_another_venues_application_is_refused(
    conversations: Conversations, db: Database, words: Words
) -> None:
    numbers = await two_venues(conversations, db)
    before = await stages_and_outbox(db)
    sari = Resident(conversations, "rasa")
    await sari.type(f"/cek {numbers['LAS1']} lolos")
    assert sari.text == words("staff/outside_venue", programme="LAS1", venue="LPKS-RASA")
    assert await stages_and_outbox(db) == before

    await sari.type(f"/cek {numbers['BOGA1']} lolos")
    assert (await stages_and_outbox(db))[0]["BOGA1"] == Stage.ADMIN_PASSED


async def test_venue_staff_jadwal_lists_their_venues_events(
    conversations: Conversations, db: Database, templates: Templates
) -> None:
    await two_venues(conversations, db)
    async with db.transaction() as session:
        for code in ("LAS1", "BOGA1"):
            await schedule.add_event(
                session,
                templates,
                BOSS,
                programme_code=code,
                kind="written_test",
                starts_local=datetime(2027, 1, 20, 8),
                place=f"Ruang {code}",
                stages=(Stage.REGISTERED,),
                now=NOW,
            )
        [las, _] = await session.scalars(select(Event).order_by(Event.id))
        with pytest.raises(OutsideVenue):
            await schedule.change_event(session, templates, RASA, las.id, now=NOW, place="Aula")
        with pytest.raises(OutsideVenue):
            await schedule.cancel_event(session, templates, RASA, las.id, NOW)
    sari, boss = Resident(conversations, "rasa"), Resident(conversations, "kepala")
    await sari.type("/jadwal")
    assert "Ruang BOGA1" in sari.text and "Ruang LAS1" not in sari.text
    await boss.type("/jadwal")
    assert "Ruang BOGA1" in boss.text and "Ruang LAS1" in boss.text


async def test_a_results_import_with_another_venues_row_imports_nothing(
    conversations: Conversations, db: Database, templates: Templates, tmp_path: Path
) -> None:
    numbers = await two_venues(conversations, db)
    before = await stages_and_outbox(db)
    sheet = tmp_path / "hasil.csv"
    sheet.write_text(f"number,stage\n{numbers['BOGA1']},admin_passed\n{numbers['LAS1']},admin_passed\n")

    async with db.transaction() as session:
        plan = await result_import.plan_results(session, sheet, actor=RASA)
        assert [(p.line, p.text) for p in plan.problems] == [
            (3, f"{numbers['LAS1']}: LAS1 is not a programme of LPKS-RASA")
        ]
        with pytest.raises(StalePlan):
            await result_import.apply_results(session, templates, RASA, plan, NOW)
    assert await stages_and_outbox(db) == before


async def test_a_certification_preview_counts_another_venues_row_as_an_error_only(
    conversations: Conversations, db: Database, tmp_path: Path
) -> None:
    """The preview's counts add up: a row outside the venue is an error, not also "unchanged"."""
    from training.certification import plan_certifications

    numbers = await two_venues(conversations, db)
    sheet = tmp_path / "lsp.csv"
    sheet.write_text(f"nomor,hasil,lsp,skema,nomor_sertifikat,tanggal\n{numbers['LAS1']},K,LSP,Las,C-1,2027-03-20\n")
    async with db.transaction() as session:
        plan = await plan_certifications(session, sheet, RASA)
    assert [p.text for p in plan.problems] == [f"{numbers['LAS1']}: LAS1 is not a programme of LPKS-RASA"]
    assert (len(plan.changes), plan.unchanged) == (0, 0)


async def test_an_import_preview_needs_the_permission_that_applies_it(db: Database, tmp_path: Path) -> None:
    """A preview lists applicants' numbers and stages: no one without the import's permission sees it."""
    from training.admin_sheet import plan_check
    from training.certification import plan_certifications
    from training.scores import plan_scores

    guest = Actor(CHANNEL, "tamu", "Tamu", "guest")
    sheet = tmp_path / "any.csv"
    sheet.write_text("nomor,stage,keputusan,written_test,hasil\nLAS1-2027-0001,admin_passed,lolos,80,K\n")
    async with db.transaction() as session:
        with pytest.raises(NotAllowed):
            await result_import.plan_results(session, sheet, actor=guest)
        with pytest.raises(NotAllowed):
            await plan_check(session, sheet, guest)
        with pytest.raises(NotAllowed):
            await plan_scores(session, sheet, guest)
        with pytest.raises(NotAllowed):
            await plan_certifications(session, sheet, guest)


async def test_a_venue_role_needs_a_venue_of_the_catalog(db: Database) -> None:
    async with db.transaction() as session:
        with pytest.raises(staff_service.StaffError, match="needs --venue"):
            await staff_service.add(session, BOSS, channel=CHANNEL, user_id="x", name="X", role="venue", now=NOW)
        with pytest.raises(staff_service.StaffError, match="no venue 'NOWHERE'"):
            await staff_service.add(
                session, BOSS, channel=CHANNEL, user_id="x", name="X", role="venue", venue="NOWHERE", now=NOW
            )
        with pytest.raises(staff_service.StaffError, match="covers every venue"):
            await staff_service.add(
                session, BOSS, channel=CHANNEL, user_id="x", name="X", role="operator", venue="BLK-PKL", now=NOW
            )
        member = await staff_service.add(
            session, BOSS, channel=CHANNEL, user_id="x", name="X", role="venue", venue="BLK-PKL", now=NOW
        )
        actor = await staff_service.current_actor(session, CHANNEL, "x", {})
    assert (member.venue, actor) == ("BLK-PKL", Actor(CHANNEL, "x", "X", "venue", "BLK-PKL"))
