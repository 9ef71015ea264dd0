"""The registration dialogue, step by step, as the resident meets it.

Order matters: the cluster, the programme and its card (what it asks of a resident) come first
and need no consent, so anyone may browse; "Daftar" on the card brings the privacy question, just
before the first answer that is personal data; then the questions that can turn a person away (the
programme's yes/no rules and schooling), and only then name, NIK, address and phone. The steps a
programme brings come from its catalog rules.
"""

from __future__ import annotations

import weakref
from datetime import date
from typing import Any

from conversations import documents
from conversations.context import Context
from conversations.engine import ACTION_PREFIX, UNDO
from conversations.interests import notify_option
from conversations.io import Option, Outbound
from conversations.steps import Choice, Finish, Flow, Phone, Step, Summary, Text, YesNo
from storage.models import Application, Programme, Stage
from storage.repositories import catalog, contacts
from training import applications, eligibility, people
from training import documents as document_rules
from training.applications import AlreadyRegistered, AppliedBefore, RegistrationClosed, Submission
from training.catalog import training_days
from training.education import Education
from training.eligibility import Declaration, Failure, KtpRegion, MaxAge, MinAge, MinEducation
from training.errors import InvalidAnswer
from training.nik import parse_nik
from training.text import local
from training.validators import normalise_shared_phone, parse_address, parse_full_name, parse_phone

EDITABLE = ("full_name", "nik", "address", "district", "phone", "education")

REPLACES = "replaces"
"""Where the flow keeps the number of the resident's own application that this one will replace."""


# -- what the steps read from the catalog -------------------------------------------------------


def chosen_programme(ctx: Context) -> Programme | None:
    code = ctx.answers.get("programme")
    return ctx.catalog.programme(code) if code is not None else None


def rules_of(programme: Programme | None) -> tuple[eligibility.Rule, ...]:
    return eligibility.parse_rules(programme.rules) if programme else ()


async def cluster_options(ctx: Context) -> list[tuple[str, str]]:
    clusters = ctx.catalog.clusters_with_open_programmes(ctx.today())
    return [(c.code, local(c.name, ctx.lang)) for c in clusters]


async def programme_options(ctx: Context) -> list[tuple[str, str]]:
    programmes = ctx.catalog.open_programmes(ctx.today(), ctx.answers.get("cluster"))
    return [(p.code, local(p.name, ctx.lang)) for p in programmes]


async def programme_params(ctx: Context) -> dict[str, Any]:
    cluster = ctx.catalog.cluster(ctx.answers.get("cluster", ""))
    programmes = ctx.catalog.open_programmes(ctx.today(), ctx.answers.get("cluster"))
    counts = await catalog.registered_counts(ctx.session, [p.id for p in programmes])
    return {
        "cluster": local(cluster.name, ctx.lang) if cluster else "",
        "programmes": [describe(p, ctx.lang, counts.get(p.id, 0)) for p in programmes],
    }


def describe(programme: Programme, lang: str, registered: int) -> dict[str, Any]:
    """What a resident needs to pick a programme: where, when, how many seats, how many applied."""
    return {
        "code": programme.code,
        "name": local(programme.name, lang),
        "description": local(programme.description, lang),
        "venue": programme.venue.name,
        "venue_address": programme.venue.address,
        "starts": programme.training_starts,
        "ends": programme.training_ends,
        "closes": programme.registration_closes,
        "quota": programme.quota,
        "registered": registered,
        "training_days": (days := training_days(programme.training_starts, programme.training_ends)),
        "weeks": days // 5 if days >= 10 and days % 5 == 0 else None,
    }


APPLY = "apply"
"""The card's "Daftar" button."""


async def card_params(ctx: Context) -> dict[str, Any]:
    programme = chosen_programme(ctx)
    assert programme is not None
    counts = await catalog.registered_counts(ctx.session, [programme.id])
    return {"programme": describe(programme, ctx.lang, counts.get(programme.id, 0)), **requirements(ctx, programme)}


