"""The send budget: pushed messages stay within their share; replies never queue behind them."""

from __future__ import annotations

import asyncio

from outreach.budget import SendBudget
from tests.outreach.conftest import VirtualTime


async def test_pushed_messages_take_at_most_their_share_of_the_rate() -> None:
    vt = VirtualTime()
    budget = SendBudget(rate=30, bulk_share=0.8, clock=vt.monotonic, sleep=vt.sleep)
    for i in range(240):
        await budget.push(f"chat{i}")
    assert 9.5 <= vt.seconds <= 10.5  # 240 messages at 24/s


async def test_one_chat_gets_at_most_one_pushed_message_a_second() -> None:
    vt = VirtualTime()
    budget = SendBudget(rate=30, clock=vt.monotonic, sleep=vt.sleep)
    for _ in range(5):
        await budget.push("same-chat")
    assert vt.seconds >= 4.0


async def test_a_reply_during_a_broadcast_goes_without_waiting_for_the_broadcast() -> None:
    vt = VirtualTime()
    budget = SendBudget(rate=30, bulk_share=0.8, clock=vt.monotonic, sleep=vt.sleep)
    for i in range(100):  # a broadcast in full flow
        await budget.push(f"chat{i}")
    before = vt.seconds
    await budget.reply()
    assert vt.seconds - before < 1 / 30 + 1e-9  # at most one token's wait, never the broadcast's queue


async def test_replies_and_pushes_together_stay_within_the_overall_rate() -> None:
    vt = VirtualTime()
    budget = SendBudget(rate=30, bulk_share=0.8, clock=vt.monotonic, sleep=vt.sleep)
    sent: list[float] = []

    async def pushes() -> None:
        for i in range(200):
            await budget.push(f"chat{i}")
            sent.append(vt.seconds)

    async def replies() -> None:
        for _ in range(100):
            await budget.reply()
            sent.append(vt.seconds)

    await asyncio.gather(pushes(), replies())
    window = [t for t in sent if 2.0 <= t < 7.0]
    assert len(window) <= 30 * 5 + 10  # never more than the rate, give or take the burst


async def test_a_rate_limit_answer_stops_everyone_for_retry_after() -> None:
    vt = VirtualTime()
    budget = SendBudget(rate=30, clock=vt.monotonic, sleep=vt.sleep)
    budget.limited(3.0)
    await budget.reply()
    assert vt.seconds >= 3.0
    assert budget.rate_limited == 1
