"""The bot's rate, shared by every process that sends for it, through heartbeats in the database.

Telegram's limit is per bot, not per process: `blkbot run`, `blkbot deliver` and `blkbot broadcast
--deliver` on one database all send for the same bot. Each is a member of the budget_members table
and beats once a `interval`; from the members alive at its beat it sizes its own SendBudget, so no
message costs a database round trip. Pushed messages (rate x bulk share) are split evenly among all
members, since each runs a delivery loop; the replies' part (the rest) among the members that serve
conversations, so the bot keeps its reply reserve beside any number of `blkbot deliver`. The shares
add up to the rate.

A newcomer sends nothing until every other member has beaten since it joined, and at least one
interval has passed: by then each has seen it and shrunk. A member that stops beating (it died)
is forgotten after `silent_after`, and the others grow back at their next beat; a member that could
not beat for that long holds its sending and joins again as a newcomer, since the others may already
have grown into its share.

Each platform account limits its own rate (the Telegram bot ~30/s, the WhatsApp number 80/s and up),
so the members are kept per channel: a process sending on both is a member of each, with two
budgets, and only the members of one channel share that channel's rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from outreach.budget import SendBudget
from outreach.delivery import utc_now
from storage.db import Database
from storage.models import BudgetMember
from storage.repositories import budget_members

log = logging.getLogger(__name__)

INTERVAL = 1.0
"""Seconds between two heartbeats."""
SILENT_AFTER = 4.0
"""Seconds without a heartbeat after which a member counts as gone."""


@dataclass(frozen=True)
class Share:
    rate: float
    """Messages per second this process may send in all."""
    bulk_rate: float
    """Of which pushed messages may take this much."""


def share_of(members: Sequence[BudgetMember], name: str, *, rate: float, bulk_share: float) -> Share:
    """`name`'s part of `rate`: an even part of the pushed messages' share, and, if it serves
    conversations, an even part (among those that do) of the replies' share."""
    me = next(m for m in members if m.name == name)
    bulk = rate * bulk_share / len(members)
    answering = sum(1 for m in members if m.answers)
    replies = rate * (1 - bulk_share) / answering if me.answers else 0.0
    return Share(rate=bulk + replies, bulk_rate=bulk)


class BudgetShares:
    """Keeps one process's SendBudget at its share of the bot's rate; holds it until that is known."""

    def __init__(
        self,
        db: Database,
        budget: SendBudget,
        *,
        name: str,
        role: str,
        answers: bool,
        rate: float,
        bulk_share: float,
        channel: str = "telegram",
        interval: float = INTERVAL,
        silent_after: float = SILENT_AFTER,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.db = db
        self.budget = budget
        self.name = name
        self.role = role
        self.channel = channel
        self.answers = answers
        self.rate = rate
        self.bulk_share = bulk_share
        self.interval = timedelta(seconds=interval)
        self.silent_after = timedelta(seconds=silent_after)
        self.clock = clock
        self.share: Share | None = None
        self._seen: Share | None = None
        """The share worked out at the last beat, applied or not (a newcomer waits with it)."""
        self._joined: datetime | None = None
        self._last_beat: datetime | None = None
        budget.hold()

    async def beat(self) -> Share | None:
        """Say this process is alive, and size its budget to its share of the live members' rate.
        Returns the share, or None while this process waits as a newcomer."""
        now = self.clock()
        if self._last_beat is not None and now - self._last_beat > self.silent_after:
            log.warning("budget: no heartbeat for %s; waiting as a newcomer", now - self._last_beat)
            self._rejoin()
        async with self.db.transaction() as session:
            await budget_members.beat(
                session, name=self.name, channel=self.channel, role=self.role, answers=self.answers, now=now
            )
            await budget_members.forget_silent(session, before=now - self.silent_after)
            members = await budget_members.members(session, self.channel)
        self._last_beat = now
        if self._joined is None:
            self._joined = now
        share = self._seen = share_of(members, self.name, rate=self.rate, bulk_share=self.bulk_share)
        if not self._others_know_me(members, now):
            return None
        if share != self.share:
            log.info(
                "budget: %s %s msg/s (pushed %s) among %d senders",
                self.channel,
                round(share.rate, 2),
                round(share.bulk_rate, 2),
                len(members),
            )
            self.budget.set_share(share.rate, share.bulk_rate)
            self.share = share
        return share

    def _others_know_me(self, members: Sequence[BudgetMember], now: datetime) -> bool:
        if self.share is not None:
            return True
        assert self._joined is not None
        others_beat = all(m.seen_at > self._joined for m in members if m.name != self.name)
        return others_beat and now - self._joined >= self.interval

    def _rejoin(self) -> None:
        self.budget.hold()
        self.share = None
        self._joined = None

    async def run(self, stop: asyncio.Event) -> None:
        """Beat every interval until `stop`, then leave so the others grow back at once."""
        try:
            while not stop.is_set():
                try:
                    await self.beat()
                except Exception:
                    log.exception("budget: heartbeat failed")
                    self._hold_if_silent()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.interval.total_seconds())
        finally:
            await self.leave()

    def _hold_if_silent(self) -> None:
        if self._last_beat is None or self.clock() - self._last_beat > self.silent_after:
            self._rejoin()

    async def leave(self) -> None:
        """Drop out, so that the others grow back at their next beat. A held budget is let go at the
        share last worked out, so that what waits for it (a push, a reply) does not hang the shutdown."""
        if self.share is None:
            share = self._seen or Share(self.budget.rate, self.budget.bulk.rate)
            self.budget.set_share(share.rate, share.bulk_rate)
        try:
            async with self.db.transaction() as session:
                await budget_members.leave(session, self.name)
        except Exception:  # the others forget us after silent_after anyway
            log.exception("budget: could not leave")
