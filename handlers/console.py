"""The terminal channel: the same conversations, one line in, plain text out.

Works interactively and with piped stdin (one answer per line), so a newcomer can try the bot
with no token and a script can drive it. A numbered option can be answered by its number or label;
a step's "back" button is shown unnumbered (typed as "kembali"), so the numbers are the answers' own.

What the office pushes to this chat (results, reminders, broadcasts) waits in the outbox like any
other message, but no delivery loop sends it: the console shows it itself before it reads the next
line, and every second while it waits for one, and marks it sent. So a stage changed with `blkbot
applications stage` in another terminal appears here, on the same database.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from html import escape
from typing import Any, TextIO

from conversations.io import Inbound, Option, Outbound
from conversations.runner import Conversations
from messages.markup import html_to_plain
from storage.repositories import outbox
from training.validators import whole_number

CHANNEL = "console"
POLL_SECONDS = 1.0
"""How often a console waiting for a line looks for pushed messages."""


class Console:
    def __init__(self, conversations: Conversations, chat_id: str = "local", out: TextIO = sys.stdout) -> None:
        self.conversations = conversations
        self.chat_id = chat_id
        self.out = out
        self.options: tuple[Option, ...] = ()

    async def send(self, inbound: Inbound) -> list[Outbound]:
        reply = await self.conversations.handle(CHANNEL, self.chat_id, inbound)
        for message in reply.messages:
            self.show(message)
        return reply.messages

    async def say(self, line: str) -> list[Outbound]:
        """What the resident typed: a menu number or label becomes that button's press."""
        return await self.send(self.read(line))

    def read(self, line: str) -> Inbound:
        typed = line.strip()
        numbered = _numbered(self.options)
        number = whole_number(typed)
        if number is not None and 1 <= number <= len(numbered):
            return Inbound(choice=numbered[number - 1].data)
        for option in self.options:
            if typed and typed.casefold() == option.label.casefold():
                return Inbound(choice=option.data)
        return Inbound.parse_text(line.rstrip("\r\n"))

    def show(self, message: Outbound, *, keeps_menu: bool = False) -> None:
        """Print a message and its numbered options; a message without options ends the menu
        unless it `keeps_menu` (a pushed message arriving while a question waits)."""
        self.out.write("\n" + html_to_plain(message.text) + "\n")
        if message.options:
            self.options = message.options
            for number, option in enumerate(_numbered(message.options), 1):
                self.out.write(f"  {number}. {option.label}\n")
            for option in message.options:
                if option.goes_back:
                    self.out.write(f"  {option.label}\n")
        elif (message.ask_contact or message.text) and not keeps_menu:
            self.options = ()
        self.out.flush()

    async def show_pushes(self) -> int:
        """Show what the office queued for this chat, oldest first, and mark it sent; its answer
        buttons (a reminder's "Hadir") become the menu, its links are printed."""
        now = datetime.now(UTC)
        async with self.conversations.db.transaction() as session:
            pushed = await outbox.take_shown(session, CHANNEL, self.chat_id, now)
            for message in pushed:
                options, links = _buttons(message.buttons)
                text = "\n".join([message.text, *(f"[{escape(label)}] {escape(url)}" for label, url in links)])
                self.show(Outbound(text, options=options), keeps_menu=True)
        return len(pushed)

    async def _next_line(self, stdin: TextIO, prompt: bool) -> str:
        """The next line typed, showing pushed messages meanwhile (then the prompt again)."""
        await self.show_pushes()
        if prompt:
            self.out.write("> ")
            self.out.flush()
        reading = asyncio.get_running_loop().run_in_executor(None, stdin.readline)
        while True:
            done, _ = await asyncio.wait({reading}, timeout=POLL_SECONDS)
            if done:
                return reading.result()
            if await self.show_pushes() and prompt:
                self.out.write("> ")
                self.out.flush()

    async def run(self, stdin: TextIO = sys.stdin, start: bool = True) -> None:
        interactive = stdin.isatty()
        if start:
            await self.send(Inbound(command="start"))
        while True:
            line = await self._next_line(stdin, prompt=interactive)
            if not line:
                return
            if not line.strip():
                continue
            if not interactive:
                self.out.write(f"> {line.rstrip()}\n")
            await self.say(line)


def _numbered(options: tuple[Option, ...]) -> list[Option]:
    return [option for option in options if not option.goes_back]


def _buttons(rows: list[list[dict[str, Any]]]) -> tuple[tuple[Option, ...], list[tuple[str, str]]]:
    """A pushed message's buttons (outreach rows of {"label", "data" | "url"}) as menu options and links."""
    options = tuple(Option(b["data"], b["label"]) for row in rows for b in row if "data" in b)
    links = [(b["label"], b["url"]) for row in rows for b in row if "url" in b]
    return options, links