def requirements(ctx: Context, programme: Programme) -> dict[str, Any]:
    """The programme's rules and documents in the card's words, read from the catalog, so that a
    resident sees what is asked before giving any personal data."""
    rules = rules_of(programme)
    regions = ctx.catalog.regions
    return {
        "min_age": next((r.years for r in rules if isinstance(r, MinAge)), None),
        "max_age": next((r.years for r in rules if isinstance(r, MaxAge)), None),
        "education": next(
            (ctx.label(f"education/{r.level.value}") for r in rules if isinstance(r, MinEducation)), None
        ),
        "regions": [regions.get(code, code) for r in rules if isinstance(r, KtpRegion) for code in r.regions],
        "declarations": [line for r in rules if isinstance(r, Declaration) and (line := declaration_line(ctx, r))],
        "documents": [ctx.label(f"documents/kinds/{kind.value}") for kind in document_rules.required(programme)],
    }


def declaration_line(ctx: Context, rule: Declaration) -> str | None:
    """A built-in declaration in the card's own words; a catalog's own, its reason (or question)."""
    if rule.key in eligibility.KNOWN_DECLARATIONS:
        # Turned round (`expect = false`), a built-in rule has no plain sentence: it is asked, not listed.
        return (
            ctx.render(f"registration/card_{rule.key}", disability_welcome=rule.disability_welcome)
            if rule.expect
            else None
        )
    text = rule.reason or rule.question
    return local(text, ctx.lang) if text else None


async def card_options(ctx: Context) -> list[tuple[str, str]]:
    return [(APPLY, ctx.label("buttons/apply"))]


async def check_apply(ctx: Context, _: str) -> Finish | None:
    """ "Daftar" from browsing (/pelatihan) with an application still running: one application at a
    time is said now, not after the NIK; /daftar then offers to keep it or replace it."""
    if ctx.data.get(REPLACES) is not None:
        return None
    active = await applications.active_of_contact(ctx.session, ctx.contact)
    if not active:
        return None
    message = already_registered(ctx, active[-1])
    replace = Option("/daftar", ctx.label("buttons/other_programme"))
    return Finish([Outbound(message.text, (replace, *message.options))])


async def card_applies(ctx: Context) -> bool:
    """The card comes between the programme and the consent. A conversation saved before the card
    existed (consent first, or a question already answered) goes on without it."""
    past = [name for name in ctx.data.get("history", []) if name not in ("cluster", "programme")]
    return not past or past[0] == "card"


# -- checks ------------------------------------------------------------------------------------


async def not_consented(ctx: Context) -> bool:
    return ctx.contact.consented_at is None


async def check_consent(ctx: Context, agreed: bool) -> Finish | None:
    if not agreed:
        return Finish(
            [ctx.say("registration/consent_declined", options=[Option("/pelatihan", ctx.label("buttons/browse"))])]
        )
    await contacts.give_consent(ctx.session, ctx.contact, ctx.now())
    return None


async def turned_away(ctx: Context, failure: Failure, *, undoable: bool = False) -> Finish:
    """Say which rule failed, kindly, and offer another programme or news of future openings; after
    an answer the resident gave (not one read from the NIK or the office's records), also a way back
    to that question, since a tap on the wrong button is easy on a small phone."""
    programme = chosen_programme(ctx)
    if programme is not None:
        await applications.record_turned_away(
            ctx.session, programme, ctx.contact, failed_rule=failure.rule, source=ctx.data.get("source")
        )
    regions = ctx.catalog.regions
    extra: dict[str, Any] = {"region_names": regions, "text": local(failure.text, ctx.lang)}
    if "level" in failure.params:
        extra["level_label"] = ctx.label(f"education/{failure.params['level']}")
    reason = ctx.fragment(failure.template, **failure.params, **extra)
    options = [
        *([Option(f"{ACTION_PREFIX}{UNDO}", ctx.label("buttons/wrong_answer"))] if undoable else []),
        Option("/daftar", ctx.label("buttons/other_programme")),
        notify_option(ctx, ctx.answers.get("cluster"), programme.code if programme else None),
    ]
    return Finish(
        [ctx.say("eligibility/not_eligible", options=options, reason=reason, **ctx.office())], undoable=undoable
    )


