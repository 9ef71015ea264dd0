"""The answers to reminders ("Hadir / Tidak bisa hadir") and /jadwal: a resident's own events,
or, for staff, the coming events with their answers.

A reminder's buttons may be pressed in the middle of another conversation (registering for a
programme, say): the answer is stored and thanked for, then the running flow asks its question
again, so nothing the resident was doing is lost.
"""

from __future__ import annotations

import logging
from typing import Any

from conversations.context import Context
from conversations.engine import Action, Command, Engine, StaffCommand, State
from conversations.io import Option, Reply
from outreach import reminders, schedule
from outreach.reminders import RsvpOutcome
from storage.models import Event
from storage.repositories import events
from training import people
from training.permissions import Actor, Permission

log = logging.getLogger(__name__)

SCHEDULE_LIMIT = 20
"""Events /jadwal shows: a chat message is no place for a term's whole calendar (the CLI lists all)."""


async def rsvp(engine: Engine, ctx: Context, state: State, payload: str) -> Reply:
    """Stores the resident's answer to a reminder, thanks them, and goes on with whatever was running."""
    parsed = reminders.parse_rsvp(payload)
    if parsed is None:
        return Reply([ctx.say("common/stale_button"), *await engine.resume(ctx, state)], stale=True)
    event_id, application_id, attending = parsed
    answer = await reminders.record_attendance(
        ctx.session, event_id, application_id, ctx.contact, attending, now=ctx.now()
    )
    if answer.outcome == RsvpOutcome.NOT_YOURS or answer.event is None:
        log.warning("contact %s pressed an RSVP for event %s that is not theirs", ctx.contact.id, event_id)
        return Reply([ctx.say("common/stale_button"), *await engine.resume(ctx, state)], stale=True)
    about = await _about(ctx, answer.event)
    if answer.outcome != RsvpOutcome.RECORDED:
        cancelled = answer.outcome == RsvpOutcome.CANCELLED
        return Reply(
            [ctx.say("reminders/rsvp_too_late", cancelled=cancelled, **about), *await engine.resume(ctx, state)]
        )
    # The thanks carries the other answer, since the reminder's keyboard is gone once answered.
    change = Option(
        reminders.rsvp_data(event_id, application_id, not attending),
        ctx.label("reminders/button_no" if attending else "reminders/button_yes"),
    )
    thanks = ctx.say("reminders/rsvp_attending" if attending else "reminders/rsvp_not_attending", [change], **about)
    chosen = ctx.label("reminders/answer_yes" if attending else "reminders/answer_no")
    return Reply([thanks, *await engine.resume(ctx, state)], chosen=chosen)


async def _about(ctx: Context, event: Event) -> dict[str, Any]:
    zone = await reminders.local_zone(ctx.session)
    about = reminders.describe_event(event, ctx.lang, zone, ctx.now())
    about["kind_name"] = ctx.label(f"reminders/kind/{about['kind']}")
    return about


async def jadwal(engine: Engine, ctx: Context, state: State, argument: str | None) -> Reply:
    """Staff who manage events see the office's schedule; everyone else their own."""
    if ctx.staff_role is not None:
        actor = await ctx.staff_actor()
        if actor is not None and actor.may(Permission.MANAGE_EVENTS):
            return await staff_schedule(engine, ctx, state, actor)
    return await my_schedule(engine, ctx, state, argument)


async def my_schedule(engine: Engine, ctx: Context, state: State, _: str | None) -> Reply:
    """Shows a resident the coming events of their own applications, with the answer they gave."""
    found = await events.coming_for_contacts(
        ctx.session, await people.contact_ids(ctx.session, ctx.contact), ctx.now(), SCHEDULE_LIMIT
    )
    items = []
    for event, application, attending in found:
        about = await _about(ctx, event)
        about["number"] = application.number
        about["answer"] = "" if attending is None else ctx.label(f"reminders/answer_{'yes' if attending else 'no'}")
        items.append(about)
    return Reply([ctx.say("events/mine", events=items), *await engine.resume(ctx, state)])


async def staff_schedule(engine: Engine, ctx: Context, state: State, actor: Actor) -> Reply:
    """Shows staff the coming events with how many said they come, cannot come, or have not answered."""
    views = await schedule.schedule(ctx.session, ctx.now(), limit=SCHEDULE_LIMIT, actor=actor)
    items = [
        {
            "id": v.event.id,
            "kind_name": ctx.label(f"reminders/kind/{reminders.kind_of(v.event)}"),
            "code": v.programme.code,
            "programme": reminders.programme_name(v.programme, ctx.lang),
            "when": v.local_start,
            "place": v.event.place,
            "attending": v.counts.attending,
            "not_attending": v.counts.not_attending,
            "unanswered": v.counts.unanswered,
        }
        for v in views
    ]
    return Reply([ctx.say("reminders/jadwal", events=items), *await engine.resume(ctx, state)])


COMMANDS: dict[str, Command] = {"jadwal": jadwal, "schedule": jadwal}
STAFF_COMMANDS: dict[str, StaffCommand] = {}
ACTIONS: dict[str, Action] = {reminders.RSVP_ACTION: rsvp}
