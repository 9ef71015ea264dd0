"""What goes into a turn and what comes out, with no platform in sight.

Handlers turn a Telegram update (or a console line, or a WhatsApp webhook) into an `Inbound`
and render each `Outbound` back in the platform's own way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CALLBACK_LIMIT = 64
"""Telegram refuses callback data over 64 bytes; every Option id is checked against it."""

BACK = "^"
"""The value of every step's "back" button ("<step>|^")."""

_LINE_BREAKS = "\t\n\r"
_UNSTORABLE = {
    code: None for code in [*range(0x20), *range(0x7F, 0xA0), *range(0xD800, 0xE000)] if chr(code) not in _LINE_BREAKS
}
"""C0 and C1 control characters and lone surrogates: nothing a resident means to type, and
PostgreSQL refuses a NUL in text and JSON, so one in a deep link would wedge the conversation."""
_ONE_LINE = {**_UNSTORABLE, **{ord(ch): " " for ch in _LINE_BREAKS}}


def clean_text(text: str) -> str:
    """Free text without control characters; its line breaks stay (as "\n") and so do tabs."""
    return text.replace("\r\n", "\n").replace("\r", "\n").translate(_UNSTORABLE)


def clean_line(text: str) -> str:
    """One line (a command's argument, a button's data) without control characters."""
    return text.translate(_ONE_LINE)


@dataclass(frozen=True)
class Attachment:
    """A file the person sent (a photo of a KTP, a diploma as PDF), fetched from the platform."""

    kind: str
    """image, document or video."""
    mime_type: str
    content: bytes
    filename: str | None = None
    size: int | None = None
    """The platform's own figure, when `content` was left unfetched (a video, a file over the limit)."""

    def __post_init__(self) -> None:
        if self.filename is not None:
            object.__setattr__(self, "filename", clean_line(self.filename))


@dataclass(frozen=True)
class Inbound:
    """One thing the resident did: typed text, pressed a button, shared a contact, sent a
    command or a file, or sent something the bot cannot read (a sticker, a voice note)."""

    text: str | None = None
    choice: str | None = None
    contact_phone: str | None = None
    command: str | None = None
    argument: str | None = None
    attachment: Attachment | None = None
    unreadable: str | None = None
    """What kind of message it was (sticker, audio, location, reaction ...), when nothing in it can be read."""
    verified_phone: str | None = None
    """The sender's own number as the platform vouches for it: WhatsApp's wa_id on every message, a
    Telegram contact shared by its owner. Links the person's chats (training.people); never typed text."""

    def __post_init__(self) -> None:
        """Clean what the platform handed over here, once, so no step or table ever sees a control character."""
        for name in ("choice", "contact_phone", "command", "argument", "verified_phone"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, clean_line(value))
        if self.text is not None:
            object.__setattr__(self, "text", clean_text(self.text))

    @classmethod
    def parse_text(cls, text: str) -> Inbound:
        """Read "/start LAS1" as a command with its argument; anything else is plain text."""
        stripped = text.strip()
        if stripped.startswith("/") and len(stripped) > 1:
            head, _, rest = stripped[1:].partition(" ")
            name = head.split("@", 1)[0].lower()
            if name.replace("_", "").isalnum():
                return cls(command=name, argument=rest.strip() or None)
        return cls(text=text)


@dataclass(frozen=True)
class Option:
    """A button. `data` travels back as `Inbound.choice`; `label` is plain text."""

    data: str
    label: str

    def __post_init__(self) -> None:
        if len(self.data.encode()) > CALLBACK_LIMIT:
            raise ValueError(f"callback data over {CALLBACK_LIMIT} bytes: {self.data!r}")

    @property
    def goes_back(self) -> bool:
        """A step's "back" button. Channels that number a menu leave it unnumbered, so the numbers a
        resident may type are the answers' own, 1 to N, as the re-prompt "(1–N)" says; "kembali" is
        typed as a word, which every step reads."""
        return self.data.endswith(f"|{BACK}")


@dataclass(frozen=True)
class Outbound:
    """One message: Telegram-style HTML text, optional buttons, optional request for a phone number."""

    text: str
    options: tuple[Option, ...] = ()
    columns: int = 1
    ask_contact: str | None = None
    """Label of a "share my phone number" button, shown instead of inline options."""
    track: str | None = None
    """A message whose text follows a changing state ("broadcast:12"): the platform edits it in place."""
    reply_back: str | None = None
    """Label of a typed "back" button beside the share-phone button (its text comes back as typed)."""


@dataclass
class Reply:
    """What a turn answers: messages to send and, for a button press, how to mark the old message."""

    messages: list[Outbound] = field(default_factory=list)
    chosen: str | None = None
    """Label of the accepted button, so the platform can show it under the question and drop the keyboard."""
    stale: bool = False
    """The press came from an old message and did nothing."""
    repeated: bool = False
    """The press repeated the previous turn's (a double tap): nothing to send, nothing to mark."""
