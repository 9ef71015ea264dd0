"""A fake Telegram Bot API server that speaks real HTTP on 127.0.0.1.

Why this exists
---------------
The bot is built on python-telegram-bot (PTB). Patching PTB internals in tests hides exactly
the bugs we care about: wrong request encoding, unescaped HTML that Telegram would reject,
callback data that is too long, a 429 that the code does not survive. This module instead
runs a small HTTP/1.1 server (plain :mod:`asyncio` protocol, keep-alive, no extra
dependencies) that answers like ``https://api.telegram.org`` does, so the *unmodified* PTB
``Bot``/``Application`` talks to it over a socket::

    async with FakeTelegramServer() as server:
        bot = telegram.Bot(server.token, base_url=server.base_url,
                           base_file_url=server.base_file_url)
        async with bot:
            await bot.send_message(42, "<b>hi</b>", parse_mode="HTML")
        assert server.messages(42)[0].plain_text == "hi"

What PTB 22 sends (verified against ``telegram/request``): every call is
``POST {base_url}{token}/{method}`` where ``base_url`` is what you passed to ``Bot``
(PTB simply appends the token, so it must end in ``/bot``). Without file uploads the body is
``application/x-www-form-urlencoded``; each field is a string: ``str`` values verbatim,
everything else ``json.dumps``-ed (ints become ``"42"``, booleans ``"true"``, nested objects
such as ``reply_markup`` / ``link_preview_options`` / ``allowed_updates`` become JSON text,
``timedelta`` becomes whole seconds). With uploads it is ``multipart/form-data`` with the same
field encoding. The server therefore decodes every non-text field as JSON when it parses.

Fidelity
--------
Responses are Bot-API shaped (``{"ok": true, "result": ...}`` or ``{"ok": false,
"error_code": ..., "description": ..., "parameters": {...}}``) with the matching HTTP status,
so PTB raises its real ``RetryAfter`` / ``Forbidden`` / ``BadRequest`` / ``Conflict`` /
``NetworkError`` / ``TimedOut``. The HTML parser is a port of TDLib's ``parse_html`` (same
tags, attribute rules, entity decoding, UTF-16 offsets and error texts), followed by
Telegram's trimming of surrounding whitespace and the 4096-character limit.

Deliberate differences from Telegram (documented so nobody is surprised):

* ``strict_html=True`` (default) rejects a bare ``&`` that is not an HTML entity; Telegram
  silently keeps it. Pass ``strict_html=False`` for Telegram's lenient behaviour.
* ``Markdown``/``MarkdownV2`` are accepted but not parsed (text is stored verbatim).
* Webhook URLs may be plain ``http://127.0.0.1`` (Telegram requires public HTTPS), failed
  webhook deliveries are not retried on a timer (they stay pending and are re-sent, in order,
  before the next update or via :meth:`FakeTelegramServer.flush_webhook`).
* Only private chats are modelled in detail; no auto-detected url/mention entities are added
  to bot messages (user messages do get ``bot_command`` entities, like Telegram).

Benchmarks that run the bot in the main event loop can host the server in a background
thread with :class:`ThreadedFakeTelegramServer`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import email.parser
import email.policy
import itertools
import json
import logging
import math
import re
import threading
import time
import urllib.parse
from collections import Counter, deque
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal, TypeVar

import httpx

__all__ = [
    "FakeTelegramServer",
    "FakeUser",
    "HtmlParseError",
    "RecordedCall",
    "ServerStats",
    "StoredMessage",
    "ThreadedFakeTelegramServer",
    "WebhookDelivery",
    "parse_html",
]

_LOGGER = logging.getLogger(__name__)
_T = TypeVar("_T")

JSONDict = dict[str, Any]

#: Bot API method names as Telegram documents them, keyed by lower case (Telegram matches
#: method names case-insensitively).
_CANONICAL_METHODS: dict[str, str] = {
    name.lower(): name
    for name in (
        "getMe",
        "logOut",
        "close",
        "getUpdates",
        "setWebhook",
        "deleteWebhook",
        "getWebhookInfo",
        "setMyCommands",
        "getMyCommands",
        "deleteMyCommands",
        "sendMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "answerCallbackQuery",
        "sendChatAction",
        "deleteMessage",
    )
}

#: Fields whose form value is free text and must never be JSON-decoded ("123" stays "123").
_STRING_FIELDS = frozenset(
    {
        "text",
        "parse_mode",
        "url",
        "secret_token",
        "callback_query_id",
        "inline_message_id",
        "action",
        "description",
        "short_description",
        "name",
        "language_code",
        "ip_address",
        "business_connection_id",
        "message_effect_id",
        "caption",
        "emoji",
        "phone_number",
        "first_name",
        "last_name",
        "title",
        "query",
        "vcard",
        "address",
    }
)
_JSON_START = frozenset('{["-0123456789')

_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
#: Update types delivered when ``allowed_updates`` is empty/unspecified (Bot API docs).
_NOT_DEFAULT_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_INLINE_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
# TDLib: '/(?<!\b|[\/<>])\/([a-zA-Z0-9_]{1,64})(?:@([a-zA-Z0-9_]{3,32}))?(?!\B|[\/<>])/u'
_BOT_COMMAND_RE = re.compile(r"(?<![\w/<>])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/<>@])")
_TRIM_CHARS = " \t\n\r\x0b\x0c"

_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_BAD_MARKUP = "Bad Request: can't parse reply keyboard markup JSON object"
_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def _utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for entity offsets."""
    return len(text.encode("utf-16-le")) // 2


# --------------------------------------------------------------------------------------------
# HTML parsing (port of TDLib's parse_html, which is what the Bot API server runs)
# --------------------------------------------------------------------------------------------


class HtmlParseError(ValueError):
    """Raised by :func:`parse_html`; the message is TDLib's text (without the Bot API prefix)."""


_HTML_SPACE = frozenset(b" \t\r\n\x00\x0b\x0c")  # TDLib's is_space() includes NUL
_HTML_SPECIAL = re.compile(rb"[&<]")
_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_HTML_SIMPLE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
# TDLib MessageEntity::get_type_priority, used to order entities that start together.
_ENTITY_PRIORITY = {
    "blockquote": 0,
    "expandable_blockquote": 0,
    "pre": 11,
    "code": 20,
    "text_link": 49,
    "text_mention": 49,
    "bot_command": 50,
    "bold": 90,
    "italic": 91,
    "underline": 92,
    "strikethrough": 93,
    "spoiler": 94,
    "custom_emoji": 99,
}
_SURROGATE_ERROR = (
    "Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units"
)


def _is_alnum(byte: int) -> bool:
    return 0x30 <= byte <= 0x39 or 0x41 <= byte <= 0x5A or 0x61 <= byte <= 0x7A


def _decode_html_entity(data: bytes, pos: int) -> tuple[int, int]:
    """TDLib decode_html_entity: returns (code point or 0, position after the entity)."""
    end = pos + 1
    code = 0
    if data[pos + 1] == 0x23:  # '#'
        end += 1
        if data[pos + 2] == 0x78:  # 'x'
            end += 1
            while chr(data[end]) in "0123456789abcdefABCDEF":
                code = code * 16 + int(chr(data[end]), 16)
                end += 1
        else:
            while 0x30 <= data[end] <= 0x39:
                code = code * 10 + data[end] - 0x30
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while 0x41 <= data[end] <= 0x5A or 0x61 <= data[end] <= 0x7A:
            end += 1
        code = {b"lt": 0x3C, b"gt": 0x3E, b"amp": 0x26, b"quot": 0x22}.get(bytes(data[pos + 1 : end]), 0)
        if code == 0:
            return 0, pos
    if data[end] == 0x3B:  # ';'
        end += 1
    return code, end


def _checked_link(url: str) -> str | None:
    """Rough LinkManager::get_checked_link: add a scheme and a path, reject junk."""
    if not url or any(ch.isspace() for ch in url):
        return None
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", url) is None:
        url = "http://" + url
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        if not parts.hostname:
            return None
        if not parts.path:
            parts = parts._replace(path="/")
        return urllib.parse.urlunsplit(parts)
    if scheme in ("tg", "ton", "mailto"):
        return url
    return None


