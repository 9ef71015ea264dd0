"""A resident talking to the engine, and the database reads the flow tests make.

`Resident` drives `Conversations.handle` the way a chat platform would: it keeps the buttons of
the last message it got, presses them by label or by value, types text and commands, and keeps
the whole `Reply` (so a test can see `stale` and `chosen`). Pressing a button that the last
message did not show fails the test: a test can only do what a resident could do, except through
`send`, which sends any `Inbound` (an old keyboard, a double tap).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from markupsafe import Markup
from sqlalchemy import func, select

from conversations.io import Inbound, Option, Outbound, Reply
from conversations.runner import Conversations
from messages.render import Templates
from storage.db import Database
from storage.models import Application, Contact, Conversation, Programme, Screening
from storage.repositories import catalog
from training.catalog import OfficeContact
from training.eligibility import BUILT_IN_QUALIFYING

CHANNEL = "console"

OFFICE = "Dinas Perindustrian dan Tenaga Kerja Kota Pekalongan"
"""The demo catalog's office, and how residents reach a person there."""
OFFICE_CONTACT = OfficeContact(
    phone="(0285) 421234",
    whatsapp="0812-2600-4411",
    email="pelatihan.dinperinaker@pekalongankota.go.id",
    address="Jl. Sriwijaya No. 44, Kota Pekalongan",
    hours="Senin–Kamis 07.30–15.30, Jumat 07.30–11.00",
)

SITI_NIK = "3375015203950002"
"""Kota Pekalongan (33.75), a woman born 12 March 1995."""
SITI_BIRTH = date(1995, 3, 12)


def male_nik(serial: int, region: str = "3375") -> str:
    """A man from `region`, born 12 March 1995, with a distinct serial."""
    return f"{region}011203950{serial:03d}"


@dataclass(frozen=True)
class Person:
    full_name: str = "Siti Nur Aini"
    nik: str = SITI_NIK
    address: str = "Jl. Merdeka 5 RT 01"
    district: str = "33.75.01"
    phone: str = "081234567890"
    education: str = "sma"


SITI = Person()


class Resident:
    """One chat on the console channel."""

    def __init__(self, conversations: Conversations, chat_id: str = "siti", channel: str = CHANNEL) -> None:
        self.conversations = conversations
        self.chat_id = chat_id
        self.channel = channel
        self.reply = Reply()
        self.options: tuple[Option, ...] = ()

    # -- acting ------------------------------------------------------------------------------

    async def send(self, inbound: Inbound) -> Reply:
        reply = await self.conversations.handle(self.channel, self.chat_id, inbound)
        if reply.repeated:  # a double tap is answered with nothing: the chat still shows the last question
            assert not reply.messages, f"a double tap answered with {reply.messages!r}"
            return reply
        assert reply.messages, f"no answer to {inbound!r}"
        self.reply = reply
        self.options = reply.messages[-1].options
        return reply

    async def type(self, text: str) -> Reply:
        """Typed text; "/start X" becomes a command, as every handler reads it."""
        return await self.send(Inbound.parse_text(text))

    async def press(self, label: str) -> Reply:
        """Press the button of the last message whose label is `label` (or contains it, if only one does)."""
        return await self.send(Inbound(choice=self.option(label).data))

    async def choose(self, step: str, value: str) -> Reply:
        """Press the button that answers `step` with `value` (e.g. cluster BOGA), checking it is shown."""
        data = f"{step}|{value}"
        assert data in [o.data for o in self.options], f"{data} not among {self.buttons}"
        return await self.send(Inbound(choice=data))

    async def share_contact(self, phone: str) -> Reply:
        return await self.send(Inbound(contact_phone=phone))

    def option(self, label: str) -> Option:
        exact = [o for o in self.options if o.label == label]
        if exact:
            return exact[0]
        partial = [o for o in self.options if label.casefold() in o.label.casefold()]
        assert len(partial) == 1, f"no single button {label!r} among {self.buttons}"
        return partial[0]

    # -- what the resident sees --------------------------------------------------------------

    @property
    def messages(self) -> list[Outbound]:
        return self.reply.messages

    @property
    def text(self) -> str:
        """Every message of the last reply, as sent (Telegram HTML)."""
        return "\n\n".join(m.text for m in self.reply.messages)

    @property
    def last(self) -> Outbound:
        return self.reply.messages[-1]

    @property
    def buttons(self) -> list[str]:
        return [o.label for o in self.options]

    @property
    def step(self) -> str | None:
        """The step the last message asks, read from its buttons' data (None for a plain message)."""
        names = {o.data.partition("|")[0] for o in self.options}
        return names.pop() if len(names) == 1 else None

    # -- walking the flow --------------------------------------------------------------------

    async def start(self, argument: str | None = None) -> Reply:
        return await self.type("/start" + (f" {argument}" if argument else ""))

    async def consent(self) -> Reply:
        """Agree to the privacy notice, which comes after the programme's card ("Daftar")."""
        return await self.choose("consent", "y")

    async def apply(self, *, consent: bool = True) -> Reply:
        """ "Daftar" on the programme's card, then agree to the privacy notice if it is asked."""
        await self.choose("card", "apply")
        if consent and self.step == "consent":
            await self.consent()
        return self.reply

    async def pick(self, programme: str, cluster: str, *, reuse: bool = False) -> Reply:
        """Cluster, programme, "Daftar" on its card and consent (if asked); to a chat that
        registered before, "Isi baru" (or, with `reuse`, "Pakai data ini") when the earlier
        answers are offered."""
        await self.choose("cluster", cluster)
        await self.choose("programme", programme)
        await self.apply()
        if self.step == "reuse":
            await self.choose("reuse", "y" if reuse else "n")
        return self.reply

    async def answer_questions(self) -> Reply:
        """Answer every eligibility yes/no question (q_*) of the programme so as to qualify."""
        while self.step and self.step.startswith("q_"):
            await self.choose(self.step, qualifying(self.step))
        return self.reply

    async def give_details(self, person: Person = SITI) -> Reply:
        """From the education question to the summary."""
        await self.choose("education", person.education)
        await self.type(person.full_name)
        await self.type(person.nik)
        await self.choose("confirm_birth", "y")
        await self.type(person.address)
        await self.choose("district", person.district)
        return await self.type(person.phone)

    async def walk_to_summary(self, programme: str = "BOGA1", cluster: str = "BOGA", person: Person = SITI) -> Reply:
        """/daftar, programme, its card, consent (if asked), yes to every question, details: the summary."""
        await self.type("/daftar")
        await self.pick(programme, cluster)
        await self.answer_questions()
        await self.give_details(person)
        assert self.step == "summary", self.text
        return self.reply

    async def submit(self) -> Reply:
        return await self.choose("summary", "ok")


