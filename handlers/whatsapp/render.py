"""The engine's Outbound as WhatsApp Cloud API messages.

WhatsApp takes at most 3 reply buttons (titles of 20 characters), or a list of at most 10 rows
(titles of 24, descriptions of 72, behind a button of 20); interactive bodies hold 1,024
characters and text messages 4,096. So a question with few short choices gets buttons, up to ten
gets a list, and more gets a numbered text menu that the person answers by typing the number (the
handler keeps the menu to read that number back). A label cut to fit is never left ambiguous: the
rows get their number in front and the full label below. A step's "back" button is never numbered
(it is typed as "kembali"), so the numbers are the answers' own, 1 to N, as the re-prompt says.

Bodies are built without `to`; the sender adds the recipient.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from conversations.io import Option, Outbound
from messages.markup import html_to_whatsapp
from messages.render import Templates

TEXT_LIMIT = 4096
BODY_LIMIT = 1024
BUTTONS_MAX = 3
BUTTON_TITLE_MAX = 20
ROWS_MAX = 10
ROW_TITLE_MAX = 24
ROW_DESCRIPTION_MAX = 72
LIST_BUTTON_MAX = 20

OWN_NUMBER = "#contact"
"""Button id of "use my WhatsApp number": read back as the sender's own number, never as typed text."""
TYPED = "#typed"
"""Button id of a button that stands for typed text (its title comes back as if typed)."""


@dataclass(frozen=True)
class Words:
    """The few words rendering adds, in the chat's language (messages/<lang>/whatsapp/...)."""

    templates: Templates
    lang: str

    def __call__(self, key: str, **params: Any) -> str:
        return self.templates.label(self.lang, f"whatsapp/{key}", **params)


@dataclass(frozen=True)
class Rendered:
    bodies: list[dict[str, Any]]
    menu: tuple[str, ...] = ()
    """The option ids of a numbered text menu, in order, when one was sent; empty otherwise."""


def render(outbound: Outbound, words: Words, own_number: str | None = None) -> Rendered:
    text = html_to_whatsapp(outbound.text).strip()
    if outbound.ask_contact:
        options = []
        if own_number:
            text = f"{text}\n\n{words('own_number_question', number=own_number)}".strip()
            options.append(Option(OWN_NUMBER, words("own_number_button")))
        if outbound.reply_back:
            options.append(Option(TYPED, outbound.reply_back))
        return _with_options(text, options, words)
    return _with_options(text, list(outbound.options), words)


def render_text(text_html: str, link_buttons: Sequence[tuple[str, str]] = ()) -> list[dict[str, Any]]:
    """A pushed message with link buttons: WhatsApp gets the links as lines of text."""
    text = html_to_whatsapp(text_html).strip()
    links = "\n".join(f"{label}: {url}" for label, url in link_buttons)
    return [_text(chunk) for chunk in split_text(f"{text}\n\n{links}".strip() if links else text, TEXT_LIMIT)]


def _with_options(text: str, options: list[Option], words: Words) -> Rendered:
    if not options:
        return Rendered([_text(chunk) for chunk in split_text(text, TEXT_LIMIT)])
    if len(options) > ROWS_MAX:
        numbered = [o for o in options if not o.goes_back]
        lines = [f"{number}. {option.label}" for number, option in enumerate(numbered, 1)]
        lines += [option.label for option in options if option.goes_back]
        menu = "\n".join(lines)
        full = f"{text}\n\n{menu}\n\n{words('type_number', count=len(numbered))}"
        return Rendered([_text(chunk) for chunk in split_text(full, TEXT_LIMIT)], tuple(o.data for o in numbered))
    *before, body = split_text(text or "…", TEXT_LIMIT, last_limit=BODY_LIMIT)
    bodies = [_text(chunk) for chunk in before]
    titles = [o.label.strip() for o in options]
    fits_buttons = (
        len(options) <= BUTTONS_MAX
        and all(0 < len(t) <= BUTTON_TITLE_MAX for t in titles)
        and len(set(titles)) == len(titles)
    )
    if fits_buttons:
        buttons = [{"type": "reply", "reply": {"id": o.data, "title": t}} for o, t in zip(options, titles, strict=True)]
        bodies.append(_interactive("button", body, {"buttons": buttons}))
    else:
        bodies.append(
            _interactive(
                "list", body, {"button": _cut(words("choose"), LIST_BUTTON_MAX), "sections": [{"rows": _rows(options)}]}
            )
        )
    return Rendered(bodies)


def _rows(options: list[Option]) -> list[dict[str, str]]:
    labels = [o.label.strip() or "…" for o in options]
    cut = [_cut(label, ROW_TITLE_MAX) for label in labels]
    numbered = len(set(cut)) != len(cut) or any(c != label for c, label in zip(cut, labels, strict=True))
    rows = []
    numbers = iter(range(1, len(options) + 1))
    for option, label in zip(options, labels, strict=True):
        if numbered and not option.goes_back:
            number = next(numbers)
            row = {"id": option.data, "title": _cut(f"{number}. {label}", ROW_TITLE_MAX)}
            if row["title"] != f"{number}. {label}":
                row["description"] = _cut(label, ROW_DESCRIPTION_MAX)
        else:
            row = {"id": option.data, "title": _cut(label, ROW_TITLE_MAX)}
        rows.append(row)
    return rows


def _text(body: str) -> dict[str, Any]:
    return {"type": "text", "text": {"body": body, "preview_url": False}}


def _interactive(kind: str, body: str, action: dict[str, Any]) -> dict[str, Any]:
    return {"type": "interactive", "interactive": {"type": kind, "body": {"text": body}, "action": action}}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def split_text(text: str, limit: int, *, last_limit: int | None = None) -> list[str]:
    """Cut `text` into parts of at most `limit` characters (the last of at most `last_limit`),
    at a blank line, else a line break, else a space; a word longer than a part is cut."""
    last_limit = last_limit or limit
    parts: list[str] = []
    rest = text.strip()
    while len(rest) > last_limit:
        window = rest[: min(limit, len(rest) - 1) if len(rest) <= limit else limit]
        cut = next((i for sep in ("\n\n", "\n", " ") if (i := window.rfind(sep)) > 0), len(window))
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    parts.append(rest)
    return parts
