"""Pushed messages (the outbox) out through the Cloud API, inside or outside the 24-hour window.

Inside the window (the person wrote less than 24 hours ago, by the time on their message) the row
goes free-form: its text with its buttons, as a conversation's reply would (reply buttons or a list;
link buttons become lines of text). Outside it, only an approved template may go: the one set for
the row's kind, its text as the parameter. With no template set for that kind the row is held as
needs_template, never dropped and never retried in a loop. Meta's 131047 (the window closed after
all, on their clock) switches to the template path at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

from conversations.io import Option, Outbound
from handlers.whatsapp import templates as wa_templates
from handlers.whatsapp.graph import GraphApi
from handlers.whatsapp.render import Words, render, render_text
from messages.render import Templates
from outreach.delivery import Receipt
from outreach.errors import NeedsTemplate
from storage.db import Database
from storage.models import OutboxMessage
from storage.repositories import outbox
from storage.repositories.outbox import RECEIPT_FAILED

log = logging.getLogger(__name__)

CHANNEL = "whatsapp"
WINDOW = timedelta(hours=24)
PREPARED_FOR = timedelta(seconds=5)
"""How long a batch's recipient lookup stands in for one at the send: a person who wrote since is
at worst sent a template rather than a free-form message; a window that closed since makes Meta
answer 131047, which switches to the template path anyway."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class WhatsAppSender:
    def __init__(
        self,
        db: Database,
        graph: GraphApi,
        templates: Templates,
        template_names: Mapping[str, str],
        *,
        default_language: str = "id",
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.db = db
        self.graph = graph
        self.templates = templates
        self.template_names = dict(template_names)
        """The approved template's name per MessageKind value (settings.whatsapp_templates())."""
        self.default_language = default_language
        self.clock = clock
        self._prepared: dict[int, tuple[outbox.Recipient, datetime]] = {}
        """Recipients looked up for a claimed batch, by message id, with when they were looked up."""

    async def start_up(self) -> int:
        """Rows held for a template that is configured now go out again; returns how many."""
        async with self.db.transaction() as session:
            released = await outbox.release_held(session, CHANNEL, list(self.template_names), self.clock())
        if released:
            log.info("WhatsApp: %d messages held for a template go out now", released)
        return released

    async def prepare(self, messages: Sequence[OutboxMessage]) -> None:
        """Look up a claimed batch's recipients in one query (outreach.delivery calls this before
        sending it), so that each send need not open a transaction for two lookups of its own."""
        now = self.clock()
        self._prepared = {i: known for i, known in self._prepared.items() if now - known[1] < PREPARED_FOR}
        async with self.db.transaction() as session:
            found = await outbox.recipients(session, [m.id for m in messages])
        self._prepared.update((i, (recipient, now)) for i, recipient in found.items())

    async def send(self, message: OutboxMessage, *, plain: bool = False) -> Receipt:
        language, heard = await self._recipient(message)
        if heard is not None and self.clock() - heard < WINDOW and message.receipt != RECEIPT_FAILED:
            try:
                wamids = [await self.graph.send(message.chat_id, body) for body in self.bodies(message, language)]
                return Receipt(wamids[-1])
            except NeedsTemplate:
                pass  # Meta's clock says the window closed: the template path, as for anyone outside it
        return await self._send_template(message, language, heard)

    async def _recipient(self, message: OutboxMessage) -> tuple[str, datetime | None]:
        """The recipient's language and last message: as `prepare` found them moments ago, or looked
        up now (a row sent without a batch, or one that waited longer than PREPARED_FOR)."""
        prepared = self._prepared.pop(message.id, None)
        if prepared is not None and self.clock() - prepared[1] < PREPARED_FOR:
            found = prepared[0]
        else:
            async with self.db.transaction() as session:
                found = (await outbox.recipients(session, [message.id])).get(message.id, outbox.Recipient(None, None))
        return found.language or self.default_language, found.last_message_at

    def bodies(self, message: OutboxMessage, language: str) -> list[dict[str, Any]]:
        """The free-form messages: callback buttons as reply buttons or a list, links as lines."""
        links, options = _buttons(message.buttons)
        if not options:
            return render_text(message.text, links)
        text = message.text
        if links:
            text += "\n\n" + "\n".join(f"{escape(label)}: {escape(url)}" for label, url in links)
        outbound = Outbound(text, tuple(Option(data, label) for data, label in options))
        return render(outbound, Words(self.templates, language)).bodies

    async def _send_template(self, message: OutboxMessage, language: str, heard: datetime | None) -> Receipt:
        kind = wa_templates.BY_KIND.get(message.kind, wa_templates.BY_KIND["application"])
        name = self.template_names.get(message.kind)
        if name is None:
            since = f"last wrote {heard:%Y-%m-%d %H:%M} UTC" if heard is not None else "never wrote to us"
            raise NeedsTemplate(
                f"outside the 24-hour WhatsApp window (the person {since}) and no {kind.category} template is "
                f"set for {message.kind} messages: set {kind.setting} (see `blkbot whatsapp templates`)"
            )
        links, _ = _buttons(message.buttons)
        body = wa_templates.message_body(self.templates, language, kind, name, message.text, links)
        return Receipt(await self.graph.send(message.chat_id, body), template=name)


def _buttons(rows: list[Any]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The row's buttons split into links (label, url) and choices (data, label)."""
    links: list[tuple[str, str]] = []
    options: list[tuple[str, str]] = []
    for row in rows:
        for button in row:
            if "url" in button:
                links.append((str(button["label"]), str(button["url"])))
            elif "data" in button:
                options.append((str(button["data"]), str(button["label"])))
    return links, options
