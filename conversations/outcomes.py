"""The tracer study's answer in the chat: the pushed question's button starts a small flow
(what do you do now; for work, where and in which field; for a business, what), whose answers
training.outcomes stores in the graduate's round.

A press from someone else's message, or a forged one, gets the stale-button answer. A flow already
running (a new registration, say) is kept aside and taken up again where it was once this one ends.
"""

from __future__ import annotations

import logging

from conversations.context import Context
from conversations.engine import Action, Engine, State
from conversations.io import Outbound, Reply
from conversations.steps import Choice, Flow, Step, Text
from storage.models import OutcomeStatus, WorkPlace
from training import outcomes
from training.errors import InvalidAnswer
from training.validators import clean_text

log = logging.getLogger(__name__)

ROUND = "tracer_round"
"""Where the flow keeps the round (outcome id) it answers."""


async def start(engine: Engine, ctx: Context, state: State, payload: str) -> Reply:
    """The "Jawab" button under the tracer question: ask the first question."""
    outcome = await outcomes.open_round(ctx.session, ctx.contact, int(payload)) if payload.isdigit() else None
    if outcome is None:
        log.warning("contact %s pressed a tracer button that is not theirs", ctx.contact.id)
        return Reply([ctx.say("common/stale_button"), *await engine.resume(ctx, state)], stale=True)
    return Reply(await engine.start_flow(ctx, state, TRACER.name, extra={ROUND: outcome.id}, pause_running=True))


def _options(prefix: str, values: list[str]):  # type: ignore[no-untyped-def]
    async def options(ctx: Context) -> list[tuple[str, str]]:
        return [(v, ctx.label(f"outcomes/{prefix}/{v}")) for v in values]

    return options


def _is(status: OutcomeStatus):  # type: ignore[no-untyped-def]
    async def when(ctx: Context) -> bool:
        return ctx.answers.get("status") == status.value

    return when


def _short(most: int):  # type: ignore[no-untyped-def]
    def parse(_ctx: Context, text: str) -> str:
        value = clean_text(text)
        if not value or len(value) > most:
            raise InvalidAnswer("outcomes/text_invalid", most=most)
        return value

    return parse


async def _steps(ctx: Context) -> list[Step]:
    return [
        Choice(
            "status",
            "outcomes/ask_status",
            _options("status", [s.value for s in OutcomeStatus]),
            resets=("workplace", "sector", "business"),
        ),
        Choice(
            "workplace",
            "outcomes/ask_workplace",
            _options("workplace", [w.value for w in WorkPlace]),
            when=_is(OutcomeStatus.WORKING),
        ),
        Text("sector", "outcomes/ask_sector", _short(outcomes.SECTOR_MAX), when=_is(OutcomeStatus.WORKING)),
        Text("business", "outcomes/ask_business", _short(outcomes.BUSINESS_MAX), when=_is(OutcomeStatus.SELF_EMPLOYED)),
    ]


async def _done(ctx: Context) -> list[Outbound]:
    stored = await outcomes.record_answer(ctx.session, ctx.contact, int(ctx.data[ROUND]), ctx.answers, ctx.now())
    if stored is None:  # erased meanwhile
        return [ctx.say("common/stale_button")]
    return [ctx.say("outcomes/thanks", status=stored.status)]


TRACER = Flow("tracer", steps=_steps, done=_done)
FLOWS = {TRACER.name: TRACER}
ACTIONS: dict[str, Action] = {outcomes.TRACER_ACTION: start}
