"""Tests for tests/fakes/telegram_server.py, driven by the real, unpatched PTB Bot/Application."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import threading
import warnings
from collections.abc import AsyncIterator

import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    LinkPreviewOptions,
    MessageEntity,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from tests.conftest import Ticks
from tests.fakes.telegram_server import (
    FakeTelegramServer,
    FakeUser,
    HtmlParseError,
    ThreadedFakeTelegramServer,
    parse_html,
)

TOKEN = "123456:TEST-token_for-fake"
CHAT = 424242


@pytest.fixture
def clock() -> Ticks:
    return Ticks()


@pytest.fixture
async def server(clock: Ticks) -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(token=TOKEN, clock=clock) as fake:
        yield fake


@pytest.fixture
async def bot(server: FakeTelegramServer) -> AsyncIterator[Bot]:
    async with Bot(server.token, base_url=server.base_url, base_file_url=server.base_file_url) as b:
        yield b


@pytest.fixture
async def app(server: FakeTelegramServer) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    """A real PTB Application long-polling the fake server. Tests add their handlers."""
    application = (
        Application.builder().token(server.token).base_url(server.base_url).base_file_url(server.base_file_url).build()
    )
    await application.initialize()
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0)
    try:
        yield application
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()


def seconds(value: int | dtm.timedelta) -> float:
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def retry_after_of(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that this becomes a timedelta
        warnings.simplefilter("ignore")
        return seconds(exc.retry_after)


# --------------------------------------------------------------------------------------------
# basic methods
# --------------------------------------------------------------------------------------------


async def test_get_me_and_url_shape(server: FakeTelegramServer, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123456
    assert me.is_bot
    assert me.username == server.bot_username
    assert server.base_url.endswith("/bot")
    assert server.calls[0].method == "getMe"
    assert server.calls[0].status == 200


async def test_send_message_html_is_parsed_and_recorded(server: FakeTelegramServer, bot: Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="yes")]])
    sent = await bot.send_message(
        CHAT,
        "  <b>Hello</b> &lt;world&gt; &amp; <i>you</i> 🏟\n",
        parse_mode=ParseMode.HTML,
        reply_markup=markup,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
    )
    assert sent.text == "Hello <world> & you 🏟"
    assert sent.entities == (
        MessageEntity(MessageEntity.BOLD, 0, 5),
        MessageEntity(MessageEntity.ITALIC, 16, 3),
    )
    assert sent.from_user is not None and sent.from_user.is_bot
    assert sent.chat.id == CHAT
    assert sent.reply_markup == markup

    stored = server.messages(CHAT)[-1]
    assert stored.message_id == sent.message_id
    assert stored.text == "  <b>Hello</b> &lt;world&gt; &amp; <i>you</i> 🏟\n"
    assert stored.plain_text == "Hello <world> & you 🏟"
    assert stored.callback_data == ["yes"]
    assert not stored.edited

    call = server.calls[-1]
    assert call.method == "sendMessage"
    assert call.chat_id == CHAT
    # PTB form-encodes nested objects as JSON strings; the server decodes them for tests.
    assert call.params["reply_markup"] == {"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]}
    assert call.params["link_preview_options"] == {"is_disabled": True}

    second = await bot.send_message(CHAT, "again")
    assert second.message_id == sent.message_id + 1


async def test_reply_keyboards_are_stored_but_not_returned(server: FakeTelegramServer, bot: Bot) -> None:
    keyboard = ReplyKeyboardMarkup(
        [[KeyboardButton("Share my phone", request_contact=True)], ["Cancel"]],
        one_time_keyboard=True,
    )
    sent = await bot.send_message(CHAT, "Your phone?", reply_markup=keyboard)
    assert sent.reply_markup is None  # Telegram only echoes inline keyboards
    stored = server.messages(CHAT)[-1]
    assert stored.keyboard_buttons == [
        {"text": "Share my phone", "request_contact": True},
        {"text": "Cancel"},
    ]
    await bot.send_message(CHAT, "Thanks", reply_markup=ReplyKeyboardRemove())
    assert server.messages(CHAT)[-1].removes_keyboard


async def test_other_methods(server: FakeTelegramServer, bot: Bot) -> None:
    await bot.send_chat_action(CHAT, "typing")
    with pytest.raises(BadRequest):
        await bot.send_chat_action(CHAT, "dancing")
    sent = await bot.send_message(CHAT, "bye")
    assert await bot.delete_message(CHAT, sent.message_id)
    assert server.messages(CHAT) == []
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await bot.delete_message(CHAT, sent.message_id)

    assert await bot.set_my_commands([("start", "Begin"), ("help", "Help")])
    commands = await bot.get_my_commands()
    assert [(c.command, c.description) for c in commands] == [("start", "Begin"), ("help", "Help")]
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([("Bad Command", "x")])

    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")
    assert server.calls[-1].response == {
        "ok": False,
        "error_code": 404,
        "description": "Not Found",
    }


async def test_wrong_token_is_rejected(server: FakeTelegramServer) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("999:WRONG", base_url=server.base_url):
            pass


async def test_click_presses_the_latest_button_with_that_label(server: FakeTelegramServer, bot: Bot) -> None:
    old = InlineKeyboardMarkup.from_button(InlineKeyboardButton("Next", callback_data="page:1"))
    new = InlineKeyboardMarkup.from_button(InlineKeyboardButton("Next", callback_data="page:2"))
    await bot.send_message(CHAT, "page 1", reply_markup=old)
    await bot.send_message(CHAT, "page 2", reply_markup=new)
    query_id = await server.click(CHAT, "Next")
    (update,) = await bot.get_updates(timeout=0)
    assert update.callback_query is not None
    assert update.callback_query.id == query_id
    assert update.callback_query.data == "page:2"
    with pytest.raises(AssertionError, match="no inline button 'Prev'"):
        await server.click(CHAT, "Prev")


# --------------------------------------------------------------------------------------------
# Telegram's validation rules
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "tdlib_error"),
    [
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("line<br>next", 'Unsupported start tag "br" at byte offset 4'),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        ("Tom & Jerry", "Character '&' at byte offset 4"),
    ],
)
async def test_malformed_html_is_bad_request(server: FakeTelegramServer, bot: Bot, html: str, tdlib_error: str) -> None:
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(CHAT, html, parse_mode=ParseMode.HTML)
    call = server.calls[-1]
    assert call.status == 400
    assert call.description is not None
    assert call.description.startswith("Bad Request: can't parse entities: " + tdlib_error)
    assert server.messages(CHAT) == []


async def test_text_length_limits(server: FakeTelegramServer, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await bot.send_message(CHAT, "x" * 4097)
    assert (await bot.send_message(CHAT, "x" * 4096)).text == "x" * 4096
    # The limit applies after entity parsing: markup does not count.
    await bot.send_message(CHAT, "<b>" + "y" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(CHAT, " \n ")
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await bot.send_message(CHAT, "<b></b>", parse_mode=ParseMode.HTML)
    first = server.messages(CHAT)[0]
    with pytest.raises(BadRequest, match=r"(?i)message_too_long"):  # editMessageText's wording
        await bot.edit_message_text("z" * 4097, CHAT, first.message_id)


async def test_callback_data_limit(server: FakeTelegramServer, bot: Bot) -> None:
    ok = InlineKeyboardMarkup([[InlineKeyboardButton("ok", callback_data="a" * 64)]])
    await bot.send_message(CHAT, "fits", reply_markup=ok)
    for data in ("a" * 65, "é" * 33):  # the limit is 64 *bytes*
        too_long = InlineKeyboardMarkup([[InlineKeyboardButton("no", callback_data=data)]])
        with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
            await bot.send_message(CHAT, "too long", reply_markup=too_long)
    assert server.calls[-1].description == "Bad Request: BUTTON_DATA_INVALID"
    assert len(server.messages(CHAT)) == 1


async def test_edit_validation(server: FakeTelegramServer, bot: Bot) -> None:
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    sent = await bot.send_message(CHAT, "<b>Pick</b>", parse_mode="HTML", reply_markup=markup)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", CHAT, sent.message_id + 100)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_reply_markup(CHAT + 1, sent.message_id, reply_markup=markup)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("<b>Pick</b>", CHAT, sent.message_id, parse_mode="HTML", reply_markup=markup)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(CHAT, sent.message_id, reply_markup=markup)

    edited = await bot.edit_message_text("Picked", CHAT, sent.message_id)
    assert edited.text == "Picked"
    stored = server.get_message(CHAT, sent.message_id)
    assert stored is not None
    assert stored.edited
    # Like Telegram, editing the text without reply_markup drops the inline keyboard.
    assert stored.reply_markup is None
    assert edited.reply_markup is None


# --------------------------------------------------------------------------------------------
# error injection
# --------------------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_injected_429_surfaces_as_retry_after(server: FakeTelegramServer, bot: Bot) -> None:
    server.fail_next("sendMessage", status=429, retry_after=3)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(CHAT, "hi")
    assert retry_after_of(caught.value) == 3
    assert server.calls[-1].response == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    assert (await bot.send_message(CHAT, "hi")).text == "hi"  # only the next call failed


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_rate_limit_uses_the_clock(server: FakeTelegramServer, bot: Bot, clock: Ticks) -> None:
    server.set_rate_limit(per_chat_per_s=1)
    await bot.send_message(CHAT, "one")
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(CHAT, "two")
    assert retry_after_of(caught.value) == 1
    await bot.send_message(CHAT + 1, "other chats have their own budget")
    clock.seconds += 1.0
    await bot.send_message(CHAT, "two, later")
    assert server.stats.rate_limited == 1
    assert [m.text for m in server.messages(CHAT)] == ["one", "two, later"]

    server.set_rate_limit(global_per_s=2)
    await bot.send_message(1, "a")
    await bot.send_message(2, "b")
    with pytest.raises(RetryAfter):
        await bot.send_message(3, "c")
    assert server.stats.rate_limited == 2
    server.set_rate_limit()
    await bot.send_message(3, "c")


async def test_forbidden(server: FakeTelegramServer, bot: Bot) -> None:
    server.set_forbidden(CHAT)
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(CHAT, "hello?")
    assert server.calls[-1].status == 403
    assert server.stats.forbidden == 1
    server.set_forbidden(CHAT, False)
    await bot.send_message(CHAT, "hello again")


async def test_network_faults(server: FakeTelegramServer) -> None:
    request = HTTPXRequest(read_timeout=0.3)
    async with Bot(server.token, base_url=server.base_url, request=request) as bot:
        server.fail_next("sendMessage", kind="disconnect")
        with pytest.raises(NetworkError):
            await bot.send_message(CHAT, "lost")
        server.fail_next("sendMessage", kind="hang")
        with pytest.raises(TimedOut):
            await bot.send_message(CHAT, "slow")
        server.fail_next("sendMessage", status=502)
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_message(CHAT, "gateway")
        assert (await bot.send_message(CHAT, "fine")).text == "fine"
    # status 0 = no HTTP answer; the hung call is recorded when the client hangs up, which
    # may be after the next request arrived, so compare without order.
    statuses = sorted(c.status for c in server.calls_to("sendMessage"))
    assert statuses == [0, 0, 200, 502]
    assert server.stats.injected_failures == 3


# --------------------------------------------------------------------------------------------
# updates: long polling with a real Application, callbacks, contacts
# --------------------------------------------------------------------------------------------


async def test_application_long_polling_command_and_text(
    server: FakeTelegramServer,
    app: Application,  # type: ignore[type-arg]
) -> None:
    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text(f"start args={context.args}")

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_message.text
        await update.effective_message.reply_html(f"<i>echo</i> {update.effective_message.text.upper()}")

    app.add_handler(CommandHandler("start", start))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))

    await server.send_text(CHAT, "/start ref42")
    reply = await server.wait_for_message(CHAT)
    assert reply.plain_text == "start args=['ref42']"

    user = FakeUser(id=77, first_name="Ana", username="ana")
    await server.send_text(77, "hello", user=user)
    await server.send_text(CHAT, "second")
    reply = await server.wait_for_message(77)
    assert reply.text == "<i>echo</i> HELLO"
    assert reply.plain_text == "echo HELLO"
    assert reply.chat["first_name"] == "Ana"
    assert (await server.wait_for_message(CHAT)).plain_text == "echo SECOND"
    # PTB's start-up sequence, as seen by the server.
    assert [c.method for c in server.calls[:2]] == ["getMe", "deleteWebhook"]


async def test_callback_round_trip(
    server: FakeTelegramServer,
    bot: Bot,
    app: Application,  # type: ignore[type-arg]
) -> None:
    async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.message is not None
        await query.answer(f"got {query.data}")
        # The query carries the message with its current keyboard.
        assert isinstance(query.message.reply_markup, InlineKeyboardMarkup)
        done = InlineKeyboardMarkup([[InlineKeyboardButton("✅ chosen", callback_data="noop")]])
        await query.edit_message_reply_markup(done)

    app.add_handler(CallbackQueryHandler(on_press))
    markup = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Mon", callback_data="day:mon")],
            [InlineKeyboardButton("Tue", callback_data="day:tue")],
        ]
    )
    sent = await bot.send_message(CHAT, "Which day?", reply_markup=markup)

    query_id = await server.press_button(CHAT, sent.message_id, "day:tue")
    answer = await server.wait_for_call("answerCallbackQuery")
    assert answer.params["callback_query_id"] == query_id
    assert answer.params["text"] == "got day:tue"
    edit = await server.wait_for_call("editMessageReplyMarkup", chat_id=CHAT)
    assert edit.ok
    stored = server.get_message(CHAT, sent.message_id)
    assert stored is not None and stored.edited
    assert stored.callback_data == ["noop"]
    assert server.callback_answers[query_id]["text"] == "got day:tue"
    with pytest.raises(AssertionError, match="no button"):
        await server.press_button(CHAT, sent.message_id, "day:mon")  # that button is gone
    # A query can only be answered once.
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query_id)


async def test_get_updates_long_poll_contact_and_offset(server: FakeTelegramServer, bot: Bot) -> None:
    poll = asyncio.create_task(bot.get_updates(timeout=30, allowed_updates=["message"]))
    await server.wait_for_long_poll()
    update_id = await server.share_contact(CHAT, "+37060000000")
    updates = await asyncio.wait_for(poll, 5)  # returns as soon as the update exists
    assert [u.update_id for u in updates] == [update_id]
    message = updates[0].message
    assert message is not None and message.contact is not None
    assert message.contact.phone_number == "+37060000000"
    assert message.contact.user_id == CHAT == message.chat.id
    assert message.contact.first_name == "Test"
    assert server.stats.updates_injected == 1

    # allowed_updates=["message"] sticks: a callback query is dropped, not delivered.
    sent = await bot.send_message(
        CHAT,
        "k",
        reply_markup=InlineKeyboardMarkup.from_button(InlineKeyboardButton("k", callback_data="k")),
    )
    await server.press_button(CHAT, sent.message_id, "k")
    await server.send_text(CHAT, "/help")
    updates = await bot.get_updates(offset=update_id + 1, timeout=0)
    assert len(updates) == 1
    assert updates[0].message is not None
    assert updates[0].message.entities == (MessageEntity(MessageEntity.BOT_COMMAND, 0, 5),)
    assert await bot.get_updates(offset=updates[0].update_id + 1, timeout=0) == ()
    assert server.pending_updates == []


async def test_wait_for_call_consumes_in_order_and_reports(server: FakeTelegramServer, bot: Bot) -> None:
    await bot.send_message(CHAT, "first")
    await bot.send_message(CHAT, "second")
    assert (await server.wait_for_message(CHAT)).text == "first"
    assert (await server.wait_for_message(CHAT)).text == "second"
    with pytest.raises(AssertionError) as caught:
        await server.wait_for_message(CHAT, timeout=0.05)
    report = str(caught.value)
    assert f"no sendMessage call in chat {CHAT}" in report
    assert "text='second'" in report


# --------------------------------------------------------------------------------------------
# webhook mode
# --------------------------------------------------------------------------------------------


class WebhookReceiver:
    """A tiny HTTP endpoint on 127.0.0.1 that records POSTs and answers 200."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[tuple[dict[str, str], bytes]] = asyncio.Queue()
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> WebhookReceiver:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/telegram-hook"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {
            name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in head[1:] if line)
        }
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        await self.received.put((headers, body))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        await writer.drain()
        writer.close()


