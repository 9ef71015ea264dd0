"""Processes sending for one bot share its rate through heartbeats in the database they share."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from pydantic import SecretStr

from bot.runtime import budget_shares, whatsapp_parts
from bot.settings import Settings
from messages.render import Templates
from outreach.budget import SendBudget
from outreach.budget_shares import BudgetShares, Share
from storage.db import Database
from storage.repositories import budget_members
from tests.conftest import Clock
from tests.outreach.conftest import VirtualTime

RATE = 30.0
BULK_SHARE = 0.8


def member(
    db: Database,
    clock: Clock,
    name: str,
    *,
    answers: bool = False,
    budget: SendBudget | None = None,
    channel: str = "telegram",
    rate: float = RATE,
) -> BudgetShares:
    return BudgetShares(
        db,
        budget or SendBudget(rate=rate, bulk_share=BULK_SHARE),
        name=name,
        role="bot" if answers else "deliver",
        answers=answers,
        rate=rate,
        bulk_share=BULK_SHARE,
        channel=channel,
        interval=1.0,
        silent_after=4.0,
        clock=clock,
    )


def tick(clock: Clock, seconds: float) -> None:
    clock.now += timedelta(seconds=seconds)


async def joined(*members: BudgetShares, clock: Clock) -> None:
    """Each beats, a second passes, each beats twice more: all know one another."""
    for m in members:
        await m.beat()
    tick(clock, 1.0)
    for _ in range(2):
        for m in members:
            await m.beat()


async def names(db: Database, channel: str = "telegram") -> list[str]:
    async with db.transaction() as session:
        return [m.name for m in await budget_members.members(session, channel)]


async def test_two_delivery_processes_on_one_database_each_take_half_of_the_pushed_share(
    db: Database, clock: Clock
) -> None:
    first, second = member(db, clock, "host:deliver:1"), member(db, clock, "host:deliver:2")
    await joined(first, second, clock=clock)

    assert first.share == second.share == Share(rate=12.0, bulk_rate=12.0)
    assert first.budget.rate == second.budget.rate == 12.0
    assert await names(db) == ["host:deliver:1", "host:deliver:2"]


async def test_each_half_is_what_the_process_actually_sends(db: Database, clock: Clock) -> None:
    vt = VirtualTime()
    budget = SendBudget(rate=RATE, bulk_share=BULK_SHARE, clock=vt.monotonic, sleep=vt.sleep)
    first, second = member(db, clock, "host:deliver:1", budget=budget), member(db, clock, "host:deliver:2")
    await joined(first, second, clock=clock)

    for i in range(120):
        await budget.push(f"chat{i}")
    assert 9.5 <= vt.seconds <= 10.5  # 120 messages at 12/s, not at the whole 24/s


async def test_the_bot_keeps_the_reply_share_beside_a_delivery_process(db: Database, clock: Clock) -> None:
    bot, deliver = member(db, clock, "host:bot:1", answers=True), member(db, clock, "host:deliver:2")
    await joined(bot, deliver, clock=clock)

    assert bot.share == Share(rate=18.0, bulk_rate=12.0)  # half the pushed 24/s, all the replies' 6/s
    assert deliver.share == Share(rate=12.0, bulk_rate=12.0)
    assert bot.budget.rate + deliver.budget.rate == RATE


async def test_the_bot_alone_has_the_whole_rate(db: Database, clock: Clock) -> None:
    bot = member(db, clock, "host:bot:1", answers=True)
    await joined(bot, clock=clock)

    assert bot.share == Share(rate=RATE, bulk_rate=RATE * BULK_SHARE)


async def test_a_process_gone_silent_drops_out_and_the_other_grows_back_to_the_whole(
    db: Database, clock: Clock
) -> None:
    first, second = member(db, clock, "host:deliver:1"), member(db, clock, "host:deliver:2")
    await joined(first, second, clock=clock)

    # `second` dies: it beats no more
    tick(clock, 3.0)
    assert await first.beat() == Share(rate=12.0, bulk_rate=12.0)  # 3 s of silence may be a slow beat
    tick(clock, 2.0)
    assert await first.beat() == Share(rate=24.0, bulk_rate=24.0)
    assert first.budget.rate == 24.0
    assert await names(db) == ["host:deliver:1"]


async def test_a_process_that_leaves_gives_its_share_back_at_the_others_next_beat(db: Database, clock: Clock) -> None:
    first, second = member(db, clock, "host:deliver:1"), member(db, clock, "host:deliver:2")
    await joined(first, second, clock=clock)

    await second.leave()
    tick(clock, 1.0)
    assert await first.beat() == Share(rate=24.0, bulk_rate=24.0)


async def test_a_newcomer_sends_nothing_before_its_share_is_known(db: Database, clock: Clock) -> None:
    vt = VirtualTime()
    running = member(db, clock, "host:bot:1", answers=True)
    await joined(running, clock=clock)
    budget = SendBudget(rate=RATE, bulk_share=BULK_SHARE, clock=vt.monotonic, sleep=vt.sleep)
    newcomer = member(db, clock, "host:deliver:2", budget=budget)
    push = asyncio.create_task(budget.push("chat1"))

    tick(clock, 0.5)
    assert await newcomer.beat() is None  # it joined; the bot has not seen it yet
    tick(clock, 0.5)
    await running.beat()  # the bot sees it and shrinks
    await asyncio.sleep(0)
    assert not push.done()
    tick(clock, 0.5)
    assert await newcomer.beat() == Share(rate=12.0, bulk_rate=12.0)
    await asyncio.wait_for(push, 1)
    assert running.share == Share(rate=18.0, bulk_rate=12.0)


async def test_a_newcomer_waits_for_a_silent_member_to_be_forgotten(db: Database, clock: Clock) -> None:
    dead = member(db, clock, "host:deliver:1")
    await joined(dead, clock=clock)
    newcomer = member(db, clock, "host:deliver:2")

    assert await newcomer.beat() is None
    tick(clock, 1.0)
    assert await newcomer.beat() is None  # the other has not beaten since: it may not have shrunk
    tick(clock, 3.5)
    assert await newcomer.beat() == Share(rate=24.0, bulk_rate=24.0)  # it was dead: forgotten


async def test_a_process_whose_heartbeat_stalled_waits_again_as_a_newcomer(db: Database, clock: Clock) -> None:
    first, second = member(db, clock, "host:deliver:1"), member(db, clock, "host:deliver:2")
    await joined(first, second, clock=clock)

    for _ in range(5):  # `first` could not beat for 5 s: `second` forgot it and took the whole
        tick(clock, 1.0)
        await second.beat()
    assert second.share == Share(rate=24.0, bulk_rate=24.0)
    assert await first.beat() is None
    push = asyncio.create_task(first.budget.push("chat1"))
    await asyncio.sleep(0)
    assert not push.done()
    tick(clock, 1.0)
    await second.beat()
    tick(clock, 0.1)
    assert await first.beat() == Share(rate=12.0, bulk_rate=12.0)
    await asyncio.wait_for(push, 1)


async def test_leaving_lets_a_held_budget_go_so_a_shutdown_does_not_hang(db: Database, clock: Clock) -> None:
    newcomer = member(db, clock, "host:deliver:1")
    await newcomer.beat()
    push = asyncio.create_task(newcomer.budget.push("chat1"))
    await asyncio.sleep(0)
    assert not push.done()

    await newcomer.leave()
    await asyncio.wait_for(push, 1)
    assert await names(db) == []


@pytest.mark.parametrize("share", [0.5, 1.0])
async def test_the_shares_add_up_to_the_rate_whatever_the_mix(db: Database, clock: Clock, share: float) -> None:
    members = [
        BudgetShares(
            db,
            SendBudget(rate=RATE, bulk_share=share),
            name=f"host:{role}:{i}",
            role=role,
            answers=role == "bot",
            rate=RATE,
            bulk_share=share,
            clock=clock,
        )
        for i, role in enumerate(("bot", "bot", "deliver", "broadcast"))
    ]
    await joined(*members, clock=clock)

    assert sum(m.budget.rate for m in members) == pytest.approx(RATE)
    assert sum(m.budget.bulk.rate for m in members) == pytest.approx(RATE * share)


async def test_the_whatsapp_number_and_the_telegram_bot_each_share_only_their_own_rate(
    db: Database, clock: Clock
) -> None:
    telegram = member(db, clock, "host:bot:1", answers=True)
    wa_bot = member(db, clock, "host:bot:1:whatsapp", answers=True, channel="whatsapp", rate=80.0)
    wa_deliver = member(db, clock, "host:deliver:2:whatsapp", channel="whatsapp", rate=80.0)
    await joined(telegram, wa_bot, wa_deliver, clock=clock)

    assert telegram.share == Share(rate=RATE, bulk_rate=RATE * BULK_SHARE)  # alone on the bot
    assert wa_bot.share == Share(rate=48.0, bulk_rate=32.0)  # half the pushed 64/s, all the replies' 16/s
    assert wa_deliver.share == Share(rate=32.0, bulk_rate=32.0)
    assert await names(db, "whatsapp") == ["host:bot:1:whatsapp", "host:deliver:2:whatsapp"]


async def test_blkbot_run_and_blkbot_deliver_share_the_whatsapp_number_rate(db: Database, clock: Clock) -> None:
    settings = Settings(
        database_url=db.url,
        telegram_token=SecretStr("123:abc"),
        whatsapp_token=SecretStr("wa-token"),
        whatsapp_phone_number_id="106540352242922",
        whatsapp_rate=80.0,
        bulk_share=BULK_SHARE,
    )
    run = whatsapp_parts(settings, db, Templates(), "bot")
    deliver = whatsapp_parts(settings, db, Templates(), "deliver")
    telegram = budget_shares(settings, db, SendBudget(rate=RATE), "bot")  # the same process as `run`
    try:
        for shares in (run.shares, deliver.shares, telegram):
            shares.clock = clock
        await joined(run.shares, deliver.shares, telegram, clock=clock)

        assert run.budget.rate + deliver.budget.rate == pytest.approx(80.0)  # not 80 each
        assert run.budget.rate == pytest.approx(48.0)  # the bot keeps the replies' part
        assert deliver.budget.bulk.rate == pytest.approx(32.0)
        assert telegram.budget.rate == pytest.approx(RATE)  # the Telegram bot's rate is apart
    finally:
        await run.graph.aclose()
        await deliver.graph.aclose()
