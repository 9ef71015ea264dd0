"""Submitting, listing and erasing applications: the domain's side of registration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.files import FileStore
from storage.models import Application, Contact, Programme, Stage
from storage.repositories import (
    applications,
    catalog,
    contacts,
    conversations,
    interests,
    outbox,
    whatsapp_chats,
)
from training import documents, eligibility, people
from training.errors import BlkbotError


class AlreadyRegistered(BlkbotError):
    """The NIK already holds an application that is still in the running."""

    def __init__(self, existing: Application) -> None:
        super().__init__(existing.number)
        self.existing = existing


class AppliedBefore(BlkbotError):
    """The NIK applied to this programme before: one application per NIK and programme, in any
    stage, so one withdrawn or turned down is not made again (the office can reopen it)."""

    def __init__(self, existing: Application) -> None:
        super().__init__(existing.number)
        self.existing = existing


class NotWithdrawable(BlkbotError):
    """The application is not this person's, or no longer in the running (withdrawn, decided, gone)."""


class RegistrationClosed(BlkbotError):
    """The programme's window closed (or it left the catalog) while the resident was answering."""


@dataclass(frozen=True)
class Submission:
    """Everything the resident gave, as the registration flow collected it."""

    programme: Programme
    nik: str
    full_name: str
    birth_date: date
    sex: str
    address: str
    district_code: str | None
    phone: str
    education: str
    answers: dict[str, Any] = field(default_factory=dict)
    flags: list[Any] = field(default_factory=list)
    source: str | None = None
    replaces: str | None = None
    """The number of the resident's own active application to withdraw for this one, in the same transaction."""


WITHDRAWN_BY_APPLICANT = "ditarik oleh pendaftar"
"""The stage reason staff read (export, stats, /status) when a resident withdrew their own application."""

WITHDRAWN_FLAG = "withdrawn_by_applicant"
"""Flag kind: when, and on which channel, the resident withdrew (the stage reason says who)."""

NIK_CLAIMED_ELSEWHERE = "nik_claimed_elsewhere"
"""Flag kind: another chat typed the NIK of this application (it may have been registered by a stranger)."""


@dataclass(frozen=True)
class Submitted:
    """What a submission stored: the id (the documents attach to it) and the number the resident is told."""

    id: int
    number: str


def registration_number(code: str, training_starts: date, sequence: int) -> str:
    """LAS1-2027-0001: the programme's code, its training year and a per-programme sequence."""
    return f"{code}-{training_starts.year}-{sequence:04d}"


async def active_for_nik(session: AsyncSession, nik: str) -> Application | None:
    """The NIK's application in the running. Asked by number first, since nearly always there is
    none, and then no application (with its programme) is loaded."""
    number = await applications.active_number_for_nik(session, nik)
    return None if number is None else await applications.by_number(session, number)


async def note_claimed_elsewhere(session: AsyncSession, application: Application, channel: str, when: datetime) -> None:
    """Flag, once, that another chat typed this application's NIK, so staff can check who is who.

    Only when and on which channel: the other chat's identity stays out of the application.
    """
    if any(isinstance(f, dict) and f.get("flag") == NIK_CLAIMED_ELSEWHERE for f in application.flags or []):
        return
    flag = {"flag": NIK_CLAIMED_ELSEWHERE, "at": when.isoformat(), "channel": channel}
    await applications.add_flag(session, application, flag)


PAST_PARTICIPANT = "past_participant"
"""Flag kind: the NIK is on the office's list of past participants, imported after the person registered."""


async def note_past_participants(session: AsyncSession, years: Mapping[str, int], when: datetime) -> int:
    """Flag, once each, the active applications whose NIK the office's list (NIK -> year) now holds and
    whose programme's `never_trained` rule would have turned the person away at registration. Staff
    decide; nobody is told. Returns how many applications were flagged."""
    flagged = 0
    for application in await applications.active_for_niks(session, list(years)):
        rules = eligibility.parse_rules(application.programme.rules)
        if eligibility.check_history(rules, years[application.nik]) is None:
            continue
        if any(isinstance(f, dict) and f.get("flag") == PAST_PARTICIPANT for f in application.flags or []):
            continue
        flag = {"flag": PAST_PARTICIPANT, "year": years[application.nik], "at": when.isoformat()}
        await applications.add_flag(session, application, flag)
        flagged += 1
    return flagged


@dataclass(frozen=True)
class NikStanding:
    """What a typed NIK already has: an application in the running (its number), and the year it
    trained with the office before, if the imported list has it."""

    active_number: str | None
    trained_in: int | None


async def nik_standing(session: AsyncSession, nik: str) -> NikStanding:
    return NikStanding(*await applications.nik_standing(session, nik))


