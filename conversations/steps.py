"""The kinds of step a flow is made of: a choice, a yes/no, free text, a phone number, a summary.

A step asks (`prompt`), reads an answer (`read`, raising InvalidAnswer to re-ask with the error and
the step's `short` form of the question, or with the error alone carrying its buttons), and may then
`check` it against the domain: a check returns `Finish` to end the flow (not eligible, already
registered) or raises InvalidAnswer to refuse it. The engine stores accepted answers and decides
what comes next; steps never send anything.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from conversations.context import Context
from conversations.io import BACK, Attachment, Inbound, Option, Outbound
from training.errors import InvalidAnswer
from training.permissions import Permission
from training.validators import parse_yes_no, whole_number

type_check_hook = Callable[[Context, Any], Awaitable["Finish | None"]]


@dataclass(frozen=True)
class Finish:
    """End the flow here with these messages (and keep nothing of its answers).

    `undoable` keeps the flow aside instead, less the answer that ended it, so that "Saya salah
    jawab" (or "kembali") asks that question again: a mistaken tap must not cost the answers before it.
    """

    messages: list[Outbound]
    undoable: bool = False


@dataclass(frozen=True)
class Choice:
    """A pick from a list. Options are (value, label) pairs, computed each turn from the catalog."""

    name: str
    prompt: str
    options: Callable[[Context], Awaitable[Sequence[tuple[str, str]]]]
    params: Callable[[Context], Awaitable[dict[str, Any]]] | None = None
    check: type_check_hook | None = None
    resets: tuple[str, ...] = ()
    when: Callable[[Context], Awaitable[bool]] | None = None
    columns: int = 1
    short: str | None = None

    async def prompt_message(self, ctx: Context, back: bool, *, short: bool = False) -> Outbound:
        options = [(v, label) for v, label in await self.options(ctx)]
        buttons = [Option(f"{self.name}|{value}", label) for value, label in options]
        if back:
            buttons.append(Option(f"{self.name}|{BACK}", ctx.label("buttons/back")))
        return Outbound(await _question(self, ctx, short, options=options), tuple(buttons), self.columns)

    async def read(self, ctx: Context, inbound: Inbound) -> tuple[Any, str]:
        options = await self.options(ctx)
        if inbound.choice is not None:
            for value, label in options:
                if value == inbound.choice:
                    return value, label
            raise InvalidAnswer("common/option_gone")
        return match_typed(inbound.text or "", options)

    def display(self, ctx: Context, value: Any) -> str:
        return str(value)


def match_typed(text: str, options: Sequence[tuple[str, str]]) -> tuple[str, str]:
    """A typed answer to a menu: its number ("2"), its label, or its code, in any case."""
    typed = " ".join(text.split()).casefold().rstrip(".")
    if not typed:
        raise InvalidAnswer("common/choose_option", count=len(options))
    number = whole_number(typed)
    if number is not None and 1 <= number <= len(options):
        return options[number - 1]
    for value, label in options:
        if typed in (label.casefold(), value.casefold()):
            return value, label
    matches = [(v, label) for v, label in options if typed in label.casefold()]
    if len(matches) == 1 and len(typed) >= 3:
        return matches[0]
    raise InvalidAnswer("common/choose_option", count=len(options))


@dataclass(frozen=True)
class YesNo:
    """A yes-or-no question; typed "ya", "tidak", "yes", "no" count as well as the buttons."""

    name: str
    prompt: str
    params: Callable[[Context], Awaitable[dict[str, Any]]] | None = None
    check: type_check_hook | None = None
    resets: tuple[str, ...] = ()
    when: Callable[[Context], Awaitable[bool]] | None = None
    yes: str = "buttons/yes"
    no: str = "buttons/no"
    short: str | None = None

    def _options(self, ctx: Context) -> list[tuple[str, str]]:
        return [("y", ctx.label(self.yes)), ("n", ctx.label(self.no))]

    async def prompt_message(self, ctx: Context, back: bool, *, short: bool = False) -> Outbound:
        buttons = [Option(f"{self.name}|{v}", label) for v, label in self._options(ctx)]
        if back:
            buttons.append(Option(f"{self.name}|{BACK}", ctx.label("buttons/back")))
        return Outbound(await _question(self, ctx, short), tuple(buttons), columns=2)

    async def read(self, ctx: Context, inbound: Inbound) -> tuple[Any, str]:
        options = self._options(ctx)
        if inbound.choice is not None:
            for value, label in options:
                if value == inbound.choice:
                    return value == "y", label
            raise InvalidAnswer("common/option_gone")
        text = inbound.text or ""
        answer = parse_yes_no(text)
        if answer is None:
            value, label = match_typed(text, options)
            return value == "y", label
        return answer, options[0 if answer else 1][1]

    def display(self, ctx: Context, value: Any) -> str:
        return ctx.label(self.yes if value else self.no)


@dataclass(frozen=True)
class Text:
    """Free text, turned into a value by `parse` (which raises InvalidAnswer with the reason)."""

    name: str
    prompt: str
    parse: Callable[[Context, str], Any]
    params: Callable[[Context], Awaitable[dict[str, Any]]] | None = None
    check: type_check_hook | None = None
    resets: tuple[str, ...] = ()
    when: Callable[[Context], Awaitable[bool]] | None = None
    show: Callable[[Any], str] = str
    short: str | None = None

    async def prompt_message(self, ctx: Context, back: bool, *, short: bool = False) -> Outbound:
        buttons = (Option(f"{self.name}|{BACK}", ctx.label("buttons/back")),) if back else ()
        return Outbound(await _question(self, ctx, short), buttons)

    async def read(self, ctx: Context, inbound: Inbound) -> tuple[Any, str]:
        if inbound.text is None:
            raise InvalidAnswer("common/type_answer")
        value = self.parse(ctx, inbound.text)
        if inspect.isawaitable(value):
            value = await value
        return value, self.show(value)

    def display(self, ctx: Context, value: Any) -> str:
        return self.show(value)


@dataclass(frozen=True)
class Phone:
    """A phone number: shared with the platform's contact button, or typed."""

    name: str
    prompt: str
    parse: Callable[[str], str]
    parse_shared: Callable[[str], str]
    check: type_check_hook | None = None
    resets: tuple[str, ...] = ()
    when: Callable[[Context], Awaitable[bool]] | None = None
    params: Callable[[Context], Awaitable[dict[str, Any]]] | None = None
    short: str | None = None

    async def prompt_message(self, ctx: Context, back: bool, *, short: bool = False) -> Outbound:
        return Outbound(
            await _question(self, ctx, short),
            ask_contact=ctx.label("buttons/share_phone"),
            reply_back=ctx.label("buttons/back") if back else None,
        )

    async def read(self, ctx: Context, inbound: Inbound) -> tuple[Any, str]:
        if inbound.contact_phone is not None:
            value = self.parse_shared(inbound.contact_phone)
        elif inbound.text is not None:
            value = self.parse(inbound.text)
        else:
            raise InvalidAnswer("registration/phone_empty")
        return value, value

    def display(self, ctx: Context, value: Any) -> str:
        return str(value)


