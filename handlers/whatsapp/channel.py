"""The WhatsApp edge: the webhook stores what people send, a worker answers it.

Meta never delivers a webhook again once it was answered 200, so a message is written to the
inbound table first and acknowledged after; a repeated delivery finds its message id there and
adds nothing. The worker takes a chat's open messages in the order they were sent, runs each turn,
and keeps the rendered reply in the turn's own transaction: a crash after that sends the reply on
restart instead of taking the turn again; a crash before it takes the turn on restart. Either way
nothing a person sent is lost, and no answer is applied twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import socket
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from itertools import groupby
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from conversations.io import Reply
from conversations.runner import Conversations
from handlers.whatsapp import statuses
from handlers.whatsapp.batching import Batches
from handlers.whatsapp.graph import GraphApi
from handlers.whatsapp.inbound import deep_link_code, payload_of, to_inbound
from handlers.whatsapp.render import Words, render
from handlers.whatsapp.signature import is_signed, verification_answer
from handlers.whatsapp.wire import BadPayload, Delivery, WaMessage, parse_delivery
from messages.render import format_phone
from outreach.budget import SendBudget
from outreach.errors import AccountRefused, RateLimited, RetryLater, SendError, TransientSendError
from storage.db import Database, retried_once
from storage.errors import AlreadyAnswered
from storage.models import Contact, InboundStatus
from storage.repositories import early_statuses, inbound, whatsapp_chats
from storage.repositories.inbound import OpenMessage

log = logging.getLogger(__name__)

CHANNEL = "whatsapp"
BODY_MAX = 1024 * 1024
"""A webhook document is a few kilobytes; anything this large is not Meta."""
SEND_ATTEMPTS = 3
SETTLE_EVERY = 1.0
"""Seconds between looks for early status callbacks whose message id has been written since."""
REPLY_IDS_KEPT = 20_000
"""Replies remembered so their status callbacks are skipped: a few minutes' worth at full speed."""


