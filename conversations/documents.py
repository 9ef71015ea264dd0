"""Documents in the chat: one question per document a programme asks for (at the end of the
registration, and again from /status for those sent "Nanti saja"), each answered with a photo or
a file. The checks and the keeping are training.documents'; here is only the dialogue."""

from __future__ import annotations

from typing import Any

from conversations.context import Context
from conversations.engine import ACTION_PREFIX, Action, Engine, State
from conversations.io import Attachment, Option, Outbound, Reply
from conversations.steps import File, Flow, Step
from storage.models import Application, Programme, Stage
from training import applications, documents
from training.documents import DocumentKind, Incoming

PREFIX = "doc_"
"""Answers named doc_ktp, doc_kk ...: the flow's document steps."""

SEND_ACTION = "docs"
"""The /status button "Kirim dokumen yang kurang" ("@docs|NUMBER")."""

APPLICATION = "application"
"""Where the later flow keeps the number of the application its documents are for."""


def kind_name(ctx: Context, kind: DocumentKind | str) -> str:
    return ctx.label(f"documents/kinds/{DocumentKind(kind).value}")


def document_steps(kinds: list[DocumentKind]) -> list[Step]:
    """One File step per document, in the catalog's order."""
    return [_step(kind, index, len(kinds)) for index, kind in enumerate(kinds, start=1)]


def _step(kind: DocumentKind, index: int, count: int) -> File:
    async def receive(ctx: Context, attachment: Attachment | None) -> dict[str, Any]:
        incoming = None
        if attachment is not None:
            size = attachment.size if attachment.size is not None else len(attachment.content)
            incoming = Incoming(attachment.kind, attachment.mime_type, attachment.content, size)
        application = await _later_application(ctx)
        kept = await documents.receive(
            ctx.session, ctx.services.files, ctx.contact, kind, incoming, ctx.now(), application
        )
        return {"id": kept.id, "size": kept.size}

    async def params(ctx: Context) -> dict[str, Any]:
        return {"document": kind_name(ctx, kind), "index": index, "count": count, "limit_mb": documents.MAX_MB}

    return File(f"{PREFIX}{kind.value}", "documents/ask", receive, params=params, short="documents/ask_short")


async def _later_application(ctx: Context) -> Application | None:
    number = ctx.data.get(APPLICATION)
    return await applications.own(ctx.session, ctx.contact, number) if number else None


def received_ids(answers: dict[str, Any]) -> list[int]:
    """The documents a registration's answers hold (skipped ones hold None)."""
    return [value["id"] for key, value in answers.items() if key.startswith(PREFIX) and isinstance(value, dict)]


def in_summary(ctx: Context, programme: Programme | None) -> list[dict[str, Any]]:
    """Each document the programme asks for, and whether it came: for the registration's summary."""
    return [
        {"name": kind_name(ctx, kind), "received": bool(ctx.answers.get(f"{PREFIX}{kind.value}"))}
        for kind in documents.required(programme)
    ]


def later_note(ctx: Context, programme: Programme | None) -> list[Outbound]:
    """After submitting: which documents are still to come, and how to send them."""
    skipped = [kind_name(ctx, k) for k in documents.required(programme) if not ctx.answers.get(f"{PREFIX}{k.value}")]
    return [ctx.say("documents/send_later", documents=skipped)] if skipped else []


# -- sending a missing document later, from /status -----------------------------------------------


async def send_options(ctx: Context, mine: list[Application]) -> list[Option]:
    """A "Kirim dokumen yang kurang" button under /status for each application still lacking some."""
    lacking = await documents.missing_by_application(ctx.session, mine)
    return [
        Option(f"{ACTION_PREFIX}{SEND_ACTION}|{a.number}", ctx.label("buttons/send_documents", number=a.number))
        for a in mine
        if lacking.get(a.id) and Stage(a.stage).is_active
    ]


async def missing_of(ctx: Context, mine: list[Application]) -> dict[int, list[str]]:
    lacking = await documents.missing_by_application(ctx.session, mine)
    return {a_id: [kind_name(ctx, k) for k in kinds] for a_id, kinds in lacking.items()}


async def start_sending(engine: Engine, ctx: Context, state: State, number: str) -> Reply:
    """The /status button: ask for each missing document of that application."""
    if state.flow is not None:
        return Reply([ctx.say("common/already_in_flow"), *await engine.resume(ctx, state)])
    application = await applications.own(ctx.session, ctx.contact, number)
    if application is None or not Stage(application.stage).is_active:
        return Reply([ctx.say("common/stale_button")], stale=True)
    if not await documents.missing(ctx.session, application):
        return Reply([ctx.say("documents/nothing_missing", number=application.number)])
    return Reply(await engine.start_flow(ctx, state, SENDING.name, extra={APPLICATION: application.number}))


async def _sending_steps(ctx: Context) -> list[Step]:
    application = await _later_application(ctx)
    if application is None:
        return []
    missing = await documents.missing(ctx.session, application)
    kinds = documents.required(application.programme)
    return document_steps([k for k in kinds if f"{PREFIX}{k.value}" in ctx.answers or k in missing])


async def _sent(ctx: Context) -> list[Outbound]:
    application = await _later_application(ctx)
    if application is None:
        return [ctx.say("common/stale_button")]
    still = [kind_name(ctx, k) for k in await documents.missing(ctx.session, application)]
    return [
        ctx.say(
            "documents/sent",
            options=[Option("/status", ctx.label("buttons/status"))],
            number=application.number,
            missing=still,
        )
    ]


SENDING = Flow("documents", steps=_sending_steps, done=_sent)

ACTIONS: dict[str, Action] = {SEND_ACTION: start_sending}