@dataclass(frozen=True)
class Summary:
    """Everything collected, with "send" and one "change ..." button per editable step."""

    name: str
    prompt: str
    editable: tuple[str, ...]
    params: Callable[[Context], Awaitable[dict[str, Any]]]
    when: Callable[[Context], Awaitable[bool]] | None = None
    check: type_check_hook | None = None
    resets: tuple[str, ...] = ()
    submit_label: str = "buttons/submit"
    short: str | None = None

    SUBMIT = "ok"
    EDIT = "e:"

    async def prompt_message(self, ctx: Context, back: bool, *, short: bool = False) -> Outbound:
        buttons = [Option(f"{self.name}|{self.SUBMIT}", ctx.label(self.submit_label))]
        buttons += [
            Option(f"{self.name}|{self.EDIT}{step}", ctx.label("buttons/edit", field=ctx.label(f"fields/{step}")))
            for step in self.editable
        ]
        return Outbound(await _question(self, ctx, short), tuple(buttons), columns=2)

    def _options(self, ctx: Context) -> list[tuple[str, str]]:
        options = [(self.SUBMIT, ctx.label(self.submit_label))]
        options += [
            (f"{self.EDIT}{s}", ctx.label("buttons/edit", field=ctx.label(f"fields/{s}"))) for s in self.editable
        ]
        return options

    async def read(self, ctx: Context, inbound: Inbound) -> tuple[Any, str]:
        options = self._options(ctx)
        if inbound.choice is not None:
            for value, label in options:
                if value == inbound.choice:
                    return value, label
            raise InvalidAnswer("common/option_gone")
        typed = (inbound.text or "").strip()
        if typed and parse_yes_no(typed):
            return options[0]
        return match_typed(typed, options)

    def display(self, ctx: Context, value: Any) -> str:
        return str(value)


