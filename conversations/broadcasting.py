"""/siaran: a staff member composes an announcement, picks who gets it, sees the count and a
preview, confirms, and watches the progress message fill in.

A staff flow: the engine confirms the person's role on every turn of it, and `broadcasts.send`
checks that the role may reach the chosen recipients (only an admin may reach everyone)."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from conversations.context import Context
from conversations.engine import Engine, StaffCommand, State
from conversations.io import Outbound, Reply
from conversations.steps import Choice, Flow, Step, Summary, Text
from outreach import broadcasts
from outreach.segments import Segment
from storage.models import Stage
from training.errors import InvalidAnswer
from training.permissions import NotAllowed, OutsideVenue, Permission, within
from training.text import local

TARGETS = ("all", "cluster", "programme", "stage", "district", "graduates")


def read_text(ctx: Context, text: str) -> str:
    try:
        return broadcasts.check_text(text)
    except broadcasts.BroadcastError:
        raise InvalidAnswer("broadcasts/text_invalid", max=broadcasts.MAX_TEXT) from None


async def text_params(ctx: Context) -> dict[str, Any]:
    return {"max": broadcasts.MAX_TEXT}


async def target_options(ctx: Context) -> list[tuple[str, str]]:
    """Every kind of recipient the person's role may reach ("all" is for admins; venue staff reach the
    applicants of one of their venue's programmes, nothing wider)."""
    actor = await ctx.staff_actor()
    everyone = actor is not None and actor.may(Permission.BROADCAST_ALL)
    targets = ("programme",) if actor is not None and actor.scoped else TARGETS
    return [(t, ctx.label(f"broadcasts/target_{t}")) for t in targets if t != "all" or everyone]


async def value_options(ctx: Context) -> list[tuple[str, str]]:
    target = ctx.answers.get("siaran_target")
    if target in ("cluster", "graduates"):
        clusters = ctx.catalog.clusters
        return [(c.code, local(c.name, ctx.lang)) for c in clusters]
    if target == "programme":
        actor = await ctx.staff_actor()
        mine = within(actor, ctx.catalog.programmes, lambda p: p.venue_code) if actor else []
        return [(p.code, f"{p.code} – {local(p.name, ctx.lang)}") for p in mine]
    if target == "stage":
        return [(s.value, ctx.label(f"stages/{s.value}")) for s in Stage if s != Stage.WITHDRAWN]
    if target == "district":
        return [(d.code, d.name) for d in ctx.catalog.districts()]
    return []


async def needs_value(ctx: Context) -> bool:
    return ctx.answers.get("siaran_target") not in (None, "all")


def segment_of(answers: dict[str, Any]) -> Segment:
    target, value = answers.get("siaran_target"), answers.get("siaran_value")
    if target in (None, "all") or value is None:
        return Segment()
    key = {"cluster": "cluster", "programme": "programme", "district": "district", "graduates": "graduates"}.get(target)
    return Segment.parse(f"{key}={value}" if key else f"stage={value}")


async def confirm_params(ctx: Context) -> dict[str, Any]:
    segment = segment_of(ctx.answers)
    preview = broadcasts.render(ctx.services.templates, ctx.lang, ctx.answers["siaran_text"])
    return {
        "count": await segment.count(ctx.session),
        "segment": segment.describe(),
        "kind": segment.kind.value,
        "preview": Markup(preview),  # rendered (and escaped) already
    }


async def steps(ctx: Context) -> list[Step]:
    return [
        Text("siaran_text", "broadcasts/ask_text", read_text, params=text_params, show=lambda text: text[:40]),
        Choice("siaran_target", "broadcasts/ask_target", target_options, resets=("siaran_value",)),
        Choice("siaran_value", "broadcasts/ask_value", value_options, when=needs_value),
        Summary(
            "siaran_confirm",
            "broadcasts/confirm",
            ("siaran_text", "siaran_target"),
            params=confirm_params,
            submit_label="buttons/broadcast_send",
        ),
    ]


async def send(ctx: Context) -> list[Outbound]:
    actor = await ctx.staff_actor()
    if actor is None:  # the engine ends a staff flow before this; kept so a broadcast never goes out unchecked
        return [ctx.say("staff/access_gone")]
    segment = segment_of(ctx.answers)
    if await segment.count(ctx.session) == 0:
        return [ctx.say("broadcasts/nobody")]
    try:
        sent = await broadcasts.send(
            ctx.session, ctx.services.templates, actor, text=ctx.answers["siaran_text"], segment=segment, now=ctx.now()
        )
    except OutsideVenue as refused:  # the account's venue changed between the choice and "Kirim"
        return [ctx.say("staff/outside_venue", programme=refused.programme, venue=actor.venue or "")]
    except NotAllowed:
        return [ctx.say("staff/not_allowed", role=actor.role)]
    progress = await broadcasts.progress(ctx.session, sent.id)
    message = ctx.say("broadcasts/progress", id=sent.id, progress=progress)
    return [Outbound(message.text, track=f"broadcast:{sent.id}")]


BROADCAST = Flow("broadcast", steps=steps, done=send, permission=Permission.BROADCAST_SEGMENT)


async def compose(engine: Engine, ctx: Context, state: State, _: str | None) -> Reply:
    if state.flow is not None:
        return Reply([ctx.say("common/already_in_flow"), *await engine.resume(ctx, state)])
    return Reply(await engine.start_flow(ctx, state, BROADCAST.name))


STAFF_COMMANDS: dict[str, StaffCommand] = {
    "siaran": StaffCommand(compose, Permission.BROADCAST_SEGMENT),
    "broadcast": StaffCommand(compose, Permission.BROADCAST_SEGMENT),
}
