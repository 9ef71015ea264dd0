"""Telegram's webhook: a route of the HTTP app that checks the secret and hands updates to PTB.

The check is ours, not PTB's: it compares in constant time, and a refused call is logged with its
peer address but nothing of its header, so a guessed or leaked secret never reaches a log. Anyone
who finds the URL could otherwise post forged updates, a staff member's /siaran among them.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Final

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application

log = logging.getLogger(__name__)

PATH: Final = "/telegram"
SECRET_HEADER: Final = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY: Final = 1 << 20
"""An update is a few kilobytes; a body past 1 MiB is refused unread rather than parsed."""


class _BadBody(Exception):
    """The body is too large, cut off, or not a Telegram update."""


def telegram_route(application: Application, secret: str) -> Route:
    """POST /telegram: 403 without the right secret, 400 for a body that is not an update,
    200 once the update is queued for PTB (its handlers then run as in long polling)."""
    expected = secret.encode()

    async def receive(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode("latin-1")
        if not hmac.compare_digest(given, expected):
            peer = request.client.host if request.client else "unknown"
            log.warning("refused a webhook call without the right secret from %s", peer)
            return Response(status_code=403)
        try:
            update = _update(await _json_body(request), application)
        except _BadBody as problem:
            log.warning("refused a webhook call: %s", problem)
            return Response(status_code=400)
        await application.update_queue.put(update)
        return Response(status_code=200)

    return Route(PATH, receive, methods=["POST"])


async def _json_body(request: Request) -> dict[str, object]:
    """The body as a JSON object, read no further than MAX_BODY."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise _BadBody(f"body of {declared} bytes is too large")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                raise _BadBody("body is too large")
    except ClientDisconnect:
        raise _BadBody("the caller hung up before the body ended") from None
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise _BadBody("body is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        raise _BadBody("body is not a Telegram update")
    return data


def _update(data: dict[str, object], application: Application) -> Update:
    """PTB's Update from the JSON; a field of the wrong shape raises whatever PTB's parsing meets."""
    try:
        return Update.de_json(data, application.bot)
    except Exception as problem:  # TypeError, KeyError, AttributeError ... from deep inside de_json
        raise _BadBody(f"body is not a Telegram update ({type(problem).__name__})") from None
