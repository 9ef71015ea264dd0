"""`blkbot vacancies post | list | close`, against the test database (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli import main
from outreach.vacancies import VacancyError
from storage.db import Database
from storage.models import Application, DeliveryStatus, OutboxMessage, Stage, Vacancy
from storage.repositories import catalog, contacts
from tests.cli.conftest import blkbot

DEADLINE = date.today() + timedelta(days=90)


async def welder(db: Database, chat: str = "9001") -> None:
    """A subscribed applicant for a welding programme: the one person a welding vacancy reaches."""
    async with db.transaction() as session:
        contact = await contacts.get_or_create(session, "telegram", chat, language="id")
        contact.subscribed = True
        programme = await catalog.programme(session, "LAS1")
        assert programme is not None
        session.add(
            Application(
                number=f"LAS1-T-{chat}", programme_id=programme.id, contact_id=contact.id, stage=Stage.REGISTERED
            )
        )


def post_args(*extra: str, clusters: str = "LAS,motor", deadline: date = DEADLINE) -> list[str]:
    return [
        "vacancies", "post",
        "--employer", "PT <Maju> & Co",
        "--position", "Juru las SMAW",
        "--location", "Osaka, Jepang",
        "--abroad",
        "--clusters", clusters,
        "--deadline", deadline.isoformat(),
        "--how", "Kirim CV ke hrd@maju.co.id",
        *extra,
    ]  # fmt: skip


async def stored(db: Database) -> tuple[list[Vacancy], list[OutboxMessage]]:
    async with db.transaction() as session:
        return (
            list(await session.scalars(select(Vacancy).order_by(Vacancy.id))),
            list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))),
        )


async def test_post_with_yes_shows_the_preview_and_queues_the_messages(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    await welder(db)

    assert await blkbot(db, post_args("--yes", "--description", "Kontrak 3 tahun")) == 0

    out = capsys.readouterr().out
    assert "🏢 PT <Maju> & Co" in out and "&lt;" not in out  # the preview is plain text
    assert "📍 Osaka, Jepang · 🌏 Luar negeri" in out
    assert "[ 💼 Lihat lowongan lain ]" in out
    assert (
        "For: subscribers who applied to, train in or graduated from Teknik Las (LAS), Otomotif Sepeda Motor (MOTOR)"
        in out
    )
    assert "Recipients now: 1" in out
    [vacancy], [message] = await stored(db)
    assert f"vacancy {vacancy.id} posted: 1 messages queued for delivery" in out
    assert (vacancy.employer, vacancy.clusters, vacancy.abroad, vacancy.deadline) == (
        "PT <Maju> & Co", ["LAS", "MOTOR"], True, DEADLINE,
    )  # fmt: skip
    assert vacancy.description == "Kontrak 3 tahun" and (vacancy.created_by or "").startswith("cli")
    assert message.dedupe_key == f"vacancy:{vacancy.id}:{message.contact_id}"


async def test_refusing_the_confirmation_stores_and_sends_nothing(
    db: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    await welder(db)
    for answer in ("n\n", "", "tidak\n"):  # no, end of input, anything but yes
        monkeypatch.setattr("sys.stdin", io.StringIO(answer))
        assert await blkbot(db, post_args()) == 1
        out = capsys.readouterr().out
        assert "Post this vacancy and send it to 1 recipients? [y/N]" in out
        assert "Not posted: nothing was stored or sent." in out
    assert await stored(db) == ([], [])


async def test_confirming_with_y_posts(
    db: Database, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    await welder(db)
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    assert await blkbot(db, post_args()) == 0
    vacancies, messages = await stored(db)
    assert len(vacancies) == 1 and len(messages) == 1


async def test_clusters_all_reaches_every_subscriber(db: Database, capsys: pytest.CaptureFixture[str]) -> None:
    await welder(db, "9001")
    async with db.transaction() as session:
        (await contacts.get_or_create(session, "telegram", "9002", language="en")).subscribed = True

    assert await blkbot(db, post_args("--yes", clusters="ALL")) == 0

    out = capsys.readouterr().out
    assert "For: every subscriber" in out and "Recipients now: 2" in out
    [vacancy], messages = await stored(db)
    assert vacancy.clusters == [] and len(messages) == 2


async def test_unknown_cluster_is_refused_with_the_known_codes(db: Database) -> None:
    with pytest.raises(VacancyError) as refused:
        await blkbot(db, post_args("--yes", clusters="LAS,TAMBANG"))
    assert str(refused.value) == (
        "unknown cluster TAMBANG; known: BOGA, RIAS, LAS, MOTOR, JAHIT, MENGEMUDI, DIGITAL, DESAIN, LISTRIK, AC, BARISTA"
    )
    assert await stored(db) == ([], [])


async def test_deadline_in_the_past_is_refused(db: Database) -> None:
    with pytest.raises(VacancyError, match="is in the past"):
        await blkbot(db, post_args("--yes", deadline=date.today() - timedelta(days=2)))
    assert await stored(db) == ([], [])


async def test_list_shows_each_vacancy_with_its_status_and_delivery(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await blkbot(db, ["vacancies", "list"]) == 0
    assert capsys.readouterr().out.strip() == "no vacancies yet"
    await welder(db)
    await blkbot(db, post_args("--yes"))
    await blkbot(db, post_args("--yes", clusters="ALL"))
    [first, second], _ = await stored(db)
    await blkbot(db, ["vacancies", "close", str(first.id)])
    async with db.transaction() as session:  # one of the second vacancy's messages went out
        message = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.dedupe_key.like(f"vacancy:{second.id}:%"))
        )
        assert message is not None
        message.status = DeliveryStatus.SENT
    capsys.readouterr()

    assert await blkbot(db, ["vacancies", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "DEADLINE", "CLUSTERS", "SENT", "VACANCY"]
    assert lines[1].split()[:5] == [str(second.id), "open", DEADLINE.isoformat(), "ALL", "1/1"]
    assert lines[2].split()[:5] == [str(first.id), "closed", DEADLINE.isoformat(), "LAS,MOTOR", "0/1"]
    assert lines[2].endswith("Juru las SMAW – PT <Maju> & Co (Osaka, Jepang, abroad)")

    assert await blkbot(db, ["vacancies", "list", "--open"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and lines[1].split()[0] == str(second.id)


async def test_close_hides_the_vacancy_and_cancels_what_was_not_sent(
    db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    await welder(db)
    await blkbot(db, post_args("--yes"))
    [vacancy], _ = await stored(db)
    capsys.readouterr()

    assert await blkbot(db, ["vacancies", "close", str(vacancy.id)]) == 0
    assert capsys.readouterr().out.strip() == (
        f"vacancy {vacancy.id} closed: Juru las SMAW – PT <Maju> & Co; 1 messages not yet sent were cancelled"
    )
    [closed], [message] = await stored(db)
    assert closed.closed_at is not None and message.status == DeliveryStatus.CANCELLED

    assert await blkbot(db, ["vacancies", "close", str(vacancy.id)]) == 0
    assert "was already closed on" in capsys.readouterr().out
    with pytest.raises(VacancyError, match="no vacancy with id 999"):
        await blkbot(db, ["vacancies", "close", "999"])


def test_blkbot_command_reports_errors_with_exit_codes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BLKBOT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.delenv("BLKBOT_CATALOG", raising=False)

    assert main(post_args("--yes", clusters="TAMBANG")) == 1
    assert "blkbot: unknown cluster TAMBANG; known: BOGA, RIAS, LAS" in capsys.readouterr().err

    argv = post_args("--yes")
    argv[argv.index("--deadline") + 1] = "28/02/2027"
    with pytest.raises(SystemExit) as bad_date:
        main(argv)
    assert bad_date.value.code == 2
    assert "expected a date like 2027-02-28, got '28/02/2027'" in capsys.readouterr().err

    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    assert main(post_args()) == 0
    assert "posted: 0 messages queued" in capsys.readouterr().out
    assert main(["vacancies", "list"]) == 0
    assert "Juru las SMAW" in capsys.readouterr().out
