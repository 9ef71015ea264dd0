"""Meta signs every webhook POST with the app secret: `X-Hub-Signature-256: sha256=<hex>`.

The check runs on the raw body, before any parsing, in constant time; anything unsigned or signed
with another secret is refused and never reaches the bot.
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def sign(app_secret: str, body: bytes) -> str:
    """The header value Meta would send for `body` (tests and the fake server use it too)."""
    return PREFIX + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def is_signed(app_secret: str, body: bytes, header: str | None) -> bool:
    if not header or not header.startswith(PREFIX):
        return False
    return hmac.compare_digest(sign(app_secret, body).encode(), header.strip().encode())


def verification_answer(params: dict[str, str], verify_token: str) -> str | None:
    """The subscription handshake: echo `hub.challenge` when the token is ours, else None."""
    mode, token = params.get("hub.mode"), params.get("hub.verify_token") or ""
    if mode != "subscribe" or not hmac.compare_digest(token.encode(), verify_token.encode()):
        return None
    return params.get("hub.challenge") or ""
