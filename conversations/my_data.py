"""/dataku: everything blkbot keeps about the person, in words (UU 27/2022 gives them the right to see it).

Applications with the eligibility answers (the question as it was asked and the answer), flags,
the staff's reason, attendance answers, the documents sent and those still missing; the office's
past-participant records of their NIK;
whether announcements reach them; the clusters they asked to hear about ("Kabari saya"); and
every answer of a registration in progress.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from conversations.context import Context
from conversations.registration import question_step
from messages.dates import format_date_short
from storage.models import Application, Document, Interest, Outcome, Programme
from storage.repositories import documents, events, interests, participants
from training import eligibility, outcomes, people
from training.documents import missing_by_application
from training.text import local

HIDDEN = frozenset({"consent", "confirm_birth"})
"""Answers shown elsewhere: consent has its own line, the birth date comes from the NIK."""


async def stored_about(ctx: Context, mine: list[Application], data: dict[str, Any]) -> dict[str, Any]:
    """The template's parameters for privacy/my_data."""
    answers: dict[str, Any] = data.get("answers", {})
    attendance = await events.attendance_of_applications(ctx.session, [a.id for a in mine])
    answered = await outcomes.answers_of(ctx.session, [a.id for a in mine])
    chats = await people.contact_ids(ctx.session, ctx.contact)
    niks = [a.nik for a in mine if a.nik] + ([answers["nik"]] if answers.get("nik") else [])
    sent = await documents.of_applications(ctx.session, [a.id for a in mine])
    missing = await missing_by_application(ctx.session, mine)
    return {
        "contact": ctx.contact,
        "language": ctx.label(f"languages/{ctx.contact.language}"),
        "applications": [
            {
                **await _application(ctx, a, attendance),
                **_outcomes(ctx, [o for o in answered if o.application_id == a.id]),
                "documents": [_document(ctx, d) for d in sent if d.application_id == a.id],
                "missing": [ctx.label(f"documents/kinds/{kind}") for kind in missing.get(a.id, [])],
            }
            for a in mine
        ],
        "past": [{"year": p.year, "name": p.name} for p in await participants.for_niks(ctx.session, niks)],
        "in_progress": await _in_progress(ctx, answers, data.get("source")),
        "draft_documents": [
            _document(ctx, d) for d in await documents.unattached_of_contact(ctx.session, ctx.contact.id)
        ],
        "interests": [_interest(ctx, i) for i in await interests.of_contacts(ctx.session, chats)],
    }


def _outcomes(ctx: Context, answered: list[Outcome]) -> dict[str, Any]:
    """The tracer study's answers in words: "Bekerja, di luar kota, bengkel motor"."""
    words = []
    for o in answered:
        parts = [ctx.label(f"outcomes/status/{o.status}")]
        parts += [ctx.label(f"outcomes/workplace/{o.workplace}")] if o.workplace else []
        parts += [p for p in (o.sector, o.business) if p]
        words.append({"months": o.months, "words": ", ".join(parts)})
    return {"outcomes": words}


def _document(ctx: Context, document: Document) -> str:
    """ "KTP (25 Nov 2026)": which paper, and when it came (the file itself is for staff to open)."""
    received = document.received_at.astimezone(ctx.services.timezone).date()
    return f"{ctx.label(f'documents/kinds/{document.kind}')} ({format_date_short(received, ctx.lang)})"


def _interest(ctx: Context, interest: Interest) -> str:
    """ "Tata Boga (Olahan Kue dan Roti)": the cluster and programme a "Kabari saya" remembers."""
    cluster = ctx.catalog.cluster(interest.cluster_code) if interest.cluster_code else None
    programme = ctx.catalog.programme(interest.programme_code) if interest.programme_code else None
    if cluster is None:
        return ctx.label("privacy/any_cluster")
    name = local(cluster.name, ctx.lang)
    return f"{name} ({local(programme.name, ctx.lang)})" if programme else name


