"""The Telegram edge: updates in, Inbound out; Outbound in, Bot API calls out.

No strings and no branching on steps here: a callback turns the update into an Inbound, hands it
to the conversation runner with the chat id, and renders the Reply (HTML, inline keyboards, the
share-contact button). Updates run concurrently; the runner keeps each chat in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import warnings
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from starlette.routing import BaseRoute
from telegram import (
    Bot,
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    MaybeInaccessibleMessage,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from conversations.io import Attachment, Inbound, Outbound, Reply
from conversations.runner import ChatLocks, Conversations
from handlers.http import build_app, listen, serve_in_background
from handlers.telegram_webhook import telegram_route
from messages.markup import html_to_plain, split_message
from outreach.budget import SendBudget
from training.documents import MAX_BYTES
from training.nik import RedactNiks

log = logging.getLogger(__name__)
log.addFilter(RedactNiks())

CHANNEL = "telegram"
SEND_ATTEMPTS = 3
MENU_COMMANDS = (
    "start",
    "pelatihan",
    "daftar",
    "status",
    "jadwal",
    "lowongan",
    "kembali",
    "batal",
    "bantuan",
    "bahasa",
    "berhenti",
    "langganan",
    "dataku",
    "hapusdata",
)

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
"""The updates the handlers below take; Telegram need not send (nor a webhook accept) any other kind."""

CONNECTION_POOL = 32
"""HTTP connections to the Bot API, not PTB's 256: httpcore scans the whole pool on every request,
and 32 keeps replies, edits and pushed messages flowing at Telegram's ~30 messages a second."""

T = TypeVar("T")


