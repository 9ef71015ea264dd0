"""Commands that work at any point (/status, /batal, /bahasa ...) and the one-question overlays
(confirm cancel, pick a language, confirm erasure) that they open over a running flow."""

from __future__ import annotations

from typing import Any

from conversations import documents, withdrawal
from conversations.context import Context
from conversations.engine import UNDO, Action, Command, Engine, Overlay, State
from conversations.interests import notify_option
from conversations.io import Option, Outbound, Reply
from conversations.my_data import stored_about
from conversations.registration import REGISTRATION, describe, prefill
from storage.models import Stage
from storage.repositories import contacts
from training import applications, people, seats
from training.text import LANGUAGES


def _menu_options(ctx: Context) -> list[Option]:
    return [
        Option("/pelatihan", ctx.label("buttons/browse")),
        Option("/daftar", ctx.label("buttons/register")),
        Option("/status", ctx.label("buttons/status")),
        Option("/bantuan", ctx.label("buttons/help")),
    ]


async def menu(engine: Engine, ctx: Context, state: State, _: str | None) -> Reply:
    return Reply([ctx.say("common/menu", options=_menu_options(ctx))])


async def not_understood(engine: Engine, ctx: Context, state: State, _: str | None) -> Reply:
    """Free text outside any flow: a bot cannot answer a question, so say who can, with the menu's buttons."""
    return Reply([ctx.say("common/not_understood", options=_menu_options(ctx), **ctx.office())])


BROWSING = frozenset({"cluster", "programme", "card"})
"""The registration's first answers: choosing a programme is browsing, nothing personal is held yet."""


def busy(state: State) -> bool:
    """A flow is running with something worth keeping: not a registration still at its browsing steps,
    which /start, /daftar and /pelatihan simply begin again (nobody is "in the middle" of looking)."""
    if state.flow is None:
        return False
    return state.flow != REGISTRATION.name or not set(state.data.get("answers", {})) <= BROWSING


async def start(engine: Engine, ctx: Context, state: State, argument: str | None) -> Reply:
    if busy(state):
        return Reply([ctx.say("common/already_in_flow"), *await engine.resume(ctx, state)])
    answers = await prefill(ctx, argument, ctx.today())
    extra = {"source": argument[:64]} if argument else {}
    return Reply([welcome(ctx), *await _begin_registration(engine, ctx, state, answers, extra)])


NEWS_ACTION = "news"
"""The welcome's button: announcements for someone who has not registered (yet)."""


def welcome(ctx: Context) -> Outbound:
    """The welcome says what comes through the chat, and offers one tap for announcements to
    anyone not receiving them: pressing /start alone puts nobody on a list."""
    subscribed = ctx.contact.subscribed and ctx.contact.erased_at is None
    options = [] if subscribed else [Option(f"@{NEWS_ACTION}", ctx.label("buttons/subscribe"))]
    return ctx.say("common/welcome", options=options, subscribed=subscribed)


async def news_tap(engine: Engine, ctx: Context, state: State, _: str) -> Reply:
    """Subscribes from the welcome's button. The question sent below the welcome is still the one
    to answer, so it is not sent a second time."""
    await people.set_subscribed(ctx.session, ctx.contact, True)
    return Reply([ctx.say("common/subscribed")], chosen=ctx.label("buttons/subscribe"))


async def register(engine: Engine, ctx: Context, state: State, argument: str | None) -> Reply:
    if busy(state):
        return Reply([ctx.say("common/already_in_flow"), *await engine.resume(ctx, state)])
    answers = await prefill(ctx, argument, ctx.today())
    return Reply(await _begin_registration(engine, ctx, state, answers, {"source": argument[:64]} if argument else {}))


async def browse(engine: Engine, ctx: Context, state: State, _: str | None) -> Reply:
    """/pelatihan: clusters, programmes and their cards, for anyone: the registration's first steps,
    which ask for no consent and keep nothing personal. "Daftar" on a card goes on to register."""
    if busy(state):
        return Reply([ctx.say("common/already_in_flow"), *await engine.resume(ctx, state)])
    if not ctx.catalog.clusters_with_open_programmes(ctx.today()):
        return Reply([ctx.say("registration/none_open", options=[notify_option(ctx)])])
    return Reply(await engine.start_flow(ctx, state, REGISTRATION.name))