def parse_html(text: str, *, strict_ampersand: bool = True) -> tuple[str, list[JSONDict]]:
    """Parse Telegram-flavoured HTML like the Bot API does.

    Returns ``(plain_text, entities)`` where entities are Bot API ``MessageEntity`` dicts with
    UTF-16 offsets. Raises :class:`HtmlParseError` with TDLib's error text (byte offsets are
    UTF-8 byte offsets into ``text``, exactly as Telegram reports them).

    With ``strict_ampersand`` a bare ``&`` that does not start an entity is an error (Telegram
    would keep it as a literal, which usually means the bot forgot to escape user input).
    """
    if "<" not in text and "&" not in text:
        return text, []
    data = text.encode("utf-8") + b"\x00"
    size = len(data) - 1
    out = bytearray()
    u16 = 0
    raw: list[list[Any]] = []  # [type, offset, length, extra]
    stack: list[tuple[str, str, int, int]] = []  # tag, argument, utf16 offset, out position
    i = 0
    while i < size:
        match = _HTML_SPECIAL.search(data, i)
        j = match.start() if match else size
        if j > i:
            chunk = data[i:j]
            out += chunk
            u16 += _utf16_len(chunk.decode("utf-8"))
            i = j
            continue
        if data[i] == 0x26:  # '&'
            code, end = _decode_html_entity(data, i)
            if code:
                if 0xD800 <= code <= 0xDFFF:
                    raise HtmlParseError(_SURROGATE_ERROR)
                out += chr(code).encode("utf-8")
                u16 += 2 if code > 0xFFFF else 1
                i = end
                continue
            if strict_ampersand:
                raise HtmlParseError(
                    f"Character '&' at byte offset {i} does not start an HTML entity; escape "
                    "it as &amp; (the fake server is stricter than Telegram here)"
                )
            out.append(0x26)
            u16 += 1
            i += 1
            continue
        begin = i
        i += 1
        if data[i] != 0x2F:  # start tag
            while data[i] not in _HTML_SPACE and data[i] != 0x3E:
                i += 1
            if data[i] == 0:
                raise HtmlParseError(f"Unclosed start tag at byte offset {begin}")
            tag = data[begin + 1 : i].decode("utf-8", "replace").lower()
            if tag not in _HTML_TAGS:
                raise HtmlParseError(f'Unsupported start tag "{tag}" at byte offset {begin}')
            argument = ""
            expandable = False
            while data[i] != 0x3E:
                while data[i] != 0 and data[i] in _HTML_SPACE:
                    i += 1
                if data[i] == 0x3E:
                    break
                if data[i] == 0:
                    raise HtmlParseError(f"Unclosed start tag at byte offset {begin}")
                attr_begin = i
                while data[i] not in _HTML_SPACE and data[i] not in (0x3D, 0x3E):
                    i += 1
                attr_name = bytes(data[attr_begin:i])
                if not attr_name:
                    raise HtmlParseError(f'Empty attribute name in the tag "{tag}" at byte offset {begin}')
                while data[i] != 0 and data[i] in _HTML_SPACE:
                    i += 1
                if data[i] != 0x3D:  # attribute without a value
                    if tag == "blockquote" and attr_name == b"expandable":
                        expandable = True
                    continue
                i += 1
                while data[i] != 0 and data[i] in _HTML_SPACE:
                    i += 1
                if data[i] == 0:
                    raise HtmlParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                if data[i] not in (0x22, 0x27):
                    token_begin = i
                    while _is_alnum(data[i]) or data[i] in (0x2E, 0x2D):
                        i += 1
                    value = data[token_begin:i].decode("ascii").lower()
                    if data[i] not in _HTML_SPACE and data[i] != 0x3E:
                        raise HtmlParseError(f"Unexpected end of name token at byte offset {token_begin}")
                else:
                    quote = data[i]
                    i += 1
                    value_bytes = bytearray()
                    while data[i] != quote and data[i] != 0:
                        if data[i] == 0x26:
                            code, end = _decode_html_entity(data, i)
                            if code and not 0xD800 <= code <= 0xDFFF:
                                value_bytes += chr(code).encode("utf-8")
                                i = end
                                continue
                        value_bytes.append(data[i])
                        i += 1
                    if data[i] == quote:
                        i += 1
                    value = value_bytes.decode("utf-8", "replace")
                if data[i] == 0:
                    raise HtmlParseError(f"Unclosed start tag at byte offset {begin}")
                if tag == "a" and attr_name == b"href":
                    argument = value
                elif tag == "code" and attr_name == b"class" and value.startswith("language-"):
                    argument = value[9:]
                elif tag == "span" and attr_name == b"class" and value.startswith("tg-"):
                    argument = value[3:]
                elif tag == "tg-emoji" and attr_name == b"emoji-id":
                    argument = value
                elif tag == "blockquote" and attr_name == b"expandable":
                    expandable = True
            if tag == "span" and argument != "spoiler":
                raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {begin}')
            if tag == "blockquote" and expandable:
                argument = "expandable"
            stack.append((tag, argument, u16, len(out)))
            i += 1
            continue
        # end tag
        if not stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {begin}")
        while data[i] not in _HTML_SPACE and data[i] != 0x3E:
            i += 1
        end_tag = data[begin + 2 : i].decode("utf-8", "replace").lower()
        while data[i] != 0 and data[i] in _HTML_SPACE:
            i += 1
        if data[i] != 0x3E:
            raise HtmlParseError(f"Unclosed end tag at byte offset {begin}")
        tag, argument, offset, out_pos = stack.pop()
        if end_tag and end_tag != tag:
            raise HtmlParseError(f'Unmatched end tag at byte offset {begin}, expected "</{tag}>", found "</{end_tag}>"')
        i += 1
        length = u16 - offset
        if length <= 0:
            continue
        last = raw[-1] if raw else None
        if tag in _HTML_SIMPLE:
            raw.append([_HTML_SIMPLE[tag], offset, length, {}])
        elif tag == "blockquote":
            kind = "expandable_blockquote" if argument == "expandable" else "blockquote"
            raw.append([kind, offset, length, {}])
        elif tag == "tg-emoji":
            if not argument.isdigit() or int(argument) == 0:
                raise HtmlParseError("Invalid custom emoji identifier specified")
            raw.append(["custom_emoji", offset, length, {"custom_emoji_id": argument}])
        elif tag == "a":
            url = _checked_link(argument or out[out_pos:].decode("utf-8", "replace"))
            if url is not None:
                raw.append(["text_link", offset, length, {"url": url}])
        elif tag == "pre":
            if last is not None and last[0] == "code" and last[1:3] == [offset, length] and last[3].get("language"):
                last[0] = "pre"
            else:
                raw.append(["pre", offset, length, {}])
        else:  # code
            if last is not None and last[0] == "pre" and last[1:3] == [offset, length] and argument:
                last[3] = {"language": argument}
            else:
                raw.append(["code", offset, length, {"language": argument} if argument else {}])
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities: list[JSONDict] = []
    for kind, offset, length, extra in raw:
        if kind == "code":
            extra = {}  # a language only survives on pre
        entities.append({"type": kind, "offset": offset, "length": length, **extra})
    entities.sort(key=lambda e: (e["offset"], -e["length"], _ENTITY_PRIORITY.get(e["type"], 50)))
    return out.decode("utf-8"), entities