class TelegramChannel:
    """Wires one conversation runner to one python-telegram-bot Application."""

    def __init__(
        self,
        conversations: Conversations,
        budget: SendBudget | None = None,
        on_tracked: Callable[[int, int, str], None] | None = None,
    ) -> None:
        self.conversations = conversations
        self.budget = budget
        self.on_tracked = on_tracked
        """Told (chat id, message id, what it tracks) of each message to be kept up to date in place."""
        self.chats = ChatLocks()

    def install(self, app: Application) -> None:
        # New messages only: PTB's MessageHandler also passes edits, and an edit is not an answer.
        private = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE
        app.add_handler(CallbackQueryHandler(self.on_button))
        app.add_handler(MessageHandler(private & filters.CONTACT, self.on_contact))
        app.add_handler(MessageHandler(private & (filters.TEXT | filters.COMMAND), self.on_text))
        app.add_handler(MessageHandler(private & ~filters.StatusUpdate.ALL, self.on_other))
        app.add_handler(MessageHandler(filters.ChatType.PRIVATE & filters.UpdateType.EDITED_MESSAGE, self.on_edit))
        app.add_error_handler(self.on_error)

    async def on_text(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None and message.text is not None
        await self.take_turn(context, message.chat_id, Inbound.parse_text(message.text))

    async def on_contact(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        message = update.effective_message
        assert message is not None and message.contact is not None
        shared = message.contact
        # Telegram vouches for a number only when the shared contact is the sender's own account.
        own = shared.user_id is not None and message.from_user is not None and shared.user_id == message.from_user.id
        inbound = Inbound(contact_phone=shared.phone_number, verified_phone=shared.phone_number if own else None)
        await self.take_turn(context, message.chat_id, inbound)

    async def on_other(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A photo or a file is handed over as an attachment; a sticker or a voice note as nothing,
        so the current step re-asks for what it needs."""
        message = update.effective_message
        assert message is not None
        attachment = await fetch_attachment(message)
        await self.take_turn(context, message.chat_id, Inbound(text=message.caption, attachment=attachment))

    async def on_edit(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An edited message is never an answer (the step it answered is gone, and an old "ya" must
        not confirm what is asked now): say so, and take no turn."""
        message = update.effective_message
        assert message is not None
        note = await self.conversations.note(CHANNEL, message.chat_id, "common/edit_ignored")
        async with self.chats.hold(message.chat_id):
            await self.send(context, message.chat_id, [note])

    async def on_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None
        chat_id = query.message.chat.id if query.message else query.from_user.id
        async with self.chats.hold(chat_id):
            # The turn runs before answering the query so that presses of one chat reach the runner in order.
            reply = await self.conversations.handle(CHANNEL, chat_id, Inbound(choice=query.data or ""))
            if reply.repeated:  # a double tap: the first press was answered and marked
                await self.answer(query)
                return
            # Then the three calls go out together: over a real network a press costs one round trip, not three.
            await asyncio.gather(
                self.answer(query),
                self.mark_answered(query.message, reply),
                self.send(context, chat_id, reply.messages),
            )

    async def take_turn(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, inbound: Inbound) -> None:
        """Run the turn and send its reply while holding the chat, so that a resident who types
        twice quickly gets the two replies in order (two sends in flight may arrive either way)."""
        async with self.chats.hold(chat_id):
            reply = await self.conversations.handle(CHANNEL, chat_id, inbound)
            await self.send(context, chat_id, reply.messages)

    async def answer(self, query: CallbackQuery) -> None:
        """Stop the button's spinner. Nothing to tell the resident if it fails: the spinner stops by itself."""
        with contextlib.suppress(BadRequest, Forbidden, RetryAfter, TimedOut, NetworkError):
            await query.answer()

    async def mark_answered(self, message: MaybeInaccessibleMessage | None, reply: Reply) -> None:
        """Drop the keyboard of the pressed message and show the choice under the question, so an
        old keyboard cannot be pressed again and the chat reads like a form filled in."""
        if not isinstance(message, Message):
            return  # too old for the bot to see or change
        if not reply.chosen and message.reply_markup is None:
            return  # no keyboard left to drop: Telegram would answer "message is not modified"
        try:
            if reply.chosen:
                text = f"{message.text_html or ''}\n\n» <b>{_escape(reply.chosen)}</b>"
                await message.edit_text(text, parse_mode=ParseMode.HTML, reply_markup=None)
            else:
                await message.edit_reply_markup(reply_markup=None)
        except (BadRequest, Forbidden, RetryAfter, TimedOut, NetworkError) as problem:
            log.debug("could not mark message %s answered: %s", message.message_id, problem)

    async def send(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, messages: list[Outbound]) -> None:
        for outbound in messages:
            chunks = split_message(outbound.text) or [""]
            for index, chunk in enumerate(chunks):
                markup = _markup(outbound) if index == len(chunks) - 1 else None
                sent = await self._send_one(context, chat_id, chunk, markup)
            if outbound.track and self.on_tracked is not None and sent is not None:
                self.on_tracked(chat_id, sent.message_id, outbound.track)

    async def _send_one(
        self, context: ContextTypes.DEFAULT_TYPE, chat_id: int, text: str, markup: Any
    ) -> Message | None:
        if self.budget is not None:
            await self.budget.reply()  # replies go first; pushed messages use what is left

        async def html() -> Any:
            return await context.bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=markup)

        async def plain() -> Any:
            return await context.bot.send_message(chat_id, html_to_plain(text), reply_markup=markup)

        try:
            return await _with_retries(html)
        except BadRequest as problem:
            if "parse entities" not in str(problem).lower():
                raise
            log.warning("HTML refused by Telegram (%s); sending as plain text", problem)
            return await _with_retries(plain)
        except Forbidden:
            log.info("chat blocked the bot; reply dropped")
            return None

    async def on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        log.error("error while handling an update", exc_info=context.error)


async def fetch_attachment(message: Message) -> Attachment | None:
    """The photo (largest size) or file of a message. Its size is checked before downloading: a
    file over the documents' limit, or any video, is handed over unfetched, with its size, so the
    step can say why it is refused without the bot pulling 30 MB through."""
    if message.photo:
        photo = message.photo[-1]
        kind, mime, size, name, source = "image", "image/jpeg", photo.file_size, None, photo
    elif message.document is not None:
        document = message.document
        mime = document.mime_type or "application/octet-stream"
        kind = "video" if mime.startswith("video/") else "image" if mime.startswith("image/") else "document"
        size, name, source = document.file_size, document.file_name, document
    elif message.video is not None:
        video = message.video
        kind, mime, size, name, source = "video", video.mime_type or "video/mp4", video.file_size, None, None
    else:
        return None
    if source is None or kind == "video" or (size is not None and size > MAX_BYTES):
        return Attachment(kind, mime, b"", name, size=size)
    file = await source.get_file()
    content = bytes(await file.download_as_bytearray())
    return Attachment(kind, mime, content, name)


async def _with_retries(call: Callable[[], Awaitable[T]]) -> T:
    """Answer a resident even when Telegram asks us to wait (429) or the network hiccups."""
    for attempt in range(1, SEND_ATTEMPTS + 1):
        try:
            return await call()
        except RetryAfter as limited:
            if attempt == SEND_ATTEMPTS:
                raise
            await asyncio.sleep(retry_after_seconds(limited))
        except BadRequest:
            raise  # a NetworkError in PTB's tree, but sending it again cannot help
        except (TimedOut, NetworkError):
            if attempt == SEND_ATTEMPTS:
                raise
            await asyncio.sleep(0.5 * attempt)
    raise AssertionError("unreachable")


def retry_after_seconds(limited: RetryAfter) -> float:
    """PTB 22 returns seconds (deprecated) or a timedelta (opt-in): accept both, quietly."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        delay = limited.retry_after
    return delay.total_seconds() if isinstance(delay, timedelta) else float(delay)


def _markup(outbound: Outbound) -> Any:
    if outbound.ask_contact:
        rows = [[KeyboardButton(outbound.ask_contact, request_contact=True)]]
        if outbound.reply_back:
            rows.append([KeyboardButton(outbound.reply_back)])
        return ReplyKeyboardMarkup(rows, resize_keyboard=True, one_time_keyboard=True)
    if not outbound.options:
        return None
    columns = max(1, outbound.columns)
    buttons = [InlineKeyboardButton(o.label, callback_data=o.data) for o in outbound.options]
    return InlineKeyboardMarkup([buttons[i : i + columns] for i in range(0, len(buttons), columns)])


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def build_application(
    conversations: Conversations,
    token: str,
    base_url: str | None = None,
    budget: SendBudget | None = None,
    on_tracked: Callable[[int, int, str], None] | None = None,
) -> Application:
    builder = Application.builder().token(token).concurrent_updates(True).connection_pool_size(CONNECTION_POOL)
    if base_url:
        builder = builder.base_url(base_url).base_file_url(base_url.replace("/bot", "/file/bot"))
    app = builder.build()
    TelegramChannel(conversations, budget, on_tracked).install(app)
    return app


Background = Callable[[Bot, asyncio.Event], Awaitable[None]]
"""Work that runs beside the bot until it stops (the delivery loop, the reminder ticks)."""


async def set_commands(app: Application, conversations: Conversations) -> None:
    templates = conversations.services.templates
    for lang in ("id", "en"):
        commands = [BotCommand(name, templates.label(lang, f"commands/{name}")) for name in MENU_COMMANDS]
        await app.bot.set_my_commands(commands, language_code=None if lang == "id" else lang)


async def run_telegram(
    conversations: Conversations,
    settings: Any,
    budget: SendBudget | None = None,
    *,
    setup: Sequence[Callable[[Application], None]] = (),
    background: Sequence[Background] = (),
    on_tracked: Callable[[int, int, str], None] | None = None,
    stop: asyncio.Event | None = None,
    routes: Sequence[BaseRoute] = (),
) -> None:
    """Run until SIGINT/SIGTERM (or until `stop` is set): long polling, or the webhook when configured.

    `routes` (another channel's webhook) are served on the same HTTP app as Telegram's webhook, or
    on their own in polling mode; either way the port is bound before anything else starts."""
    app = build_application(
        conversations, settings.telegram_token.get_secret_value(), settings.telegram_base_url, budget, on_tracked
    )
    for prepare in setup:
        prepare(app)
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
    secret = settings.webhook_secret() if settings.telegram_webhook_url else None
    sock = listen(settings.webhook_listen, settings.webhook_port) if secret or routes else None
    async with app:
        await set_commands(app, conversations)
        await app.start()
        assert app.updater is not None
        if secret is not None and sock is not None:
            receiving = await start_webhook(app, settings, stop, sock, routes)
        else:
            await app.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
            log.info("long polling started")
            receiving = serve_in_background(build_app(routes), sock, stop) if sock else asyncio.create_task(stop.wait())
        tasks = [asyncio.create_task(work(app.bot, stop)) for work in background]
        await stop.wait()
        await receiving
        if app.updater.running:
            await app.updater.stop()
        await asyncio.gather(*tasks, return_exceptions=True)
        await app.stop()


async def start_webhook(
    app: Application, settings: Any, stop: asyncio.Event, sock: socket.socket, routes: Sequence[BaseRoute] = ()
) -> asyncio.Task[None]:
    """With `sock` listening already, tell Telegram where to post and with which secret; serve until `stop`.

    blkbot's own HTTP app takes the calls (see handlers/http.py), not PTB's webhook server."""
    secret = settings.webhook_secret()
    try:
        await app.bot.set_webhook(settings.telegram_webhook_url, secret_token=secret, allowed_updates=ALLOWED_UPDATES)
    except BaseException:
        sock.close()
        raise
    serving = serve_in_background(build_app([telegram_route(app, secret), *routes]), sock, stop)
    log.info("webhook listening on %s:%s", settings.webhook_listen, settings.webhook_port)
    return serving