async def submit(
    session: AsyncSession, contact: Contact, submission: Submission, now: datetime, today: date
) -> Submitted:
    """Store the application with the next number of its programme, in the caller's transaction.

    The checks are repeated here, inside the transaction, because the resident may have spent
    an hour on the summary: the window may have closed, or the same NIK registered elsewhere.
    """
    programme_id = submission.programme.id
    # Read afresh: the flow saw the catalog as it was when the resident started (see catalog_view).
    programme = await catalog.open_programme(session, programme_id, today)
    if programme is None:
        raise RegistrationClosed(submission.programme.code)
    code, training_starts = programme
    await applications.lock_person(session, submission.nik)
    earlier = await applications.of_programme_and_nik(session, programme_id, submission.nik)
    if earlier is not None and (not Stage(earlier.stage).is_active or earlier.number == submission.replaces):
        raise AppliedBefore(earlier)  # before a replaced application is withdrawn: nothing has changed
    if submission.replaces is not None:
        replaced = await applications.by_number(session, submission.replaces)
        if replaced is not None and await people.owns(session, contact, replaced) and Stage(replaced.stage).is_active:
            await withdraw(session, replaced, contact, now)
    existing = await active_for_nik(session, submission.nik)
    if existing is not None:
        raise AlreadyRegistered(existing)
    # No savepoint to fall back on: lock_person (PostgreSQL) and SQLite's one writer keep any other
    # submission of this NIK from landing between the check above and this insert, so a unique
    # violation here is a fault, and it rolls the whole turn back, the number with it.
    number = registration_number(code, training_starts, await applications.next_number(session, programme_id))
    application_id = await applications.insert_new(
        session,
        {
            "number": number,
            "programme_id": programme_id,
            "contact_id": contact.id,
            "stage": Stage.REGISTERED,
            "source": submission.source,
            "nik": submission.nik,
            "full_name": submission.full_name,
            "birth_date": submission.birth_date,
            "sex": submission.sex,
            "address": submission.address,
            "district_code": submission.district_code,
            "phone": submission.phone,
            "education": submission.education,
            "answers": submission.answers,
            "flags": submission.flags,
        },
    )
    # Eligible once sent, not when the last rule passed: a chat left before the summary is no demand.
    await applications.add_screening(
        session, programme_id, contact_id=contact.id, eligible=True, failed_rule=None, source=submission.source
    )
    await people.set_subscribed(session, contact, True)
    return Submitted(application_id, number)


async def active_of_contact(session: AsyncSession, contact: Contact) -> list[Application]:
    """The person's applications still in the running, from any of their chats (one per NIK; a parent
    may register a child)."""
    return await applications.active_of_person(session, contact)


async def latest_of_contact(session: AsyncSession, contact: Contact) -> Application | None:
    """The person's latest application in any stage, to offer its answers again; an erased one names
    no one and no longer belongs to the contact, so it is never offered."""
    mine = await applications.of_person(session, contact)
    return mine[-1] if mine else None


async def own(session: AsyncSession, contact: Contact, number: str) -> Application | None:
    """The person's application with this number; None for anyone else's (a button may be forged)."""
    application = await applications.by_number(session, number)
    return application if application is not None and await people.owns(session, contact, application) else None


async def withdraw(session: AsyncSession, application: Application, contact: Contact, when: datetime) -> None:
    """The resident takes their own application back: it leaves the running and frees its seat.

    Staff see who in the stage reason and when in a flag (export, stats, the application). Nobody on
    the waitlist is moved up here: filling the seat is the office's selection, not the resident's.
    """
    if not await people.owns(session, contact, application) or not Stage(application.stage).is_active:
        raise NotWithdrawable(application.number)
    await applications.set_stage(session, [application], Stage.WITHDRAWN, when, WITHDRAWN_BY_APPLICANT)
    await applications.add_flag(
        session, application, {"flag": WITHDRAWN_FLAG, "at": when.isoformat(), "channel": contact.channel}
    )


async def of_contact(session: AsyncSession, contact: Contact) -> list[Application]:
    """The person's applications, from any of their chats, oldest first."""
    return await applications.of_person(session, contact)


async def erase_person(session: AsyncSession, contact: Contact, when: datetime, files: FileStore) -> int:
    """Erase what blkbot holds about a person (UU 27/2022), in every chat of theirs: anonymise their
    applications, delete the documents they sent (files and rows), cancel and blank their outbox
    messages, forget consent, preferences, "Kabari saya" interests, their verified number and what
    their other chats were in the middle of. Returns how many applications were anonymised.

    Attendance answers stay: they point at the anonymised application, which names no one. The
    conversation state is the caller's to clear (the turn saves it). The office's own register of
    past participants is not the bot's to erase (the privacy notice says so).
    """
    chats = await people.contacts_of(session, contact)
    mine = await applications.for_contacts(session, [each.id for each in chats])
    for each in chats:
        await documents.erase_for(session, files, each, mine)  # before anonymising: drafts are found by contact
    for application in mine:
        await applications.anonymise(session, application, when)
    for each in chats:
        await outbox.erase_for(session, each.id)
        await interests.erase_for(session, each.id)
        await applications.forget_screenings(session, each.id)
        if each.channel == "whatsapp":
            await whatsapp_chats.forget_origin(session, each.chat_id)
        if each.id != contact.id:  # the caller clears the conversation it is in
            await conversations.forget(session, each.channel, each.chat_id)
        await contacts.erase(session, each, when)
    return len(mine)


async def record_turned_away(
    session: AsyncSession, programme: Programme, contact: Contact, *, failed_rule: str, source: str | None
) -> None:
    """Count a person a rule turned away (submitting an application counts them as eligible)."""
    await applications.add_screening(
        session, programme.id, contact_id=contact.id, eligible=False, failed_rule=failed_rule, source=source
    )