def question_step(index: int, rule: KtpRegion | Declaration) -> YesNo:
    name = eligibility.answer_key(rule)

    async def params(ctx: Context) -> dict[str, Any]:
        if isinstance(rule, KtpRegion):
            regions = ctx.catalog.regions
            return {"regions": [regions.get(code, code) for code in rule.regions]}
        return {"text": local(rule.question, ctx.lang), "disability_welcome": rule.disability_welcome}

    async def check(ctx: Context, answer: bool) -> Finish | None:
        failure = eligibility.check_declaration(rule, answer)
        return await turned_away(ctx, failure, undoable=True) if failure else None

    if isinstance(rule, KtpRegion):
        prompt = "eligibility/ktp_region_question"
    elif rule.key in eligibility.KNOWN_DECLARATIONS:
        prompt = f"eligibility/{rule.key}_question"
    else:
        prompt = "eligibility/declaration_question"
    return YesNo(name, prompt, params=params, check=check)


async def education_options(ctx: Context) -> list[tuple[str, str]]:
    return [(level.value, ctx.label(f"education/{level.value}")) for level in Education]


async def check_education(ctx: Context, level: str) -> Finish | None:
    failure = eligibility.check_education(rules_of(chosen_programme(ctx)), Education(level))
    return await turned_away(ctx, failure, undoable=True) if failure else None


def read_nik(ctx: Context, text: str) -> str:
    return parse_nik(text, today=ctx.today()).value


async def check_nik(ctx: Context, nik: str) -> Finish | None:
    standing = await applications.nik_standing(ctx.session, nik)
    if standing.active_number is not None and standing.active_number != ctx.data.get(REPLACES):
        existing = await applications.active_for_nik(ctx.session, nik)
        if existing is not None:
            return Finish([await nik_in_use(ctx, existing)])
    failure = eligibility.check_history(rules_of(chosen_programme(ctx)), standing.trained_in)
    return await turned_away(ctx, failure) if failure else None


def closed_meanwhile(ctx: Context) -> Outbound:
    return ctx.say("registration/closed_meanwhile", options=[Option("/daftar", ctx.label("buttons/other_programme"))])


async def nik_in_use(ctx: Context, existing: Application) -> Outbound:
    """One NIK, one application in the running. The chat that made it hears which one; any other
    chat hears nothing about it (a NIK is easily learnt) but is sent to the office, and staff see
    the attempt on the application, since a stranger may have registered someone else's NIK."""
    if await people.owns(ctx.session, ctx.contact, existing):
        return already_registered(ctx, existing)
    await applications.note_claimed_elsewhere(ctx.session, existing, ctx.contact.channel, ctx.now())
    return ctx.say("registration/nik_taken", office=ctx.catalog.office, contact=ctx.catalog.office_contact)


async def applied_before(ctx: Context, earlier: Application) -> Outbound:
    """The NIK applied to this programme before. Its own chat hears which application and its stage;
    any other chat only that the NIK is taken (a NIK is easily learnt)."""
    if not await people.owns(ctx.session, ctx.contact, earlier):
        return ctx.say("registration/nik_taken", office=ctx.catalog.office, contact=ctx.catalog.office_contact)
    return ctx.say(
        "registration/applied_before",
        number=earlier.number,
        programme=local(earlier.programme.name, ctx.lang),
        stage=ctx.label(f"stages/{earlier.stage}"),
        office=ctx.catalog.office,
        contact=ctx.catalog.office_contact,
    )


def already_registered(ctx: Context, existing: Application) -> Outbound:
    """Say which application the resident already has, and where to follow it."""
    return ctx.say(
        "registration/already_registered",
        options=[Option("/status", ctx.label("buttons/status"))],
        number=existing.number,
        programme=local(existing.programme.name, ctx.lang),
        stage=ctx.label(f"stages/{existing.stage}"),
    )


async def birth_params(ctx: Context) -> dict[str, Any]:
    nik = parse_nik(ctx.answers["nik"], today=ctx.today())
    return {"birth_date": nik.birth_date, "sex": ctx.label(f"sex/{nik.sex.value}")}


async def check_birth(ctx: Context, confirmed: bool) -> Finish | None:
    if not confirmed:
        # The NIK carries the birth date: a wrong date means a mistyped NIK, so ask for it again.
        ctx.answers.pop("nik", None)
        raise InvalidAnswer("registration/nik_recheck")
    programme = chosen_programme(ctx)
    assert programme is not None
    nik = parse_nik(ctx.answers["nik"], today=ctx.today())
    failure = eligibility.check_age(rules_of(programme), nik.birth_date, programme.training_starts)
    if failure:
        return await turned_away(ctx, failure)
    return None


async def district_options(ctx: Context) -> list[tuple[str, str]]:
    districts = ctx.catalog.districts()
    return [(d.code, d.name) for d in districts] + [("other", ctx.label("registration/district_other"))]


