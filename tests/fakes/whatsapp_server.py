"""A fake WhatsApp Cloud API (Graph API) on 127.0.0.1, and a resident's phone that posts webhooks.

The bot's Graph API client talks real HTTP to this server through BLKBOT_WHATSAPP_BASE_URL; the
server checks what WhatsApp checks (the token, the body's shape, 3 buttons of 20 characters, 10
list rows of 24/72, bodies of 1,024 and texts of 4,096, approved template names) and answers with
Meta's error documents, so a rendering mistake fails a test as it would fail in production.
Faults (rate limits, a closed window, 5xx) are injected per call.

The other direction: `webhook(...)` signs a real-shaped webhook document with the app secret and
POSTs it to the bot's webhook URL, as Meta does, and returns the HTTP answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from handlers.http import listen, serve_in_background
from handlers.whatsapp.signature import sign

VERSION = "v21.0"
REDELIVERIES = 3
"""Tries of one webhook call that the connection broke before any answer."""


@dataclass
class Sent:
    to: str
    body: dict[str, Any]
    wamid: str

    @property
    def kind(self) -> str:
        return str(self.body.get("type"))

    @property
    def text(self) -> str:
        """What the person reads: the text, or an interactive message's body."""
        if self.kind == "text":
            return str(self.body["text"]["body"])
        if self.kind == "interactive":
            return str(self.body["interactive"]["body"]["text"])
        if self.kind == "template":
            return " ".join(p["text"] for c in self.body["template"].get("components", []) for p in c["parameters"])
        return ""

    @property
    def choices(self) -> list[tuple[str, str]]:
        """(id, title) of the buttons or list rows."""
        if self.kind != "interactive":
            return []
        interactive = self.body["interactive"]
        action = interactive["action"]
        if interactive["type"] == "button":
            return [(b["reply"]["id"], b["reply"]["title"]) for b in action["buttons"]]
        return [(r["id"], r["title"]) for s in action["sections"] for r in s["rows"]]


@dataclass
class Fault:
    status: int
    code: int
    message: str
    to: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Hold:
    """The next message to `to` is held unanswered: the bot is between its call and Meta's answer.
    `arrived` is set when it came; `answer` lets it through (recorded and answered as usual),
    `drop` ends it unrecorded (its sender was killed meanwhile)."""

    to: str | None
    wamid: str = ""
    """The id Meta will answer with, known from arrival on (a status callback may beat the answer)."""
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _go: asyncio.Event = field(default_factory=asyncio.Event)
    _deliver: bool = True

    def answer(self) -> None:
        self._go.set()

    def drop(self) -> None:
        self._deliver = False
        self._go.set()