Claimed = tuple[list[OpenMessage], list[str]]
"""One chat's claimed messages, oldest first, and its last numbered menu."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class WhatsAppChannel:
    def __init__(
        self,
        conversations: Conversations,
        graph: GraphApi,
        *,
        app_secret: str,
        verify_token: str,
        worker: str | None = None,
        clock: Callable[[], datetime] = utc_now,
        lease: timedelta = timedelta(seconds=60),
        idle_poll: float = 1.0,
        concurrency: int = 64,
        budget: SendBudget | None = None,
    ) -> None:
        self.conversations = conversations
        self.db: Database = conversations.db
        self.templates = conversations.services.templates
        self.graph = graph
        self.app_secret = app_secret
        self.verify_token = verify_token
        self.worker = worker or f"{socket.gethostname()}:whatsapp:{os.getpid()}"
        self.clock = clock
        self.lease = lease
        self.idle_poll = idle_poll
        self._slots = asyncio.Semaphore(concurrency)
        """Chats answered at once. A chat holds its slot through its sends, which wait on Meta's
        network: with 16, turns/s stopped at 16 / (turn + sends) while the CPU idled (bench
        closed loop, SQLite: 183 turns/s at 16, 239 at 64, the CPU then busy)."""
        self._wake = asyncio.Event()
        self._running = False
        self._early = True
        """Status callbacks may wait for their message id (statuses.settle); True at start for a restart's."""
        self._settled_at = -math.inf
        self._reply_ids: OrderedDict[str, None] = OrderedDict()
        """Message ids of the replies sent lately: their status callbacks concern no outbox row."""
        self._busy: dict[str, asyncio.Task[None]] = {}
        """Chats this process is answering now (run() claims the next chats meanwhile)."""
        self._queued: dict[str, list[OpenMessage]] = {}
        """Messages claimed for a chat in _busy, answered by its task after its current ones."""
        self._waiting: set[str] = set()
        """Chats with a message stored but not claimed, as the chat was busy: claimed after its task."""
        self._sent: list[int] = []
        """Messages whose reply went out, to be closed by the next `_transaction`."""
        self._in_hand: set[int] = set()
        """Inbound ids handed to a task and not answered yet: a claim again after a lease ran out
        while one was still being answered here does not answer it twice."""
        self.budget = budget or SendBudget(rate=80.0)
        """WhatsApp's budget, shared with the delivery loop's pushes: replies go first."""
        self._stores: Batches[Delivery, int] = Batches(self._store_all)

    def routes(self, path: str = "/whatsapp") -> list[Route]:
        return [
            Route(path, self.verify, methods=["GET"]),
            Route(path, self.receive, methods=["POST"]),
        ]

    # -- the webhook ---------------------------------------------------------------------------

    async def verify(self, request: Request) -> Response:
        """Meta's subscription handshake: echo the challenge when the verify token is ours."""
        challenge = verification_answer(dict(request.query_params), self.verify_token)
        if challenge is None:
            log.warning("refused a WhatsApp subscription handshake with a wrong verify token")
            return PlainTextResponse("forbidden", status_code=403)
        return PlainTextResponse(challenge)

    async def receive(self, request: Request) -> Response:
        body = await request.body()
        peer = request.client.host if request.client else "?"
        if len(body) > BODY_MAX:
            return PlainTextResponse("too large", status_code=413)
        if not is_signed(self.app_secret, body, request.headers.get("x-hub-signature-256")):
            log.warning("refused a WhatsApp webhook call from %s without a valid signature", peer)
            return PlainTextResponse("bad signature", status_code=401)
        try:
            delivery = parse_delivery(json.loads(body))
        except (ValueError, BadPayload) as problem:
            log.warning("refused a WhatsApp webhook call from %s: %s", peer, problem)
            return PlainTextResponse("bad payload", status_code=400)
        await self.store(delivery)
        return PlainTextResponse("ok")

    async def store(self, delivery: Delivery) -> int:
        """Keep what people sent (once per message id), when they last wrote, and what became of
        our pushed messages (status callbacks); returns how many messages were new. Calls that come
        while another is written are written together, in one transaction (batching.py).

        While the worker runs, the new messages of chats nobody is answering are claimed in the
        same transaction and handed to it directly: no claim of their own, no wait for a poll."""
        return await self._stores(delivery)

    async def _store_all(self, deliveries: Sequence[Delivery]) -> list[int]:
        new, claimed = await retried_once(lambda: self._store(deliveries), "a WhatsApp webhook")
        self.budget.received(len(new))
        self._dispatch(claimed)
        if new:
            sent = {m.wa_id for d in deliveries for m in d.messages}
            for chat_id in sent - {messages[0].chat_id for messages, _ in claimed}:
                # Busy (here or in another worker): claimable once that is done. A task here ending
                # wakes the claim loop for it; the loop looks now too, and at each idle poll.
                self._waiting.add(chat_id)
                self._wake.set()
        fresh = {m.message_id for m in new.values()}
        counts = []
        for delivery in deliveries:  # a message delivered twice in one batch is new once
            counts.append(sum(1 for m in delivery.messages if m.id in fresh))
            fresh -= {m.id for m in delivery.messages}
        return counts

    async def _store(self, deliveries: Sequence[Delivery]) -> tuple[dict[int, inbound.NewInbound], list[Claimed]]:
        now = self.clock()
        claimed: list[Claimed] = []
        messages = list({m.id: m for d in deliveries for m in d.messages}.values())
        async with self._transaction() as session:
            menus = await whatsapp_chats.heard_from(session, [(m.wa_id, m.sent_at, _opt_in_via(m)) for m in messages])
            new = await inbound.store(
                session, [inbound.NewInbound(CHANNEL, m.id, m.wa_id, m.sent_at, payload_of(m)) for m in messages], now
            )
            ours = [s for d in deliveries for s in d.statuses if s.message_id not in self._reply_ids]
            if ours and (await statuses.record(session, ours, now))[1]:
                self._early = True
            if new and self._running:
                rows = await inbound.claim_new(session, CHANNEL, new, worker=self.worker, now=now, lease=self.lease)
                claimed = [(list(group), menus[chat_id]) for chat_id, group in _by_chat(rows)]
        return new, claimed

    # -- the worker ----------------------------------------------------------------------------

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Claim, hand each chat to its own task, and claim again at once: a new message does not
        wait for the slowest chat of the last batch. A chat's task ending wakes the loop, as its
        next message may be open now."""
        async with self.db.transaction() as session:
            await inbound.release(session, worker=self.worker)  # a restart under the same name
        self._running = True
        try:
            while not stop.is_set():
                self._wake.clear()
                if self._early and time.monotonic() - self._settled_at > SETTLE_EVERY:
                    await self.settle()
                if not self._dispatch(await self._claim()):
                    self._waiting &= self._busy.keys()  # the others are another worker's, or answered
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(_first(self._wake, stop), self.idle_poll)
        finally:
            self._running = False
            if self._busy:
                await asyncio.wait(list(self._busy.values()))
            async with self._transaction() as session:
                await inbound.release(session, worker=self.worker)

    async def drain(self) -> int:
        """Answer everything open now (tests, and a one-shot catch-up)."""
        total = 0
        while handled := await self.cycle():
            total += handled
        await self.settle()
        return total

    async def settle(self) -> int:
        """Apply the status callbacks that came before their message id was written (statuses.settle)."""
        self._settled_at = time.monotonic()
        async with self.db.transaction() as session:
            changed = await statuses.settle(session, self.clock())
            self._early = await early_statuses.any_kept(session, CHANNEL)
        return changed

    async def cycle(self) -> int:
        """One claim, answered before it returns."""
        chats = await self._claim()
        await asyncio.gather(*(self._chat(messages, menu) for messages, menu in chats))
        if self._sent:
            async with self._transaction():
                pass  # what it answered is closed before it returns
        return sum(len(messages) for messages, _ in chats)

    async def _claim(self) -> list[Claimed]:
        """The open messages of chats nobody answers now, per chat, with the chat's last menu."""
        return await retried_once(self._claim_once, "a WhatsApp claim")

    async def _claim_once(self) -> list[Claimed]:
        async with self._transaction() as session:
            rows = await inbound.claim(session, CHANNEL, worker=self.worker, now=self.clock(), lease=self.lease)
            menus = await whatsapp_chats.menus(session, {row.chat_id for row in rows})
        return [(list(group), menus.get(chat_id, [])) for chat_id, group in _by_chat(rows)]

    def _dispatch(self, chats: list[Claimed]) -> int:
        """Start a task per chat; a chat already answered here gets the messages after its current ones."""
        for messages, menu in chats:
            chat_id = messages[0].chat_id
            fresh = [m for m in messages if m.id not in self._in_hand]
            self._in_hand.update(m.id for m in fresh)
            if chat_id in self._busy:
                self._queued.setdefault(chat_id, []).extend(fresh)
            elif fresh:
                self._busy[chat_id] = asyncio.create_task(self._serve(chat_id, fresh, menu))
        return len(chats)

    async def _serve(self, chat_id: str, messages: list[OpenMessage], menu: list[str]) -> None:
        try:
            while messages:
                menu, went_on = await self._chat(messages, menu)
                messages = self._queued.pop(chat_id, []) if went_on else []
        finally:  # no await from the last look at the queue to here: nothing is queued to a task gone
            for message in messages + self._queued.pop(chat_id, []):
                self._in_hand.discard(message.id)
            del self._busy[chat_id]
            if chat_id in self._waiting:
                self._waiting.discard(chat_id)
                self._wake.set()

    async def _chat(self, messages: list[OpenMessage], menu: list[str]) -> tuple[list[str], bool]:
        """Answer one chat's messages in order; stops at a reply that could not be sent yet, as the
        later ones must wait for it. Returns the chat's menu, and whether all were answered."""
        async with self._slots:
            for message in sorted(messages, key=lambda m: (m.sent_at, m.id)):
                try:
                    menu = await self._answer(message, menu)
                except TransientSendError as problem:
                    # Left open; its lease runs out and it is tried again (with the turn already taken).
                    log.warning("WhatsApp reply to inbound %s not sent yet: %s", message.id, problem)
                    for later in messages:
                        self._in_hand.discard(later.id)
                    return menu, False
                except Exception:
                    log.exception("WhatsApp inbound %s could not be answered", message.id)
                    async with self.db.transaction() as session:
                        await inbound.failed(session, message.id, "could not be answered (see the log)")
                finally:
                    self._in_hand.discard(message.id)
        return menu, True

    async def _answer(self, message: OpenMessage, menu: list[str]) -> list[str]:
        """Take the turn (unless taken before a crash) and send its reply; the message is closed by
        the next transaction this channel opens (`_transaction`). Returns the chat's menu now.

        What part of a reply went out is written down only when the rest could not go (a transaction
        between every two messages cost a first turn a tenth of its work): a crash in between sends
        the whole reply again, as a crash before the close always did."""
        wa_id = message.chat_id
        bodies: list[dict[str, Any]] = list(message.reply)
        if message.status == InboundStatus.RECEIVED:
            taken = await self._take_turn(message, menu)
            if taken is None:
                return menu  # another worker's now: it sends the reply and closes the message
            bodies, menu = taken
        for index, body in enumerate(bodies):
            try:
                await self._send(wa_id, body)
            except TransientSendError:
                if index:  # tried again later, the message sends only what did not go out
                    async with self.db.transaction() as session:
                        await inbound.still_to_send(session, message.id, bodies[index:])
                raise
        self._sent.append(message.id)
        return menu

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        """A transaction that first closes the messages whose replies went out since the last one.

        Closing each in a transaction of its own cost a third of a turn's database work; here they
        ride along with the next webhook's store or the next claim (at least every idle poll), which
        is also what must see them closed before it takes the chat's next message. A crash before
        then sends those replies again on restart, as a crash between a send and its close always did."""
        sent, self._sent = self._sent, []
        try:
            async with self.db.transaction() as session:
                await inbound.done(session, sent)
                yield session
        except BaseException:
            self._sent[:0] = sent
            raise

    async def _take_turn(self, message: OpenMessage, menu: list[str]) -> tuple[list[dict[str, Any]], list[str]] | None:
        """The turn's reply and the chat's menu after it; None when the message is no longer ours."""
        wa_id = message.chat_id
        item = await to_inbound(message.payload, wa_id, menu, self.graph)
        kept: list[dict[str, Any]] = []
        shown = menu

        async def keep(session: AsyncSession, contact: Contact, reply: Reply) -> None:
            nonlocal shown
            bodies, shown = self._rendered(wa_id, contact.language, reply)
            if shown != menu:
                await whatsapp_chats.set_menu(session, wa_id, shown)
            await inbound.answered(session, message.id, bodies)
            kept[:] = bodies  # a retried turn keeps only its last reply

        try:
            reply = await self.conversations.handle(CHANNEL, wa_id, item, within=keep)
        except AlreadyAnswered:
            # Answered already: by an earlier attempt here whose commit went through as its connection
            # died, or by a worker that took the chat over when our lease ran out (then it is theirs).
            async with self.db.transaction() as session:
                stored = await inbound.reply_to_send(session, message.id, self.worker)
                menus = await whatsapp_chats.menus(session, {wa_id})
            return None if stored is None else (stored, menus.get(wa_id, []))
        if not kept and reply.messages:  # the turn failed: its apology was not kept with it
            kept = self._rendered(wa_id, self.conversations.default_language, reply)[0]
            shown = menu
        return kept, shown

    def _rendered(self, wa_id: str, language: str, reply: Reply) -> tuple[list[dict[str, Any]], list[str]]:
        words = Words(self.templates, language)
        rendered = [render(outbound, words, own_number=format_phone(f"+{wa_id}")) for outbound in reply.messages]
        bodies = [body for r in rendered for body in r.bodies]
        return bodies, list(rendered[-1].menu) if rendered else []

    async def _send(self, wa_id: str, body: dict[str, Any]) -> None:
        for attempt in range(1, SEND_ATTEMPTS + 1):
            await self.budget.reply()
            try:
                self._note_reply(await self.graph.send(wa_id, body))
                return
            except RateLimited as limited:
                self.budget.limited(limited.retry_after, slow_down=limited.slow_down)  # pushes wait too
                if attempt == SEND_ATTEMPTS:
                    raise TransientSendError(str(limited)) from None
            except AccountRefused as refused:
                self.budget.limited(refused.retry_after)
                raise TransientSendError(str(refused)) from None
            except RetryLater as later:  # too many to this person just now: wait a little, then again
                if attempt == SEND_ATTEMPTS:
                    raise TransientSendError(str(later)) from None
                await asyncio.sleep(min(later.delay, 10.0))
            except TransientSendError:
                if attempt == SEND_ATTEMPTS:
                    raise
                await asyncio.sleep(0.5 * attempt)
            except SendError as refused:
                # Refused for good (a closed window, a blocked number): the turn stands, the reply is dropped.
                log.warning("WhatsApp refused a reply to a chat: %s", refused)
                return

    def _note_reply(self, wamid: str) -> None:
        self._reply_ids[wamid] = None
        while len(self._reply_ids) > REPLY_IDS_KEPT:
            self._reply_ids.popitem(last=False)


def _by_chat(rows: list[OpenMessage]) -> groupby[str, OpenMessage]:
    return groupby(sorted(rows, key=lambda r: (r.chat_id, r.sent_at, r.id)), key=lambda r: r.chat_id)


def _opt_in_via(message: WaMessage) -> str:
    code = deep_link_code(message.text)
    if code is not None:
        return f"click_to_chat:{code}"
    if message.referral:
        return f"referral:{message.referral}"
    return "first_message"


async def _first(*events: asyncio.Event) -> None:
    waiters = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