def _trim_text(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
    """Telegram strips leading/trailing whitespace after parsing and shifts entities."""
    left = text.lstrip(_TRIM_CHARS)
    core = left.rstrip(_TRIM_CHARS)
    if len(core) == len(text):
        return text, entities
    shift = len(text) - len(left)  # stripped characters are all BMP: 1 code unit each
    total = _utf16_len(core)
    trimmed: list[JSONDict] = []
    for entity in entities:
        start = max(int(entity["offset"]) - shift, 0)
        end = min(int(entity["offset"]) + int(entity["length"]) - shift, total)
        if end > start:
            trimmed.append({**entity, "offset": start, "length": end - start})
    return core, trimmed


def bot_command_entities(text: str) -> list[JSONDict]:
    """``bot_command`` entities Telegram attaches to a user's message text."""
    return [
        {"type": "bot_command", "offset": _utf16_len(text[: m.start()]), "length": _utf16_len(m[0])}
        for m in _BOT_COMMAND_RE.finditer(text)
    ]


# --------------------------------------------------------------------------------------------
# Public data objects
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FakeUser:
    """A simulated Telegram user. In private chats ``chat.id == user.id`` by default."""

    id: int
    first_name: str = "Test"
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"
    is_bot: bool = False

    def to_api(self) -> JSONDict:
        data: JSONDict = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code:
            data["language_code"] = self.language_code
        return data


@dataclass(slots=True, eq=False)
class StoredMessage:
    """A message as the server stores it (bot messages and simulated user messages).

    ``text`` is what the bot sent (HTML included), ``plain_text`` what the user sees (tags
    stripped, entities decoded, trimmed), ``reply_markup`` the decoded markup as sent (any
    kind: inline keyboard, reply keyboard, remove_keyboard, force_reply).
    """

    chat_id: int
    message_id: int
    date: int
    from_bot: bool
    sender: JSONDict
    chat: JSONDict
    text: str | None = None
    plain_text: str | None = None
    entities: list[JSONDict] = field(default_factory=list)
    parse_mode: str | None = None
    reply_markup: JSONDict | None = None
    link_preview_options: JSONDict | None = None
    contact: JSONDict | None = None
    photo: list[JSONDict] | None = None
    document: JSONDict | None = None
    caption: str | None = None
    reply_to: StoredMessage | None = None
    edited: bool = False
    edit_date: int | None = None
    edit_count: int = 0
    deleted: bool = False

    @property
    def inline_markup(self) -> JSONDict | None:
        """The inline keyboard, if the current markup is one (what Telegram returns)."""
        markup = self.reply_markup
        return markup if markup is not None and "inline_keyboard" in markup else None

    @property
    def inline_buttons(self) -> list[JSONDict]:
        markup = self.inline_markup
        return [button for row in markup["inline_keyboard"] for button in row] if markup else []

    @property
    def callback_data(self) -> list[str]:
        return [b["callback_data"] for b in self.inline_buttons if "callback_data" in b]

    @property
    def keyboard_buttons(self) -> list[JSONDict]:
        """Reply-keyboard buttons, normalised to dicts (``"text"`` strings become objects)."""
        markup = self.reply_markup
        if not markup or "keyboard" not in markup:
            return []
        return [b if isinstance(b, dict) else {"text": str(b)} for row in markup["keyboard"] for b in row]

    @property
    def button_texts(self) -> list[str]:
        return [str(b.get("text")) for b in self.inline_buttons or self.keyboard_buttons]

    @property
    def removes_keyboard(self) -> bool:
        return bool(self.reply_markup and self.reply_markup.get("remove_keyboard"))

    def to_api(self, *, with_reply: bool = True) -> JSONDict:
        """This message as a Bot API ``Message`` object."""
        data: JSONDict = {
            "message_id": self.message_id,
            "from": self.sender,
            "chat": self.chat,
            "date": self.date,
        }
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if with_reply and self.reply_to is not None:
            data["reply_to_message"] = self.reply_to.to_api(with_reply=False)
        if self.plain_text is not None:
            data["text"] = self.plain_text
            if self.entities:
                data["entities"] = self.entities
        if self.contact is not None:
            data["contact"] = self.contact
        if self.photo is not None:
            data["photo"] = self.photo
        if self.document is not None:
            data["document"] = self.document
        if self.caption is not None:
            data["caption"] = self.caption
        inline = self.inline_markup
        if inline is not None:
            data["reply_markup"] = inline
        return data


@dataclass(slots=True, eq=False)
class RecordedCall:
    """One Bot API request the bot made. ``status`` is the HTTP status answered, or 0 when no
    answer was sent (injected disconnect/hang, or the client went away first)."""

    seq: int
    method: str
    chat_id: int | str | None
    params: JSONDict
    timestamp: float
    status: int
    response: JSONDict
    message: StoredMessage | None = None
    consumed: bool = False

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def description(self) -> str | None:
        return self.response.get("description")

    def summary(self) -> str:
        text = self.params.get("text")
        shown = f" text={text[:60]!r}" if isinstance(text, str) else ""
        mark = " (consumed)" if self.consumed else ""
        status = f"{self.status}" + (f" {self.description!r}" if not self.ok else "")
        return f"#{self.seq} {self.method} chat={self.chat_id} -> {status}{shown}{mark}"


@dataclass(slots=True)
class WebhookDelivery:
    """One POST of an update to the bot's webhook."""

    update_id: int
    url: str
    status: int | None
    error: str | None
    timestamp: float


@dataclass(slots=True)
class ServerStats:
    """Counters. ``rate_limited`` counts 429s produced by :meth:`set_rate_limit` only."""

    requests: int = 0
    connections: int = 0
    by_method: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    rate_limited: int = 0
    forbidden: int = 0
    injected_failures: int = 0
    updates_injected: int = 0
    webhook_posts: int = 0


class _ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: JSONDict | None = None):
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> JSONDict:
        data: JSONDict = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            data["parameters"] = self.parameters
        return data


@dataclass(slots=True)
class _Fault:
    method: str  # lower case, or "*"
    chat_id: int | str | None
    kind: Literal["error", "disconnect", "hang"]
    status: int
    description: str
    parameters: JSONDict | None
    remaining: int


class _TokenBucket:
    __slots__ = ("capacity", "rate", "tokens", "updated")

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.updated = now

    def wait_needed(self, now: float) -> float:
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return 0.0 if self.tokens >= 1.0 else (1.0 - self.tokens) / self.rate


@dataclass(slots=True)
class _Chat:
    id: int
    user: FakeUser | None = None
    next_message_id: int = 1
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    forbidden: str | None = None

    @property
    def type(self) -> str:
        if self.id > 0:
            return "private"
        return "supergroup" if self.id <= -1_000_000_000_000 else "group"

    def default_user(self) -> FakeUser:
        if self.user is None:
            self.user = FakeUser(id=self.id if self.id > 0 else 1, username=f"user{abs(self.id)}")
        return self.user

    def to_api(self) -> JSONDict:
        if self.type != "private":
            return {"id": self.id, "type": self.type, "title": f"Group {self.id}"}
        user = self.default_user()
        data: JSONDict = {"id": self.id, "type": "private", "first_name": user.first_name}
        if user.last_name:
            data["last_name"] = user.last_name
        if user.username:
            data["username"] = user.username
        return data


@dataclass(slots=True)
class _HttpRequest:
    method: str
    target: str
    version: str
    headers: dict[str, str]
    body: bytes
    arrival: float


class _CallContext:
    __slots__ = ("description", "message", "method")

    def __init__(self, method: str) -> None:
        self.method = method
        self.message: StoredMessage | None = None
        self.description: str | None = None


# --------------------------------------------------------------------------------------------
# HTTP/1.1 transport
# --------------------------------------------------------------------------------------------

_MAX_HEAD = 64 * 1024


class _BadHttpRequest(Exception):
    pass


class _HttpConnection(asyncio.Protocol):
    """Minimal HTTP/1.1 keep-alive connection: parses requests, answers them in order."""

    def __init__(self, server: FakeTelegramServer) -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._head: tuple[str, str, str, dict[str, str], int, bool] | None = None
        self._queue: deque[_HttpRequest] = deque()
        self._task: asyncio.Task[None] | None = None
        self.closed = False

    # asyncio.Protocol -----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._server._connections.add(self)
        self._server.stats.connections += 1

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        try:
            self._parse()
        except _BadHttpRequest as exc:
            self._queue.clear()
            body = json.dumps({"ok": False, "error_code": 400, "description": str(exc)}).encode()
            self.write(_encode_response(400, body, keep_alive=False))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._server._connections.discard(self)
        if self._task is not None:
            self._task.cancel()

    # helpers --------------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        if self._transport is not None and not self.closed:
            self._transport.write(data)

    def close(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    def _parse(self) -> None:
        buf = self._buffer
        while True:
            if self._head is None:
                end = buf.find(b"\r\n\r\n")
                if end < 0:
                    if len(buf) > _MAX_HEAD:
                        raise _BadHttpRequest("request head too large")
                    return
                lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
                del buf[: end + 4]
                try:
                    method, target, version = lines[0].split(" ", 2)
                except ValueError as exc:
                    raise _BadHttpRequest("malformed request line") from exc
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    name, sep, value = line.partition(":")
                    if not sep:
                        raise _BadHttpRequest("malformed header line")
                    headers[name.strip().lower()] = value.strip()
                chunked = "chunked" in headers.get("transfer-encoding", "").lower()
                try:
                    length = 0 if chunked else int(headers.get("content-length") or 0)
                except ValueError as exc:
                    raise _BadHttpRequest("bad Content-Length") from exc
                self._head = (method, target, version, headers, length, chunked)
            method, target, version, headers, length, chunked = self._head
            if chunked:
                body = self._take_chunked()
                if body is None:
                    return
            else:
                if len(buf) < length:
                    return
                body = bytes(buf[:length])
                del buf[:length]
            self._head = None
            self._queue.append(_HttpRequest(method, target, version, headers, body, self._server._clock()))
            if self._task is None:
                self._task = asyncio.get_running_loop().create_task(self._run())

    def _take_chunked(self) -> bytes | None:
        buf = self._buffer
        pos = 0
        out = bytearray()
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                return None
            try:
                size = int(bytes(buf[pos:eol]).split(b";")[0].strip() or b"0", 16)
            except ValueError as exc:
                raise _BadHttpRequest("bad chunk size") from exc
            pos = eol + 2
            if size == 0:
                end = buf.find(b"\r\n\r\n", pos - 2)
                if end < 0:
                    return None
                del buf[: end + 4]
                return bytes(out)
            if len(buf) < pos + size + 2:
                return None
            out += buf[pos : pos + size]
            pos += size + 2

    async def _run(self) -> None:
        try:
            while self._queue and not self.closed:
                request = self._queue.popleft()
                response, keep_alive = await self._server._handle_http(request)
                if response is None:  # injected disconnect / server shutting down
                    self.close()
                    return
                self.write(response)
                if not keep_alive:
                    self.close()
                    return
        finally:
            self._task = None


def _encode_response(status: int, body: bytes, *, keep_alive: bool, content_type: str = "application/json") -> bytes:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Server: fake-telegram-bot-api\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n"
    )
    return head.encode("latin-1") + body


def _decode_field(name: str, value: Any) -> Any:
    """Undo PTB's form encoding: non-text fields were json.dumps-ed."""
    if not isinstance(value, str):
        return value
    if name in _STRING_FIELDS or not value:
        return value
    if value[0] in _JSON_START or value in ("true", "false", "null"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _parse_multipart(content_type: str, body: bytes) -> JSONDict:
    parser = email.parser.BytesParser(policy=email.policy.HTTP)
    message = parser.parsebytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body)
    fields: JSONDict = {}
    for part in message.iter_parts():  # type: ignore[attr-defined]
        name = part.get_param("name", header="content-disposition")
        if not name:
            continue
        payload = part.get_payload(decode=True) or b""
        fields[str(name)] = payload if part.get_filename() else payload.decode("utf-8")
    return fields


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------


