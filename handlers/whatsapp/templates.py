"""The two WhatsApp templates blkbot sends outside the 24-hour window, and how a pushed row fills one.

WhatsApp lets a business write first, or again after 24 hours of silence, only with a template Meta
approved beforehand. blkbot needs two: a UTILITY one for news of the person's own application
(results, reminders) and a MARKETING one for announcements (broadcasts, vacancies). Each has one
body parameter, {{1}}, which carries the row's whole text, so one approved template serves every
message of its kind. The words around it live in messages/<lang>/whatsapp/templates/ like every
other sentence; `blkbot whatsapp templates` prints them in Meta's terms for submission.

Meta refuses a parameter with a line break, a tab or more than four spaces in a row, and a body
over 1,024 characters, so the text is flattened onto one line and cut to what is left.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from messages.markup import html_to_plain
from messages.render import Templates
from storage.models import MessageKind

BODY_MAX = 1024
PLACEHOLDER = "{{1}}"
LANGUAGES = {"id": "id", "en": "en"}
"""Our language -> Meta's language code of the template."""


@dataclass(frozen=True)
class TemplateKind:
    kind: MessageKind
    category: str
    """Meta's category: UTILITY (about something the person started) or MARKETING."""
    suggested_name: str
    setting: str

    @property
    def key(self) -> str:
        return f"whatsapp/templates/{self.kind.value}"


KINDS = (
    TemplateKind(
        MessageKind.APPLICATION, "UTILITY", "blkbot_kabar_pendaftaran", "BLKBOT_WHATSAPP_TEMPLATE_APPLICATION"
    ),
    TemplateKind(MessageKind.ANNOUNCEMENT, "MARKETING", "blkbot_pengumuman", "BLKBOT_WHATSAPP_TEMPLATE_ANNOUNCEMENT"),
)
BY_KIND = {k.kind.value: k for k in KINDS}


def body_text(templates: Templates, lang: str, kind: TemplateKind) -> str:
    """The template's body as submitted to Meta, with {{1}} where the message goes."""
    return templates.label(lang, kind.key, text=PLACEHOLDER)


def example_text(templates: Templates, lang: str, kind: TemplateKind) -> str:
    return templates.label(lang, f"{kind.key}_example")


def parameter(text_html: str, links: list[tuple[str, str]], room: int) -> str:
    """The row's text (and its links) as one line of plain text of at most `room` characters."""
    text = html_to_plain(text_html)
    if links:
        text += " " + " ".join(f"{label}: {url}" for label, url in links)
    flat = re.sub(r"\s*\n\s*", " · ", text.strip())
    flat = re.sub(r"[ \t]+", " ", flat)
    return flat if len(flat) <= room else flat[: room - 1].rstrip() + "…"


def message_body(
    templates: Templates, lang: str, kind: TemplateKind, name: str, text_html: str, links: list[tuple[str, str]]
) -> dict[str, Any]:
    """The Cloud API body of template `name` (as approved for `kind`) carrying the row's text."""
    language = LANGUAGES.get(lang, "id")
    room = BODY_MAX - len(body_text(templates, language, kind)) + len(PLACEHOLDER)
    value = parameter(text_html, links, room) or "…"
    return {
        "type": "template",
        "template": {
            "name": name,
            "language": {"code": language},
            "components": [{"type": "body", "parameters": [{"type": "text", "text": value}]}],
        },
    }
