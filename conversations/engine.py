"""The engine: one turn is (state, Inbound) -> (new state, Reply), for any channel.

Like a goflow sprint, a turn only computes: the runner loads and saves the state in one
transaction and the handler sends the messages. Back, cancel, help, edit-from-summary and stale
buttons are handled here once, for every flow.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from conversations.context import Context
from conversations.io import BACK, Inbound, Option, Outbound, Reply
from conversations.steps import File, Finish, Flow, Step, Summary, match_typed
from training.errors import InvalidAnswer
from training.permissions import Actor, NotAllowed, OutsideVenue, Permission
from training.validators import parse_yes_no

log = logging.getLogger(__name__)

KEYWORDS = {
    "batal": "batal",
    "cancel": "batal",
    "kembali": "kembali",
    "back": "kembali",
    "bantuan": "bantuan",
    "help": "bantuan",
    "menu": "menu",
}
"""Words that act as commands when typed alone, for people who don't know about "/"."""


@dataclass
class State:
    """The persisted part of a conversation: which flow, which step, and the answers so far."""

    flow: str | None = None
    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    last_press: str | None = None
    """The button of the previous turn, when it was a press: the same press again is a double tap.
    Kept beside the flow's data, not in it, since it outlives the flow its press may have ended."""

    def clear(self) -> None:
        """Forget the flow and every answer in it (they may be personal data)."""
        self.flow, self.step = None, None
        self.data = {}


UNDO = "undo"
PAUSED = "paused"
"""Where a flow started by a pushed button keeps the flow it interrupted (see `Engine.start_flow`)."""
"""Where an undoable Finish keeps the flow it ended (see `Engine.reopen`)."""

Command = Callable[["Engine", Context, State, str | None], Awaitable[Reply]]


@dataclass(frozen=True)
class Overlay:
    """A one-question interruption (confirm cancel, pick a language) over whatever flow is running."""

    name: str
    prompt: Callable[[Context], Outbound]
    options: Callable[[Context], list[tuple[str, str]]]
    answer: Callable[[Engine, Context, State, str], Awaitable[Reply]]


Action = Callable[["Engine", Context, State, str], Awaitable[Reply]]
"""A button of a pushed message ("@rsvp|..."): answered whatever flow is running, which then goes on."""

ACTION_PREFIX = "@"


@dataclass(frozen=True)
class StaffCommand:
    """A command only staff whose role carries `permission` may run; residents are told it is unknown."""

    run: Command
    permission: Permission


@dataclass(frozen=True)
class StaffButton:
    """A button only staff whose role carries `permission` may press; to residents it is a stale button."""

    run: Action
    permission: Permission


