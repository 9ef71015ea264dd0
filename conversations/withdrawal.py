"""One application at a time, said early: /daftar with an application in progress offers to keep it
or to replace it, and /status lets a resident withdraw one (each after a confirmation).

A replacement withdraws the old application only when the new one is sent (in the same
transaction), so a resident who stops half way keeps the place they had.
"""

from __future__ import annotations

from typing import Any

from conversations.context import Context
from conversations.engine import ACTION_PREFIX, Action, Engine, Overlay, State
from conversations.io import Option, Outbound, Reply
from conversations.registration import REGISTRATION, REPLACES
from storage.models import Application, Stage
from training import applications
from training.applications import NotWithdrawable
from training.text import local

REPLACING = "replacing"
"""Where /daftar keeps, while the offer is open, the application it would replace and the deep link's answers."""
WITHDRAWING = "withdrawing"
"""Where /status keeps, while the confirmation is open, the application it would withdraw."""
WITHDRAW_ACTION = "withdraw"


def _shown(ctx: Context, application: Application) -> dict[str, Any]:
    return {
        "number": application.number,
        "programme": local(application.programme.name, ctx.lang),
        "stage": ctx.label(f"stages/{application.stage}"),
    }


async def offer_replacement(
    engine: Engine, ctx: Context, state: State, answers: dict[str, Any], extra: dict[str, Any]
) -> list[Outbound] | None:
    """At /daftar: None when the person has no application in progress, else the keep-or-replace question."""
    active = await applications.active_of_contact(ctx.session, ctx.contact)
    if not active:
        return None
    state.data[REPLACING] = {**_shown(ctx, active[-1]), "answers": answers, "extra": extra}
    return (await engine.open_overlay(ctx, state, "replace")).messages


async def _answer_replace(engine: Engine, ctx: Context, state: State, value: str) -> Reply:
    offer = state.data.pop(REPLACING, None)
    if offer is None:  # the state was cleared meanwhile (erasure): nothing to answer
        return await engine.menu(engine, ctx, state, None)
    if value != "y":
        status = Option("/status", ctx.label("buttons/status"))
        return Reply([ctx.say("registration/kept_old", options=[status], number=offer["number"])])
    note = ctx.say("registration/replace_later", number=offer["number"])
    extra = {**offer["extra"], REPLACES: offer["number"]}
    return Reply([note, *await engine.start_flow(ctx, state, REGISTRATION.name, answers=offer["answers"], extra=extra)])


def withdraw_options(ctx: Context, mine: list[Application]) -> list[Option]:
    """A "Tarik" button under /status for each application still in the running."""
    return [
        Option(f"{ACTION_PREFIX}{WITHDRAW_ACTION}|{a.number}", ctx.label("buttons/withdraw", number=a.number))
        for a in mine
        if Stage(a.stage).is_active
    ]


async def ask_withdraw(engine: Engine, ctx: Context, state: State, number: str) -> Reply:
    """The "Tarik" button: confirm first, since a withdrawal gives the place away for good."""
    application = await applications.own(ctx.session, ctx.contact, number)
    if application is None or not Stage(application.stage).is_active:
        return Reply([ctx.say("registration/not_withdrawable"), *await engine.resume(ctx, state)])
    state.data[WITHDRAWING] = _shown(ctx, application)
    return await engine.open_overlay(ctx, state, "withdraw")


async def _answer_withdraw(engine: Engine, ctx: Context, state: State, value: str) -> Reply:
    shown = state.data.pop(WITHDRAWING, None)
    if shown is None:
        return Reply(await engine.resume(ctx, state))
    if value != "y":
        return Reply([ctx.say("registration/kept_old", number=shown["number"]), *await engine.resume(ctx, state)])
    application = await applications.own(ctx.session, ctx.contact, shown["number"])
    try:
        if application is None:
            raise NotWithdrawable(shown["number"])
        await applications.withdraw(ctx.session, application, ctx.contact, ctx.now())
    except NotWithdrawable:
        return Reply([ctx.say("registration/not_withdrawable"), *await engine.resume(ctx, state)])
    done = ctx.say("registration/withdrawn", number=shown["number"])
    return Reply([done, *await engine.resume(ctx, state)])


def _choices(yes: str, no: str):  # type: ignore[no-untyped-def]
    return lambda ctx: [("y", ctx.label(yes)), ("n", ctx.label(no))]


OVERLAYS = {
    "replace": Overlay(
        "replace",
        prompt=lambda ctx: ctx.say("registration/already_active", **ctx.data[REPLACING]),
        options=_choices("buttons/replace_old", "buttons/keep_old"),
        answer=_answer_replace,
    ),
    "withdraw": Overlay(
        "withdraw",
        prompt=lambda ctx: ctx.say("registration/confirm_withdraw", **ctx.data[WITHDRAWING]),
        options=_choices("buttons/yes_withdraw", "buttons/no_keep"),
        answer=_answer_withdraw,
    ),
}

ACTIONS: dict[str, Action] = {WITHDRAW_ACTION: ask_withdraw}
