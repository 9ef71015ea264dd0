"""The WhatsApp Cloud API's webhook, read into plain dataclasses.

Meta posts one JSON document per delivery: `entry[].changes[].value` with `messages` (what people
sent), `statuses` (what happened to what we sent) and `contacts` (the sender's profile name). Only
the fields blkbot acts on are kept; everything else in the payload is ignored, so a field Meta adds
tomorrow changes nothing. A malformed document raises `BadPayload`, never a KeyError.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from storage.errors import BlkbotError


class BadPayload(BlkbotError):
    """The body is not a WhatsApp webhook document we can read."""


MEDIA_TYPES = ("image", "document", "video", "audio", "sticker")
WA_ID_MAX = 20
"""E.164 numbers have at most 15 digits; the column holds 32."""
MESSAGE_ID_MAX = 128
"""Meta's wamid.… ids are about 60 characters; the columns hold 128."""


@dataclass(frozen=True)
class Media:
    """A file the person sent; its bytes are fetched through the media endpoint by id."""

    id: str
    mime_type: str
    filename: str | None = None
    caption: str | None = None


@dataclass(frozen=True)
class WaMessage:
    """One message a person sent. `kind` is Meta's `type` (text, interactive, button, image ...)."""

    id: str
    wa_id: str
    """The sender's WhatsApp id: their phone number in international form, digits only."""
    sent_at: datetime
    """When the person sent it (Meta's `timestamp`), which starts the 24-hour window."""
    kind: str
    text: str | None = None
    reply_id: str | None = None
    """The id of the reply button or list row pressed (ours, as rendered)."""
    reply_title: str | None = None
    media: Media | None = None
    profile_name: str | None = None
    referral: str | None = None
    """Where a click-to-chat link or ad said the person came from."""


@dataclass(frozen=True)
class WaStatus:
    """What happened to a message we sent: sent, delivered, read or failed (with Meta's error)."""

    message_id: str
    wa_id: str
    status: str
    at: datetime
    error_code: int | None = None
    error_title: str | None = None


@dataclass(frozen=True)
class Delivery:
    """Everything one webhook call carried."""

    messages: list[WaMessage] = field(default_factory=list)
    statuses: list[WaStatus] = field(default_factory=list)


def parse_delivery(document: Any) -> Delivery:
    if not isinstance(document, dict) or document.get("object") != "whatsapp_business_account":
        raise BadPayload("not a whatsapp_business_account webhook")
    messages: list[WaMessage] = []
    statuses: list[WaStatus] = []
    for entry in _list(document.get("entry")):
        for change in _list(_dict(entry).get("changes")):
            value = _dict(_dict(change).get("value"))
            names = {
                str(c.get("wa_id")): _dict(c.get("profile")).get("name")
                for c in map(_dict, _list(value.get("contacts")))
            }
            for raw in _list(value.get("messages")):
                messages.append(_message(_dict(raw), names))
            for raw in _list(value.get("statuses")):
                statuses.append(_status(_dict(raw)))
    return Delivery(messages, statuses)


def _message(raw: dict[str, Any], names: dict[str, Any]) -> WaMessage:
    wa_id, message_id, kind = _sender(raw), _message_id(raw), _text(raw, "type")
    common: dict[str, Any] = {
        "id": message_id,
        "wa_id": wa_id,
        "sent_at": _time(raw.get("timestamp")),
        "kind": kind,
        "profile_name": names.get(wa_id),
        "referral": _referral(raw),
    }
    if kind == "text":
        return WaMessage(**common, text=str(_dict(raw.get("text")).get("body") or ""))
    if kind == "interactive":
        interactive = _dict(raw.get("interactive"))
        reply = _dict(interactive.get(str(interactive.get("type"))))
        return WaMessage(**common, reply_id=_optional(reply.get("id")), reply_title=_optional(reply.get("title")))
    if kind == "button":  # a quick-reply button of a template message
        button = _dict(raw.get("button"))
        return WaMessage(**common, reply_id=_optional(button.get("payload")), reply_title=_optional(button.get("text")))
    if kind in MEDIA_TYPES and _optional(_dict(raw.get(kind)).get("id")):
        body = _dict(raw.get(kind))
        media = Media(
            id=_text(body, "id"),
            mime_type=str(body.get("mime_type") or "application/octet-stream"),
            filename=_optional(body.get("filename")),
            caption=_optional(body.get("caption")),
        )
        return WaMessage(**common, media=media)
    return WaMessage(**common)  # location, reaction, contacts, unsupported ...: the kind says enough


def _status(raw: dict[str, Any]) -> WaStatus:
    errors = [_dict(e) for e in _list(raw.get("errors"))]
    first = errors[0] if errors else {}
    code = first.get("code")
    return WaStatus(
        message_id=_message_id(raw),
        wa_id=str(raw.get("recipient_id") or ""),
        status=_text(raw, "status"),
        at=_time(raw.get("timestamp")),
        error_code=int(code) if isinstance(code, int | str) and str(code).isascii() and str(code).isdigit() else None,
        error_title=_optional(first.get("title") or first.get("message")),
    )


def _referral(raw: dict[str, Any]) -> str | None:
    referral = _dict(raw.get("referral"))
    return _optional(referral.get("source_id") or referral.get("source_url"))


def _sender(raw: dict[str, Any]) -> str:
    """A WhatsApp id is a phone number in international form: up to 15 digits (E.164)."""
    wa_id = _text(raw, "from")
    if not (wa_id.isascii() and wa_id.isdigit() and len(wa_id) <= WA_ID_MAX):
        raise BadPayload(f"sender {wa_id[:40]!r} is not a WhatsApp number")
    return wa_id


def _message_id(raw: dict[str, Any]) -> str:
    message_id = _text(raw, "id")
    if len(message_id) > MESSAGE_ID_MAX:
        raise BadPayload(f"message id of {len(message_id)} characters")
    return message_id


def _time(value: Any) -> datetime:
    try:
        return datetime.fromtimestamp(int(str(value)), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise BadPayload(f"timestamp {str(value)[:20]!r} is not a Unix time") from None


def _text(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str | int) or not str(value):
        raise BadPayload(f"missing {key!r}")
    return str(value)


def _optional(value: Any) -> str | None:
    return str(value) if isinstance(value, str | int) and str(value) else None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
