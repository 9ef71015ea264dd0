"""The terminal channel: the same conversations, one line in, plain text out.

Works interactively and with piped stdin (one answer per line), so a newcomer can try the bot
with no token and a script can drive it. A numbered option can be answered by its number or label.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from conversations.io import Inbound, Option, Outbound
from conversations.runner import Conversations
from messages.markup import html_to_plain
from training.validators import whole_number

CHANNEL = "console"


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
        number = whole_number(typed)
        if number is not None and 1 <= number <= len(self.options):
            return Inbound(choice=self.options[number - 1].data)
        for option in self.options:
            if typed and typed.casefold() == option.label.casefold():
                return Inbound(choice=option.data)
        return Inbound.parse_text(line.rstrip("\r\n"))

    def show(self, message: Outbound) -> None:
        self.out.write("\n" + html_to_plain(message.text) + "\n")
        if message.options:
            self.options = message.options
            for number, option in enumerate(message.options, 1):
                self.out.write(f"  {number}. {option.label}\n")
        elif message.ask_contact or message.text:
            self.options = ()
        self.out.flush()

    async def run(self, stdin: TextIO = sys.stdin, start: bool = True) -> None:
        interactive = stdin.isatty()
        if start:
            await self.send(Inbound(command="start"))
        loop = asyncio.get_running_loop()
        while True:
            if interactive:
                self.out.write("> ")
                self.out.flush()
            line = await loop.run_in_executor(None, stdin.readline)
            if not line:
                return
            if not line.strip():
                continue
            if not interactive:
                self.out.write(f"> {line.rstrip()}\n")
            await self.say(line)