def qualifying(step: str) -> str:
    """The button that meets the rule of question `step` in the demo catalog: "n" to the built-in
    questions asked the other way round ("are you working or studying?"), else "y"."""
    return "y" if BUILT_IN_QUALIFYING.get(step.removeprefix("q_"), True) else "n"


def not_qualifying(step: str) -> str:
    return "n" if qualifying(step) == "y" else "y"


# -- the words ----------------------------------------------------------------------------------


class Words:
    """Indonesian (or English) sentences as the bot renders them, to compare with what was sent."""

    def __init__(self, templates: Templates, lang: str = "id") -> None:
        self.templates = templates
        self.lang = lang

    def __call__(self, key: str, **params: Any) -> str:
        return self.templates.render(self.lang, key, **params)

    @property
    def office(self) -> dict[str, Any]:
        """The parameters of the office's contact, as the demo catalog gives them."""
        return {"office": OFFICE, "contact": OFFICE_CONTACT}

    def not_eligible(self, reason_key: str, **params: Any) -> str:
        """The whole refusal message with the failed rule's reason inside it, and the office's contact."""
        reason = Markup(self.templates.render(self.lang, reason_key, **params))
        return self.templates.render(self.lang, "eligibility/not_eligible", reason=reason, **self.office)


# -- the database -------------------------------------------------------------------------------


async def all_applications(db: Database) -> list[Application]:
    async with db.transaction() as session:
        return list(await session.scalars(select(Application).order_by(Application.id)))


async def screenings(db: Database) -> list[Screening]:
    async with db.transaction() as session:
        return list(await session.scalars(select(Screening).order_by(Screening.id)))


async def contact_of(db: Database, chat_id: str) -> Contact:
    async with db.transaction() as session:
        contact = await session.scalar(select(Contact).where(Contact.channel == CHANNEL, Contact.chat_id == chat_id))
        assert contact is not None
        return contact


async def conversation_of(db: Database, chat_id: str) -> Conversation | None:
    async with db.transaction() as session:
        return await session.get(Conversation, (CHANNEL, chat_id))


async def programme_id(db: Database, code: str) -> int:
    async with db.transaction() as session:
        programme = await catalog.programme(session, code)
        assert programme is not None
        return programme.id


async def registered_count(db: Database, code: str) -> int:
    async with db.transaction() as session:
        programme = await catalog.programme(session, code)
        assert programme is not None
        return (await catalog.registered_counts(session, [programme.id])).get(programme.id, 0)


async def application_count(db: Database) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(select(func.count()).select_from(Application)) or 0)


async def last_number(db: Database, code: str) -> int:
    async with db.transaction() as session:
        return int(await session.scalar(select(Programme.last_number).where(Programme.code == code)) or 0)


def same_moment(stored: datetime | None, expected: datetime) -> bool:
    """Times are stored in UTC; SQLite hands them back without their offset, PostgreSQL with it."""
    if stored is None:
        return False
    if stored.tzinfo is None:
        stored = stored.replace(tzinfo=UTC)
    return stored == expected