async def _application(ctx: Context, a: Application, attendance: list[tuple[int, Any, bool]]) -> dict[str, Any]:
    district = ctx.catalog.district(a.district_code or "")
    return {
        "number": a.number,
        "programme": local(a.programme.name, ctx.lang),
        "stage": ctx.label(f"stages/{a.stage}"),
        "reason": a.stage_reason,
        "nik": a.nik,
        "full_name": a.full_name,
        "birth_date": a.birth_date,
        "sex": ctx.label(f"sex/{a.sex}") if a.sex else "",
        "address": a.address,
        "district": district.name if district else a.district_code,
        "phone": a.phone,
        "education": ctx.label(f"education/{a.education}") if a.education else "",
        "answers": await _declarations(ctx, a.programme, a.answers or {}, stored=True),
        "flags": [_flag(ctx, str(flag)) for flag in a.flags or []],
        "attendance": [
            {
                "event": ctx.label(f"reminders/kind/{event.kind}"),
                "when": event.starts_at.astimezone(ctx.services.timezone),
                "answer": ctx.label(f"reminders/answer_{'yes' if attending else 'no'}"),
            }
            for application_id, event, attending in attendance
            if application_id == a.id
        ],
        "source": a.source,
        "created": a.created_at,
    }


async def _declarations(
    ctx: Context, programme: Programme | None, answers: dict[str, Any], *, stored: bool
) -> list[dict[str, Any]]:
    """Each yes/no answer beside the question as the programme asks it (the key, for a rule since removed).

    An application stores what each rule names (see eligibility.declared); a registration in progress
    holds the answers as given."""
    asked: dict[str, Markup] = {}
    rules = eligibility.parse_rules(programme.rules) if programme else ()
    for index, rule in enumerate(eligibility.questions(rules)):
        step = question_step(index, rule)
        params = await step.params(ctx) if step.params else {}
        asked[step.name] = ctx.fragment(step.prompt, **params)
    as_asked = {**answers, **eligibility.as_asked(rules, answers)} if stored else answers
    return [
        {"question": asked.get(key, key), "answer": _yes_no(ctx, value)}
        for key, value in as_asked.items()
        if key.startswith("q_")
    ]


def _yes_no(ctx: Context, value: Any) -> str:
    if isinstance(value, bool):
        return ctx.label("buttons/yes" if value else "buttons/no")
    return str(value)


def _flag(ctx: Context, flag: str) -> str:
    key = f"privacy/flags/{flag}"
    return ctx.label(key) if ctx.services.templates.has(ctx.lang, key) else flag


async def _in_progress(ctx: Context, answers: dict[str, Any], source: str | None) -> list[dict[str, Any]]:
    """Every answer the conversation holds, each with its field's name and the value in words."""
    programme = ctx.catalog.programme(answers["programme"]) if answers.get("programme") else None
    shown: list[dict[str, Any]] = []
    for key, value in answers.items():
        if key in HIDDEN or key.startswith("q_"):
            continue
        shown.append({"field": _field(ctx, key), "value": _answer_in_words(ctx, key, value)})
    for declaration in await _declarations(ctx, programme, answers, stored=False):
        shown.append({"field": declaration["question"], "value": declaration["answer"]})
    if source:
        shown.append({"field": ctx.label("privacy/source"), "value": source})
    return shown


def _field(ctx: Context, key: str) -> str:
    """The field's name as the summary's "Ubah nama" buttons use it, capitalised to start a line."""
    name = ctx.label(f"fields/{key}") if ctx.services.templates.has(ctx.lang, f"fields/{key}") else key
    return name[:1].upper() + name[1:]


def _answer_in_words(ctx: Context, key: str, value: Any) -> str:
    match key:
        case "cluster":
            cluster = ctx.catalog.cluster(value)
            return local(cluster.name, ctx.lang) if cluster else str(value)
        case "programme":
            programme = ctx.catalog.programme(value)
            return f"{value} – {local(programme.name, ctx.lang)}" if programme else str(value)
        case "education":
            return ctx.label(f"education/{value}")
        case "district":
            district = ctx.catalog.district(value)
            return district.name if district else ctx.label("registration/district_other")
    return str(value)
