"""`blkbot events ...` and `blkbot reminders run-once`, as staff type them.

The CLI opens its own SQLite file (BLKBOT_DATABASE_URL), creating the schema and loading the demo
catalog on first use; the tests read and write that file between commands.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.cli import main
from outreach import reminders
from storage.db import Database
from storage.models import Application, Contact, Event, OutboxMessage, StaffAction, Stage
from storage.repositories import applications, catalog, contacts

T = TypeVar("T")
JAKARTA = ZoneInfo("Asia/Jakarta")


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite file the CLI creates on first use, with the demo catalog."""
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("BLKBOT_DATABASE_URL", url)
    monkeypatch.delenv("BLKBOT_CATALOG", raising=False)
    monkeypatch.delenv("BLKBOT_REMINDER_OFFSETS", raising=False)
    assert main(["events", "list"]) == 0  # creates the schema and loads the demo catalog
    return url


def run(url: str, work: Callable[[Database], Awaitable[T]]) -> T:
    async def go() -> T:
        db = Database(url)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(go())


def applicants(url: str, count: int, stage: Stage = Stage.ADMIN_PASSED, programme: str = "LAS1") -> list[int]:
    async def work(db: Database) -> list[int]:
        async with db.transaction() as session:
            found = await catalog.programme(session, programme)
            assert found is not None
            ids = []
            for n in range(count):
                contact = await contacts.get_or_create(session, "telegram", f"{stage}{n}", language="id")
                application = await applications.add(
                    session,
                    Application(
                        number=f"{programme}-2027-{stage[:3]}{n:03d}",
                        programme_id=found.id,
                        contact_id=contact.id,
                        stage=stage,
                        nik=f"3375011205980{n:03d}",
                        full_name=f"Budi {n}",
                    ),
                )
                ids.append(application.id)
            return ids

    return run(url, work)


def answer(url: str, event_id: int, application_id: int, attending: bool) -> None:
    async def work(db: Database) -> None:
        async with db.transaction() as session:
            application = await session.get(Application, application_id)
            assert application is not None and application.contact_id is not None
            contact = await session.get(Contact, application.contact_id)
            assert contact is not None
            result = await reminders.record_attendance(
                session, event_id, application_id, contact, attending, now=datetime.now(UTC)
            )
            assert result.outcome == reminders.RsvpOutcome.RECORDED

    run(url, work)


def row_of(out: str, event_id: int) -> list[str]:
    for line in out.splitlines():
        if line.split()[:1] == [str(event_id)]:
            return line.split()
    raise AssertionError(f"no line for event {event_id} in:\n{out}")


