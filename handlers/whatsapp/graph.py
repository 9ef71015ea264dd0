"""The Graph API calls blkbot makes for WhatsApp: send a message, fetch a file a person sent.

Meta's error codes are mapped onto outreach.errors in one table, read top to bottom, so nothing
above handlers/ ever sees a Graph API code. The base URL is a setting (BLKBOT_WHATSAPP_BASE_URL),
so a proxy or the tests' fake server stands in for graph.facebook.com without code changes.

Written on aiohttp rather than a WhatsApp framework (pywa and others): blkbot needs the raw webhook
body for the signature and stores every message before answering, then processes it on its own
schedule; a framework that owns the webhook and dispatches to callbacks would stand in the way,
and the three calls used here are small. aiohttp rather than httpx (which python-telegram-bot
brings): every reply is one of these calls, and httpx's took about 4 ms of CPU against aiohttp's
1, a quarter of a whole WhatsApp turn (bench/conversation_load.py --channel whatsapp).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from outreach.errors import (
    AccountRefused,
    NeedsTemplate,
    RateLimited,
    Rejected,
    RetryLater,
    SendError,
    TransientSendError,
    Unreachable,
)

DEFAULT_BASE_URL = "https://graph.facebook.com/v21.0"
MEDIA_MAX_BYTES = 16 * 1024 * 1024
"""What blkbot fetches of one file; WhatsApp's own limit for documents is 100 MB."""
RATE_LIMIT_WAIT = 60.0
"""Seconds to wait after a rate-limit code that came without a Retry-After header."""
THROUGHPUT_WAIT = 0.2
"""Seconds everyone pauses after 130429 without a Retry-After header, before sending on at a cut rate
that climbs back (outreach.budget, slow_down): the number's messages-per-second limit refills within
a second, and the full one-second stop it used to be cost a broadcast 80 messages at every odd 130429."""

PAIR_RATE_WAIT = 60.0
"""Seconds before another message to one person after 131056 (too many to that person at once)."""
MARKETING_LIMIT_WAIT = 6 * 3600.0
"""Seconds before trying a person again after 131049 (Meta holds back marketing messages to
someone who got many lately); after the delivery loop's attempts it fails with the reason."""
TOKEN_RETRY = 60.0
"""Seconds between tries while the access token is refused (190): it resumes once one works."""

Outcome = Callable[[str, float], SendError]
"""Builds the error from the reason and the Retry-After header's seconds."""

# (codes, what it means, the outcome): the first row whose codes hold the error's code wins.
ERROR_TABLE: tuple[tuple[frozenset[int], str, Outcome], ...] = (
    (frozenset({130429}), "throughput limit", lambda _, wait: RateLimited(wait or THROUGHPUT_WAIT, slow_down=True)),
    (frozenset({4, 80007, 131048}), "rate limit", lambda _, wait: RateLimited(wait or RATE_LIMIT_WAIT)),
    (
        frozenset({131056}),
        "too many messages to this person",
        lambda reason, _: RetryLater(reason, PAIR_RATE_WAIT, counts=False),
    ),
    (frozenset({131047}), "outside the 24-hour window", lambda reason, _: NeedsTemplate(reason)),
    (
        frozenset({131049}),
        "held back by Meta's limit on marketing messages to this person",
        lambda reason, _: RetryLater(reason, MARKETING_LIMIT_WAIT, counts=True),
    ),
    (frozenset({131026, 131030, 133010}), "cannot be reached on WhatsApp", lambda reason, _: Unreachable(reason)),
    (
        frozenset({0, 10, 190, 200}),
        "the access token or permission was refused",
        lambda reason, _: AccountRefused(reason, TOKEN_RETRY),
    ),
    (frozenset({1, 2, 131000, 131016, 133004}), "WhatsApp is having trouble", lambda r, _: TransientSendError(r)),
)


@dataclass(frozen=True)
class MediaFile:
    content: bytes
    mime_type: str


def map_error(status: int, document: Any, retry_after: str | None = None) -> SendError:
    """A Graph API error answer as the outcome the delivery loop understands."""
    error = document.get("error", {}) if isinstance(document, dict) else {}
    error = error if isinstance(error, dict) else {}
    code = error.get("code") if isinstance(error.get("code"), int) else None
    reason = f"WhatsApp {code if code is not None else status}: {str(error.get('message') or '')[:200]}".strip()
    for codes, meaning, outcome in ERROR_TABLE:
        if code in codes:
            return outcome(f"{reason} ({meaning})", _seconds(retry_after))
    if status == 429:
        return RateLimited(_seconds(retry_after) or RATE_LIMIT_WAIT)
    if status >= 500:
        return TransientSendError(reason)
    return Rejected(reason)


def _seconds(header: str | None) -> float:
    """The Retry-After header's seconds (at least one), or 0 when there is none to read."""
    try:
        return max(1.0, float(header)) if header else 0.0
    except ValueError:
        return 0.0


class GraphApi:
    def __init__(self, base_url: str, phone_number_id: str, token: str, *, timeout: float = 20.0) -> None:
        self.phone_number_id = phone_number_id
        self._base = base_url.rstrip("/") + "/"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        """Made on first use: an aiohttp session belongs to the event loop it was made in."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                headers=self._headers, timeout=self._timeout, connector=aiohttp.TCPConnector(limit=32)
            )
        return self._session

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, to: str, body: dict[str, Any]) -> str:
        """Send one message body (as handlers.whatsapp.render builds it) to `to`; its wamid."""
        payload = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, **body}
        document = await self._call("POST", f"{self.phone_number_id}/messages", json=payload)
        try:
            return str(document["messages"][0]["id"])
        except (KeyError, IndexError, TypeError):
            raise TransientSendError("WhatsApp answered without a message id") from None

    async def media(self, media_id: str) -> MediaFile:
        """A file a person sent: look up its short-lived URL, then fetch it (both with the token)."""
        info = await self._call("GET", media_id)
        url, mime = info.get("url"), str(info.get("mime_type") or "application/octet-stream")
        if not isinstance(url, str):
            raise Rejected(f"media {media_id}: no URL")
        if int(info.get("file_size") or 0) > MEDIA_MAX_BYTES:
            raise Rejected(f"media {media_id}: larger than {MEDIA_MAX_BYTES} bytes")
        try:
            async with self._client().get(url) as answer:
                if answer.status != 200:
                    raise map_error(answer.status, {}, answer.headers.get("retry-after"))
                return MediaFile((await answer.content.read(MEDIA_MAX_BYTES + 1)), mime)
        except (aiohttp.ClientError, TimeoutError) as problem:
            raise TransientSendError(f"media {media_id}: {type(problem).__name__}") from None

    async def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            async with self._client().request(method, self._base + path, **kwargs) as answer:
                status, retry_after = answer.status, answer.headers.get("retry-after")
                try:
                    document = await answer.json(content_type=None)
                except ValueError:
                    document = {}
        except TimeoutError:
            raise TransientSendError("WhatsApp did not answer in time") from None
        except aiohttp.ClientError as problem:
            raise TransientSendError(f"WhatsApp unreachable: {type(problem).__name__}") from None
        if status != 200:
            raise map_error(status, document, retry_after)
        return document if isinstance(document, dict) else {}
