"""The platform's sending budget, shared by conversation replies and pushed messages.

Telegram allows about 30 messages a second overall and about one a second to one chat. Replies
to someone talking to the bot must never wait behind a broadcast, so pushed (bulk) messages take
at most a share of the overall rate (default 80%), and they wait whenever replies have used the
rest. Replies reserve overall tokens ahead (they may drive the bucket below zero); bulk never
reserves, it only takes a token that is there. One budget per process: when several processes send
for the same bot, outreach.budget_shares sizes each to its share of the bot's rate as they come and go.

A platform's "wait N seconds" (Telegram's 429) stops everyone for N seconds. WhatsApp's 130429
("throughput reached") comes without a wait and means "slower", not "stop": the budget pauses a
moment and cuts its rate, then climbs back (AIMD, as TCP does), so an odd 130429 costs a fraction of
a second's sends while a number whose real limit is below the configured rate settles under it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

EPSILON = 1e-9
"""Rounding slack: 0.9999999999 tokens is a token."""
MIN_WAIT = 1e-4
"""Never sleep less than this: a wait of 1e-17 s would not move a clock and would spin."""
SLOWED_TO = 0.75
"""After a throughput answer the rate is this share of what it was (the multiplicative decrease)."""
SLOWEST = 0.02
"""However many answers come, the rate stays above this share of the configured one: low enough to
get under a real limit far below a mistaken setting (1,000 configured, 80 real), never a standstill."""
RECOVERY = 1.0
"""Seconds to climb back, linearly, from a cut to the full rate while throughput answers are rare."""
LONGEST_RECOVERY = 32.0
CALM = 10.0
"""A cut within this many seconds of the rate being full again doubles the climb's length (up to
LONGEST_RECOVERY); a cut after a longer calm climbs back in RECOVERY again. When the real limit is
below the configured rate the budget so spends longer under it and knocks on it ever more rarely,
instead of drawing a 130429 every second."""


INBOUND_DEBT_SECONDS = 10.0
"""How far behind the messages people send may put our sends (SendBudget.received)."""


def _burst(rate: float) -> float:
    """A fifth of a second's worth, at least one token."""
    return max(1.0, rate * 0.2)


def _bulk_burst(bulk_rate: float) -> float:
    """A twentieth of a second's worth, at least one token: pushes catch up on a short stall of the
    sending loop (a claim, a status write, a busy event loop) instead of losing it for good, which
    at one token cost a WhatsApp broadcast at 80/s a few per cent; Telegram's 24/s keeps about one."""
    return max(1.0, bulk_rate * 0.05)


def _reply_reserve(burst: float) -> float:
    return (burst - 1) / 2


class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up. `reserve` may go below zero and tells how
    long the caller must wait; `try_take` only succeeds when a whole token is there."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self.tokens = burst
        self.updated = clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def reserve(self) -> float:
        self._refill()
        self.tokens -= 1
        return 0.0 if self.tokens >= -EPSILON else max(-self.tokens / self.rate, MIN_WAIT)

    def try_take(self, keep: float = 0.0) -> float:
        """Take a token and return 0, or return how long until one is there (taking nothing).
        With `keep`, a token is taken only while `keep` more stay in the bucket."""
        self._refill()
        if self.tokens >= 1 + keep - EPSILON:
            self.tokens -= 1
            return 0.0
        return max((1 + keep - self.tokens) / self.rate, MIN_WAIT)

    def owe(self, count: int, most: float) -> None:
        """Take `count` tokens whether or not they are there, owing at most `most` (never giving
        back what others already owe beyond it)."""
        self._refill()
        self.tokens = min(self.tokens, max(self.tokens - count, -most))

    def give_back(self) -> None:
        self.tokens = min(self.burst, self.tokens + 1)

    def resize(self, rate: float, burst: float) -> None:
        """A new rate from now on: what was saved up at the old rate stays, up to the new burst."""
        self._refill()
        self.rate, self.burst = rate, burst
        self.tokens = min(self.tokens, burst)


