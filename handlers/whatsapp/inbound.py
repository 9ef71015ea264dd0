"""A stored WhatsApp message as the engine's Inbound.

Stored first (`payload_of`, before the webhook is answered), turned into an Inbound later by the
worker (`to_inbound`), which is when a file is fetched. A pressed button comes back with the id we
rendered; "use my number" becomes the sender's own WhatsApp number (never a number from the
payload's text); a typed number answers the last numbered menu; `DAFTAR <code>` (the text a
click-to-chat link or a poster's QR code fills in) opens registration as Telegram's `/start <code>`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, replace
from typing import Any

from conversations.io import Attachment, Inbound
from handlers.whatsapp.graph import GraphApi
from handlers.whatsapp.render import OWN_NUMBER, TYPED
from handlers.whatsapp.wire import WaMessage
from outreach.errors import SendError
from training.validators import whole_number

FILE_KINDS = ("image", "document", "video")
DEEP_LINK = re.compile(r"daftar\s+([A-Za-z0-9_-]{2,64})", re.IGNORECASE)


def payload_of(message: WaMessage) -> dict[str, Any]:
    """What is kept of a message until it is answered: never the sender's profile name."""
    return {
        "kind": message.kind,
        "text": message.text,
        "reply_id": message.reply_id,
        "reply_title": message.reply_title,
        "media": asdict(message.media) if message.media else None,
    }


def deep_link_code(text: str | None) -> str | None:
    match = DEEP_LINK.fullmatch((text or "").strip())
    return match.group(1) if match else None


async def to_inbound(payload: dict[str, Any], wa_id: str, menu: list[Any], graph: GraphApi) -> Inbound:
    """Every message carries the sender's number: WhatsApp vouches that the wa_id is theirs."""
    return replace(await _read(payload, wa_id, menu, graph), verified_phone=f"+{wa_id}")


async def _read(payload: dict[str, Any], wa_id: str, menu: list[Any], graph: GraphApi) -> Inbound:
    kind = payload.get("kind")
    if kind == "text":
        return _typed(str(payload.get("text") or ""), menu)
    if kind in ("interactive", "button"):
        reply_id = str(payload.get("reply_id") or "")
        if reply_id == OWN_NUMBER:
            return Inbound(contact_phone=f"+{wa_id}")
        if reply_id == TYPED:
            return Inbound.parse_text(str(payload.get("reply_title") or ""))
        return Inbound(choice=reply_id)
    media = payload.get("media")
    if kind in FILE_KINDS and isinstance(media, dict):
        try:
            file = await graph.media(str(media.get("id")))
        except SendError:
            return Inbound(unreadable=str(kind))
        attachment = Attachment(str(kind), file.mime_type, file.content, media.get("filename"))
        return Inbound(text=media.get("caption"), attachment=attachment)
    return Inbound(unreadable=str(kind or "unknown"))


def _typed(text: str, menu: list[Any]) -> Inbound:
    typed = text.strip()
    code = deep_link_code(typed)
    if code is not None:
        return Inbound(command="start", argument=code)
    number = whole_number(typed, max_digits=3)
    if menu and number is not None and 1 <= number <= len(menu):
        return Inbound(choice=str(menu[number - 1]))
    return Inbound.parse_text(text)