class FakeWhatsAppServer:
    def __init__(
        self,
        *,
        phone_number_id: str = "106540352242922",
        token: str = "wa-test-token",
        app_secret: str = "wa-app-secret",
        templates: frozenset[str] = frozenset(),
    ) -> None:
        self.phone_number_id = phone_number_id
        self.token = token
        self.app_secret = app_secret
        self.templates = templates
        self.sent: list[Sent] = []
        self.faults: list[Fault] = []
        self.holds: list[Hold] = []
        self.media: dict[str, tuple[bytes, str]] = {}
        self.webhook_url: str | None = None
        self._ids = itertools.count(1)
        self._changed = asyncio.Event()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.port = 0
        app = Starlette(
            routes=[
                Route(f"/{VERSION}/{{phone_id}}/messages", self._messages, methods=["POST"]),
                Route(f"/{VERSION}/{{media_id}}", self._media_info, methods=["GET"]),
                Route("/media-bytes/{media_id}", self._media_bytes, methods=["GET"]),
            ]
        )
        self.app = app

    # -- lifecycle

    async def __aenter__(self) -> FakeWhatsAppServer:
        # Bound and listening before uvicorn runs: the first call waits in the backlog, nobody polls.
        sock = listen("127.0.0.1", 0)
        self.port = sock.getsockname()[1]
        self._task = serve_in_background(self.app, sock, self._stop)
        self._client = httpx.AsyncClient(timeout=10)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()
        assert self._task is not None
        self._stop.set()
        await self._task

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{VERSION}"

    # -- what the bot sent

    def to(self, wa_id: str) -> list[Sent]:
        return [s for s in self.sent if s.to == wa_id]

    async def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out waiting for {what}; sent: {[(s.to, s.text[:60]) for s in self.sent]}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def wait_for_messages(self, wa_id: str, count: int, timeout: float = 5.0) -> list[Sent]:
        await self.wait_for(lambda: len(self.to(wa_id)) >= count, f"{count} messages to {wa_id}", timeout)
        return self.to(wa_id)

    def fail_next(
        self, status: int, code: int, message: str = "error", *, to: str | None = None, **headers: str
    ) -> None:
        self.faults.append(Fault(status, code, message, to, headers))

    def hold_next(self, to: str | None = None) -> Hold:
        hold = Hold(to)
        self.holds.append(hold)
        return hold

    def add_media(self, content: bytes, mime_type: str) -> str:
        media_id = str(9000000000000000 + next(self._ids))
        self.media[media_id] = (content, mime_type)
        return media_id

    # -- the person's side: webhooks as Meta sends them

    async def webhook(self, value: dict[str, Any], *, secret: str | None = None) -> httpx.Response:
        assert self.webhook_url, "set server.webhook_url to the bot's webhook"
        document = {
            "object": "whatsapp_business_account",
            "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}],
        }
        body = json.dumps(document).encode()
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(secret or self.app_secret, body)}
        for attempt in range(1, REDELIVERIES + 1):
            try:
                return await self.client_for(value).post(self.webhook_url, content=body, headers=headers)
            except (httpx.ReadError, httpx.RemoteProtocolError):
                # A kept-alive connection the bot's server closed as this call went out: Meta
                # delivers again what got no answer, and so does this fake (the bot keeps it once).
                if attempt == REDELIVERIES:
                    raise
        raise AssertionError("unreachable")

    def client_for(self, value: dict[str, Any]) -> httpx.AsyncClient:
        """The client that posts a webhook (one for all here; the load bench keeps several)."""
        return self._client

    def message_value(
        self, wa_id: str, message: dict[str, Any], *, name: str = "Warga", at: float | None = None
    ) -> dict[str, Any]:
        message = {
            "from": wa_id,
            "id": f"wamid.IN{next(self._ids)}",
            "timestamp": str(int(at or time.time())),
            **message,
        }
        return {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "6285100000000", "phone_number_id": self.phone_number_id},
            "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
            "messages": [message],
        }

    async def text(self, wa_id: str, body: str, **kwargs: Any) -> httpx.Response:
        return await self.webhook(self.message_value(wa_id, {"type": "text", "text": {"body": body}}, **kwargs))

    async def press(self, wa_id: str, reply_id: str, title: str = "", *, list_row: bool = False) -> httpx.Response:
        kind = "list_reply" if list_row else "button_reply"
        interactive = {"type": kind, kind: {"id": reply_id, "title": title}}
        return await self.webhook(self.message_value(wa_id, {"type": "interactive", "interactive": interactive}))

    async def status(
        self, wamid: str, wa_id: str, status: str, *, error: tuple[int, str] | None = None
    ) -> httpx.Response:
        item: dict[str, Any] = {
            "id": wamid,
            "status": status,
            "timestamp": str(int(time.time())),
            "recipient_id": wa_id,
        }
        if error:
            item["errors"] = [{"code": error[0], "title": error[1]}]
        value = {
            "messaging_product": "whatsapp",
            "metadata": {"phone_number_id": self.phone_number_id},
            "statuses": [item],
        }
        return await self.webhook(value)

    # -- the Graph API

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {self.token}"

    async def _messages(self, request: Request) -> Response:
        if not self._authorised(request):
            return _error(401, 190, "Error validating access token")
        if request.path_params["phone_id"] != self.phone_number_id:
            return _error(400, 100, "Unsupported post request: unknown phone number id")
        try:
            body = json.loads(await request.body())
        except ValueError:
            return _error(400, 100, "Invalid JSON")
        problem = check_message(body, self.templates)
        if problem:
            return _error(400, 100, problem)
        to = str(body["to"])
        wamid = ""
        for hold in self.holds:
            if hold.to in (None, to):
                self.holds.remove(hold)
                wamid = hold.wamid = f"wamid.OUT{next(self._ids)}"
                hold.arrived.set()
                await hold._go.wait()
                if not hold._deliver:
                    return _error(500, 1, "dropped by the test")
                break
        for fault in self.faults:
            if fault.to in (None, to):
                self.faults.remove(fault)
                return _error(fault.status, fault.code, fault.message, fault.headers)
        wamid = wamid or f"wamid.OUT{next(self._ids)}"
        content = {k: v for k, v in body.items() if k not in ("messaging_product", "recipient_type", "to")}
        self.sent.append(Sent(to, content, wamid))
        self._changed.set()
        return JSONResponse(
            {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}], "messages": [{"id": wamid}]}
        )

    async def _media_info(self, request: Request) -> Response:
        if not self._authorised(request):
            return _error(401, 190, "Error validating access token")
        media_id = request.path_params["media_id"]
        if media_id not in self.media:
            return _error(400, 100, "Unsupported get request")
        content, mime = self.media[media_id]
        url = f"http://127.0.0.1:{self.port}/media-bytes/{media_id}"
        return JSONResponse({"url": url, "mime_type": mime, "sha256": "x", "file_size": len(content), "id": media_id})

    async def _media_bytes(self, request: Request) -> Response:
        if not self._authorised(request):
            return Response(status_code=401)
        content, mime = self.media[request.path_params["media_id"]]
        return Response(content, media_type=mime)


