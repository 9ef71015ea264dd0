"""The selection in the chat: staff check an application with /cek, and a selected applicant
answers their seat offer ("Ya, saya ikut" / "Tidak bisa").

The seat buttons come on a pushed message and may be pressed in the middle of another flow: the
answer is handled and that flow asks its question again. A double tap or an old offer gets a
gentle answer, never a second decision.
"""

from __future__ import annotations

import logging

from conversations.context import Context
from conversations.engine import Action, Command, Engine, StaffCommand, State
from conversations.io import Reply
from outreach import seats as seat_messages
from training import seats, selection
from training.permissions import Permission
from training.selection import SHORT_WORDS, SelectionError, Verdict

log = logging.getLogger(__name__)


async def seat_answer(engine: Engine, ctx: Context, state: State, payload: str) -> Reply:
    """Records the applicant's answer to their seat offer and goes on with whatever was running."""
    parsed = seat_messages.parse_seat(payload)
    reply = None
    if parsed is not None:
        offer_id, yes = parsed
        reply = await seats.answer(ctx.session, ctx.services.templates, ctx.contact, offer_id, yes, ctx.now())
    if reply is None or reply.offer is None:
        log.warning("contact %s pressed a seat button that is not theirs", ctx.contact.id)
        return Reply([ctx.say("common/stale_button"), *await engine.resume(ctx, state)], stale=True)
    about = await seat_messages.describe(ctx.session, reply.offer.application, reply.offer, ctx.lang)
    key = {
        seats.SeatOutcome.CONFIRMED: "selection/seat_confirmed",
        seats.SeatOutcome.DECLINED: "selection/seat_declined",
        seats.SeatOutcome.ALREADY: "selection/seat_already",
        seats.SeatOutcome.TOO_LATE: "selection/seat_too_late",
        seats.SeatOutcome.IN_TRAINING: "selection/seat_in_training",
    }[reply.outcome]
    chosen = None
    if reply.outcome in (seats.SeatOutcome.CONFIRMED, seats.SeatOutcome.DECLINED):
        chosen = ctx.label("selection/button_yes" if yes else "selection/button_no")
    message = ctx.say(key, previous=reply.previous, **about)
    return Reply([message, *await engine.resume(ctx, state)], chosen=chosen)


async def check(engine: Engine, ctx: Context, state: State, argument: str | None) -> Reply:
    """/cek NUMBER lolos | gagal REASON [note]: the administrative check of one application."""
    words = (argument or "").split()
    reasons = list(SHORT_WORDS.values())
    if len(words) < 2:
        return Reply([ctx.say("selection/cek_usage", reasons=reasons), *await engine.resume(ctx, state)])
    number, decision, rest = words[0], words[1], words[2:]
    actor = await ctx.staff_actor()
    assert actor is not None  # the engine let only staff in
    try:
        passed = selection.parse_passed(decision)
        verdict = Verdict.of(passed, rest[0] if rest and not passed else None, " ".join(rest if passed else rest[1:]))
        checked = await selection.check(ctx.session, ctx.services.templates, actor, number, verdict, ctx.now())
    except SelectionError as problem:  # NotAllowed goes on to the engine, which refuses in the person's words
        return Reply(
            [
                ctx.say("selection/cek_problem", problem=str(problem)),
                ctx.say("selection/cek_usage", reasons=reasons),
                *await engine.resume(ctx, state),
            ]
        )
    done = ctx.say(
        "selection/cek_done",
        number=checked.application.number,
        name=checked.application.full_name or "",
        passed=verdict.passed,
        reason=verdict.stage_reason,
        changed=checked.changed,
        flags=checked.flags,
    )
    return Reply([done, *await engine.resume(ctx, state)])


COMMANDS: dict[str, Command] = {}
STAFF_COMMANDS: dict[str, StaffCommand] = {
    "cek": StaffCommand(check, Permission.CHECK_APPLICATIONS),
    "check": StaffCommand(check, Permission.CHECK_APPLICATIONS),
}
ACTIONS: dict[str, Action] = {seat_messages.SEAT_ACTION: seat_answer}