async def test_webhook_delivery_with_secret(server: FakeTelegramServer, bot: Bot) -> None:
    async with WebhookReceiver() as receiver:
        assert await bot.set_webhook(receiver.url, secret_token="s3cret_Token-1")
        info = await bot.get_webhook_info()
        assert info.url == receiver.url

        update_id = await server.send_text(CHAT, "/start via webhook")
        headers, body = await asyncio.wait_for(receiver.received.get(), 5)
        assert headers["x-telegram-bot-api-secret-token"] == "s3cret_Token-1"
        assert headers["content-type"] == "application/json"
        update = Update.de_json(json.loads(body), bot)
        assert update.update_id == update_id
        assert update.message is not None and update.message.text == "/start via webhook"
        assert server.webhook_deliveries[-1].status == 200

        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()

        assert await bot.delete_webhook()
        await server.send_text(CHAT, "polling again")
        updates = await bot.get_updates(timeout=0)
        assert [u.message.text for u in updates if u.message] == ["polling again"]


# --------------------------------------------------------------------------------------------
# threaded mode, HTML parser details
# --------------------------------------------------------------------------------------------


async def test_threaded_server_serves_a_bot_on_another_loop() -> None:
    with ThreadedFakeTelegramServer(token=TOKEN) as fake:
        async with Bot(TOKEN, base_url=fake.base_url) as bot:
            for i in range(20):
                await bot.send_message(CHAT, f"n{i}")
            fake.run_sync(fake.server.set_forbidden, CHAT)
            with pytest.raises(Forbidden):
                await bot.send_message(CHAT, "blocked")
            update_id = await fake.arun(fake.server.send_text(CHAT, "hi"))
            updates = await bot.get_updates(timeout=5)
            assert [u.update_id for u in updates] == [update_id]
        texts = fake.run_sync(lambda: [m.text for m in fake.server.messages(CHAT)])
        assert texts == [f"n{i}" for i in range(20)]
        thread_names = {t.name for t in threading.enumerate()}
        assert "fake-telegram-server" in thread_names
    assert "fake-telegram-server" not in {t.name for t in threading.enumerate()}