def _error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    document = {"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf"}}
    return JSONResponse(document, status_code=status, headers=headers)


def check_message(body: Any, templates: frozenset[str]) -> str | None:
    """What WhatsApp would refuse in a message body, in Meta's words where we know them."""
    if not isinstance(body, dict) or body.get("messaging_product") != "whatsapp" or not body.get("to"):
        return "(#100) The parameter messaging_product and to are required"
    kind = body.get("type", "text")
    if kind == "text":
        text = body.get("text", {}).get("body", "")
        if not text or len(text) > 4096:
            return "(#100) Param text['body'] must be 1-4096 characters"
        return None
    if kind == "template":
        return _check_template(body.get("template", {}), templates)
    if kind != "interactive":
        return f"(#100) type {kind!r} is not used by blkbot"
    interactive = body.get("interactive", {})
    text = interactive.get("body", {}).get("text", "")
    if not text or len(text) > 1024:
        return "(#100) Param interactive['body']['text'] must be 1-1024 characters"
    action = interactive.get("action", {})
    if interactive.get("type") == "button":
        buttons = action.get("buttons", [])
        if not 1 <= len(buttons) <= 3:
            return "(#100) Param interactive['action']['buttons'] must have 1-3 elements"
        titles = [b["reply"]["title"] for b in buttons]
        ids = [b["reply"]["id"] for b in buttons]
        if any(not 1 <= len(t) <= 20 for t in titles):
            return "(#100) Button title length must be 1-20 characters"
        if len(set(titles)) != len(titles) or len(set(ids)) != len(ids):
            return "(#131009) Button titles and ids must be unique"
        return None
    if interactive.get("type") == "list":
        if not 1 <= len(action.get("button", "")) <= 20:
            return "(#100) Param interactive['action']['button'] must be 1-20 characters"
        rows = [r for s in action.get("sections", []) for r in s.get("rows", [])]
        if not 1 <= len(rows) <= 10:
            return "(#131009) Total row count exceed max allowed count: 10"
        if any(not 1 <= len(r.get("title", "")) <= 24 for r in rows):
            return "(#100) Row title length must be 1-24 characters"
        if any(len(r.get("description", "")) > 72 for r in rows):
            return "(#100) Row description length must be at most 72 characters"
        if len({r["id"] for r in rows}) != len(rows):
            return "(#131009) Row ids must be unique"
        return None
    return "(#100) unknown interactive type"


def _check_template(template: dict[str, Any], templates: frozenset[str]) -> str | None:
    """An approved name, a language, and body parameters as Meta takes them: one line, no tabs, no
    more than four spaces in a row, at most 1,024 characters (the approved body is not known here)."""
    name = template.get("name")
    if name not in templates:
        return f"(#132001) Template name does not exist in the translation: {name}"
    if not template.get("language", {}).get("code"):
        return "(#100) The parameter template['language']['code'] is required"
    for component in template.get("components", []):
        for parameter in component.get("parameters", []):
            text = parameter.get("text", "")
            if not text or len(text) > 1024:
                return "(#132000) Number of parameters does not match / parameter empty or too long"
            if "\n" in text or "\t" in text or "     " in text:
                return "(#132018) Param text cannot have new-line/tab characters or more than 4 consecutive spaces"
    return None