async def privacy_params(ctx: Context) -> dict[str, Any]:
    info = ctx.catalog.info
    return {"office": ctx.catalog.office, "city": info.city if info else ""}


async def summary_params(ctx: Context) -> dict[str, Any]:
    programme = chosen_programme(ctx)
    assert programme is not None
    nik = parse_nik(ctx.answers["nik"], today=ctx.today())
    district = ctx.answers.get("district")
    district_row = ctx.catalog.district(district) if district and district != "other" else None
    return {
        "programme": describe(programme, ctx.lang, 0),  # the summary shows no seat count: none is counted
        "full_name": ctx.answers["full_name"],
        "nik": nik.value,
        "birth_date": nik.birth_date,
        "sex": ctx.label(f"sex/{nik.sex.value}"),
        "address": ctx.answers["address"],
        "district": district_row.name if district_row else ctx.label("registration/district_other"),
        "phone": ctx.answers["phone"],
        "education": ctx.label(f"education/{ctx.answers['education']}"),
        "replaces": ctx.data.get(REPLACES),
        "documents": documents.in_summary(ctx, programme),
    }


# -- reusing the answers of an earlier application ----------------------------------------------

REUSED = ("full_name", "nik", "confirm_birth", "address", "district", "phone", "education")
"""The answers "Pakai data ini" fills from the person's latest application; the programme's own
questions are asked again, since another programme asks other things."""


EARLIER = "has_earlier"
"""Whether the person held a whole application when this registration began: looked up once per
registration, not at every turn (the step's condition is asked each time the flow looks for the next question)."""


async def has_earlier_application(ctx: Context) -> bool:
    """Offered only to a chat that consented and holds a whole application of its own (never another person's)."""
    if ctx.contact.consented_at is None:
        return False
    if EARLIER not in ctx.data:
        ctx.data[EARLIER] = bool(await held_answers(ctx))
    return bool(ctx.data[EARLIER])


async def held_answers(ctx: Context) -> dict[str, Any]:
    """The answers of the person's latest application, in the form the steps store them; {} when
    there is none, or when it lacks any of them (one entered by staff, say)."""
    earlier = await applications.latest_of_contact(ctx.session, ctx.contact)
    if earlier is None:
        return {}
    held = {
        "full_name": earlier.full_name,
        "nik": earlier.nik,
        "confirm_birth": True,
        "address": earlier.address,
        "district": earlier.district_code or "other",
        "phone": earlier.phone,
        "education": earlier.education,
    }
    return held if all(value is not None for value in held.values()) else {}


async def reuse_params(ctx: Context) -> dict[str, Any]:
    held = await held_answers(ctx)
    district = ctx.catalog.district(held["district"]) if held["district"] != "other" else None
    return {
        **held,
        "district": district.name if district else ctx.label("registration/district_other"),
        "education": ctx.label(f"education/{held['education']}"),
    }


async def check_reuse(ctx: Context, reuse: bool) -> Finish | None:
    """Using the earlier answers ("Pakai data ini") fills them and checks them as if typed: schooling, then the NIK (in use,
    past participant) and the age for this programme. "Isi baru" forgets what an earlier press filled."""
    for name in REUSED:
        ctx.answers.pop(name, None)
    if not reuse:
        return None
    held = await held_answers(ctx)
    if not held:
        return None  # gone meanwhile (erased): ask everything, as for anyone else
    ctx.answers.update(held)
    return (
        await check_education(ctx, held["education"])
        or await check_nik(ctx, held["nik"])
        or await check_birth(ctx, True)
    )


# -- the flow ----------------------------------------------------------------------------------


_STEPS: weakref.WeakKeyDictionary[Programme, list[Step]] = weakref.WeakKeyDictionary()
"""Each catalog row's steps, built once: the engine asks for them twice a turn, and building them
(the programme's rules parsed, a step for each) was a tenth of a turn. A reloaded catalog brings new
rows, and the old rows' steps go with them."""


async def steps(ctx: Context) -> list[Step]:
    programme = chosen_programme(ctx)
    if programme is None:
        return _steps_without_programme
    built = _STEPS.get(programme)
    if built is None:
        built = _STEPS[programme] = build_steps(programme)
    return built