async def _begin_registration(
    engine: Engine, ctx: Context, state: State, answers: dict[str, Any], extra: dict[str, Any]
) -> list[Outbound]:
    if not ctx.catalog.clusters_with_open_programmes(ctx.today()):
        return [ctx.say("registration/none_open", options=[notify_option(ctx)])]
    offer = await withdrawal.offer_replacement(engine, ctx, state, answers, extra)
    if offer is not None:
        return offer
    return await engine.start_flow(ctx, state, REGISTRATION.name, answers=answers, extra=extra)


async def cancel(engine: Engine, ctx: Context, state: State, _: str | None) -> Reply:
    if state.flow is None:
        return Reply([ctx.say("common/nothing_to_cancel"), *(await menu(engine, ctx, state, None)).messages])
    return await engine.open_overlay(ctx, state, "cancel")


async def back(engine: Engine, ctx: Context, state: State, _: str | None) -> Reply:
    return await engine.go_back(ctx, state)


async def help_(engine: Engine, ctx: Context, state: State, _: str | None) -> Reply:
    step = await engine.current_step(ctx, state)
    key = f"help/{step.name if step else 'general'}"
    if step is not None and not ctx.services.templates.has(ctx.lang, key):
        key = "help/step"
    if step is None:
        return Reply([ctx.say(key), ctx.say("help/commands", options=_menu_options(ctx), **ctx.office())])
    return Reply([ctx.say(key), ctx.say("help/commands", **ctx.office()), *await engine.resume(ctx, state)])


async def status(engine: Engine, ctx: Context, state: State, _: str | None) -> Reply:
    mine = await applications.of_contact(ctx.session, ctx.contact)
    deadlines = await seats.open_deadlines(ctx.session, mine)
    missing = await documents.missing_of(ctx, mine)
    items = [
        {
            "number": a.number,
            "programme": describe(a.programme, ctx.lang, 0),
            "stage": ctx.label(f"stages/{a.stage}"),
            "reason": a.stage_reason,
            "created": a.created_at,
            "seat_deadline": deadlines[a.id].astimezone(ctx.services.timezone) if a.id in deadlines else None,
            "missing_documents": missing.get(a.id, []) if Stage(a.stage).is_active else [],
        }
        for a in mine
    ]
    options = (
        [*await documents.send_options(ctx, mine), *withdrawal.withdraw_options(ctx, mine)]
        if items
        else [Option("/daftar", ctx.label("buttons/register"))]
    )
    return Reply([ctx.say("common/status", options=options, applications=items), *await engine.resume(ctx, state)])


async def stop(engine: Engine, ctx: Context, state: State, _: str | None) -> Reply:
    await people.set_subscribed(ctx.session, ctx.contact, False)
    return Reply([ctx.say("common/unsubscribed"), *await engine.resume(ctx, state)])


async def resume_news(engine: Engine, ctx: Context, state: State, _: str | None) -> Reply:
    await people.set_subscribed(ctx.session, ctx.contact, True)
    return Reply([ctx.say("common/subscribed"), *await engine.resume(ctx, state)])


async def language(engine: Engine, ctx: Context, state: State, _: str | None) -> Reply:
    return await engine.open_overlay(ctx, state, "language")


async def my_data(engine: Engine, ctx: Context, state: State, _: str | None) -> Reply:
    mine = await applications.of_contact(ctx.session, ctx.contact)
    params = await stored_about(ctx, mine, state.data)
    return Reply([ctx.say("privacy/my_data", **params), *await engine.resume(ctx, state)])


async def erase(engine: Engine, ctx: Context, state: State, _: str | None) -> Reply:
    return await engine.open_overlay(ctx, state, "erase")


