"""Runs turns: one chat at a time, one transaction per turn, state loaded after the lock is taken.

Handlers call `Conversations.handle` with a channel, a chat id and an Inbound; they get back a
Reply to render. Different chats run concurrently; updates of one chat queue on its lock, and a
second worker's write is caught by the conversation's version and the turn retried.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from conversations.commands import build_engine
from conversations.context import Context, Services
from conversations.engine import Engine, State
from conversations.io import Inbound, Outbound, Reply
from storage.db import Database, connection_lost
from storage.errors import AlreadyAnswered, StaleConversation
from storage.models import Contact
from storage.repositories import contacts, conversations, staff
from training import people
from training.nik import RedactNiks

log = logging.getLogger(__name__)
log.addFilter(RedactNiks())  # a failed turn's traceback may quote what the resident typed

RETRIES = 3

AfterTurn = Callable[[AsyncSession, Contact, Reply], Awaitable[None]]


@dataclass(frozen=True)
class Saved:
    """What an attempt saved, known before its commit: how to tell, when the connection died
    during the commit, whether the commit went through."""

    version: int
    state: State
    reply: Reply


class ChatLocks:
    """One asyncio.Lock per chat, dropped when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[Hashable, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)


class StaffDirectory:
    """Who may be staff: the settings' list plus the staff table, read at most every `ttl` seconds
    (a staff member added with `blkbot staff add` is recognised within that time), so a resident's
    turn costs no query for it. It only tells residents apart cheaply: a staff step confirms the
    role against the database (Context.staff_actor), so a removal takes effect at once."""

    def __init__(self, configured: Mapping[tuple[str, str], str], ttl: float = 30.0) -> None:
        self.configured = configured
        self.ttl = ttl
        self._stored: dict[tuple[str, str], str] = {}
        self._loaded_at = -math.inf

    async def role(self, session: AsyncSession, channel: str, user_id: str) -> str | None:
        if time.monotonic() - self._loaded_at > self.ttl:
            self._stored = {(m.channel, m.user_id): m.role for m in await staff.members(session)}
            self._loaded_at = time.monotonic()
        return self.configured.get((channel, user_id)) or self._stored.get((channel, user_id))


class Conversations:
    def __init__(
        self, db: Database, services: Services, engine: Engine | None = None, default_language: str = "id"
    ) -> None:
        self.db = db
        self.services = services
        self.engine = engine or build_engine()
        self.default_language = default_language
        self.locks = ChatLocks()
        self.staff = StaffDirectory(services.staff)

    async def handle(
        self, channel: str, chat_id: str | int, inbound: Inbound, *, within: AfterTurn | None = None
    ) -> Reply:
        """Take one turn. `within` runs inside the turn's transaction with its reply, so what a
        channel writes there (the rendered reply of a stored webhook message) commits with it; its
        AlreadyAnswered rolls the turn back and reaches the caller."""
        chat = str(chat_id)
        reconnected = False
        saved: list[Saved] = []
        async with self.locks.hold((channel, chat)):
            attempt = 1
            while attempt <= RETRIES:
                try:
                    return await self._turn(channel, chat, inbound, within, saved)
                except StaleConversation:
                    log.info("conversation %s:%s changed under us, retry %d", channel, chat, attempt)
                    attempt += 1
                except AlreadyAnswered:
                    raise  # `within` found its message answered before: no turn to take, no apology to give
                except Exception as error:
                    # A connection that died under the turn (a database restart) rolled it back:
                    # taken again once on a new one, the resident gets an answer, not an apology.
                    if connection_lost(error) and not reconnected:
                        reconnected = True
                        if saved and await self._committed(channel, chat, saved[0]):
                            log.warning("turn in %s chat lost its database connection as it committed", channel)
                            return saved[0].reply
                        log.warning("turn in %s chat lost its database connection; taking it again", channel)
                        continue
                    log.exception("turn failed in %s chat", channel)
                    return Reply([self._error_message()])
        # Every attempt met another writer: rare enough that someone should hear of it.
        log.warning("turn in %s chat %s gave up after %d concurrent changes", channel, chat, RETRIES)
        return Reply([self._error_message()])

    async def _committed(self, channel: str, chat: str, turn: Saved) -> bool:
        """Whether a turn whose connection died as it committed was committed after all (the server
        may have done so before the connection went): the chat holds the very state it saved. Then
        taking it again would apply the same answer twice (a name typed as the NIK asked next)."""
        try:
            async with self.db.transaction() as session:
                _, row = await conversations.load_for_turn(session, channel, chat)
        except Exception:  # still no database: the retry will say so
            return False
        return row is not None and (row.version, row.flow, row.step, row.data, row.last_press) == (
            turn.version,
            turn.state.flow,
            turn.state.step,
            turn.state.data,
            turn.state.last_press,
        )

    async def _turn(
        self, channel: str, chat: str, inbound: Inbound, within: AfterTurn | None, saved: list[Saved]
    ) -> Reply:
        """One attempt; `saved` gets what it saved once everything but the commit is done."""
        async with self.db.transaction() as session:
            contact, row = await conversations.load_for_turn(session, channel, chat)
            if contact is None:
                contact = await people.first_turn(
                    session,
                    channel,
                    chat,
                    language=self.default_language,
                    when=self.services.now(),
                    verified_phone=inbound.verified_phone,
                )
                # No dialogue yet: should a racing worker have saved one, this turn's save fails and is retried on it.
                row = None
            state = State(row.flow, row.step, copy.deepcopy(row.data or {}), row.last_press) if row else State()
            abandoned = state.data.pop(conversations.ABANDONED, False)
            version = row.version if row else 0
            role = await self.staff.role(session, channel, chat)
            view = await self.services.catalog.current(session)
            ctx = Context(session, contact, self.services, state.data, staff_role=role, catalog=view)
            await people.note_turn(session, contact, ctx.now(), inbound.verified_phone)
            reply = await self.engine.take_turn(ctx, state, inbound)
            if abandoned:  # the registration expired while they were away (bot.scheduler.expire_abandoned)
                reply.messages.insert(0, ctx.say("common/registration_expired"))
            version = await conversations.save(
                session,
                channel,
                chat,
                flow=state.flow,
                step=state.step,
                data=state.data,
                last_press=state.last_press,
                expected_version=version,
                now=ctx.now(),
            )
            if within is not None:
                await within(session, contact, reply)
            saved[:] = [Saved(version, state, reply)]
            return reply

    async def note(self, channel: str, chat_id: str | int, key: str) -> Outbound:
        """A message outside any turn (the answer to an edited message), in the chat's language:
        the conversation is neither locked nor changed."""
        async with self.db.transaction() as session:
            contact = await contacts.get(session, channel, str(chat_id))
        language = contact.language if contact else self.default_language
        return Outbound(self.services.templates.render(language, key))

    def _error_message(self) -> Outbound:
        return Outbound(self.services.templates.render(self.default_language, "common/error"))
