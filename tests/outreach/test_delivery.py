"""The outbox and its delivery loop against the fake Bot API: every answer Telegram can give."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from telegram import Bot

from handlers.telegram_sender import TelegramSender
from outreach.budget import SendBudget
from outreach.delivery import DeliveryLoop, DeliverySettings
from outreach.outbox import Push, enqueue
from storage.db import Database
from storage.models import Contact, DeliveryStatus, Origin, OutboxMessage
from tests.fakes.telegram_server import FakeTelegramServer
from tests.outreach.conftest import VirtualTime, make_contacts


async def push_to(
    db: Database, people: list[Contact], vtime: VirtualTime, *, text: str = "Halo <b>semua</b>", key: str = "b1"
) -> int:
    async with db.transaction() as session:
        return await enqueue(
            session,
            [Push(p, Origin.BROADCAST, f"{key}:{p.id}", text) for p in people],
            vtime.now(),
        )


async def rows(db: Database) -> list[OutboxMessage]:
    async with db.transaction() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_enqueueing_the_same_key_twice_sends_once(
    db: Database, loop: DeliveryLoop, server: FakeTelegramServer, vtime: VirtualTime
) -> None:
    people = await make_contacts(db, 3)
    assert await push_to(db, people, vtime) == 3
    assert await push_to(db, people, vtime) == 0

    stats = await loop.drain()

    assert stats.sent == 3
    assert [m.status for m in await rows(db)] == [DeliveryStatus.SENT] * 3
    for person in people:
        assert [m.plain_text for m in server.messages(int(person.chat_id))] == ["Halo semua"]


async def test_rate_limit_answer_pauses_sending_and_the_message_goes_later(
    db: Database, loop: DeliveryLoop, server: FakeTelegramServer, vtime: VirtualTime
) -> None:
    people = await make_contacts(db, 2)
    await push_to(db, people, vtime)
    server.fail_next("sendMessage", status=429, retry_after=5, chat_id=int(people[0].chat_id))

    first = await loop.drain()
    assert first.rate_limited == 1
    waiting = next(m for m in await rows(db) if m.contact_id == people[0].id)
    assert waiting.status == DeliveryStatus.PENDING and waiting.attempts == 0
    assert (waiting.next_attempt_at - vtime.now()).total_seconds() > 4

    vtime.advance(5)
    await loop.drain()
    assert [m.status for m in await rows(db)] == [DeliveryStatus.SENT] * 2
    assert len(server.messages(int(people[0].chat_id))) == 1


async def test_blocked_bot_marks_the_person_unreachable_and_stops_their_messages(
    db: Database, loop: DeliveryLoop, server: FakeTelegramServer, vtime: VirtualTime
) -> None:
    [person] = await make_contacts(db, 1)
    async with db.transaction() as session:
        await enqueue(
            session,
            [Push(person, Origin.BROADCAST, "b1", "satu"), Push(person, Origin.BROADCAST, "b2", "dua")],
            vtime.now(),
        )
    server.set_forbidden(int(person.chat_id))

    stats = await loop.drain()

    assert stats.unreachable == 2  # both messages end there
    assert [m.status for m in await rows(db)] == [DeliveryStatus.UNREACHABLE] * 2
    assert len(server.calls_to("sendMessage", int(person.chat_id))) == 1  # the second was never tried
    async with db.transaction() as session:
        stored = await session.get(Contact, person.id)
    assert stored is not None and stored.unreachable and not stored.subscribed


async def test_markup_refused_by_telegram_is_sent_again_as_plain_text(
    db: Database, loop: DeliveryLoop, server: FakeTelegramServer, vtime: VirtualTime
) -> None:
    [person] = await make_contacts(db, 1)
    await push_to(db, [person], vtime)
    server.fail_next(
        "sendMessage", status=400, description="Bad Request: can't parse entities: bad tag", chat_id=int(person.chat_id)
    )

    stats = await loop.drain()

    assert stats.sent == 1 and stats.plain_fallbacks == 1
    calls = server.calls_to("sendMessage", int(person.chat_id))
    assert [c.status for c in calls] == [400, 200]
    assert calls[1].params["text"] == "Halo semua" and "parse_mode" not in calls[1].params


async def test_server_errors_are_retried_with_backoff_then_given_up_with_the_reason(
    db: Database, loop: DeliveryLoop, server: FakeTelegramServer, vtime: VirtualTime
) -> None:
    [person] = await make_contacts(db, 1)
    await push_to(db, [person], vtime)
    server.fail_next("sendMessage", status=502, description="Bad Gateway", times=10)

    await loop.drain()
    [message] = await rows(db)
    assert (message.status, message.attempts) == (DeliveryStatus.PENDING, 1)
    assert round((message.next_attempt_at - vtime.now()).total_seconds()) == 2  # backoff 2 s

    vtime.advance(2)
    await loop.drain()
    [message] = await rows(db)
    assert (message.status, message.attempts) == (DeliveryStatus.PENDING, 2)
    assert round((message.next_attempt_at - vtime.now()).total_seconds()) == 4  # doubled

    vtime.advance(4)
    stats = await loop.drain()
    [message] = await rows(db)
    assert (message.status, message.attempts) == (DeliveryStatus.FAILED, 3)
    assert "gave up after 3 attempts" in (message.last_error or "")
    assert stats.failed == 1


async def test_a_timeout_is_retried_and_then_delivered(
    db: Database, loop: DeliveryLoop, server: FakeTelegramServer, vtime: VirtualTime
) -> None:
    [person] = await make_contacts(db, 1)
    await push_to(db, [person], vtime)
    server.fail_next("sendMessage", kind="hang", chat_id=int(person.chat_id))

    await loop.drain()
    [message] = await rows(db)
    assert message.status == DeliveryStatus.PENDING and message.attempts == 1

    vtime.advance(2)
    await loop.drain()
    [message] = await rows(db)
    assert message.status == DeliveryStatus.SENT


async def four_claimed_by(db: Database, vtime: VirtualTime, worker: str) -> list[Contact]:
    """Four people with a message waiting, all claimed by `worker` for a minute."""
    from datetime import timedelta

    from storage.repositories import outbox

    people = await make_contacts(db, 4)
    await push_to(db, people, vtime)
    async with db.transaction() as session:
        claimed = await outbox.claim_due(session, now=vtime.now(), worker=worker, lease=timedelta(minutes=1), limit=10)
    assert len(claimed) == 4
    return people


async def test_messages_claimed_before_a_crash_are_sent_at_once_by_the_restarted_worker(
    db: Database, loop: DeliveryLoop, server: FakeTelegramServer, vtime: VirtualTime
) -> None:
    people = await four_claimed_by(db, vtime, loop.worker)  # then the worker dies (SIGKILL)

    released = await loop.start_up()  # the same worker, restarted
    stats = await loop.drain()

    assert released == 4 and stats.sent == 4
    assert all(len(server.messages(int(p.chat_id))) == 1 for p in people)


async def test_a_worker_starting_beside_another_leaves_its_claims_until_their_lease_runs_out(
    db: Database, loop: DeliveryLoop, server: FakeTelegramServer, vtime: VirtualTime
) -> None:
    """`blkbot deliver` or `broadcast --deliver` started while the bot sends: nothing goes out twice."""
    people = await four_claimed_by(db, vtime, "host:bot")

    assert await loop.start_up() == 0
    assert (await loop.drain()).sent == 0  # the bot may be sending them right now

    vtime.advance(61)  # the bot died: its lease runs out
    assert (await loop.drain()).sent == 4
    assert all(len(server.messages(int(p.chat_id))) == 1 for p in people)


async def test_two_processes_claiming_at_the_same_moment_never_take_the_same_message(
    db: Database, vtime: VirtualTime
) -> None:
    """The bot and `blkbot deliver` (a connection each) claim while the other's claim is still open:
    on SQLite the second waits for the first to commit and then finds the rows taken, instead of
    reading them as pending before the first committed and sending them a second time."""
    from datetime import timedelta

    from storage.repositories import outbox

    await push_to(db, await make_contacts(db, 4), vtime)
    other_process = Database(db.url)

    async def claim(database: Database, worker: str) -> set[int]:
        async with database.transaction() as session:
            found = await outbox.claim_due(
                session, now=vtime.now(), worker=worker, lease=timedelta(minutes=1), limit=10
            )
        return {m.id for m in found}

    try:
        async with db.transaction() as session:
            mine = {
                m.id
                for m in await outbox.claim_due(
                    session, now=vtime.now(), worker="host:bot", lease=timedelta(minutes=1), limit=10
                )
            }
            theirs = asyncio.create_task(claim(other_process, "host:deliver"))
            for _ in range(20):  # the other process runs its claim meanwhile, as far as it can
                await asyncio.sleep(0)
        assert await asyncio.wait_for(theirs, 10) == set()
    finally:
        await other_process.dispose()
    assert len(mine) == 4
    assert {m.claimed_by for m in await rows(db)} == {"host:bot"}


async def test_results_go_before_broadcasts(
    db: Database, loop: DeliveryLoop, server: FakeTelegramServer, vtime: VirtualTime
) -> None:
    people = await make_contacts(db, 3)
    await push_to(db, people, vtime)
    async with db.transaction() as session:
        await enqueue(session, [Push(people[2], Origin.RESULT, "result:1:selected", "Selamat!")], vtime.now())

    await loop.drain()

    order = [c.params["text"] for c in server.calls_to("sendMessage") if c.ok]
    assert order[0] == "Selamat!"


async def test_two_workers_draining_one_outbox_never_send_a_message_twice(
    db: Database,
    bot,
    server: FakeTelegramServer,
    vtime: VirtualTime,  # type: ignore[no-untyped-def]
) -> None:
    """Two delivery loops (two processes' worth) claim from the same outbox at once."""
    import asyncio
    from collections import Counter

    from handlers.telegram_sender import TelegramSender
    from outreach.budget import SendBudget
    from outreach.delivery import DeliverySettings

    people = await make_contacts(db, 60)
    await push_to(db, people, vtime)
    loops = [
        DeliveryLoop(
            db,
            {"telegram": TelegramSender(bot)},
            SendBudget(rate=1000, clock=vtime.monotonic, sleep=vtime.sleep),
            settings=DeliverySettings(flush_interval=0, batch=7),
            worker=f"worker-{n}",
            clock=vtime.now,
        )
        for n in (1, 2)
    ]

    first, second = await asyncio.gather(*(loop.drain() for loop in loops))

    assert first.sent + second.sent == 60
    per_chat = Counter(c.chat_id for c in server.calls_to("sendMessage") if c.ok)
    assert set(per_chat.values()) == {1} and len(per_chat) == 60
    assert {m.status for m in await rows(db)} == {DeliveryStatus.SENT}


async def test_a_person_not_yet_due_is_put_back_and_holds_up_nobody(
    db: Database, bot: Bot, server: FakeTelegramServer, vtime: VirtualTime
) -> None:
    """WhatsApp paces one person to a message every few seconds: a second message to Siti waits for
    its turn in the outbox, not in the loop, so Budi's goes out at once."""
    paced = SendBudget(rate=30, bulk_share=1.0, per_chat_interval=6.0, clock=vtime.monotonic, sleep=vtime.sleep)
    loop = DeliveryLoop(
        db, {"telegram": TelegramSender(bot)}, paced, settings=DeliverySettings(flush_interval=0), clock=vtime.now
    )
    siti, budi = await make_contacts(db, 2)
    await push_to(db, [siti], vtime, text="satu", key="first")
    await push_to(db, [siti], vtime, text="dua", key="second")
    await push_to(db, [budi], vtime, text="untuk Budi", key="third")

    await loop.drain()

    assert [m.status for m in await rows(db)] == [DeliveryStatus.SENT, DeliveryStatus.PENDING, DeliveryStatus.SENT]
    assert vtime.seconds < 6.0  # nobody waited out Siti's pacing
    vtime.advance(6.0)
    await loop.drain()
    assert [m.plain_text for m in server.messages(int(siti.chat_id))] == ["satu", "dua"]
    assert [m.status for m in await rows(db)] == [DeliveryStatus.SENT] * 3