@pytest.mark.parametrize(
    ("html", "plain", "entities"),
    [
        ("<b>a</b><i>b</i>", "ab", [("bold", 0, 1), ("italic", 1, 1)]),
        ("🏟 <u>x</u>", "🏟 x", [("underline", 3, 1)]),  # offsets are UTF-16
        ("&#x1F3DF;&lt;&quot;", '🏟<"', []),
        ("<tg-spoiler>s</tg-spoiler>", "s", [("spoiler", 0, 1)]),
        ('<span class="tg-spoiler">s</span>', "s", [("spoiler", 0, 1)]),
        ('<pre><code class="language-py">x</code></pre>', "x", [("pre", 0, 1)]),
        ("<blockquote expandable>q</blockquote>", "q", [("expandable_blockquote", 0, 1)]),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍", [("custom_emoji", 0, 2)]),
        ("<B>up</B>", "up", [("bold", 0, 2)]),
    ],
)
def test_parse_html_matches_tdlib(html: str, plain: str, entities: list[tuple[str, int, int]]) -> None:
    text, parsed = parse_html(html)
    assert text == plain
    assert [(e["type"], e["offset"], e["length"]) for e in parsed] == entities


def test_parse_html_links_and_lenient_mode() -> None:
    text, entities = parse_html('<a href="example.com?a=1&amp;b=2">x</a>')
    assert (text, entities) == (
        "x",
        [{"type": "text_link", "offset": 0, "length": 1, "url": "http://example.com/?a=1&b=2"}],
    )
    assert parse_html("Tom & Jerry", strict_ampersand=False) == ("Tom & Jerry", [])
    with pytest.raises(HtmlParseError, match="Unclosed start tag at byte offset 0"):
        parse_html("<b")