COMMANDS: dict[str, Command] = {
    "start": start,
    "daftar": register,
    "pelatihan": browse,
    "programmes": browse,
    "register": register,
    "batal": cancel,
    "cancel": cancel,
    "kembali": back,
    "back": back,
    "bantuan": help_,
    "help": help_,
    "status": status,
    "berhenti": stop,
    "stop": stop,
    "langganan": resume_news,
    "mulai": resume_news,  # the older name, still in earlier messages; menus show /start as "🏠 Mulai"
    "subscribe": resume_news,
    "bahasa": language,
    "language": language,
    "dataku": my_data,
    "mydata": my_data,
    "hapusdata": erase,
    "deletedata": erase,
    "menu": menu,
}
"""Indonesian names first; English aliases for residents who switched to English."""


# -- overlays ----------------------------------------------------------------------------------


def _yes_no(yes: str, no: str):  # type: ignore[no-untyped-def]
    return lambda ctx: [("y", ctx.label(yes)), ("n", ctx.label(no))]


async def _answer_cancel(engine: Engine, ctx: Context, state: State, value: str) -> Reply:
    if value == "y":
        state.clear()
        return Reply([ctx.say("common/cancelled", options=[Option("/daftar", ctx.label("buttons/register_again"))])])
    return Reply([ctx.say("common/continue"), *await engine.resume(ctx, state)])


async def _answer_language(engine: Engine, ctx: Context, state: State, value: str) -> Reply:
    await contacts.set_language(ctx.session, ctx.contact, value)
    resumed = await engine.resume(ctx, state)
    if not resumed:
        resumed = (await menu(engine, ctx, state, None)).messages
    return Reply([ctx.say("common/language_set"), *resumed])


async def _answer_erase(engine: Engine, ctx: Context, state: State, value: str) -> Reply:
    if value != "y":
        return Reply([ctx.say("privacy/erase_kept"), *await engine.resume(ctx, state)])
    count = await applications.erase_person(ctx.session, ctx.contact, ctx.now(), ctx.services.files)
    state.clear()
    return Reply([ctx.say("privacy/erased", options=[Option("/start", ctx.label("buttons/start"))], count=count)])


OVERLAYS = {
    **withdrawal.OVERLAYS,
    "cancel": Overlay(
        "cancel",
        prompt=lambda ctx: ctx.say("common/confirm_cancel"),
        options=_yes_no("buttons/yes_cancel", "buttons/no_continue"),
        answer=_answer_cancel,
    ),
    "language": Overlay(
        "language",
        prompt=lambda ctx: ctx.say("common/choose_language"),
        options=lambda ctx: [(lang, ctx.label(f"languages/{lang}")) for lang in LANGUAGES],
        answer=_answer_language,
    ),
    "erase": Overlay(
        "erase",
        prompt=lambda ctx: ctx.say("privacy/confirm_erase"),
        options=_yes_no("buttons/yes_erase", "buttons/no_keep"),
        answer=_answer_erase,
    ),
}


async def wrong_answer(engine: Engine, ctx: Context, state: State, _: str) -> Reply:
    """ "Saya salah jawab" under a turned-away message: the same question again, earlier answers kept."""
    reopened = await engine.reopen(ctx, state)
    if reopened is None:
        return Reply([ctx.say("common/stale_button"), *await engine.resume(ctx, state)], stale=True)
    return Reply(reopened)


ACTIONS: dict[str, Action] = {UNDO: wrong_answer, **withdrawal.ACTIONS, **documents.ACTIONS}


def build_engine() -> Engine:
    from conversations import broadcasting, interests, outcomes, reminders, selection, vacancies

    return Engine(
        {
            REGISTRATION.name: REGISTRATION,
            broadcasting.BROADCAST.name: broadcasting.BROADCAST,
            documents.SENDING.name: documents.SENDING,
            **outcomes.FLOWS,
        },
        {**COMMANDS, **reminders.COMMANDS, **vacancies.COMMANDS},
        OVERLAYS,
        menu,
        not_understood=not_understood,
        actions={
            NEWS_ACTION: news_tap,
            **ACTIONS,
            **reminders.ACTIONS,
            **vacancies.ACTIONS,
            **interests.ACTIONS,
            **selection.ACTIONS,
            **outcomes.ACTIONS,
        },
        staff_commands={
            **reminders.STAFF_COMMANDS,
            **vacancies.STAFF_COMMANDS,
            **broadcasting.STAFF_COMMANDS,
            **selection.STAFF_COMMANDS,
        },
    )
