"""The delivery loop: drains the outbox through each channel's sender, within the budget.

It claims due rows with a lease, paces them through the shared SendBudget, sends a few at a
time, and writes each outcome back shortly after (in small batches, one transaction each). A
crash loses nothing: unconfirmed rows are claimed again when their lease runs out (or at once,
when the same worker restarts under its name), so a message goes out twice only if the crash fell
between the platform's answer and the status write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable

from outreach.budget import SendBudget
from outreach.errors import (
    AccountRefused,
    MarkupRejected,
    NeedsTemplate,
    RateLimited,
    Rejected,
    RetryLater,
    Unreachable,
)
from storage.db import Database
from storage.models import OutboxMessage
from storage.repositories import outbox

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Receipt:
    """What a platform that reports on its messages later (WhatsApp) said when it accepted one."""

    platform_message_id: str
    template: str | None = None
    """The template it went as, when it went as one."""


class Sender(Protocol):
    """A channel's way out: raises the errors of outreach.errors; returns a Receipt when the
    platform's status callbacks will quote the message's id."""

    async def send(self, message: OutboxMessage, *, plain: bool = False) -> Receipt | None: ...


@runtime_checkable
class PreparesBatches(Protocol):
    """A sender that looks up what it needs for a claimed batch at once, before its sends."""

    async def prepare(self, messages: Sequence[OutboxMessage]) -> None: ...


@dataclass(frozen=True)
class DeliverySettings:
    batch: int = 100
    lease: timedelta = timedelta(seconds=60)
    concurrency: int = 16
    max_attempts: int = 5
    backoff: float = 2.0
    """Seconds before the first retry after a 5xx or a timeout; doubled each attempt."""
    idle_poll: float = 1.0
    flush_interval: float = 0.05


@dataclass
class DeliveryStats:
    sent: int = 0
    failed: int = 0
    unreachable: int = 0
    retried: int = 0
    rate_limited: int = 0
    plain_fallbacks: int = 0
    needs_template: int = 0


@dataclass(frozen=True)
class _Outcome:
    message: OutboxMessage
    kind: str  # sent | retry | retry_free | failed | unreachable | needs_template
    error: str = ""
    at: datetime | None = None
    receipt: Receipt | None = None


DEFER_AFTER = 1.0
"""Seconds a claimed row may wait for its person's pacing before it is put back for later instead:
Telegram's one-second pacing waits in line; WhatsApp's six seconds would stall the whole batch."""


def utc_now() -> datetime:
    return datetime.now(UTC)


def _chat_key(message: OutboxMessage) -> str:
    """The person's key in the budget's pacing: one chat on one channel."""
    return f"{message.channel}:{message.chat_id}"


@dataclass
class DeliveryLoop:
    db: Database
    senders: Mapping[str, Sender]
    budget: SendBudget
    """The budget of every channel without one of its own in `budgets`."""
    settings: DeliverySettings = field(default_factory=DeliverySettings)
    worker: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")
    clock: Callable[[], datetime] = utc_now
    stats: DeliveryStats = field(default_factory=DeliveryStats)
    budgets: Mapping[str, SendBudget] = field(default_factory=dict)
    """A channel's own budget where its platform counts apart (WhatsApp's rate is per number)."""

    def __post_init__(self) -> None:
        self._wake = asyncio.Event()
        self._outcomes: list[_Outcome] = []
        self._outcome_ready = asyncio.Event()
        self._slots = asyncio.Semaphore(self.settings.concurrency)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._last_to_chat: dict[str, asyncio.Task[None]] = {}
        self._unreachable: set[int] = set()
        self._refused: set[str] = set()
        """Channels whose credentials the platform refuses right now (logged once, until it works again)."""

    def budget_of(self, channel: str) -> SendBudget:
        return self.budgets.get(channel, self.budget)

    def wake(self) -> None:
        """Something was enqueued in this process: look now rather than at the next poll."""
        self._wake.set()

    async def start_up(self) -> int:
        """Take back at once what a crashed predecessor of the same name had claimed. Other
        workers' claims are left alone: they may be sending them right now (a `blkbot deliver`
        beside the bot), and a dead worker's claims come back when its lease runs out."""
        async with self.db.transaction() as session:
            return await outbox.release(session, worker=self.worker)

    async def run(self, stop: asyncio.Event) -> None:
        flusher = asyncio.create_task(self._flush_forever(stop))
        try:
            while not stop.is_set():
                claimed = await self.cycle(stop)
                if claimed == 0:
                    await self._idle(stop)
        finally:
            await self._finish()
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
            await self._flush()
            async with self.db.transaction() as session:
                await outbox.release(session, worker=self.worker)

    async def drain(self) -> DeliveryStats:
        """Send everything due now, then return (tests and one-shot CLI runs)."""
        stop = asyncio.Event()
        while await self.cycle(stop):
            pass
        await self._finish()
        await self._flush()
        return self.stats

    async def cycle(self, stop: asyncio.Event | None = None) -> int:
        """Claim one batch and pace it out; returns how many rows were claimed."""
        async with self.db.transaction() as session:
            batch = await outbox.claim_due(
                session,
                now=self.clock(),
                worker=self.worker,
                lease=self.settings.lease,
                limit=self.settings.batch,
            )
        await self._prepare(batch)
        deferred: dict[str, datetime] = {}
        for message in batch:
            if stop is not None and stop.is_set():
                break
            chat = _chat_key(message)
            wait = self.budget_of(message.channel).chat_ready_in(chat)
            if chat in deferred or wait > DEFER_AFTER:
                # Not this person's turn yet (WhatsApp paces one person to a message every few
                # seconds): put the row back for then instead of holding up everyone behind it.
                at = deferred.setdefault(chat, self.clock() + timedelta(seconds=wait))
                self._record(_Outcome(message, "retry_free", "paced: another message to this person just went", at))
                continue
            previous = self._last_to_chat.get(chat)
            if previous is not None and not previous.done():
                await previous  # one chat's messages go out one after the other, in order
            if message.contact_id in self._unreachable:
                self._record(_Outcome(message, "unreachable", "blocked (an earlier message found out)"))
                continue
            await self.budget_of(message.channel).push(chat)
            await self._slots.acquire()
            task = asyncio.create_task(self._deliver(message))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
            self._last_to_chat[chat] = task
        self._last_to_chat = {c: t for c, t in self._last_to_chat.items() if not t.done()}
        return len(batch)

    async def _prepare(self, batch: Sequence[OutboxMessage]) -> None:
        """Let each channel's sender look up what its sends need for the batch in one go."""
        by_channel: dict[str, list[OutboxMessage]] = {}
        for message in batch:
            by_channel.setdefault(message.channel, []).append(message)
        for channel, messages in by_channel.items():
            sender = self.senders.get(channel)
            if isinstance(sender, PreparesBatches):
                try:
                    await sender.prepare(messages)
                except Exception:  # each send looks up for itself then, and fails there if it must
                    log.exception("%s: could not look up a batch's recipients", channel)

    async def _deliver(self, message: OutboxMessage) -> None:
        try:
            self._record(await self._attempt(message))
        finally:
            self._slots.release()

    async def _attempt(self, message: OutboxMessage) -> _Outcome:
        sender = self.senders.get(message.channel)
        if sender is None:
            return _Outcome(message, "failed", f"no sender for channel {message.channel!r}")
        try:
            try:
                receipt = await sender.send(message)
            except MarkupRejected:
                self.stats.plain_fallbacks += 1
                receipt = await sender.send(message, plain=True)
        except RateLimited as limited:
            self.budget_of(message.channel).limited(limited.retry_after, slow_down=limited.slow_down)
            self.budget_of(message.channel).not_sent(_chat_key(message))
            self.stats.rate_limited += 1
            at = self.clock() + timedelta(seconds=limited.retry_after)
            return _Outcome(message, "retry_free", str(limited), at)
        except AccountRefused as refused:
            return self._refused_account(message, refused)
        except NeedsTemplate as held:
            return _Outcome(message, "needs_template", str(held))
        except RetryLater as later:
            if later.counts and message.attempts + 1 >= self.settings.max_attempts:
                return _Outcome(message, "failed", f"gave up after {message.attempts + 1} attempts: {later}")
            at = self.clock() + timedelta(seconds=later.delay)
            return _Outcome(message, "retry" if later.counts else "retry_free", str(later), at)
        except Unreachable as gone:
            self._unreachable.add(message.contact_id)
            return _Outcome(message, "unreachable", str(gone) or "blocked")
        except (Rejected, MarkupRejected) as refused:
            return _Outcome(message, "failed", str(refused))
        except Exception as problem:  # TransientSendError, and anything unforeseen
            if message.attempts + 1 >= self.settings.max_attempts:
                return _Outcome(message, "failed", f"gave up after {message.attempts + 1} attempts: {problem}")
            delay = self.settings.backoff * 2**message.attempts
            return _Outcome(
                message, "retry", str(problem) or type(problem).__name__, self.clock() + timedelta(seconds=delay)
            )
        if message.channel in self._refused:
            self._refused.discard(message.channel)
            log.warning("%s accepts our messages again: sending resumed", message.channel)
        return _Outcome(message, "sent", receipt=receipt)

    def _refused_account(self, message: OutboxMessage, refused: AccountRefused) -> _Outcome:
        """Nothing goes out on the channel for a while; every row stays queued, none loses an attempt."""
        self.budget_of(message.channel).limited(refused.retry_after)
        if message.channel not in self._refused:
            self._refused.add(message.channel)
            log.error(
                "%s refuses our credentials (%s): nothing is sent there until they are fixed; "
                "everything stays queued and sending is tried again every %g s",
                message.channel,
                refused,
                refused.retry_after,
            )
        at = self.clock() + timedelta(seconds=refused.retry_after)
        return _Outcome(message, "retry_free", str(refused), at)

    def _record(self, outcome: _Outcome) -> None:
        self._outcomes.append(outcome)
        self._outcome_ready.set()

    async def _flush_forever(self, stop: asyncio.Event) -> None:
        while True:
            await self._outcome_ready.wait()
            await asyncio.sleep(self.settings.flush_interval)  # gather a few outcomes per write
            await self._flush()

    async def _flush(self) -> None:
        outcomes, self._outcomes = self._outcomes, []
        self._outcome_ready.clear()
        if not outcomes:
            return
        now = self.clock()
        async with self.db.transaction() as session:
            await outbox.mark_sent(session, [o.message.id for o in outcomes if o.kind == "sent"], now)
            await outbox.note_sent_as(
                session,
                [
                    outbox.SentAs(o.message.id, o.receipt.platform_message_id, o.receipt.template)
                    for o in outcomes
                    if o.kind == "sent" and o.receipt is not None
                ],
                now,
            )
            for o in outcomes:
                if o.kind in ("retry", "retry_free"):
                    await outbox.mark_retry(
                        session, o.message.id, at=o.at or now, error=o.error, count=o.kind == "retry"
                    )
                elif o.kind == "failed":
                    await outbox.mark_failed(session, o.message.id, o.error)
                elif o.kind == "unreachable":
                    await outbox.mark_unreachable(session, o.message.id, o.message.contact_id, o.error)
                elif o.kind == "needs_template":
                    await outbox.mark_needs_template(session, o.message.id, o.error)
        for o in outcomes:
            match o.kind:
                case "sent":
                    self.stats.sent += 1
                case "failed":
                    self.stats.failed += 1
                    log.warning("outbox message %s failed: %s", o.message.id, o.error)
                case "unreachable":
                    self.stats.unreachable += 1
                case "retry":
                    self.stats.retried += 1
                case "needs_template":
                    self.stats.needs_template += 1
                    log.warning("outbox message %s held: %s", o.message.id, o.error)

    async def _finish(self) -> None:
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)

    async def _idle(self, stop: asyncio.Event) -> None:
        async with self.db.transaction() as session:
            due = await outbox.next_due_at(session)
        wait = self.settings.idle_poll
        if due is not None:
            wait = max(0.0, min(wait, (due - self.clock()).total_seconds()))
        self._wake.clear()
        waiters = [asyncio.create_task(self._wake.wait()), asyncio.create_task(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
