"""The send budget: pushed messages stay within their share; replies never queue behind them."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator

import pytest

from outreach.budget import SendBudget, TokenBucket
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


async def test_messages_people_send_take_their_part_of_the_rate_before_replies_go() -> None:
    """WhatsApp's 80 messages a second count what people send too: after 80 came in at once,
    the replies wait for the second to pass instead of drawing 130429s."""
    vt = VirtualTime()
    quiet = SendBudget(rate=80, clock=vt.monotonic, sleep=vt.sleep)
    await quiet.reply()
    assert vt.seconds == 0

    busy = SendBudget(rate=80, clock=vt.monotonic, sleep=vt.sleep)
    busy.received(80)
    await busy.reply()
    assert 0.75 <= vt.seconds <= 1.05


async def test_a_flood_of_messages_people_send_holds_replies_back_ten_seconds_at_most() -> None:
    vt = VirtualTime()
    budget = SendBudget(rate=80, clock=vt.monotonic, sleep=vt.sleep)
    budget.received(5000)
    await budget.reply()
    assert 9.5 <= vt.seconds <= 10.05


async def test_messages_people_send_never_shorten_the_wait_of_replies_queued_before_them() -> None:
    vt = VirtualTime()
    budget = SendBudget(rate=80, clock=vt.monotonic, sleep=vt.sleep)
    for _ in range(1000):  # twelve and a half seconds of replies, queued at once
        budget.overall.reserve()
    budget.received(10)
    await budget.reply()
    assert vt.seconds >= 12.3


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


async def pushes_during(budget: SendBudget, vt: VirtualTime, seconds: float, chats: Iterator[str]) -> int:
    """How many pushes get their turn in the next `seconds` of virtual time."""
    end, count = vt.seconds + seconds, 0
    while True:
        await budget.push(next(chats))
        if vt.seconds > end:
            return count
        count += 1


def new_chats() -> Iterator[str]:
    return (f"chat{i}" for i in itertools.count())


async def test_pushes_catch_up_on_a_short_stall_of_the_sending_loop() -> None:
    vt = VirtualTime()
    budget = SendBudget(rate=80, bulk_share=1.0, per_chat_interval=6, clock=vt.monotonic, sleep=vt.sleep)
    chats = new_chats()
    await pushes_during(budget, vt, 1.0, chats)
    vt.advance(0.05)  # the loop was busy elsewhere (a claim, a status write) for four tokens' time
    stalled = vt.seconds
    for _ in range(3):
        await budget.push(next(chats))
    assert vt.seconds == stalled  # what the stall held back goes at once, not lost


# -- WhatsApp's 130429: slow down, not stop --------------------------------------------------------

THROUGHPUT_ANSWER = 0.2
"""The pause handlers.whatsapp.graph asks for with a 130429 (THROUGHPUT_WAIT)."""


async def test_a_throughput_answer_pauses_a_moment_slows_down_and_climbs_back() -> None:
    vt = VirtualTime()
    budget = SendBudget(rate=80, bulk_share=1.0, per_chat_interval=6, clock=vt.monotonic, sleep=vt.sleep)
    chats = new_chats()
    await pushes_during(budget, vt, 2.0, chats)  # a broadcast in full flow

    budget.limited(THROUGHPUT_ANSWER, slow_down=True)
    answered = vt.seconds
    await budget.push(next(chats))
    paused = vt.seconds - answered
    slowed = await pushes_during(budget, vt, 0.5, chats)
    await pushes_during(budget, vt, 1.0, chats)
    recovered = await pushes_during(budget, vt, 1.0, chats)

    assert THROUGHPUT_ANSWER <= paused < 0.25  # a moment, not the second it used to be
    assert 24 <= slowed <= 37  # under the 40 of half a second at full rate
    assert recovered >= 79  # back to the full rate
    assert (budget.rate_limited, budget.slowed) == (1, 1)


async def test_a_429_stops_everyone_for_its_wait_and_then_goes_at_full_rate() -> None:
    vt = VirtualTime()
    budget = SendBudget(rate=80, bulk_share=1.0, per_chat_interval=6, clock=vt.monotonic, sleep=vt.sleep)
    chats = new_chats()
    budget.limited(1.0)
    await budget.push(next(chats))
    assert vt.seconds >= 1.0
    assert await pushes_during(budget, vt, 1.0, chats) >= 79
    assert (budget.rate_limited, budget.slowed) == (1, 0)


async def test_answers_to_sends_already_on_their_way_slow_down_once() -> None:
    vt = VirtualTime()
    budget = SendBudget(rate=80, bulk_share=1.0, per_chat_interval=6, clock=vt.monotonic, sleep=vt.sleep)
    for _ in range(4):
        budget.limited(THROUGHPUT_ANSWER, slow_down=True)
    assert (budget.rate_limited, budget.slowed) == (4, 1)


@pytest.mark.parametrize(("configured", "real"), [(80, 60), (100, 80), (1000, 80)])
async def test_a_real_limit_below_the_configured_rate_is_kept_with_few_throughput_answers(
    configured: float, real: float
) -> None:
    """The platform's own bucket (a second's worth of burst, as Meta's) answers 130429 whenever the
    budget goes faster than the number really may: the budget settles under it, knocking rarely."""
    vt = VirtualTime()
    budget = SendBudget(rate=configured, bulk_share=1.0, per_chat_interval=6, clock=vt.monotonic, sleep=vt.sleep)
    platform = TokenBucket(real, burst=real, clock=vt.monotonic)
    accepted = answers = 0
    chats = new_chats()
    while vt.seconds < 120:
        await budget.push(next(chats))
        if platform.try_take() == 0:
            accepted += 1
        else:
            answers += 1
            budget.limited(THROUGHPUT_ANSWER, slow_down=True)
    assert accepted / 120 >= 0.95 * real
    assert answers <= accepted / 100  # under one in a hundred sends, never a storm


async def test_a_push_refused_unsent_does_not_hold_back_that_persons_next_one() -> None:
    vt = VirtualTime()
    budget = SendBudget(rate=80, bulk_share=1.0, per_chat_interval=6, clock=vt.monotonic, sleep=vt.sleep)
    await budget.push("siti")
    assert budget.chat_ready_in("siti") == 6
    budget.limited(THROUGHPUT_ANSWER, slow_down=True)
    budget.not_sent("siti")
    await budget.push("siti")
    assert vt.seconds < 1  # the retry went after the pause, not six seconds later


async def test_a_short_429_is_a_stop_not_a_slow_down() -> None:
    """What slows down is the kind of answer (130429), not how short the wait is."""
    vt = VirtualTime()
    budget = SendBudget(rate=80, bulk_share=1.0, per_chat_interval=6, clock=vt.monotonic, sleep=vt.sleep)
    chats = new_chats()
    budget.limited(THROUGHPUT_ANSWER)
    await budget.push(next(chats))
    assert vt.seconds >= THROUGHPUT_ANSWER
    assert await pushes_during(budget, vt, 1.0, chats) >= 79  # full rate at once
    assert (budget.rate_limited, budget.slowed) == (1, 0)