class Engine:
    def __init__(
        self,
        flows: dict[str, Flow],
        commands: dict[str, Command],
        overlays: dict[str, Overlay],
        menu: Command,
        *,
        actions: dict[str, Action] | None = None,
        staff_commands: dict[str, StaffCommand] | None = None,
        staff_buttons: dict[str, StaffButton] | None = None,
        not_understood: Command | None = None,
    ) -> None:
        self.flows = flows
        self.commands = commands
        self.overlays = overlays
        self.menu = menu
        self.not_understood = not_understood or menu
        """The answer to free text outside any flow."""
        self.actions = actions or {}
        self.staff_commands = staff_commands or {}
        self.staff_buttons = staff_buttons or {}

    async def take_turn(self, ctx: Context, state: State, inbound: Inbound) -> Reply:
        ctx.data = state.data
        flow = self.flows.get(state.flow) if state.flow is not None else None
        if flow is not None and flow.permission is not None:
            # Whatever this turn brings (an answer, "Kirim", /batal), a staff flow goes on only for staff.
            refused = await self._check_staff(ctx, state, flow.permission)
            if refused is not None:
                return refused
        if inbound.choice is not None and inbound.choice == state.last_press:
            # A double tap: the first press was answered and its keyboard dropped; a second copy
            # of the question (or a "that button is old" note) would only leave two live questions.
            return Reply(stale=True, repeated=True)
        try:
            reply = await self._take_turn(ctx, state, inbound)
        except NotAllowed as refused:  # a service's own, finer check (e.g. "to everyone" needs more)
            reply = await self._refuse_staff(ctx, state, refused.actor, refused.permission, refused)
        state.last_press = inbound.choice  # for one turn only: after any other, the same button is no double tap
        return reply

    async def _take_turn(self, ctx: Context, state: State, inbound: Inbound) -> Reply:
        if inbound.choice is not None and inbound.choice.startswith("/"):
            inbound = Inbound.parse_text(inbound.choice)
        if inbound.command is not None:
            return await self.run_command(ctx, state, inbound.command, inbound.argument)
        if inbound.choice is not None and inbound.choice.startswith(ACTION_PREFIX):
            return await self._run_action(ctx, state, inbound.choice)
        if inbound.unreadable is not None and not isinstance(await self.current_step(ctx, state), File):
            # At a documents step the step itself says what it takes (a photo or a PDF, not a sticker).
            resumed = await self.resume(ctx, state) or (await self.menu(self, ctx, state, None)).messages
            return Reply([ctx.say("common/cannot_read"), *resumed])
        overlay = state.data.get("overlay")
        if overlay is not None:
            reply = await self._answer_overlay(ctx, state, self.overlays[overlay], inbound)
            if reply is not None:
                return reply
        if inbound.text is not None and (word := _keyword(ctx, inbound.text)):
            return await self.run_command(ctx, state, word, None)
        if state.flow is None or state.flow not in self.flows:
            if inbound.choice is not None:
                return Reply(
                    [ctx.say("common/stale_button"), *(await self.menu(self, ctx, state, None)).messages], stale=True
                )
            return await self.not_understood(self, ctx, state, inbound.text)
        return await self._answer_step(ctx, state, inbound)

    async def run_command(self, ctx: Context, state: State, name: str, argument: str | None) -> Reply:
        command = self.commands.get(name)
        if command is None and name in self.staff_commands:
            command = await self._staff_only(ctx, state, self.staff_commands[name], f"command /{name}")
            if isinstance(command, Reply):
                return command
        if command is None:
            log.info("unknown command /%s", name[:32])
            return Reply([ctx.say("common/unknown_command", command=name[:32]), *await self.resume(ctx, state)])
        state.data.pop("overlay", None)
        return await command(self, ctx, state, argument)

    async def _run_action(self, ctx: Context, state: State, choice: str) -> Reply:
        name, _, payload = choice[len(ACTION_PREFIX) :].partition("|")
        action = self.actions.get(name)
        if action is None and name in self.staff_buttons:
            action = await self._staff_only(ctx, state, self.staff_buttons[name], f"button @{name}")
            if isinstance(action, Reply):
                return action
        state.data.pop("overlay", None)  # like a command, a pushed button dismisses a pending question
        if action is None:
            return Reply([ctx.say("common/stale_button"), *await self.resume(ctx, state)], stale=True)
        return await action(self, ctx, state, payload)

    # -- staff -----------------------------------------------------------------------------

    async def _staff_only(self, ctx: Context, state: State, staff: StaffCommand | StaffButton, what: str) -> Any:
        """What a staff command or button runs, for staff whose role carries its permission; for other
        staff, the refusal. None for a resident, who is answered as for an unknown command or an old
        button (a staff action is never revealed), and whose try is logged."""
        if ctx.staff_role is None:
            log.warning("a resident (contact %s) tried the staff %s", ctx.contact.id, what)
            return None
        refused = await self._check_staff(ctx, state, staff.permission)
        return refused if refused is not None else staff.run  # a Command or an Action, as `staff` is

    async def _check_staff(self, ctx: Context, state: State, permission: Permission) -> Reply | None:
        """None when the person's role, read from the database now, carries `permission`; else the refusal."""
        actor = await ctx.staff_actor()
        if actor is not None and actor.may(permission):
            return None
        return await self._refuse_staff(ctx, state, actor, permission)

    async def _refuse_staff(
        self, ctx: Context, state: State, actor: Actor | None, permission: Permission, refused: NotAllowed | None = None
    ) -> Reply:
        """End a staff flow, keeping nothing of it (a resident's own flow is merely resumed), and say why in the
        person's language: no longer staff, a role without the permission, or (`refused` by a service)
        a programme of another venue."""
        running = self.flows.get(state.flow) if state.flow is not None else None
        staff_flow = running is not None and running.permission is not None
        log.warning(
            "contact %s: staff %s refused (%s)%s",
            ctx.contact.id,
            permission.value,
            f"role {actor.role}" if actor is not None else "no longer staff",
            f", flow {state.flow} ended" if staff_flow else "",
        )
        if staff_flow:
            state.clear()
        if actor is None:
            message = ctx.say("staff/access_gone")
        elif isinstance(refused, OutsideVenue):
            message = ctx.say("staff/outside_venue", programme=refused.programme, venue=actor.venue or "")
        else:
            message = ctx.say("staff/not_allowed", role=actor.role)
        return Reply([message, *await self.resume(ctx, state)])

    # -- flows -----------------------------------------------------------------------------

    async def start_flow(
        self,
        ctx: Context,
        state: State,
        name: str,
        *,
        answers: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        pause_running: bool = False,
    ) -> list[Outbound]:
        """Start `name`; with `pause_running` (a pushed button's short flow, e.g. the tracer question)
        a flow already running is kept aside and taken up again where it was when this one ends."""
        flow = self.flows[name]
        paused = None
        if pause_running and state.flow in self.flows:
            same = state.flow == name
            paused = state.data.get(PAUSED) if same else {"flow": state.flow, "step": state.step, "data": state.data}
        state.flow, state.step = name, None
        state.data = {"answers": dict(answers or {}), "history": list(answers or {}), **(extra or {})}
        if paused is not None:
            state.data[PAUSED] = paused
        ctx.data = state.data
        intro = await flow.intro(ctx) if flow.intro else []
        return [*intro, *await self._advance(ctx, state)]

    async def resume(self, ctx: Context, state: State, *, short: bool = False) -> list[Outbound]:
        """Ask the current question again: after help, a command, or a restart; after a wrong
        answer (`short`), in its short form (see steps.py)."""
        if state.flow is None or state.flow not in self.flows:
            return []
        steps = await self.flows[state.flow].steps(ctx)
        step = await self._next_step(ctx, steps)
        if step is None:
            return await self._advance(ctx, state)
        state.step = step.name
        return [await step.prompt_message(ctx, back=await self._can_go_back(ctx, state, steps), short=short)]

    async def current_step(self, ctx: Context, state: State) -> Step | None:
        if state.flow is None or state.flow not in self.flows:
            return None
        for step in await self.flows[state.flow].steps(ctx):
            if step.name == state.step:
                return step
        return None

    async def reopen(self, ctx: Context, state: State) -> list[Outbound] | None:
        """Ask again the question whose answer ended the flow, with the answers before it; None when
        there is none to ask (another flow started since, or the flow ended otherwise)."""
        kept = state.data.get(UNDO) if state.flow is None else None
        if kept is None or kept["flow"] not in self.flows:
            return None
        state.flow, state.step, state.data = kept["flow"], kept["step"], kept["data"]
        ctx.data = state.data
        return await self._advance(ctx, state)

    async def go_back(self, ctx: Context, state: State) -> Reply:
        if state.flow is None:
            reopened = await self.reopen(ctx, state)
            if reopened is not None:
                return Reply(reopened)
            return Reply([ctx.say("common/nothing_to_go_back"), *(await self.menu(self, ctx, state, None)).messages])
        editing = state.data.pop("editing", None)
        if editing is not None:
            # Back while changing one answer from the summary puts the old answer back.
            state.data.setdefault("answers", {}).update(editing)
            return Reply(await self._advance(ctx, state))
        steps = {s.name: s for s in await self.flows[state.flow].steps(ctx)}
        previous = await self._previous(ctx, state, steps, pop=True)
        if previous is None:
            return Reply([ctx.say("common/nothing_to_go_back"), *await self.resume(ctx, state)])
        self._clear(ctx, steps, previous)
        return Reply(await self._advance(ctx, state))

    async def _previous(self, ctx: Context, state: State, steps: dict[str, Step], *, pop: bool) -> str | None:
        """The last answered step that still applies: what "back" returns to.

        History entries whose answer is gone (cleared by a check, or being edited) and steps that
        no longer apply (consent once given) are passed over, so back never lands on the same
        question or on a dead button.
        """
        history: list[str] = state.data.setdefault("history", [])
        for index in range(len(history) - 1, -1, -1):
            name = history[index]
            if name in ctx.answers and name in steps and await _applies(ctx, steps[name]):
                if pop:
                    del history[index:]
                return name
        if pop:
            history.clear()
        return None

    async def _answer_step(self, ctx: Context, state: State, inbound: Inbound) -> Reply:
        flow = self.flows[state.flow]  # type: ignore[index]
        steps = await flow.steps(ctx)
        step = next((s for s in steps if s.name == state.step), None)
        if step is None:
            # The flow changed under this conversation (a deploy, a programme withdrawn): ask afresh.
            return Reply(await self._advance(ctx, state))
        if inbound.choice is not None:
            name, _, value = inbound.choice.partition("|")
            if name != step.name:
                return Reply([ctx.say("common/stale_button"), *await self.resume(ctx, state)], stale=True)
            if value == BACK:
                return await self.go_back(ctx, state)
            inbound = Inbound(choice=value)
        try:
            value, label = await step.read(ctx, inbound)
            if isinstance(step, Summary):
                return await self._answer_summary(ctx, state, step, steps, value, label)
            outcome: Finish | None = await step.check(ctx, value) if step.check else None
        except InvalidAnswer as problem:
            return Reply(
                _after_error(ctx.say(problem.key, **problem.params), await self.resume(ctx, state, short=True))
            )
        chosen = label if inbound.choice is not None else None
        if isinstance(outcome, Finish):
            kept = {"flow": state.flow, "step": step.name, "data": dict(state.data)} if outcome.undoable else None
            state.clear()
            if kept is not None:
                state.data[UNDO] = kept
            return Reply(outcome.messages, chosen=chosen)
        self._clear(ctx, {s.name: s for s in steps}, step.name)
        ctx.answers[step.name] = value
        history: list[str] = state.data.setdefault("history", [])
        if "editing" not in state.data or step.name not in history:
            # An edit from the summary keeps the step's place, so back from the summary never
            # lands on the edited step before the ones after it.
            if step.name in history:
                history.remove(step.name)
            history.append(step.name)
        return Reply(await self._advance(ctx, state), chosen=chosen)

    async def _answer_summary(
        self, ctx: Context, state: State, summary: Summary, steps: list[Step], value: str, label: str
    ) -> Reply:
        if value == Summary.SUBMIT:
            messages = await self.flows[state.flow].done(ctx)  # type: ignore[index]
            state.clear()
            return Reply(messages, chosen=label)
        field_name = value.removeprefix(Summary.EDIT)
        if field_name not in summary.editable:
            raise InvalidAnswer("common/option_gone")
        by_name = {s.name: s for s in steps}
        state.data["editing"] = {
            n: v for n, v in ctx.answers.items() if n == field_name or n in _resets(by_name, field_name)
        }
        self._clear(ctx, by_name, field_name)
        return Reply(await self._advance(ctx, state), chosen=label)

    async def _advance(self, ctx: Context, state: State) -> list[Outbound]:
        flow = self.flows[state.flow]  # type: ignore[index]
        steps = await flow.steps(ctx)
        step = await self._next_step(ctx, steps)
        if step is None:
            messages = await flow.done(ctx)
            paused = state.data.get(PAUSED)
            state.clear()
            if paused is not None and paused["flow"] in self.flows:
                state.flow, state.step, state.data = paused["flow"], paused["step"], paused["data"]
                ctx.data = state.data
                messages += [ctx.say("common/already_in_flow"), *await self.resume(ctx, state)]
            return messages
        state.step = step.name
        if isinstance(step, Summary):
            state.data.pop("editing", None)  # the edit is done once the summary shows again
        return [await step.prompt_message(ctx, back=await self._can_go_back(ctx, state, steps))]

    async def _next_step(self, ctx: Context, steps: list[Step]) -> Step | None:
        """The first step that applies and has no answer: after an edit from the summary this is
        the edited step, then the summary again."""
        for step in steps:
            if step.name not in ctx.answers and await _applies(ctx, step):
                return step
        return None

    async def _can_go_back(self, ctx: Context, state: State, steps: list[Step]) -> bool:
        if "editing" in state.data:
            return True
        return await self._previous(ctx, state, {s.name: s for s in steps}, pop=False) is not None

    def _clear(self, ctx: Context, steps: dict[str, Step], name: str) -> None:
        ctx.answers.pop(name, None)
        for dependent in _resets(steps, name):
            if dependent.endswith("*"):
                for answered in [a for a in ctx.answers if a.startswith(dependent[:-1])]:
                    del ctx.answers[answered]
            else:
                ctx.answers.pop(dependent, None)

    # -- overlays --------------------------------------------------------------------------

    async def open_overlay(self, ctx: Context, state: State, name: str) -> Reply:
        state.data["overlay"] = name
        overlay = self.overlays[name]
        message = overlay.prompt(ctx)
        buttons = tuple(Option(f"!{name}|{value}", label) for value, label in overlay.options(ctx))
        return Reply([Outbound(message.text, buttons, columns=len(buttons) if len(buttons) <= 2 else 1)])

    async def _answer_overlay(self, ctx: Context, state: State, overlay: Overlay, inbound: Inbound) -> Reply | None:
        """Answer the pending question; anything else dismisses it and is handled as usual."""
        options = overlay.options(ctx)
        if inbound.choice is not None:
            name, _, value = inbound.choice.partition("|")
            if name != f"!{overlay.name}" or value not in dict(options):
                state.data.pop("overlay", None)
                return None
        else:
            try:
                value, _ = match_typed(inbound.text or "", options)
            except InvalidAnswer:
                yes_no = parse_yes_no(inbound.text or "")
                if yes_no is None or not {"y", "n"} <= set(dict(options)):
                    state.data.pop("overlay", None)
                    return None
                value = "y" if yes_no else "n"
        state.data.pop("overlay", None)
        reply = await overlay.answer(self, ctx, state, value)
        reply.chosen = dict(options).get(value) if inbound.choice is not None else None
        return reply


def _after_error(error: Outbound, asked: list[Outbound]) -> list[Outbound]:
    """The error, then the question asked again; a question with no short form gives only its
    buttons, which the error then carries, so a mistyped answer never brings the whole question again."""
    if len(asked) == 1 and not asked[0].text:
        return [replace(asked[0], text=error.text)]
    return [error, *asked]


def _keyword(ctx: Context, text: str) -> str | None:
    typed = text.strip().casefold()
    if typed == ctx.label("buttons/back").casefold():
        return "kembali"
    return KEYWORDS.get(typed.rstrip(".!"))


async def _applies(ctx: Context, step: Step) -> bool:
    return step.when is None or await step.when(ctx)


def _resets(steps: dict[str, Step], name: str) -> set[str]:
    """Answers that depend on `name`, transitively (a new cluster voids the programme and its questions)."""
    out: set[str] = set()
    pending = [name]
    while pending:
        step = steps.get(pending.pop())
        for dependent in step.resets if step else ():
            if dependent not in out:
                out.add(dependent)
                pending.append(dependent)
    return out