def build_steps(programme: Programme | None) -> list[Step]:
    rules = rules_of(programme)
    return [
        Choice("cluster", "registration/ask_cluster", cluster_options, resets=("programme",)),
        Choice(
            "programme",
            "registration/ask_programme",
            programme_options,
            params=programme_params,
            resets=("card", "q_*", "education", "reuse"),
        ),
        Choice("card", "registration/card", card_options, params=card_params, check=check_apply, when=card_applies),
        YesNo(
            "consent",
            "registration/consent",
            params=privacy_params,
            check=check_consent,
            when=not_consented,
            yes="buttons/agree",
            no="buttons/disagree",
        ),
        YesNo(
            "reuse",
            "registration/reuse",
            params=reuse_params,
            check=check_reuse,
            when=has_earlier_application,
            yes="buttons/reuse",
            no="buttons/fill_new",
        ),
        *(question_step(i, rule) for i, rule in enumerate(eligibility.questions(rules))),
        Choice("education", "registration/ask_education", education_options, check=check_education, columns=2),
        Text("full_name", "registration/ask_name", lambda ctx, text: parse_full_name(text)),
        Text("nik", "registration/ask_nik", read_nik, check=check_nik, resets=("confirm_birth",)),
        YesNo(
            "confirm_birth",
            "registration/confirm_birth",
            params=birth_params,
            check=check_birth,
            yes="buttons/correct",
            no="buttons/wrong",
        ),
        Text("address", "registration/ask_address", lambda ctx, text: parse_address(text)),
        Choice("district", "registration/ask_district", district_options),
        Phone("phone", "registration/ask_phone", parse_phone, normalise_shared_phone),
        *documents.document_steps(document_rules.required(programme)),
        Summary("summary", "registration/summary", EDITABLE, params=summary_params),
    ]


_steps_without_programme = build_steps(None)


async def submit(ctx: Context) -> list[Outbound]:
    programme = chosen_programme(ctx)
    if programme is None:
        return [closed_meanwhile(ctx)]
    nik = parse_nik(ctx.answers["nik"], today=ctx.today())
    rules = rules_of(programme)
    flag = eligibility.region_flag(rules, nik.region)
    district = ctx.answers.get("district")
    submission = Submission(
        programme=programme,
        nik=nik.value,
        full_name=ctx.answers["full_name"],
        birth_date=nik.birth_date,
        sex=nik.sex.value,
        address=ctx.answers["address"],
        district_code=None if district in (None, "other") else district,
        phone=ctx.answers["phone"],
        education=ctx.answers["education"],
        answers=eligibility.declared(rules, ctx.answers),
        flags=[flag] if flag else [],
        source=ctx.data.get("source"),
        replaces=ctx.data.get(REPLACES),
    )
    try:
        application = await applications.submit(ctx.session, ctx.contact, submission, ctx.now(), ctx.today())
    except RegistrationClosed:
        return [closed_meanwhile(ctx)]
    except AlreadyRegistered as already:
        return [await nik_in_use(ctx, already.existing)]
    except AppliedBefore as before:
        return [await applied_before(ctx, before.existing)]
    await document_rules.attach(
        ctx.session, ctx.services.files, ctx.contact, application.id, documents.received_ids(ctx.answers)
    )
    return [
        *documents.later_note(ctx, programme),
        ctx.say(
            "registration/submitted",
            options=[Option("/status", ctx.label("buttons/status"))],
            number=application.number,
            programme=describe(programme, ctx.lang, 0),
            stage=ctx.label(f"stages/{Stage.REGISTERED.value}"),
        ),
    ]


REGISTRATION = Flow("registration", steps=steps, done=submit)


def deep_link_target(argument: str) -> str:
    """`/start LAS1__poster_podosugih`: the part before "__" names a programme or a cluster."""
    return argument.split("__", 1)[0].strip().upper()


async def prefill(ctx: Context, argument: str | None, today: date) -> dict[str, Any]:
    """Answers a deep link gives away: the cluster, and the programme if its window is open."""
    if not argument:
        return {}
    code = deep_link_target(argument)
    programme = ctx.catalog.programme(code)
    if programme is not None and programme.is_open(today):
        return {"cluster": programme.cluster_code, "programme": programme.code}
    open_clusters = {c for c, _ in await cluster_options(ctx)}
    if code in open_clusters:
        return {"cluster": code}
    return {}