class FakeTelegramServer:
    """A fake Bot API server for one bot token, on ``127.0.0.1`` and a random free port.

    Use it from the event loop it was started in (the test's loop). All waiting helpers are
    event driven (no polling/sleeping). See the module docstring for fidelity notes.
    """

    def __init__(
        self,
        token: str = "123456789:TEST-fake-token",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_username: str = "fake_test_bot",
        bot_first_name: str = "Fake Bot",
        strict_html: bool = True,
        latency: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        first_update_id: int = 1,
        max_text_length: int = 4096,
        webhook_timeout: float = 10.0,
    ) -> None:
        self.token = token
        self.host = host
        self._requested_port = port
        head = token.split(":", 1)[0]
        self.bot_id = int(head) if head.isdigit() else 123456789
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.strict_html = strict_html
        self.max_text_length = max_text_length
        self.webhook_timeout = webhook_timeout
        self._clock = clock
        self.stats = ServerStats()

        self._server: asyncio.Server | None = None
        self._port: int | None = None
        self._connections: set[_HttpConnection] = set()
        self._closing = False
        self._closing_event = asyncio.Event()
        self._hangs_released = asyncio.Event()
        self._background: set[asyncio.Task[Any]] = set()
        self._http_client: httpx.AsyncClient | None = None

        self._calls: list[RecordedCall] = []
        # (method lower, chat_id or None) -> calls, and where the unconsumed ones start, so
        # that waiting stays O(new calls) even after 10,000 messages.
        self._call_index: dict[tuple[str, Any], list[RecordedCall]] = {}
        self._index_start: dict[tuple[str, Any], int] = {}
        self._call_waiters: list[asyncio.Future[None]] = []

        self._chats: dict[int, _Chat] = {}
        self._pending: deque[JSONDict] = deque()
        self._update_ids = itertools.count(first_update_id)
        self._allowed_updates: list[str] = []
        self._active_poll: asyncio.Future[str] | None = None
        self._poll_parked = asyncio.Event()
        self._query_ids = itertools.count(4_380_000_000_000_000_001)
        self._open_queries: dict[str, JSONDict] = {}
        self.callback_answers: dict[str, JSONDict] = {}
        self.commands: dict[tuple[str, str], list[JSONDict]] = {}
        self.files: dict[str, bytes] = {}
        """file_id -> content of what users sent; getFile gives its file_path, /file/bot... serves it."""
        self.file_downloads: list[str] = []
        self._file_ids = itertools.count(1)

        self.webhook_url: str = ""
        self.webhook_secret: str | None = None
        self._webhook_info: JSONDict = {}
        self._webhook_lock = asyncio.Lock()
        self.webhook_deliveries: list[WebhookDelivery] = []

        self._faults: list[_Fault] = []
        self._latency: dict[str | None, float] = {None: latency} if latency else {}
        self._limited_methods: frozenset[str] = frozenset()
        self._global_rate: tuple[float, float] | None = None
        self._chat_rate: tuple[float, float] | None = None
        self._global_bucket: _TokenBucket | None = None
        self._chat_buckets: dict[int, _TokenBucket] = {}

        self._handlers: dict[str, Callable[[JSONDict, _CallContext], Any]] = {
            "getme": self._api_get_me,
            "getfile": self._api_get_file,
            "logout": self._api_true,
            "close": self._api_true,
            "getupdates": self._api_get_updates,
            "setwebhook": self._api_set_webhook,
            "deletewebhook": self._api_delete_webhook,
            "getwebhookinfo": self._api_get_webhook_info,
            "setmycommands": self._api_set_my_commands,
            "getmycommands": self._api_get_my_commands,
            "deletemycommands": self._api_delete_my_commands,
            "sendmessage": self._api_send_message,
            "editmessagetext": self._api_edit_message_text,
            "editmessagereplymarkup": self._api_edit_message_reply_markup,
            "answercallbackquery": self._api_answer_callback_query,
            "sendchataction": self._api_send_chat_action,
            "deletemessage": self._api_delete_message,
        }

    # ----------------------------------------------------------------------------------------
    # lifecycle
    # ----------------------------------------------------------------------------------------
    async def start(self) -> FakeTelegramServer:
        """Bind and start serving. Returns ``self``."""
        if self._server is not None:
            return self
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _HttpConnection(self), self.host, self._requested_port)
        self._port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Stop serving: wake long polls (they answer ``[]``), let in-flight requests finish
        briefly, then close every connection and cancel every task this server started."""
        if self._server is None or self._closing:
            return
        self._closing = True
        self._closing_event.set()
        self._hangs_released.set()
        if self._active_poll is not None and not self._active_poll.done():
            self._active_poll.set_result("closing")
        for waiter in self._call_waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._server.close()
        tasks = [c.task for c in self._connections if c.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=1.0)
        for conn in list(self._connections):
            conn.close()
        for task in [*tasks, *self._background]:
            task.cancel()
        leftovers = [*tasks, *self._background]
        if leftovers:
            await asyncio.gather(*leftovers, return_exceptions=True)
        await self._server.wait_closed()
        if self._http_client is not None:
            await self._http_client.aclose()
            self._http_client = None

    async def __aenter__(self) -> FakeTelegramServer:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeTelegramServer is not started")
        return self._port

    @property
    def base_url(self) -> str:
        """Pass as ``Bot(base_url=...)``; PTB appends the token and ``/{method}``."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self.host}:{self.port}/file/bot"

    def bot_kwargs(self) -> JSONDict:
        """``token``/``base_url``/``base_file_url`` for ``telegram.Bot(**server.bot_kwargs())``."""
        return {"token": self.token, "base_url": self.base_url, "base_file_url": self.base_file_url}

    @property
    def bot_user(self) -> JSONDict:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    # ----------------------------------------------------------------------------------------
    # observing the bot
    # ----------------------------------------------------------------------------------------
    @property
    def calls(self) -> list[RecordedCall]:
        """Every API call received, in completion order (live list; do not mutate)."""
        return self._calls

    def calls_to(self, method: str, chat_id: int | str | None = None) -> list[RecordedCall]:
        lower = method.lower()
        return [c for c in self._calls if c.method.lower() == lower and (chat_id is None or c.chat_id == chat_id)]

    def messages(self, chat_id: int, *, include_deleted: bool = False) -> list[StoredMessage]:
        """The bot's messages in ``chat_id``, oldest first (current state after edits)."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        return [m for m in chat.messages.values() if m.from_bot and (include_deleted or not m.deleted)]

    def history(self, chat_id: int) -> list[StoredMessage]:
        """All messages in ``chat_id`` (user and bot, deleted included), oldest first."""
        chat = self._chats.get(chat_id)
        return list(chat.messages.values()) if chat else []

    def last_message(self, chat_id: int) -> StoredMessage:
        found = self.messages(chat_id)
        if not found:
            raise AssertionError(f"the bot sent nothing to chat {chat_id}")
        return found[-1]

    def get_message(self, chat_id: int, message_id: int) -> StoredMessage | None:
        chat = self._chats.get(chat_id)
        return chat.messages.get(message_id) if chat else None

    def reset_calls(self) -> None:
        """Forget recorded calls (stored messages and state stay)."""
        self._calls.clear()
        self._call_index.clear()
        self._index_start.clear()

    async def wait_for_call(
        self,
        method: str,
        chat_id: int | str | None = None,
        predicate: Callable[[RecordedCall], bool] | None = None,
        timeout: float = 5.0,
    ) -> RecordedCall:
        """Return the first matching call not consumed by an earlier wait, waiting if needed.

        Matching calls of any status count (filter with ``predicate=lambda c: c.ok``).
        Raises ``AssertionError`` listing recent calls on timeout.
        """
        key = (method.lower(), chat_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        index = self._index_start.get(key, 0)
        while True:
            calls = self._call_index.get(key, [])
            while index < len(calls):
                call = calls[index]
                index += 1
                if call.consumed or (predicate is not None and not predicate(call)):
                    continue
                call.consumed = True
                start = self._index_start.get(key, 0)
                while start < len(calls) and calls[start].consumed:
                    start += 1
                self._index_start[key] = start
                return call
            if not await self._next_call(deadline):
                raise AssertionError(self._timeout_report(method, chat_id, timeout))

    async def wait_until(self, condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
        """Wait until ``condition()`` holds; it is checked again after every Bot API call."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not condition():
            if not await self._next_call(deadline):
                raise AssertionError(f"{what}: not within {timeout}s")

    async def _next_call(self, deadline: float) -> bool:
        """Wait for the next recorded call (or the deadline); False once the time is up or the server closes."""
        loop = asyncio.get_running_loop()
        remaining = deadline - loop.time()
        if remaining <= 0 or self._closing:
            return False
        waiter: asyncio.Future[None] = loop.create_future()
        self._call_waiters.append(waiter)
        try:
            await asyncio.wait_for(waiter, remaining)
        except TimeoutError:
            pass
        finally:
            if waiter in self._call_waiters:
                self._call_waiters.remove(waiter)
        return True

    async def wait_for_message(
        self,
        chat_id: int,
        timeout: float = 5.0,
        predicate: Callable[[StoredMessage], bool] | None = None,
    ) -> StoredMessage:
        """The next successful ``sendMessage`` to ``chat_id`` (consumes that call)."""

        def matches(call: RecordedCall) -> bool:
            return call.ok and call.message is not None and (predicate is None or predicate(call.message))

        call = await self.wait_for_call("sendMessage", chat_id, matches, timeout)
        assert call.message is not None
        return call.message

    @property
    def long_poll_waiting(self) -> bool:
        """True while a ``getUpdates`` long poll is parked waiting for updates."""
        return self._active_poll is not None and not self._active_poll.done()

    async def wait_for_long_poll(self, timeout: float = 5.0) -> None:
        """Wait until a ``getUpdates`` long poll is parked on the server (e.g. to prove that
        an injected update wakes it up rather than being picked up by the next poll)."""
        try:
            await asyncio.wait_for(self._poll_parked.wait(), timeout)
        except TimeoutError:
            raise AssertionError(f"no getUpdates long poll arrived within {timeout}s") from None

    def _timeout_report(self, method: str, chat_id: int | str | None, timeout: float) -> str:
        relevant = [c for c in self._calls if chat_id is None or c.chat_id == chat_id]
        where = f" in chat {chat_id}" if chat_id is not None else ""
        lines = [f"no {method} call{where} within {timeout}s."]
        if relevant:
            lines.append(f"Recent calls{where} (latest last):")
            lines.extend("  " + c.summary() for c in relevant[-15:])
        else:
            lines.append(f"No calls at all{where} (total calls: {len(self._calls)}).")
        return "\n".join(lines)

    # ----------------------------------------------------------------------------------------
    # fault injection
    # ----------------------------------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        *,
        status: int = 500,
        description: str | None = None,
        retry_after: int | None = None,
        chat_id: int | str | None = None,
        times: int = 1,
        kind: Literal["error", "disconnect", "hang"] = "error",
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (``"*"`` = any; optionally only for
        ``chat_id``) with an error instead of handling them.

        ``kind="error"``: Bot API error body with HTTP ``status`` (``retry_after`` adds
        ``parameters.retry_after`` → PTB ``RetryAfter``; must be >= 1 because PTB ignores a
        falsy value). ``kind="disconnect"``: close the socket without answering (PTB
        ``NetworkError``). ``kind="hang"``: never answer until the client gives up (PTB
        ``TimedOut`` with a short ``read_timeout``) or the server stops.
        """
        if description is None:
            description = _DEFAULT_DESCRIPTIONS.get(status, HTTPStatus(status).phrase)
            if status == 429 and retry_after:
                description = f"Too Many Requests: retry after {retry_after}"
        parameters = {"retry_after": retry_after} if retry_after is not None else None
        self._faults.append(_Fault(method.lower(), chat_id, kind, status, description, parameters, times))

    def release_hangs(self) -> None:
        """Let every call held by ``kind="hang"`` go: its connection closes unanswered."""
        self._hangs_released.set()
        self._hangs_released = asyncio.Event()

    def clear_faults(self) -> None:
        self._faults.clear()

    def set_forbidden(
        self,
        chat_id: int,
        forbidden: bool = True,
        *,
        description: str = "Forbidden: bot was blocked by the user",
    ) -> None:
        """Make every chat-targeted call for ``chat_id`` answer 403 (or undo it)."""
        self._chat(chat_id).forbidden = description if forbidden else None

    def set_rate_limit(
        self,
        global_per_s: float | None = None,
        per_chat_per_s: float | None = None,
        *,
        global_burst: float | None = None,
        per_chat_burst: float | None = None,
        methods: Iterable[str] = ("sendMessage",),
    ) -> None:
        """Token-bucket flood control over the server clock (``time.monotonic`` by default).

        A call of one of ``methods`` that finds no token answers 429
        ``Too Many Requests: retry after N`` with ``parameters.retry_after = N`` (whole
        seconds until a token is available, at least 1), counted in ``stats.rate_limited``.
        Bursts default to ``max(1, rate)``. ``set_rate_limit()`` with no rates disables it.
        """
        now = self._clock()
        self._limited_methods = frozenset(m.lower() for m in methods)
        self._global_rate = (global_per_s, global_burst or max(1.0, global_per_s)) if global_per_s else None
        self._chat_rate = (per_chat_per_s, per_chat_burst or max(1.0, per_chat_per_s)) if per_chat_per_s else None
        self._global_bucket = _TokenBucket(*self._global_rate, now) if self._global_rate else None
        self._chat_buckets = {}

    def set_latency(self, seconds: float, *, method: str | None = None) -> None:
        """Delay answers (all methods, or one) by ``seconds`` of real time."""
        key = method.lower() if method else None
        if seconds:
            self._latency[key] = seconds
        else:
            self._latency.pop(key, None)

    # ----------------------------------------------------------------------------------------
    # simulated users
    # ----------------------------------------------------------------------------------------
    async def send_text(
        self,
        chat_id: int,
        text: str,
        *,
        user: FakeUser | None = None,
        reply_to_message_id: int | None = None,
    ) -> int:
        """A user writes ``text`` to the bot; returns the update_id.

        ``/command args`` gets a ``bot_command`` entity like Telegram adds, so PTB's
        ``CommandHandler`` matches.
        """
        chat = self._chat(chat_id)
        sender = self._sender(chat, user)
        message = self._store_message(
            chat,
            from_bot=False,
            sender=sender.to_api(),
            text=text,
            plain_text=text,
            entities=bot_command_entities(text),
            reply_to=chat.messages.get(reply_to_message_id) if reply_to_message_id else None,
        )
        return await self.inject_update({"message": message.to_api()})

    async def edit_text(self, chat_id: int, message_id: int, text: str) -> int:
        """The user edits their own earlier message ``message_id`` to ``text``; Telegram sends the
        whole message again as an ``edited_message`` update. Returns the update_id."""
        chat = self._chat(chat_id)
        message = chat.messages.get(message_id)
        if message is None or message.deleted or message.from_bot or message.plain_text is None:
            raise AssertionError(f"edit_text: no text message of the user {message_id} in chat {chat_id}")
        message.text = message.plain_text = text
        message.entities = bot_command_entities(text)
        self._mark_edited(message)
        return await self.inject_update({"edited_message": message.to_api()})

    async def share_contact(
        self,
        chat_id: int,
        phone_number: str,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        user_id: int | None = None,
        own_contact: bool = True,
        user: FakeUser | None = None,
    ) -> int:
        """A user shares a contact (by default their own, as a ``request_contact`` button
        does: ``contact.user_id`` is the sender's id; names default to the sender's).
        Returns the update_id."""
        chat = self._chat(chat_id)
        sender = self._sender(chat, user)
        contact: JSONDict = {
            "phone_number": phone_number,
            "first_name": first_name if first_name is not None else sender.first_name,
        }
        if last_name is None and own_contact:
            last_name = sender.last_name
        if last_name:
            contact["last_name"] = last_name
        if user_id is None and own_contact:
            user_id = sender.id
        if user_id is not None:
            contact["user_id"] = user_id
        message = self._store_message(chat, from_bot=False, sender=sender.to_api(), contact=contact)
        return await self.inject_update({"message": message.to_api()})

    def _keep_file(self, content: bytes, *, size: int | None) -> JSONDict:
        number = next(self._file_ids)
        file_id = f"FILE{number:06d}"
        self.files[file_id] = content
        return {"file_id": file_id, "file_unique_id": f"U{number:06d}", "file_size": size or len(content)}

    async def send_photo(
        self, chat_id: int, content: bytes, *, caption: str | None = None, user: FakeUser | None = None
    ) -> int:
        """A user sends a photo. Telegram offers it in several sizes; like Telegram the last is the
        largest (both here are the same bytes). Returns the update_id."""
        chat = self._chat(chat_id)
        sender = self._sender(chat, user)
        full = self._keep_file(content, size=None)
        thumb = {**self._keep_file(content[:64], size=None), "width": 90, "height": 90}
        photo = [thumb, {**full, "width": 1280, "height": 960}]
        message = self._store_message(chat, from_bot=False, sender=sender.to_api(), photo=photo, caption=caption)
        return await self.inject_update({"message": message.to_api()})

    async def send_document(
        self,
        chat_id: int,
        content: bytes,
        *,
        file_name: str,
        mime_type: str,
        size: int | None = None,
        user: FakeUser | None = None,
    ) -> int:
        """A user sends a file. `size` overrides the announced file_size, so a test can send a
        "30 MB" file without 30 MB of bytes (a bot must check the size before downloading)."""
        chat = self._chat(chat_id)
        sender = self._sender(chat, user)
        document = {**self._keep_file(content, size=size), "file_name": file_name, "mime_type": mime_type}
        message = self._store_message(chat, from_bot=False, sender=sender.to_api(), document=document)
        return await self.inject_update({"message": message.to_api()})

    async def send_sticker(self, chat_id: int, *, user: FakeUser | None = None) -> int:
        """A user sends a sticker (PTB reads it; blkbot has nothing to take from it)."""
        chat = self._chat(chat_id)
        sender = self._sender(chat, user)
        message = self._store_message(chat, from_bot=False, sender=sender.to_api())
        payload = message.to_api()
        payload["sticker"] = {
            **self._keep_file(b"sticker", size=None),
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return await self.inject_update({"message": payload})

    async def press_button(
        self,
        chat_id: int,
        message_id: int,
        callback_data: str,
        *,
        user: FakeUser | None = None,
        check: bool = True,
    ) -> str:
        """A user presses an inline button of bot message ``message_id``; returns the
        callback_query id. The query carries the message as currently stored (with its
        current reply_markup). With ``check`` the button must exist on the message now."""
        chat = self._chat(chat_id)
        message = chat.messages.get(message_id)
        if message is None or message.deleted or not message.from_bot:
            known = [m.message_id for m in self.messages(chat_id)]
            raise AssertionError(f"press_button: no bot message {message_id} in chat {chat_id} (bot messages: {known})")
        if check and callback_data not in message.callback_data:
            raise AssertionError(
                f"press_button: message {message_id} in chat {chat_id} has no button with "
                f"callback_data={callback_data!r}; it has {message.callback_data}"
            )
        sender = self._sender(chat, user)
        query_id = str(next(self._query_ids))
        query: JSONDict = {
            "id": query_id,
            "from": sender.to_api(),
            "message": message.to_api(),
            "chat_instance": str(-(abs(chat_id) * 7919 + self.bot_id) % 10**18),
            "data": callback_data,
        }
        self._open_queries[query_id] = query
        await self.inject_update({"callback_query": query})
        return query_id

    async def click(
        self,
        chat_id: int,
        button_text: str,
        *,
        message_id: int | None = None,
        user: FakeUser | None = None,
    ) -> str:
        """Press the inline button labelled ``button_text`` on the latest bot message that
        has one (or on ``message_id``). Returns the callback_query id."""
        candidates = [m for m in reversed(self.messages(chat_id)) if message_id is None or m.message_id == message_id]
        for message in candidates:
            for button in message.inline_buttons:
                if button.get("text") == button_text and "callback_data" in button:
                    return await self.press_button(chat_id, message.message_id, button["callback_data"], user=user)
        shown = {m.message_id: m.button_texts for m in candidates[:5]}
        raise AssertionError(f"no inline button {button_text!r} in chat {chat_id}: {shown}")

    async def inject_update(self, payload: Mapping[str, Any]) -> int:
        """Queue (or POST to the webhook) a raw update; ``update_id`` is assigned."""
        update_id = next(self._update_ids)
        update: JSONDict = {"update_id": update_id, **payload}
        update["update_id"] = update_id
        self.stats.updates_injected += 1
        self._pending.append(update)
        if self.webhook_url:
            await self.flush_webhook()
        elif self._active_poll is not None and not self._active_poll.done():
            self._active_poll.set_result("update")
        return update_id

    @property
    def pending_updates(self) -> list[JSONDict]:
        return list(self._pending)

    async def flush_webhook(self) -> None:
        """POST pending updates to the webhook, in order, stopping at the first failure."""
        async with self._webhook_lock:
            while self._pending and self.webhook_url and not self._closing:
                update = self._pending[0]
                if not self._allowed(update):
                    self._pending.popleft()
                    continue
                if await self._post_webhook(update):
                    self._pending.popleft()
                else:
                    return

    async def _post_webhook(self, update: JSONDict) -> bool:
        if self._http_client is None:
            self._http_client = httpx.AsyncClient(timeout=self.webhook_timeout)
        headers = {"Content-Type": "application/json"}
        if self.webhook_secret:
            headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook_secret
        url = self.webhook_url
        status: int | None = None
        error: str | None = None
        self.stats.webhook_posts += 1
        try:
            response = await self._http_client.post(
                url, content=json.dumps(update, ensure_ascii=False).encode(), headers=headers
            )
            status = response.status_code
            if not 200 <= status <= 299:
                error = f"Wrong response from the webhook: {status} {response.reason_phrase}"
        except httpx.HTTPError as exc:
            error = f"Connection failed: {exc!r}"
        self.webhook_deliveries.append(WebhookDelivery(update["update_id"], url, status, error, self._clock()))
        if error is not None:
            self._webhook_info["last_error_date"] = int(time.time())
            self._webhook_info["last_error_message"] = error
            return False
        return True

    # ----------------------------------------------------------------------------------------
    # request handling
    # ----------------------------------------------------------------------------------------
    async def _handle_http(self, request: _HttpRequest) -> tuple[bytes | None, bool]:
        self.stats.requests += 1
        keep_alive = request.version != "HTTP/1.0" and (request.headers.get("connection", "").lower() != "close")
        path, _, query = request.target.partition("?")
        if path.startswith("/file/bot"):
            return self._serve_file(path[len("/file/bot") :], keep_alive), keep_alive
        token, sep, method = path[4:].partition("/") if path.startswith("/bot") else ("", "", "")
        if not sep or not method or "/" in method:
            status, payload = 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        elif token != self.token:
            status, payload = 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        else:
            try:
                params = self._parse_params(request, query)
            except (ValueError, UnicodeDecodeError) as exc:
                status, payload = 400, _ApiError(400, f"Bad Request: {exc}").payload()
            else:
                status, payload = await self._call_api(method, params, request.arrival)
        if status == 0:
            return None, False
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return _encode_response(status, body, keep_alive=keep_alive), keep_alive

    def _serve_file(self, rest: str, keep_alive: bool) -> bytes:
        """GET {base_file_url}/{token}/{file_path}: the bytes getFile pointed at."""
        token, _, file_path = urllib.parse.unquote(rest).partition("/")  # PTB quotes the ":" of the token
        file_id = file_path.rsplit("/", 1)[-1]
        if token != self.token or file_id not in self.files:
            return _encode_response(
                404, b'{"ok":false,"error_code":404,"description":"Not Found"}', keep_alive=keep_alive
            )
        self.file_downloads.append(file_id)
        return _encode_response(
            200, self.files[file_id], keep_alive=keep_alive, content_type="application/octet-stream"
        )

    def _parse_params(self, request: _HttpRequest, query: str) -> JSONDict:
        raw: JSONDict = {}
        if query:
            raw.update(urllib.parse.parse_qsl(query, keep_blank_values=True))
        body = request.body
        if body:
            content_type = request.headers.get("content-type", "")
            lowered = content_type.lower()
            if lowered.startswith("application/json"):
                decoded = json.loads(body)
                if not isinstance(decoded, dict):
                    raise ValueError("JSON body must be an object")
                raw.update(decoded)
            elif lowered.startswith("multipart/form-data"):
                raw.update(_parse_multipart(content_type, body))
            else:  # application/x-www-form-urlencoded (what PTB sends)
                raw.update(urllib.parse.parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        return {name: _decode_field(name, value) for name, value in raw.items()}

    async def _call_api(self, method: str, params: JSONDict, arrival: float) -> tuple[int, JSONDict]:
        lower = method.lower()
        canonical = _CANONICAL_METHODS.get(lower, method)
        chat_id = params.get("chat_id")
        ctx = _CallContext(lower)
        status = 200
        payload: JSONDict = {}
        try:
            delay = self._latency.get(lower, self._latency.get(None, 0.0))
            if delay:
                await asyncio.sleep(delay)
            fault = self._take_fault(lower, chat_id)
            if fault is not None:
                self.stats.injected_failures += 1
                if fault.kind == "hang":
                    await self._hangs_released.wait()
                if fault.kind != "error":
                    status = 0
                else:
                    raise _ApiError(fault.status, fault.description, fault.parameters)
            else:
                handler = self._handlers.get(lower)
                if handler is None:
                    raise _ApiError(404, "Not Found")
                result = handler(params, ctx)
                if asyncio.iscoroutine(result):
                    result = await result
                payload = {"ok": True, "result": result}
                if ctx.description:
                    payload["description"] = ctx.description
        except _ApiError as exc:
            status, payload = exc.status, exc.payload()
        except asyncio.CancelledError:  # the client went away (or the server stops)
            self._record(canonical, chat_id, params, arrival, 0, {}, ctx.message)
            raise
        except Exception as exc:  # a bug in the fake: make it loud but keep serving
            _LOGGER.exception("fake Telegram server failed handling %s", method)
            status = 500
            payload = _ApiError(500, f"Internal Server Error: fake server bug: {exc!r}").payload()
        self._record(canonical, chat_id, params, arrival, status, payload, ctx.message)
        return status, payload

    def _record(
        self,
        method: str,
        chat_id: Any,
        params: JSONDict,
        arrival: float,
        status: int,
        payload: JSONDict,
        message: StoredMessage | None,
    ) -> None:
        call = RecordedCall(len(self._calls), method, chat_id, params, arrival, status, payload, message)
        self._calls.append(call)
        lower = method.lower()
        index = self._call_index
        index.setdefault((lower, None), []).append(call)
        if chat_id is not None:
            index.setdefault((lower, chat_id), []).append(call)
        self.stats.by_method[method] += 1
        self.stats.by_status[status] += 1
        if self._call_waiters:
            for waiter in self._call_waiters:
                if not waiter.done():
                    waiter.set_result(None)
            self._call_waiters.clear()

    def _take_fault(self, method: str, chat_id: Any) -> _Fault | None:
        for index, fault in enumerate(self._faults):
            if fault.method not in (method, "*"):
                continue
            if fault.chat_id is not None and fault.chat_id != chat_id:
                continue
            fault.remaining -= 1
            if fault.remaining <= 0:
                del self._faults[index]
            return fault
        return None

    def _rate_limit(self, method: str, chat_id: int) -> None:
        if method not in self._limited_methods:
            return
        now = self._clock()
        buckets: list[_TokenBucket] = []
        if self._global_bucket is not None:
            buckets.append(self._global_bucket)
        if self._chat_rate is not None:
            bucket = self._chat_buckets.get(chat_id)
            if bucket is None:
                bucket = self._chat_buckets[chat_id] = _TokenBucket(*self._chat_rate, now)
            buckets.append(bucket)
        if not buckets:
            return
        wait = max(bucket.wait_needed(now) for bucket in buckets)
        if wait > 0:
            self.stats.rate_limited += 1
            retry_after = max(1, math.ceil(wait))
            raise _ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})
        for bucket in buckets:
            bucket.tokens -= 1.0

    # helpers ---------------------------------------------------------------------------------
    def _chat(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _Chat(chat_id)
        return chat

    def _sender(self, chat: _Chat, user: FakeUser | None) -> FakeUser:
        if user is not None:
            if chat.type == "private":
                chat.user = user
            return user
        return chat.default_user()

    def _store_message(self, chat: _Chat, *, from_bot: bool, sender: JSONDict, **fields: Any) -> StoredMessage:
        message = StoredMessage(
            chat_id=chat.id,
            message_id=chat.next_message_id,
            date=int(time.time()),
            from_bot=from_bot,
            sender=sender,
            chat=chat.to_api(),
            **fields,
        )
        chat.next_message_id += 1
        chat.messages[message.message_id] = message
        return message

    def _require_chat(self, params: JSONDict) -> _Chat:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise _ApiError(400, "Bad Request: chat_id is empty")
        if isinstance(raw, bool) or not isinstance(raw, int):
            try:
                raw = int(str(raw))
            except ValueError:
                raise _ApiError(400, "Bad Request: chat not found") from None
        chat = self._chat(raw)
        if chat.forbidden:
            self.stats.forbidden += 1
            raise _ApiError(403, chat.forbidden)
        return chat

    def _format_text(self, params: JSONDict, *, too_long: str) -> tuple[str, str, list[JSONDict], str | None]:
        text = params.get("text")
        if text is None or text == "":
            raise _ApiError(400, "Bad Request: message text is empty")
        text = str(text)
        parse_mode = params.get("parse_mode") or None
        mode = str(parse_mode).strip().lower() if parse_mode else ""
        if mode == "html":
            try:
                plain, entities = parse_html(text, strict_ampersand=self.strict_html)
            except HtmlParseError as exc:
                raise _ApiError(400, f"Bad Request: can't parse entities: {exc}") from None
        elif mode in ("", "markdown", "markdownv2"):
            plain = text
            given = params.get("entities") if not mode else None
            entities = [dict(e) for e in given] if isinstance(given, list) else []
        else:
            raise _ApiError(400, "Bad Request: unsupported parse_mode")
        plain, entities = _trim_text(plain, entities)
        if not plain:
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(plain) > self.max_text_length:
            raise _ApiError(400, too_long)
        return text, plain, entities, parse_mode

    @staticmethod
    def _validate_markup(markup: Any, *, inline_only: bool) -> JSONDict | None:
        if markup is None or markup == "":
            return None
        if isinstance(markup, str):
            try:
                markup = json.loads(markup)
            except ValueError:
                raise _ApiError(400, _BAD_MARKUP) from None
        if not isinstance(markup, dict):
            raise _ApiError(400, _BAD_MARKUP)
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _ApiError(
                    400,
                    'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays',
                )
            for row in rows:
                for button in row:
                    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                        raise _ApiError(
                            400,
                            'Bad Request: can\'t parse inline keyboard button: Field "text" must be of type String',
                        )
                    if not any(key in button for key in _INLINE_BUTTON_ACTIONS):
                        raise _ApiError(
                            400,
                            "Bad Request: can't parse inline keyboard button: Text buttons are "
                            "unallowed in the inline keyboard",
                        )
                    if "callback_data" in button:
                        data = button["callback_data"]
                        if not isinstance(data, str) or not 1 <= len(data.encode()) <= 64:
                            raise _ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
                    if "url" in button and not button["url"]:
                        raise _ApiError(400, "Bad Request: BUTTON_URL_INVALID")
            return markup
        if inline_only:
            raise _ApiError(400, "Bad Request: inline keyboard expected")
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _ApiError(
                    400,
                    'Bad Request: field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays',
                )
            for row in rows:
                for button in row:
                    text = button.get("text") if isinstance(button, dict) else button
                    if not isinstance(text, str):
                        raise _ApiError(
                            400,
                            'Bad Request: can\'t parse keyboard button: Field "text" must be of type String',
                        )
            return markup
        if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
            return markup
        raise _ApiError(400, _BAD_MARKUP)

    def _editable(self, chat: _Chat, params: JSONDict) -> StoredMessage:
        if params.get("inline_message_id"):
            raise _ApiError(400, "Bad Request: MESSAGE_ID_INVALID")
        message_id = params.get("message_id")
        if message_id is None or message_id == "":
            raise _ApiError(400, "Bad Request: message identifier is not specified")
        message = chat.messages.get(message_id) if isinstance(message_id, int) else None
        if message is None or message.deleted:
            raise _ApiError(400, "Bad Request: message to edit not found")
        if not message.from_bot:
            raise _ApiError(400, "Bad Request: message can't be edited")
        return message

    def _allowed(self, update: JSONDict) -> bool:
        kind = next((k for k in update if k != "update_id"), "")
        if self._allowed_updates:
            return kind in self._allowed_updates
        return kind not in _NOT_DEFAULT_UPDATES

    # Bot API methods -------------------------------------------------------------------------
    def _api_true(self, params: JSONDict, ctx: _CallContext) -> bool:
        return True

    def _api_get_file(self, params: JSONDict, ctx: _CallContext) -> JSONDict:
        file_id = str(params.get("file_id") or "")
        if file_id not in self.files:
            raise _ApiError(400, "Bad Request: invalid file_id")
        content = self.files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": f"U{file_id[4:]}",
            "file_size": len(content),
            "file_path": f"documents/{file_id}",
        }

    def _api_get_me(self, params: JSONDict, ctx: _CallContext) -> JSONDict:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _api_get_updates(self, params: JSONDict, ctx: _CallContext) -> list[JSONDict]:
        if self.webhook_url:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; use "
                "deleteWebhook to delete the webhook first",
            )
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(a) for a in allowed]
        if offset > 0:
            while self._pending and self._pending[0]["update_id"] < offset:
                self._pending.popleft()
        elif offset < 0:
            while len(self._pending) > -offset:
                self._pending.popleft()
        if self._active_poll is not None and not self._active_poll.done():
            self._active_poll.set_result("conflict")  # like Telegram: the older poll loses
        updates = self._collect_updates(limit)
        if updates or timeout <= 0 or self._closing:
            return updates
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            poll: asyncio.Future[str] = loop.create_future()
            self._active_poll = poll
            self._poll_parked.set()
            try:
                reason = await asyncio.wait_for(poll, remaining)
            except TimeoutError:
                return []
            finally:
                if self._active_poll is poll:
                    self._active_poll = None
                    self._poll_parked.clear()
            if reason == "conflict":
                raise _ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running",
                )
            if reason == "closing":
                return []
            updates = self._collect_updates(limit)
            if updates:
                return updates

    def _collect_updates(self, limit: int) -> list[JSONDict]:
        if not self._pending:
            return []
        kept = deque(u for u in self._pending if self._allowed(u))
        self._pending = kept
        return list(itertools.islice(kept, limit))

    def _api_set_webhook(self, params: JSONDict, ctx: _CallContext) -> bool:
        url = str(params.get("url") or "")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_RE.fullmatch(str(secret)):
            raise _ApiError(400, "Bad Request: secret token contains unallowed characters")
        if url and urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise _ApiError(400, "Bad Request: bad webhook: Webhook can be set up only on HTTPS")
        if params.get("drop_pending_updates"):
            self._pending.clear()
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = [str(a) for a in allowed]
        if not url:
            ctx.description = "Webhook was deleted" if self.webhook_url else ("Webhook is already deleted")
            self.webhook_url, self.webhook_secret, self._webhook_info = "", None, {}
            return True
        ctx.description = "Webhook is already set" if url == self.webhook_url else ("Webhook was set")
        self.webhook_url = url
        self.webhook_secret = str(secret) if secret is not None else None
        self._webhook_info = {"max_connections": int(params.get("max_connections") or 40)}
        if params.get("ip_address"):
            self._webhook_info["ip_address"] = params["ip_address"]
        if self._pending:  # Telegram starts delivering what was queued
            task = asyncio.get_running_loop().create_task(self.flush_webhook())
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        return True

    def _api_delete_webhook(self, params: JSONDict, ctx: _CallContext) -> bool:
        ctx.description = "Webhook was deleted" if self.webhook_url else ("Webhook is already deleted")
        self.webhook_url, self.webhook_secret, self._webhook_info = "", None, {}
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    def _api_get_webhook_info(self, params: JSONDict, ctx: _CallContext) -> JSONDict:
        info: JSONDict = {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self.webhook_url:
            info.update(self._webhook_info)
            if self._allowed_updates:
                info["allowed_updates"] = list(self._allowed_updates)
        return info

    @staticmethod
    def _commands_key(params: JSONDict) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        if isinstance(scope, str):
            scope = json.loads(scope)
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _api_set_my_commands(self, params: JSONDict, ctx: _CallContext) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _ApiError(400, "Bad Request: can't parse commands JSON object")
        cleaned: list[JSONDict] = []
        for command in commands:
            if not isinstance(command, dict):
                raise _ApiError(400, "Bad Request: can't parse BotCommand JSON object")
            name = str(command.get("command", ""))
            description = str(command.get("description", ""))
            if not _COMMAND_RE.fullmatch(name):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise _ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name, "description": description})
        self.commands[self._commands_key(params)] = cleaned
        return True

    def _api_get_my_commands(self, params: JSONDict, ctx: _CallContext) -> list[JSONDict]:
        return list(self.commands.get(self._commands_key(params), []))

    def _api_delete_my_commands(self, params: JSONDict, ctx: _CallContext) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True

    def _api_send_message(self, params: JSONDict, ctx: _CallContext) -> JSONDict:
        chat = self._require_chat(params)
        text, plain, entities, parse_mode = self._format_text(params, too_long="Bad Request: message is too long")
        markup = self._validate_markup(params.get("reply_markup"), inline_only=False)
        reply_to: StoredMessage | None = None
        reply = params.get("reply_parameters")
        reply_id = reply.get("message_id") if isinstance(reply, dict) else None
        reply_id = reply_id or params.get("reply_to_message_id")
        if reply_id:
            reply_to = chat.messages.get(reply_id)
            lenient = (isinstance(reply, dict) and reply.get("allow_sending_without_reply")) or (
                params.get("allow_sending_without_reply")
            )
            if (reply_to is None or reply_to.deleted) and not lenient:
                raise _ApiError(400, "Bad Request: message to be replied not found")
        self._rate_limit(ctx.method, chat.id)
        message = self._store_message(
            chat,
            from_bot=True,
            sender=self.bot_user,
            text=text,
            plain_text=plain,
            entities=entities,
            parse_mode=parse_mode,
            reply_markup=markup,
            link_preview_options=params.get("link_preview_options"),
            reply_to=reply_to,
        )
        ctx.message = message
        return message.to_api()

    def _api_edit_message_text(self, params: JSONDict, ctx: _CallContext) -> JSONDict:
        chat = self._require_chat(params)
        message = self._editable(chat, params)
        if message.plain_text is None:
            raise _ApiError(400, "Bad Request: there is no text in the message to edit")
        text, plain, entities, parse_mode = self._format_text(params, too_long="Bad Request: MESSAGE_TOO_LONG")
        markup = self._validate_markup(params.get("reply_markup"), inline_only=True)
        if plain == message.plain_text and entities == message.entities and markup == message.inline_markup:
            raise _ApiError(400, _NOT_MODIFIED)
        self._rate_limit(ctx.method, chat.id)
        message.text, message.plain_text, message.entities = text, plain, entities
        message.parse_mode = parse_mode
        if message.inline_markup is not None or markup is not None:
            # Like Telegram: editing text without reply_markup removes the inline keyboard.
            message.reply_markup = markup
        if "link_preview_options" in params:
            message.link_preview_options = params["link_preview_options"]
        self._mark_edited(message)
        ctx.message = message
        return message.to_api()

    def _api_edit_message_reply_markup(self, params: JSONDict, ctx: _CallContext) -> JSONDict:
        chat = self._require_chat(params)
        message = self._editable(chat, params)
        markup = self._validate_markup(params.get("reply_markup"), inline_only=True)
        if markup == message.inline_markup:
            raise _ApiError(400, _NOT_MODIFIED)
        self._rate_limit(ctx.method, chat.id)
        message.reply_markup = markup
        self._mark_edited(message)
        ctx.message = message
        return message.to_api()

    @staticmethod
    def _mark_edited(message: StoredMessage) -> None:
        message.edited = True
        message.edit_date = int(time.time())
        message.edit_count += 1

    def _api_answer_callback_query(self, params: JSONDict, ctx: _CallContext) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._open_queries:
            raise _ApiError(400, _QUERY_INVALID)
        text = params.get("text")
        if isinstance(text, str) and len(text) > 200:
            raise _ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        query = self._open_queries.pop(query_id)
        answer = {k: v for k, v in params.items() if k != "callback_query_id"}
        self.callback_answers[query_id] = answer
        message = query.get("message")
        if isinstance(message, dict):
            ctx.message = self.get_message(message["chat"]["id"], message["message_id"])
        return True

    def _api_send_chat_action(self, params: JSONDict, ctx: _CallContext) -> bool:
        self._require_chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _ApiError(400, "Bad Request: wrong parameter action in request")
        return True

    def _api_delete_message(self, params: JSONDict, ctx: _CallContext) -> bool:
        chat = self._require_chat(params)
        message_id = params.get("message_id")
        message = chat.messages.get(message_id) if isinstance(message_id, int) else None
        if message is None or message.deleted:
            raise _ApiError(400, "Bad Request: message to delete not found")
        message.deleted = True
        ctx.message = message
        return True


# --------------------------------------------------------------------------------------------
# Running the server in its own thread (benchmarks)
# --------------------------------------------------------------------------------------------


class ThreadedFakeTelegramServer:
    """Host a :class:`FakeTelegramServer` on its own event loop in a daemon thread.

    Why: a benchmark may run the bot (PTB ``Application``) in the main loop and wants the
    server's work off that loop, so the measured numbers are the bot's. The server object must
    only be touched from its own loop; use :meth:`arun` (from another event loop) or
    :meth:`run` (from plain synchronous code) to call its coroutine methods, and
    :meth:`run_sync` for its plain methods::

        with ThreadedFakeTelegramServer(token=TOKEN) as fake:
            app = Application.builder().token(TOKEN).base_url(fake.base_url).build()
            ...
            await fake.arun(fake.server.send_text(42, "/start"))     # from the bot's loop
            fake.run_sync(fake.server.set_rate_limit, per_chat_per_s=1)
    """

    def __init__(self, **kwargs: Any) -> None:
        self._kwargs = kwargs
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: FakeTelegramServer | None = None

    def start(self, timeout: float = 10.0) -> FakeTelegramServer:
        if self._server is not None:
            return self._server
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=self._serve, args=(loop,), name="fake-telegram-server", daemon=True)
        self._thread.start()

        async def create() -> FakeTelegramServer:
            return await FakeTelegramServer(**self._kwargs).start()

        self._server = asyncio.run_coroutine_threadsafe(create(), loop).result(timeout)
        return self._server

    @staticmethod
    def _serve(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def stop(self, timeout: float = 10.0) -> None:
        loop, thread, server = self._loop, self._thread, self._server
        if loop is None or thread is None:
            return
        try:
            if server is not None:
                asyncio.run_coroutine_threadsafe(server.stop(), loop).result(timeout)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout)
            self._loop = self._thread = self._server = None

    def __enter__(self) -> ThreadedFakeTelegramServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def server(self) -> FakeTelegramServer:
        if self._server is None:
            raise RuntimeError("ThreadedFakeTelegramServer is not started")
        return self._server

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def base_file_url(self) -> str:
        return self.server.base_file_url

    @property
    def port(self) -> int:
        return self.server.port

    def _submit(self, coro: Coroutine[Any, Any, _T]) -> concurrent.futures.Future[_T]:
        if self._loop is None:
            coro.close()
            raise RuntimeError("ThreadedFakeTelegramServer is not started")
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def run(self, coro: Coroutine[Any, Any, _T], timeout: float | None = 30.0) -> _T:
        """Run a server coroutine and block for its result. Do not call from a loop that the
        coroutine needs (e.g. waiting for a reply from a bot running on the calling loop)."""
        return self._submit(coro).result(timeout)

    async def arun(self, coro: Coroutine[Any, Any, _T]) -> _T:
        """Await a server coroutine from another event loop without blocking that loop."""
        return await asyncio.wrap_future(self._submit(coro))

    def run_sync(self, func: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
        """Call a plain server method on the server's thread and return its result."""

        async def call() -> _T:
            return func(*args, **kwargs)

        return self.run(call())
