"""/lowongan: anyone browses the open job vacancies by cluster, without registering.

Browsing asks nothing and keeps nothing, and starts no flow: each answer ends with the question
of whatever flow is running, so a resident halfway through a registration can look at the jobs
and go on where they were. The buttons are actions ("@jobs|LAS" lists a cluster's vacancies,
"@job|12|LAS" shows one), which the engine answers whatever flow is running.
"""

from __future__ import annotations

from collections import Counter

from conversations.context import Context
from conversations.engine import Action, Command, Engine, StaffCommand, State
from conversations.io import Option, Outbound, Reply
from outreach.vacancies import cluster_names, describe
from storage.models import Vacancy
from storage.repositories import vacancies
from training.text import local
from training.validators import whole_number

ALL = "*"
"""The "every field" pseudo-cluster of the buttons."""

LABEL_LIMIT = 60
"""Longer button labels are cut: Telegram shows a long one on several lines, WhatsApp refuses it."""


async def browse(engine: Engine, ctx: Context, state: State, argument: str | None) -> Reply:
    """Lists the fields that have open vacancies (or, given one, "/lowongan LAS", its vacancies)."""
    if argument:
        code = argument.split()[0].upper()
        if code == ALL or code in await cluster_names(ctx.session):
            return Reply([*await _vacancies_of(ctx, code), *await engine.resume(ctx, state)])
    return Reply([*await _fields(ctx), *await engine.resume(ctx, state)])


async def show_field(engine: Engine, ctx: Context, state: State, payload: str) -> Reply:
    """A field's button: its open vacancies, one button each (an empty payload: the fields again)."""
    code = payload.strip().upper()
    if not code:
        return Reply([*await _fields(ctx), *await engine.resume(ctx, state)])
    return Reply(
        [*await _vacancies_of(ctx, code), *await engine.resume(ctx, state)],
        chosen=await _field_label(ctx, code),
    )


async def show_vacancy(engine: Engine, ctx: Context, state: State, payload: str) -> Reply:
    """A vacancy's button: all of it, with how to apply; a closed one is said to be gone."""
    number, _, code = payload.partition("|")
    vacancy_id = whole_number(number)
    vacancy = await vacancies.get(ctx.session, vacancy_id) if vacancy_id is not None else None
    if vacancy is None or vacancy.closed_at is not None or vacancy.deadline < ctx.today():
        return Reply([ctx.say("vacancies/gone"), *await _fields(ctx), *await engine.resume(ctx, state)])
    names = await cluster_names(ctx.session)
    back = (
        Option(f"@jobs|{code}", ctx.label("vacancies/button_back_to_list"))
        if code
        else Option("@jobs|", ctx.label("vacancies/button_fields"))
    )
    details = ctx.say("vacancies/details", options=[back], v=describe(vacancy, names, ctx.lang))
    return Reply([details, *await engine.resume(ctx, state)], chosen=_item_label(ctx, vacancy, None))


# -- the messages --------------------------------------------------------------------------------


async def _fields(ctx: Context) -> list[Outbound]:
    """Each field with open vacancies, with their number; a vacancy that lists no field suits
    every field, so it counts (and is listed) in each."""
    open_now = await vacancies.open_vacancies(ctx.session, ctx.today())
    if not open_now:
        options = [] if ctx.contact.subscribed else [Option("/langganan", ctx.label("vacancies/button_notify"))]
        return [ctx.say("vacancies/none_open", options=options, subscribed=ctx.contact.subscribed)]
    general = sum(1 for v in open_now if not v.clusters)
    per_field = Counter(code for v in open_now for code in v.clusters)
    names = await cluster_names(ctx.session)
    options = [
        Option(
            f"@jobs|{code}",
            ctx.label("vacancies/button_cluster", name=local(cluster.name, ctx.lang), count=per_field[code] + general),
        )
        for code, cluster in names.items()
        if per_field[code]
    ]
    options.append(Option(f"@jobs|{ALL}", ctx.label("vacancies/button_all", count=len(open_now))))
    return [ctx.say("vacancies/choose_cluster", options=options, total=len(open_now))]


async def _vacancies_of(ctx: Context, code: str) -> list[Outbound]:
    found = await vacancies.open_vacancies(ctx.session, ctx.today(), None if code == ALL else code)
    names = await cluster_names(ctx.session)
    if not found or (code != ALL and code not in names):
        cluster = names.get(code)
        gone = ctx.say("vacancies/none_in_cluster", cluster=local(cluster.name, ctx.lang) if cluster else code)
        return [gone, *await _fields(ctx)]
    options = [Option(f"@job|{v.id}|{code}", _item_label(ctx, v, n)) for n, v in enumerate(found, 1)]
    options.append(Option("@jobs|", ctx.label("vacancies/button_fields")))
    return [
        ctx.say(
            "vacancies/list",
            options=options,
            cluster=local(names[code].name, ctx.lang) if code != ALL else None,
            vacancies=[describe(v, names, ctx.lang) for v in found],
        )
    ]


async def _field_label(ctx: Context, code: str) -> str | None:
    if code == ALL:
        return None
    cluster = (await cluster_names(ctx.session)).get(code)
    return local(cluster.name, ctx.lang) if cluster else None


def _item_label(ctx: Context, vacancy: Vacancy, number: int | None) -> str:
    label = ctx.label("vacancies/button_item", number=number, position=vacancy.position, employer=vacancy.employer)
    return label if len(label) <= LABEL_LIMIT else label[: LABEL_LIMIT - 1].rstrip() + "…"


COMMANDS: dict[str, Command] = {"lowongan": browse, "jobs": browse}
STAFF_COMMANDS: dict[str, StaffCommand] = {}
"""Staff post and close vacancies with `blkbot vacancies ...`: a chat form needs a flow, and the
engine's flows are fixed in conversations.commands.build_engine (see the note in issue 4)."""
ACTIONS: dict[str, Action] = {"jobs": show_field, "job": show_vacancy}
