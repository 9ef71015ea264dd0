"""What blkbot keeps: the catalog, contacts, conversation state, applications and past participants.

Catalog rows mirror the staff's TOML file; everything personal hangs off `Contact` and
`Application` so that erasing a person (UU 27/2022) is a few well-known columns.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from storage.types import UtcDateTime


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UtcDateTime()}


class Stage(StrEnum):
    """Where an application is in the selection funnel (DOMAIN.md)."""

    REGISTERED = "registered"
    ADMIN_PASSED = "admin_passed"
    ADMIN_FAILED = "admin_failed"
    SELECTED = "selected"
    WAITLISTED = "waitlisted"
    NOT_SELECTED = "not_selected"
    IN_TRAINING = "in_training"
    COMPETENT = "competent"
    NOT_YET_COMPETENT = "not_yet_competent"
    WITHDRAWN = "withdrawn"

    @property
    def is_active(self) -> bool:
        """Still in the running: holds a seat and blocks a second registration with the same NIK."""
        return self in ACTIVE_STAGES


ACTIVE_STAGES = frozenset({Stage.REGISTERED, Stage.ADMIN_PASSED, Stage.SELECTED, Stage.WAITLISTED, Stage.IN_TRAINING})


class CatalogInfo(Base):
    """The one row that says which city the catalog is for and when it was loaded."""

    __tablename__ = "catalog_info"
    id: Mapped[int] = mapped_column(primary_key=True)
    city: Mapped[str] = mapped_column(String(120))
    region: Mapped[str] = mapped_column(String(8))
    office: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(500))
    office_phone: Mapped[str | None] = mapped_column(String(40))
    office_whatsapp: Mapped[str | None] = mapped_column(String(40))
    office_email: Mapped[str | None] = mapped_column(String(200))
    office_address: Mapped[str | None] = mapped_column(String(200))
    office_hours: Mapped[str | None] = mapped_column(String(200))
    loaded_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Region(Base):
    __tablename__ = "regions"
    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))


class District(Base):
    __tablename__ = "districts"
    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Cluster(Base):
    __tablename__ = "clusters"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[dict[str, Any]]
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Venue(Base):
    __tablename__ = "venues"
    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300))


class Programme(Base):
    __tablename__ = "programmes"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)
    cluster_code: Mapped[str] = mapped_column(ForeignKey("clusters.code"))
    venue_code: Mapped[str] = mapped_column(ForeignKey("venues.code"))
    name: Mapped[dict[str, Any]]
    description: Mapped[dict[str, Any] | None]
    funding: Mapped[str] = mapped_column(String(16))
    wave: Mapped[int] = mapped_column(Integer)
    registration_opens: Mapped[date] = mapped_column(Date)
    registration_closes: Mapped[date] = mapped_column(Date)
    training_starts: Mapped[date] = mapped_column(Date)
    training_ends: Mapped[date] = mapped_column(Date)
    quota: Mapped[int] = mapped_column(Integer)
    rules: Mapped[list[Any]]
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)
    """The last registration number handed out; bumped inside the submitting transaction, so no gaps."""
    score_weights: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """Selection score components and their weights ({"written_test": 60, "interview": 40}); None: any
    component staff import, weighted equally."""
    seat_deadline_hours: Mapped[int | None] = mapped_column(Integer)
    """How long a selected applicant has to confirm their seat; None: training.selection's default."""
    absence_limit: Mapped[int | None] = mapped_column(Integer)
    """Training days a participant may miss before staff are warned; None: training.attendance's default."""
    documents: Mapped[list[Any] | None] = mapped_column(JSON)
    """Kinds of document an applicant sends ("ktp", "kk", "ijazah", "pas_foto"); None or []: none."""

    cluster: Mapped[Cluster] = relationship(lazy="joined")
    venue: Mapped[Venue] = relationship(lazy="joined")

    def is_open(self, today: date) -> bool:
        """Taking registrations on `today` (the office's date): in the catalog and inside its window."""
        return self.active and self.registration_opens <= today <= self.registration_closes