class SendBudget:
    def __init__(
        self,
        rate: float = 30.0,
        bulk_share: float = 0.8,
        per_chat_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], object] = asyncio.sleep,
    ) -> None:
        if not 0 < bulk_share <= 1:
            raise ValueError(f"bulk share must be in (0, 1], got {bulk_share}")
        self.rate = rate
        self.bulk_share = bulk_share
        self.per_chat_interval = per_chat_interval
        self.clock = clock
        self._sleep = sleep
        self.overall = TokenBucket(rate, burst=_burst(rate), clock=clock)
        self.bulk = TokenBucket(rate * bulk_share, burst=_bulk_burst(rate * bulk_share), clock=clock)
        self.reply_reserve = _reply_reserve(self.overall.burst)
        """Tokens pushed messages leave in the overall bucket, so a reply finds one waiting rather
        than queueing behind the refill (2.5 at 30/s; none when the burst is a single token)."""
        self._share_known = asyncio.Event()
        self._share_known.set()
        self._paused_until = 0.0
        self._chat_next: dict[str, float] = {}
        self.rate_limited = 0
        self.slowed = 0
        """Cuts of the rate after throughput answers (several answers at once cut once)."""
        self._pace = 1.0
        """The share of the configured rate the buckets run at now."""
        self._cut_to = 1.0
        self._cut_at = -float("inf")
        self._recovery = RECOVERY
        self._full_at = -float("inf")

    def hold(self) -> None:
        """Send nothing until `set_share` says how much of the bot's rate is this process's."""
        self._share_known.clear()

    def set_share(self, rate: float, bulk_rate: float) -> None:
        """This process's part of the bot's rate: `rate` in all, of which pushed messages may take
        `bulk_rate` (the rest is the replies'). Sending resumes if it was held."""
        self.rate, self.bulk_share = rate, bulk_rate / rate
        self._resize()
        self.reply_reserve = _reply_reserve(self.overall.burst)
        self._share_known.set()

    async def reply(self) -> None:
        """Wait for the right to send one reply to someone in a conversation."""
        await self._share_known.wait()
        await self._wait_pause()
        self._keep_pace()
        delay = self.overall.reserve()
        if delay > 0:
            await self._sleep(delay)

    def received(self, count: int) -> None:
        """People sent `count` messages, which the platform counts in the same throughput as ours
        (WhatsApp's is "inclusive of inbound and outbound"): each takes a token, owed when none is
        left, so the sends after a burst of them wait rather than draw throughput errors. Counted
        until ten seconds' worth is owed (replies queued included): a flood of messages holds the
        replies back that long at most, and under a steady load in and out share the rate."""
        if count:
            self.overall.owe(count, most=INBOUND_DEBT_SECONDS * self.overall.rate)

    async def push(self, chat_key: str) -> None:
        """Wait for the right to push one message to `chat_key`, behind every reply."""
        await self._share_known.wait()
        await self._wait_chat(chat_key)
        self._keep_pace()
        delay = self.bulk.reserve()
        if delay > 0:
            await self._sleep(delay)
        while True:
            await self._wait_pause()
            delay = self.overall.try_take(keep=self.reply_reserve)
            if delay == 0:
                break
            await self._sleep(delay)
        self._chat_next[chat_key] = self.clock() + self.per_chat_interval

    def limited(self, retry_after: float, *, slow_down: bool = False) -> None:
        """The platform answered 429: nobody sends until `retry_after` has passed. With `slow_down`
        (WhatsApp's 130429, outreach.errors.RateLimited) the rate is cut as well, and climbs back."""
        self.rate_limited += 1
        now = self.clock()
        self._paused_until = max(self._paused_until, now + retry_after)
        self.overall.tokens = min(self.overall.tokens, 0.0)
        if slow_down:
            self._slow_down(now, retry_after)

    def _slow_down(self, now: float, pause: float) -> None:
        """Cut the rate, once for all the answers to sends that were already on their way when the
        first came (they went at the old rate): those come within the pause."""
        if now < self._cut_at + pause:
            return
        if now - self._full_at < CALM or self._pace_at(now) < 1.0:
            self._recovery = min(self._recovery * 2, LONGEST_RECOVERY)
        else:
            self._recovery = RECOVERY
        self.slowed += 1
        self._cut_to = max(SLOWEST, self._pace_at(now) * SLOWED_TO)
        self._cut_at = now
        self._set_pace(self._cut_to)

    def _pace_at(self, now: float) -> float:
        """The rate's share at `now`: the last cut, climbing back linearly over the recovery time."""
        climbed = (now - self._cut_at) / self._recovery
        return min(1.0, self._cut_to + (1.0 - self._cut_to) * climbed)

    def _keep_pace(self) -> None:
        if self._pace < 1.0:
            now = self.clock()
            pace = self._pace_at(now)
            if pace >= 1.0:
                self._full_at = now
            self._set_pace(pace)

    def _set_pace(self, pace: float) -> None:
        self._pace = pace
        self._resize()

    def _resize(self) -> None:
        """The buckets at this process's rate times the pace; their bursts follow the rate itself."""
        bulk_rate = self.rate * self.bulk_share
        self.overall.resize(self.rate * self._pace, _burst(self.rate))
        self.bulk.resize(bulk_rate * self._pace, _bulk_burst(bulk_rate))

    async def _wait_pause(self) -> None:
        while (wait := self._paused_until - self.clock()) > 0:
            await self._sleep(wait)

    def not_sent(self, chat_key: str) -> None:
        """The platform refused the push to `chat_key` unsent (a rate limit): it does not count
        against the person's pacing, so its retry goes after the pause, not a pacing interval later.
        Their previous message went at least an interval before that push, which waited for it."""
        self._chat_next.pop(chat_key, None)

    def chat_ready_in(self, chat_key: str) -> float:
        """Seconds until `chat_key` may get its next pushed message (0 when it may now)."""
        ready = self._chat_next.get(chat_key)
        return max(0.0, ready - self.clock()) if ready is not None else 0.0

    async def _wait_chat(self, chat_key: str) -> None:
        ready = self._chat_next.get(chat_key)
        if ready is not None:
            wait = ready - self.clock()
            if wait > 0:
                await self._sleep(wait)
            if len(self._chat_next) > 50_000:
                self._forget_old_chats()

    def _forget_old_chats(self) -> None:
        now = self.clock()
        self._chat_next = {k: t for k, t in self._chat_next.items() if t > now}