def test_add_list_answers_and_cancel(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    ids = applicants(cli_db, 3)
    capsys.readouterr()

    assert (
        main(
            [
                "events",
                "add",
                "--programme",
                "LAS1",
                "--kind",
                "written_test",
                "--at",
                "2027-01-20 08:00",
                "--place",
                "UPT BLK Kota Pekalongan, Ruang 2",
                "--bring",
                "KTP asli, alat tulis",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "event 1 added: written_test of LAS1 on 2027-01-20 08:00 WIB" in out
    assert "reminders go to 3 applicant(s) now in admin_passed; 3 applicant(s) told" in out

    answer(cli_db, 1, ids[0], True)
    answer(cli_db, 1, ids[1], False)
    assert main(["events", "list"]) == 0
    out = capsys.readouterr().out
    header = out.splitlines()[0].split()
    assert header[:2] == ["ID", "PROGRAMME"] and header[-4:] == ["HADIR", "TIDAK", "BELUM", "MENJAWAB"]
    line = row_of(out, 1)
    assert line[:6] == ["1", "LAS1", "written_test", "2027-01-20", "08:00", "WIB"]
    assert line[-4:] == ["admin_passed", "1", "1", "1"]
    people = [" ".join(row.split()) for row in out.splitlines() if row.startswith("    ")]
    assert people == [
        "LAS1-2027-adm000 Budi 0 hadir",
        "LAS1-2027-adm001 Budi 1 tidak bisa hadir",
        "LAS1-2027-adm002 Budi 2 belum menjawab",
    ]

    assert main(["events", "cancel", "1"]) == 0
    assert "event 1 cancelled; 3 applicant(s) told" in capsys.readouterr().out
    assert main(["events", "list"]) == 0
    assert capsys.readouterr().out.strip() == "no events (add one with `blkbot events add`)"
    assert main(["events", "list", "--all", "--programme", "LAS1"]) == 0
    assert "written_test (cancelled)" in capsys.readouterr().out


def test_default_stages_by_kind_and_explicit_stages(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    common = ["--programme", "LAS1", "--at", "2027-02-01 08:00", "--place", "BLK"]
    assert main(["events", "add", "--kind", "training_start", *common]) == 0
    assert main(["events", "add", "--kind", "competency_test", *common]) == 0
    assert main(["events", "add", "--kind", "other", "--stages", "registered,waitlisted", *common]) == 0

    async def stages(db: Database) -> list[list[Any]]:
        async with db.transaction() as session:
            return [e.stages for e in await session.scalars(select(Event).order_by(Event.id))]

    assert run(cli_db, stages) == [["selected", "in_training"], ["in_training"], ["registered", "waitlisted"]]


def test_mistakes_are_named_and_nothing_is_added(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["events", "add", "--kind", "interview", "--place", "BLK"]
    assert main([*base, "--programme", "NOPE", "--at", "2027-01-20 08:00"]) == 1
    assert "unknown programme 'NOPE'" in capsys.readouterr().err
    assert main([*base, "--programme", "LAS1", "--at", "20/01/2027 8am"]) == 1
    assert "--at has value '20/01/2027 8am'" in capsys.readouterr().err
    assert main([*base, "--programme", "LAS1", "--at", "2020-01-20 08:00"]) == 1
    assert "is in the past" in capsys.readouterr().err
    assert main([*base, "--programme", "LAS1", "--at", "2027-01-20 08:00", "--stages", "lolos"]) == 1
    assert "unknown stage 'lolos'" in capsys.readouterr().err
    assert (
        main(["events", "add", "--kind", "other", "--place", "x", "--programme", "LAS1", "--at", "2027-01-20 08:00"])
        == 1
    )
    assert "--stages" in capsys.readouterr().err
    assert main(["events", "cancel", "42"]) == 1
    assert "no event 42" in capsys.readouterr().err
    assert main(["events", "list"]) == 0
    assert "no events" in capsys.readouterr().out


def test_times_are_the_catalog_citys_wita(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    async def to_wita(db: Database) -> None:
        async with db.transaction() as session:
            info = await catalog.info(session)
            assert info is not None
            info.timezone = "Asia/Makassar"

    run(cli_db, to_wita)
    assert (
        main(
            ["events", "add", "--programme", "LAS1", "--kind", "interview", "--at", "2027-01-20 08:00", "--place", "x"]
        )
        == 0
    )
    assert "2027-01-20 08:00 WITA" in capsys.readouterr().out

    async def start(db: Database) -> datetime:
        async with db.transaction() as session:
            event = await session.get(Event, 1)
            assert event is not None
            return event.starts_at

    assert run(cli_db, start) == datetime(2027, 1, 20, 0, 0, tzinfo=UTC)


def test_run_once_enqueues_what_is_due_now_once(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    applicants(cli_db, 2)
    # An interview a little under two hours from now: its "2h" reminder fell due a minute or so ago.
    at = (datetime.now(UTC) + timedelta(hours=2, minutes=-1)).astimezone(JAKARTA)
    assert (
        main(
            [
                "events",
                "add",
                "--programme",
                "LAS1",
                "--kind",
                "interview",
                "--at",
                f"{at:%Y-%m-%d %H:%M}",
                "--place",
                "Aula",
            ]
        )
        == 0
    )
    capsys.readouterr()

    assert main(["reminders", "run-once"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("reminders (1d@17.00, 2h): 2 enqueued for 1 event reminder(s) due")
    assert main(["reminders", "run-once"]) == 0
    assert capsys.readouterr().out.startswith("reminders (1d@17.00, 2h): 0 enqueued")

    async def keys(db: Database) -> list[str]:
        async with db.transaction() as session:
            return list(await session.scalars(select(OutboxMessage.dedupe_key).order_by(OutboxMessage.id)))

    assert [k.rsplit(":", 1)[0] for k in run(cli_db, keys)] == ["event:1:invited"] * 2 + ["reminder:1:2h"] * 2


def test_run_once_reads_the_offsets_variable(
    cli_db: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BLKBOT_REMINDER_OFFSETS", "3h,1d@18:30")
    assert main(["reminders", "run-once"]) == 0
    assert capsys.readouterr().out.startswith("reminders (3h, 1d@18.30): 0 enqueued")
    monkeypatch.setenv("BLKBOT_REMINDER_OFFSETS", "besok")
    assert main(["reminders", "run-once"]) == 1
    assert "BLKBOT_REMINDER_OFFSETS: reminder offset 'besok' not understood" in capsys.readouterr().err


def test_change_moves_an_event_and_tells_its_applicants(cli_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    applicants(cli_db, 2)
    add = ["events", "add", "--programme", "LAS1", "--kind", "interview", "--at", "2027-01-20 08:00", "--place", "BLK"]
    assert main(add) == 0
    capsys.readouterr()

    assert main(["events", "change", "1", "--at", "2027-01-21 13:30", "--place", "Aula Dinas", "--by", "rina"]) == 0
    assert capsys.readouterr().out.strip() == (
        "event 1 changed: interview of LAS1 on 2027-01-21 13:30 WIB at Aula Dinas; 2 applicant(s) told"
    )
    assert main(["events", "change", "1"]) == 1
    assert "nothing to change" in capsys.readouterr().err

    async def notices(db: Database) -> list[tuple[str, str]]:
        async with db.transaction() as session:
            rows = await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
            return [(r.dedupe_key.rsplit(":", 1)[0], r.text) for r in rows]

    moved = [text for key, text in run(cli_db, notices) if key == "event:1:r1"]
    assert len(moved) == 2 and "Kamis, 21 Januari 2027 pukul 13.30 WIB" in moved[0] and "Aula Dinas" in moved[0]

    async def audit(db: Database) -> list[tuple[str, str]]:
        async with db.transaction() as session:
            return [(a.actor, a.action) for a in await session.scalars(select(StaffAction).order_by(StaffAction.id))]

    assert run(cli_db, audit)[-1] == ("cli:rina", "event_changed")
