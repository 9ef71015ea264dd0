"""Vacancies: who they reach, idempotent posting, closing, and what arrives through the fake Bot API."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from messages.render import Templates
from outreach.delivery import DeliveryLoop
from outreach.vacancies import NewVacancy, VacancyError, announce, close_vacancy, post_vacancy
from storage.db import Database
from storage.models import Application, Contact, DeliveryStatus, OutboxMessage, Stage, Vacancy
from storage.repositories import catalog, contacts
from storage.repositories import vacancies as vacancy_repo
from tests.conftest import NOW, OFFICE
from tests.fakes.telegram_server import FakeTelegramServer
from tests.outreach.conftest import VirtualTime

DEADLINE = date(2027, 2, 28)
TODAY = date(2026, 11, 25)  # NOW in Jakarta
_numbers = itertools.count(1)


async def person(
    db: Database,
    chat: str,
    *applications: tuple[str, Stage],
    subscribed: bool = True,
    unreachable: bool = False,
    language: str = "id",
    channel: str = "telegram",
) -> Contact:
    """A contact with applications (programme code, stage) and the given subscription state."""
    async with db.transaction() as session:
        contact = await contacts.get_or_create(session, channel, chat, language=language)
        contact.subscribed, contact.unreachable = subscribed, unreachable
        for code, stage in applications:
            programme = await catalog.programme(session, code)
            assert programme is not None
            session.add(
                Application(
                    number=f"{code}-T-{next(_numbers):05d}",
                    programme_id=programme.id,
                    contact_id=contact.id,
                    stage=stage,
                )
            )
        await session.flush()
        return contact


async def post(db: Database, templates: Templates, *, now: datetime = NOW, **fields: object) -> tuple[Vacancy, int]:
    values: dict[str, object] = {
        "employer": "PT Maju Jaya",
        "position": "Juru las SMAW",
        "location": "Kabupaten Batang",
        "deadline": DEADLINE,
        "how_to_apply": "Kirim lamaran ke hrd@majujaya.co.id",
        "clusters": ("LAS", "MOTOR"),
    }
    values.update(fields)
    values["clusters"] = tuple(values["clusters"])  # type: ignore[call-overload]
    async with db.transaction() as session:
        return await post_vacancy(session, templates, NewVacancy(**values), now=now, actor=OFFICE)  # type: ignore[arg-type]


async def outbox_rows(db: Database) -> list[OutboxMessage]:
    async with db.transaction() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def vacancy_count(db: Database) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(Vacancy)) or 0)


async def test_vacancy_reaches_subscribers_who_applied_to_or_graduated_from_its_clusters(
    db: Database, templates: Templates
) -> None:
    applicant = await person(db, "1", ("LAS1", Stage.REGISTERED))
    graduate = await person(db, "2", ("MTR1", Stage.COMPETENT))
    trainee = await person(db, "3", ("LAS-PMI", Stage.IN_TRAINING))
    await person(db, "4", ("BOGA1", Stage.COMPETENT))  # another cluster
    await person(db, "5", ("LAS1", Stage.WITHDRAWN))
    await person(db, "6", ("LAS1", Stage.REGISTERED), subscribed=False)
    await person(db, "7", ("LAS1", Stage.REGISTERED), unreachable=True)
    await person(db, "8")  # subscribed, never applied
    several = await person(db, "9", ("LAS1", Stage.COMPETENT), ("LAS-PMI", Stage.REGISTERED), ("MTR1", Stage.SELECTED))

    vacancy, queued = await post(db, templates)

    expected = [applicant, graduate, trainee, several]
    assert queued == len(expected)
    rows = await outbox_rows(db)
    assert sorted(r.contact_id for r in rows) == sorted(p.id for p in expected)  # each once
    assert {r.dedupe_key for r in rows} == {f"vacancy:{vacancy.id}:{p.id}" for p in expected}
    assert {r.origin for r in rows} == {"vacancy"}
    assert rows[0].buttons == [[{"label": "💼 Lihat lowongan lain", "data": "/lowongan"}]]


async def test_withdrawn_in_one_cluster_but_applied_in_another_still_matches(
    db: Database, templates: Templates
) -> None:
    mixed = await person(db, "1", ("LAS1", Stage.WITHDRAWN), ("MTR1", Stage.NOT_SELECTED))
    await person(db, "2", ("LAS1", Stage.WITHDRAWN), ("BOGA1", Stage.REGISTERED))

    _, queued = await post(db, templates)

    assert queued == 1
    assert [r.contact_id for r in await outbox_rows(db)] == [mixed.id]


async def test_vacancy_without_clusters_goes_to_every_reachable_subscriber(db: Database, templates: Templates) -> None:
    first = await person(db, "1")
    second = await person(db, "2", ("BOGA1", Stage.REGISTERED))
    await person(db, "3", subscribed=False)
    await person(db, "4", unreachable=True)

    vacancy, queued = await post(db, templates, clusters=[])

    assert vacancy.clusters == [] and queued == 2
    assert [r.contact_id for r in await outbox_rows(db)] == [first.id, second.id]


async def test_announcing_again_sends_only_to_people_who_match_since(db: Database, templates: Templates) -> None:
    await person(db, "1", ("LAS1", Stage.REGISTERED))
    vacancy, queued = await post(db, templates)
    assert queued == 1

    async with db.transaction() as session:
        assert await announce(session, templates, vacancy, NOW) == 0
    late = await person(db, "2", ("LAS1", Stage.REGISTERED))
    async with db.transaction() as session:
        assert await announce(session, templates, vacancy, NOW) == 1

    rows = await outbox_rows(db)
    assert len(rows) == 2 and rows[-1].contact_id == late.id


async def test_each_recipient_gets_the_message_in_their_language(db: Database, templates: Templates) -> None:
    indonesian = await person(db, "1", ("LAS1", Stage.REGISTERED))
    english = await person(db, "2", ("LAS1", Stage.REGISTERED), language="en")

    await post(db, templates, location="Osaka, Jepang", abroad=True, description="Kontrak 3 tahun")

    texts = {r.contact_id: r for r in await outbox_rows(db)}
    assert "Lowongan kerja baru" in texts[indonesian.id].text
    assert "📍 Osaka, Jepang · 🌏 Luar negeri" in texts[indonesian.id].text
    assert "🛠 Bidang: Teknik Las, Otomotif Sepeda Motor" in texts[indonesian.id].text
    assert "Batas melamar: Minggu, 28 Februari 2027" in texts[indonesian.id].text
    assert "Kontrak 3 tahun" in texts[indonesian.id].text
    assert "New job vacancy" in texts[english.id].text
    assert "📍 Osaka, Jepang · 🌏 Abroad" in texts[english.id].text
    assert "🛠 Fields: Welding, Motorcycle repair" in texts[english.id].text
    assert "Apply by: Sunday, 28 February 2027" in texts[english.id].text
    assert texts[english.id].buttons == [[{"label": "💼 See other vacancies", "data": "/lowongan"}]]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"clusters": ["LAS", "TAMBANG"]}, "unknown cluster TAMBANG; known: BOGA, RIAS, LAS,"),
        ({"deadline": TODAY - timedelta(days=1)}, "deadline 2026-11-24 is in the past (today is 2026-11-25)"),
        ({"employer": "   "}, "employer is empty"),
        ({"how_to_apply": "x" * 1001}, "how to apply has 1001 characters, at most 1000"),
    ],
)
async def test_a_vacancy_that_cannot_be_posted_stores_and_sends_nothing(
    db: Database, templates: Templates, fields: dict[str, object], message: str
) -> None:
    await person(db, "1", ("LAS1", Stage.REGISTERED))
    with pytest.raises(VacancyError, match=message.replace("(", r"\(").replace(")", r"\)")):
        await post(db, templates, **fields)
    assert await vacancy_count(db) == 0
    assert await outbox_rows(db) == []


async def test_cluster_codes_are_trimmed_upper_cased_and_deduplicated(db: Database, templates: Templates) -> None:
    vacancy, _ = await post(db, templates, clusters=[" las", "Motor", "LAS"], employer="  PT   Maju  ")
    assert vacancy.clusters == ["LAS", "MOTOR"] and vacancy.employer == "PT Maju"


async def test_deadline_today_is_open_and_yesterday_is_not(db: Database, templates: Templates) -> None:
    today, _ = await post(db, templates, deadline=TODAY, clusters=["LAS"])
    general, _ = await post(db, templates, clusters=[])
    async with db.transaction() as session:
        assert [v.id for v in await vacancy_repo.open_vacancies(session, TODAY)] == [today.id, general.id]
        assert [v.id for v in await vacancy_repo.open_vacancies(session, TODAY, "LAS")] == [today.id, general.id]
        assert [v.id for v in await vacancy_repo.open_vacancies(session, TODAY, "BOGA")] == [general.id]
        assert [v.id for v in await vacancy_repo.open_vacancies(session, TODAY + timedelta(days=1))] == [general.id]


async def test_closing_hides_the_vacancy_and_cancels_its_unsent_messages(db: Database, templates: Templates) -> None:
    await person(db, "1", ("LAS1", Stage.REGISTERED))
    await person(db, "2", ("MTR1", Stage.COMPETENT))
    vacancy, _ = await post(db, templates)
    other, _ = await post(db, templates, position="Mekanik")

    async with db.transaction() as session:
        closed, cancelled = await close_vacancy(session, vacancy.id, NOW, OFFICE)
    assert cancelled == 2 and closed.closed_at is not None

    statuses = {(r.dedupe_key.split(":")[1], r.status) for r in await outbox_rows(db)}
    assert statuses == {(str(vacancy.id), DeliveryStatus.CANCELLED), (str(other.id), DeliveryStatus.PENDING)}
    async with db.transaction() as session:
        assert [v.id for v in await vacancy_repo.open_vacancies(session, TODAY)] == [other.id]
        again, cancelled_again = await close_vacancy(session, vacancy.id, NOW + timedelta(hours=1), OFFICE)
        assert cancelled_again == 0 and again.closed_at == closed.closed_at
        with pytest.raises(VacancyError, match="no vacancy with id 999"):
            await close_vacancy(session, 999, NOW, OFFICE)


async def test_delivered_vacancy_shows_the_employer_escaped_and_the_browse_button(
    db: Database, templates: Templates, loop: DeliveryLoop, server: FakeTelegramServer, vtime: VirtualTime
) -> None:
    welder = await person(db, "7001", ("LAS1", Stage.COMPETENT))
    await person(db, "7002", ("BOGA1", Stage.COMPETENT))

    await post(
        db,
        templates,
        employer="PT <Maju> & Co",
        how_to_apply="Bawa CV & ijazah ke <b>kantor</b>",
        now=vtime.now(),
    )
    stats = await loop.drain()

    assert stats.sent == 1
    [message] = server.messages(int(welder.chat_id))
    assert "🏢 PT <Maju> & Co" in (message.plain_text or "")
    assert "Bawa CV & ijazah ke <b>kantor</b>" in (message.plain_text or "")
    assert "PT &lt;Maju&gt; &amp; Co" in (message.text or "")
    assert message.button_texts == ["💼 Lihat lowongan lain"]
    assert message.callback_data == ["/lowongan"]
    assert server.messages(7002) == []
    assert [r.status for r in await outbox_rows(db)] == [DeliveryStatus.SENT]