class Contact(Base):
    """A person on one channel: language, consent and whether they want announcements. One person on
    two channels has two contacts, linked by `verified_phone`."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("channel", "chat_id"), Index("ix_contacts_verified_phone", "verified_phone"))
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(5), default="id")
    consented_at: Mapped[datetime | None]
    subscribed: Mapped[bool] = mapped_column(Boolean, default=False)
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    erased_at: Mapped[datetime | None]
    """Set by /hapusdata: nothing queued for them goes out. Cleared when they consent again (to
    register afresh) or ask for announcements again with /langganan."""
    verified_phone: Mapped[str | None] = mapped_column(String(20))
    """The person's own number as the platform vouches for it (E.164): WhatsApp's wa_id, or a Telegram
    contact shared by its owner. Contacts with the same one are one person (training.people); a typed
    number never sets it. Forgotten on erasure."""
    last_seen_at: Mapped[datetime | None]
    """Their last turn in this chat: a linked person's pushes go to the chat they used last."""


class Interest(Base):
    """ "Kabari saya": a person asked to hear when a programme of a cluster opens (any cluster when
    `cluster_code` is None). Forgotten once they are told, and on erasure."""

    __tablename__ = "interests"
    __table_args__ = (Index("ix_interests_contact", "contact_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    cluster_code: Mapped[str | None] = mapped_column(String(16))
    programme_code: Mapped[str | None] = mapped_column(String(12))
    """The programme they were looking at (turned away from, say), shown back to them in /dataku."""
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Conversation(Base):
    """Where one chat is in its dialogue; `version` refuses a second worker's stale write."""

    __tablename__ = "conversations"
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    flow: Mapped[str | None] = mapped_column(String(32))
    step: Mapped[str | None] = mapped_column(String(48))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_press: Mapped[str | None] = mapped_column(String(64))
    """The button pressed in the last turn, if it was a press: a second one just like it is a double tap."""
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class Application(Base):
    """One registration for one programme. Personal columns are emptied on erasure; the row stays
    (anonymised) so the office's counts stay true."""

    __tablename__ = "applications"
    __table_args__ = (
        UniqueConstraint("programme_id", "nik"),
        Index("ix_applications_nik", "nik"),
        Index("ix_applications_contact", "contact_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(24), unique=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    stage: Mapped[str] = mapped_column(String(24), default=Stage.REGISTERED)
    stage_reason: Mapped[str | None] = mapped_column(String(300))
    source: Mapped[str | None] = mapped_column(String(64))
    nik: Mapped[str | None] = mapped_column(String(16))
    full_name: Mapped[str | None] = mapped_column(String(100))
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(1))
    address: Mapped[str | None] = mapped_column(String(200))
    district_code: Mapped[str | None] = mapped_column(String(12))
    phone: Mapped[str | None] = mapped_column(String(20))
    education: Mapped[str | None] = mapped_column(String(16))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    flags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    stage_changed_at: Mapped[datetime] = mapped_column(server_default=func.now())
    anonymised_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    """When the participant completed the training (`blkbot training complete`): a fact beside the
    stage, which the competency test decides afterwards; the tracer study counts its months from it."""

    programme: Mapped[Programme] = relationship(lazy="joined")


class Document(Base):
    """A file a resident sent for an application (a KTP photo, a diploma as PDF). The file lives in
    the file store under `key`; a document sent during registration has no application until the
    registration is submitted (it belongs to the contact meanwhile, so /hapusdata finds it)."""

    __tablename__ = "documents"
    __table_args__ = (
        Index("ix_documents_application", "application_id"),
        Index("ix_documents_contact", "contact_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(200), unique=True)
    mime_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime]


class Screening(Base):
    """The outcome of one eligibility check, kept without personal data for the office's figures:
    how many qualified (an application sent), and which rule turned the others away.

    `contact_id` lets the figures count a person once per programme, by their latest outcome, however
    often they tried. It is the bot's own row number, no personal data; when the person erases their
    data only their latest screening per programme is kept, without it, so the figures stay the same."""

    __tablename__ = "screenings"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"))
    contact_id: Mapped[int | None] = mapped_column(Integer)
    eligible: Mapped[bool] = mapped_column(Boolean)
    failed_rule: Mapped[str | None] = mapped_column(String(48))
    source: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class PastParticipant(Base):
    """Someone the office trained before (imported from CSV); fails a `never_trained` rule."""

    __tablename__ = "past_participants"
    nik: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    year: Mapped[int] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)


PUSH_CHANNELS = ("telegram", "whatsapp", "console")
"""Channels a message can be pushed to."""
SHOWN_ON_READ = ("console",)
"""Channels that show their pushed messages themselves, when the person next reads (the terminal,
which has nowhere to send to): the delivery loop leaves their rows to them."""


class Origin(StrEnum):
    """Why a message was pushed: each kind has its own dedupe keys and its own share of the budget."""

    REMINDER = "reminder"
    EVENT = "event"  # an invitation to an event, its move or its cancellation
    OPENING = "opening"  # a programme opened in a cluster someone asked to hear about
    RESULT = "result"
    VACANCY = "vacancy"
    BROADCAST = "broadcast"
    TRACER = "tracer"  # the tracer study's question to a graduate, and its reminder


class MessageKind(StrEnum):
    """Who may receive a pushed message: /berhenti stops announcements, never news of one's own application."""

    APPLICATION = "application"  # results, reminders, event changes, broadcasts to a programme or stage
    ANNOUNCEMENT = "announcement"  # broadcasts to all, a cluster, a district, graduates; vacancies


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # waiting for its next attempt
    SENDING = "sending"  # claimed by a worker until `claimed_until`
    SENT = "sent"
    FAILED = "failed"  # gave up after retries; `last_error` says why
    UNREACHABLE = "unreachable"  # the person blocked the bot (403): never retried
    CANCELLED = "cancelled"
    NEEDS_TEMPLATE = "needs_template"  # WhatsApp: outside the 24-hour window, no template set for its kind


class OutboxMessage(Base):
    """One pushed message on its way to one person.

    Written in the same transaction as what caused it (a stage change, a broadcast), so nothing
    is pushed that was not decided, and nothing decided is lost; `dedupe_key` makes enqueueing
    idempotent. Workers claim rows with a lease, so a crash only delays them.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("dedupe_key"),
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_broadcast", "broadcast_id", "status"),
        Index("ix_outbox_platform_message", "platform_message_id"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"))
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    origin: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(16), default=MessageKind.APPLICATION)
    """A MessageKind: checked again when the row is claimed, since the person may have sent /berhenti since."""
    dedupe_key: Mapped[str] = mapped_column(String(160))
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """Rows of buttons: [[{"label": "...", "data": "..."} or {"label": "...", "url": "..."}]]."""
    priority: Mapped[int] = mapped_column(Integer, default=5)
    """Lower goes first: results and reminders before broadcasts."""
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=func.now())
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(300))
    broadcast_id: Mapped[int | None] = mapped_column(ForeignKey("broadcasts.id"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    sent_at: Mapped[datetime | None]
    platform_message_id: Mapped[str | None] = mapped_column(String(128))
    """The platform's id of what was sent (WhatsApp's wamid), which its status callbacks quote."""
    template: Mapped[str | None] = mapped_column(String(512))
    """The WhatsApp template it went as (outside the 24-hour window); NULL when sent free-form."""
    receipt: Mapped[str | None] = mapped_column(String(16))
    """The platform's last word on it: sent, delivered, read or failed (WhatsApp status callbacks)."""
    receipt_at: Mapped[datetime | None]


class Broadcast(Base):
    """An announcement staff sent to a segment; its messages are outbox rows pointing here."""

    __tablename__ = "broadcasts"
    id: Mapped[int] = mapped_column(primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    segment: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_by: Mapped[str] = mapped_column(String(64))
    recipients: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class EventKind(StrEnum):
    WRITTEN_TEST = "written_test"
    INTERVIEW = "interview"
    TRAINING_START = "training_start"
    TRAINING_DAY = "training_day"
    COMPETENCY_TEST = "competency_test"
    OTHER = "other"


class Event(Base):
    """A dated moment of a programme that applicants in the right stages are reminded of."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_starts", "starts_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"))
    kind: Mapped[str] = mapped_column(String(24))
    starts_at: Mapped[datetime]
    place: Mapped[str] = mapped_column(String(300))
    bring: Mapped[str | None] = mapped_column(String(500))
    """What to bring (KTP, ijazah, pas foto ...), shown in the reminder."""
    note: Mapped[str | None] = mapped_column(Text)
    stages: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """Application stages whose applicants are reminded, e.g. ["admin_passed"] for a written test."""
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    cancelled_at: Mapped[datetime | None]
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Bumped when staff move or change the event: reminders of an earlier revision told another
    time or place, so each revision has its own reminders' dedupe keys."""

    programme: Mapped[Programme] = relationship(lazy="joined")


class Attendance(Base):
    """An applicant's answer to "Hadir / Tidak bisa hadir" for one event."""

    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("event_id", "application_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    attending: Mapped[bool] = mapped_column(Boolean)
    answered_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Vacancy(Base):
    """A job offer staff pass on to trainees and graduates of the clusters it suits."""

    __tablename__ = "vacancies"
    id: Mapped[int] = mapped_column(primary_key=True)
    employer: Mapped[str] = mapped_column(String(200))
    position: Mapped[str] = mapped_column(String(200))
    location: Mapped[str] = mapped_column(String(200))
    abroad: Mapped[bool] = mapped_column(Boolean, default=False)
    clusters: Mapped[list[Any]] = mapped_column(JSON, default=list)
    deadline: Mapped[date] = mapped_column(Date)
    how_to_apply: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    closed_at: Mapped[datetime | None]


class StaffRole(StrEnum):
    """What a role may do is the table in training/permissions.py."""

    ADMIN = "admin"
    OPERATOR = "operator"
    VENUE = "venue"
    """An operator of one venue's programmes (StaffMember.venue)."""


class StaffMember(Base):
    """A platform account allowed to use staff commands (besides those listed in settings)."""

    __tablename__ = "staff"
    __table_args__ = (UniqueConstraint("channel", "user_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16), default=StaffRole.OPERATOR)
    venue: Mapped[str | None] = mapped_column(String(16))
    """The venue code a venue staff member is limited to; None for admins and operators. No foreign key:
    a catalog reload may drop a venue, and the account then covers nothing rather than blocking the load."""
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class InboundStatus(StrEnum):
    RECEIVED = "received"  # stored before the webhook was answered; the turn is still to take
    ANSWERED = "answered"  # the turn is taken and its reply stored; sending it is still to do
    DONE = "done"  # answered and sent: the texts are emptied, the id stays to refuse a redelivery
    FAILED = "failed"


class InboundMessage(Base):
    """A message a platform delivered by webhook, kept from before the webhook is acknowledged
    until its reply is sent: a webhook answered 200 is never delivered again, so what is not
    written here first could be lost. The platform's message id refuses a redelivery."""

    __tablename__ = "inbound"
    __table_args__ = (
        UniqueConstraint("channel", "message_id"),
        Index("ix_inbound_open", "channel", "status", "chat_id"),
    )
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str] = mapped_column(String(128))
    chat_id: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime]
    """When the person sent it (the platform's time), which orders a chat's messages."""
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """What the person sent (text, pressed button, file id); emptied once answered."""
    reply: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """The rendered reply still to send; emptied once sent."""
    status: Mapped[str] = mapped_column(String(16), default=InboundStatus.RECEIVED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(300))
    received_at: Mapped[datetime] = mapped_column(server_default=func.now())


class WhatsAppChat(Base):
    """A person's WhatsApp state: since when and how they opted in, and their last message,
    from which the 24-hour window for free-form messages runs."""

    __tablename__ = "whatsapp_chats"
    wa_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    opted_in_at: Mapped[datetime]
    opted_in_via: Mapped[str] = mapped_column(String(80))
    """first_message, click_to_chat:<code>, or the referral an ad or poster link carried."""
    last_message_at: Mapped[datetime]
    menu: Mapped[list[Any]] = mapped_column(JSON, default=list)
    """The option ids of the last numbered menu sent, so a typed "3" reads as the third."""


class EarlyStatus(Base):
    """A status callback (sent, delivered, read, failed) for a platform message id no outbox row
    holds yet: Meta can report on a message before the sender has written down the id it got back.
    Applied and deleted once the id is written; a reply's statuses (no outbox row ever) age out."""

    __tablename__ = "early_statuses"
    __table_args__ = (Index("ix_early_statuses_message", "channel", "platform_message_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    platform_message_id: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    error_code: Mapped[int | None] = mapped_column(Integer)
    error_title: Mapped[str | None] = mapped_column(String(200))
    received_at: Mapped[datetime]


class DecisionKind(StrEnum):
    """What a selection decision was about; `SelectionDecision.outcome` says how it went."""

    ADMIN_CHECK = "admin_check"  # passed / failed, with a reason code
    SCORE = "score"  # a component's score set (outcome "written_test=78.5")
    RANKED = "ranked"  # selected / waitlisted / not_selected by a selection run
    SEAT = "seat"  # offered / confirmed / declined / expired
    PROMOTED = "promoted"  # from the waitlist into a freed seat
    WAITLIST_CLOSED = "waitlist_closed"  # training started: the waitlisted are not selected


class SelectionDecision(Base):
    """One decision about one application: who, when, what and why, kept for the applicant's record
    (`blkbot selection show`). The note may quote the person, so erasure empties it."""

    __tablename__ = "selection_decisions"
    __table_args__ = (Index("ix_selection_decisions_application", "application_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    kind: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(32))
    """A reason code (training.selection.Reason) for an administrative failure."""
    note: Mapped[str | None] = mapped_column(String(300))
    actor: Mapped[str] = mapped_column(String(100))
    """"telegram:42", "cli:rina", "applicant" (a seat answer) or "system" (a missed deadline)."""
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Score(Base):
    """An applicant's score in one selection component (written test, interview ...), 0 to 100."""

    __tablename__ = "scores"
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), primary_key=True)
    component: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class SeatAnswer(StrEnum):
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    EXPIRED = "expired"


class SeatOffer(Base):
    """A seat offered to a selected applicant, open until they answer or the deadline passes."""

    __tablename__ = "seat_offers"
    __table_args__ = (Index("ix_seat_offers_open", "answer", "deadline"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    offered_at: Mapped[datetime]
    deadline: Mapped[datetime]
    answer: Mapped[str | None] = mapped_column(String(16))
    """A SeatAnswer, or None while open."""
    answered_at: Mapped[datetime | None]

    application: Mapped[Application] = relationship(lazy="joined")


class StaffActionKind(StrEnum):
    BROADCAST_SENT = "broadcast_sent"
    EVENT_ADDED = "event_added"
    EVENT_CHANGED = "event_changed"
    EVENT_CANCELLED = "event_cancelled"
    STAFF_ADDED = "staff_added"
    STAFF_REMOVED = "staff_removed"
    ATTENDANCE_MARKED = "attendance_marked"
    TRAINING_DROPPED = "training_dropped"
    TRAINING_COMPLETED = "training_completed"
    CERTIFICATION_IMPORTED = "certification_imported"
    WAITLIST_CLOSED = "waitlist_closed"


class StaffAction(Base):
    """Who did what and when: one row per staff action, naming its target without personal data."""

    __tablename__ = "staff_actions"
    __table_args__ = (Index("ix_staff_actions_at", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    actor: Mapped[str] = mapped_column(String(100))
    """The account that acted, "telegram:42" or "cli:rina"."""
    role: Mapped[str] = mapped_column(String(16))
    """The role it acted with, since roles change."""
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(300))
    """"broadcast 12 to programme=LAS1, 40 recipients", "telegram:777 as operator"."""
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class BudgetMember(Base):
    """A process sending on the bot's behalf, heartbeating so the others know how many share the
    platform's rate (outreach.budget_shares). A row whose heartbeat stopped is a dead process. A process
    sending on two platforms is two members, one per channel, under two names."""

    __tablename__ = "budget_members"
    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), server_default="telegram")
    """Whose rate it shares: the Telegram bot's or the WhatsApp number's (each platform limits its own)."""
    role: Mapped[str] = mapped_column(String(16))
    answers: Mapped[bool] = mapped_column(Boolean)
    """It serves conversations, so it keeps the replies' part of the rate."""
    joined_at: Mapped[datetime]
    seen_at: Mapped[datetime]


class AttendanceMark(Base):
    """Staff's mark of whether a participant was present on one training day (the RSVP answer in
    `Attendance` is what they said beforehand; this is what happened)."""

    __tablename__ = "attendance_marks"
    __table_args__ = (UniqueConstraint("event_id", "application_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    present: Mapped[bool] = mapped_column(Boolean)
    marked_by: Mapped[str] = mapped_column(String(100))
    marked_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Certification(Base):
    """The LSP's competency result for one application, as staff imported it."""

    __tablename__ = "certifications"
    __table_args__ = (UniqueConstraint("application_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    competent: Mapped[bool] = mapped_column(Boolean)
    lsp: Mapped[str] = mapped_column(String(200))
    scheme: Mapped[str] = mapped_column(String(200))
    certificate_number: Mapped[str | None] = mapped_column(String(100))
    """Personal (it names the holder at BNSP): emptied on erasure."""
    tested_on: Mapped[date] = mapped_column(Date)
    imported_by: Mapped[str] = mapped_column(String(100))
    imported_at: Mapped[datetime] = mapped_column(server_default=func.now())


class OutcomeStatus(StrEnum):
    """What a graduate does some months after the training (the tracer study's one question)."""

    WORKING = "working"
    SELF_EMPLOYED = "self_employed"
    STUDYING = "studying"
    LOOKING = "looking"


EARNING: frozenset[str] = frozenset({OutcomeStatus.WORKING, OutcomeStatus.SELF_EMPLOYED})
"""Tracer answers that mean the graduate earns a living: the figures' "Bekerja/usaha", and no more vacancies."""


class WorkPlace(StrEnum):
    CITY = "city"
    ELSEWHERE = "elsewhere"
    ABROAD = "abroad"


class Outcome(Base):
    """One round of the tracer study for one graduate: asked, maybe reminded, maybe answered."""

    __tablename__ = "outcomes"
    __table_args__ = (UniqueConstraint("application_id", "months"), Index("ix_outcomes_open", "answered_at"))
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"))
    months: Mapped[int] = mapped_column(Integer)
    """The round: months after completion (BLKBOT_TRACER_MONTHS)."""
    asked_at: Mapped[datetime]
    reminded_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    status: Mapped[str | None] = mapped_column(String(16))
    """An OutcomeStatus once answered."""
    workplace: Mapped[str | None] = mapped_column(String(16))
    """A WorkPlace, for those working."""
    sector: Mapped[str | None] = mapped_column(String(100))
    business: Mapped[str | None] = mapped_column(String(200))

    application: Mapped[Application] = relationship(lazy="joined")