@dataclass(frozen=True)
class File:
    """A document sent as a photo or a file. `receive` checks and keeps it (raising InvalidAnswer
    for a sticker, a video, a file too large) and returns what the answers keep of it, since the
    conversation's state holds no file. "Nanti saja" skips it: it can be sent later from /status."""

    name: str
    prompt: str
    receive: Callable[[Context, Attachment | None], Awaitable[dict[str, Any]]]
    params: Callable[[Context], Awaitable[dict[str, Any]]] | None = None
    check: type_check_hook | None = None
    resets: tuple[str, ...] = ()
    when: Callable[[Context], Awaitable[bool]] | None = None
    later: str = "buttons/later"
    short: str | None = None

    LATER = "later"

    async def prompt_message(self, ctx: Context, back: bool, *, short: bool = False) -> Outbound:
        buttons = [Option(f"{self.name}|{self.LATER}", ctx.label(self.later))]
        if back:
            buttons.append(Option(f"{self.name}|{BACK}", ctx.label("buttons/back")))
        return Outbound(await _question(self, ctx, short), tuple(buttons), columns=2)

    async def read(self, ctx: Context, inbound: Inbound) -> tuple[Any, str]:
        later = ctx.label(self.later)
        if inbound.choice is not None:
            if inbound.choice == self.LATER:
                return None, later
            raise InvalidAnswer("common/option_gone")
        if inbound.attachment is None and inbound.text is not None:
            try:
                match_typed(inbound.text, [(self.LATER, later)])
            except InvalidAnswer:
                pass
            else:
                return None, later
        return await self.receive(ctx, inbound.attachment), ""

    def display(self, ctx: Context, value: Any) -> str:
        return ctx.label("documents/received" if value else self.later)


Step = Choice | YesNo | Text | Phone | Summary | File


async def _question(step: Step, ctx: Context, short: bool, **extra: Any) -> str:
    """The question's text; asked again after a wrong answer (`short`), its short form, or nothing,
    so that the error alone carries the buttons and a long question (every programme's card) is
    not sent twice."""
    key = step.short if short else step.prompt
    if key is None:
        return ""
    params = await step.params(ctx) if step.params else {}
    return ctx.render(key, **extra, **params)


@dataclass(frozen=True)
class Flow:
    """A dialogue: its steps (computed from the answers so far, since a programme brings its own
    questions) and what happens when the last one is answered."""

    name: str
    steps: Callable[[Context], Awaitable[list[Step]]]
    done: Callable[[Context], Awaitable[list[Outbound]]]
    intro: Callable[[Context], Awaitable[list[Outbound]]] | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    permission: Permission | None = None
    """Set for a staff flow: the engine confirms, on every turn of it, that the person still has it."""
