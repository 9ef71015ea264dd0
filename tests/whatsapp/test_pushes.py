"""Pushed messages (the outbox) over WhatsApp: the 24-hour window, templates, Meta's error codes and
status callbacks, through the delivery loop and the fake Cloud API."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.cli_outreach import _progress_line
from handlers.whatsapp.sender import WhatsAppSender
from outreach import broadcasts
from outreach.budget import SendBudget
from outreach.delivery import DeliveryLoop, DeliverySettings
from outreach.outbox import Push, enqueue
from outreach.segments import Segment
from storage.models import Contact, DeliveryStatus, MessageKind, Origin, OutboxMessage, StaffRole
from storage.repositories import contacts
from tests.fakes.whatsapp_server import Sent
from tests.outreach.conftest import VirtualTime
from tests.whatsapp.conftest import WhatsApp
from training.permissions import Actor

SITI = "6281234567890"
BUDI = "6281298765432"
UTILITY = "blkbot_kabar_pendaftaran"
MARKETING = "blkbot_pengumuman"
ADMIN = Actor("telegram", "42", "Pak Agus", StaffRole.ADMIN)
RESULT = "<b>Hasil seleksi</b>\nAnda diterima di program Las Listrik.\n\nPelatihan mulai Senin."


@pytest.fixture
def vtime() -> VirtualTime:
    return VirtualTime()


@pytest.fixture
def budget(vtime: VirtualTime) -> SendBudget:
    return SendBudget(rate=80, per_chat_interval=0, clock=vtime.monotonic, sleep=vtime.sleep)


def delivery(wa: WhatsApp, budget: SendBudget, names: Mapping[str, str] = {}) -> DeliveryLoop:
    sender = WhatsAppSender(wa.conversations.db, wa.graph, wa.conversations.services.templates, names, clock=wa.clock)
    return DeliveryLoop(
        wa.conversations.db,
        {"whatsapp": sender},
        SendBudget(rate=30),
        settings=DeliverySettings(flush_interval=0, max_attempts=3),
        worker="test-worker",
        clock=wa.clock,
        budgets={"whatsapp": budget},
    )


async def resident(wa: WhatsApp, wa_id: str = SITI, *, hours_ago: float = 1) -> Contact:
    """Someone who wrote to the bot `hours_ago` (by their message's time) and takes announcements."""
    answer = await wa.server.text(wa_id, "halo", at=(wa.clock() - timedelta(hours=hours_ago)).timestamp())
    assert answer.status_code == 200
    await wa.channel.drain()
    async with wa.conversations.db.transaction() as session:
        contact = await contacts.get(session, "whatsapp", wa_id)
        assert contact is not None
        await contacts.set_subscribed(session, contact, True)
    wa.server.sent.clear()
    return contact


async def push(
    wa: WhatsApp, contact: Contact, origin: Origin = Origin.RESULT, *, text: str = RESULT, buttons: Sequence[Any] = ()
) -> None:
    async with wa.conversations.db.transaction() as session:
        await enqueue(session, [Push(contact, origin, f"{origin}:{contact.id}", text, list(buttons))], wa.clock())


async def rows(wa: WhatsApp) -> list[OutboxMessage]:
    async with wa.conversations.db.transaction() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def template_of(sent: Sent) -> tuple[str, str, str]:
    template = sent.body["template"]
    return template["name"], template["language"]["code"], template["components"][0]["parameters"][0]["text"]


# -- the window and the templates ------------------------------------------------------------------


async def test_inside_the_window_the_push_goes_free_form_with_its_buttons(
    whatsapp: WhatsApp, budget: SendBudget
) -> None:
    siti = await resident(whatsapp, hours_ago=23)
    buttons = [
        [{"label": "Saya hadir", "data": "event:1:yes"}],
        [{"label": "Peta", "url": "https://x.id/peta?a=1&b=2"}],
    ]
    await push(whatsapp, siti, buttons=buttons)

    stats = await delivery(whatsapp, budget, {"application": UTILITY}).drain()

    assert stats.sent == 1
    [sent] = whatsapp.server.to(SITI)
    assert sent.kind == "interactive" and sent.choices == [("event:1:yes", "Saya hadir")]
    assert sent.text.startswith("*Hasil seleksi*\nAnda diterima") and "Peta: https://x.id/peta?a=1&b=2" in sent.text
    [row] = await rows(whatsapp)
    assert (row.status, row.platform_message_id, row.template, row.receipt) == ("sent", sent.wamid, None, "sent")


async def test_outside_the_window_the_push_goes_as_its_kinds_template_on_one_line(
    whatsapp: WhatsApp, budget: SendBudget
) -> None:
    whatsapp.server.templates = frozenset({UTILITY, MARKETING})
    siti = await resident(whatsapp, hours_ago=25)
    await push(whatsapp, siti, buttons=[[{"label": "Peta", "url": "https://x.id/peta"}]])
    await push(whatsapp, siti, Origin.VACANCY, text="Lowongan <b>operator jahit</b>")

    stats = await delivery(whatsapp, budget, {"application": UTILITY, "announcement": MARKETING}).drain()

    assert stats.sent == 2
    result, vacancy = whatsapp.server.to(SITI)
    assert template_of(result) == (
        UTILITY,
        "id",
        "Hasil seleksi · Anda diterima di program Las Listrik. · Pelatihan mulai Senin. Peta: https://x.id/peta",
    )
    assert template_of(vacancy) == (MARKETING, "id", "Lowongan operator jahit")
    assert [(r.template, r.platform_message_id) for r in await rows(whatsapp)] == [
        (UTILITY, result.wamid),
        (MARKETING, vacancy.wamid),
    ]


async def test_a_long_text_is_cut_to_fit_the_template_body(whatsapp: WhatsApp, budget: SendBudget) -> None:
    whatsapp.server.templates = frozenset({UTILITY})
    siti = await resident(whatsapp, hours_ago=30)
    await push(whatsapp, siti, text="kata " * 400)

    await delivery(whatsapp, budget, {"application": UTILITY}).drain()

    [sent] = whatsapp.server.to(SITI)
    text = template_of(sent)[2]
    assert text.endswith("…") and len(text) < 1024 - 100  # the approved words around it count too


async def test_without_a_template_for_its_kind_the_push_is_held_and_reported(
    whatsapp: WhatsApp, budget: SendBudget
) -> None:
    whatsapp.server.templates = frozenset({UTILITY, MARKETING})
    await resident(whatsapp, hours_ago=48)
    db = whatsapp.conversations.db
    async with db.transaction() as session:
        sent = await broadcasts.send(
            session,
            whatsapp.conversations.services.templates,
            ADMIN,
            text="Bursa kerja Sabtu",
            segment=Segment.parse("all"),
            now=whatsapp.clock(),
        )

    stats = await delivery(whatsapp, budget, {"application": UTILITY}).drain()
    again = await delivery(whatsapp, budget, {"application": UTILITY}).drain()

    assert (stats.needs_template, stats.sent, again.needs_template) == (1, 0, 0)  # held, not tried in a loop
    assert whatsapp.server.to(SITI) == []
    [row] = await rows(whatsapp)
    assert row.status == DeliveryStatus.NEEDS_TEMPLATE
    assert "no MARKETING template" in (row.last_error or "") and "BLKBOT_WHATSAPP_TEMPLATE_ANNOUNCEMENT" in (
        row.last_error or ""
    )
    async with db.transaction() as session:
        progress = await broadcasts.progress(session, sent.id)
    assert (progress.needs_template, progress.pending, progress.done) == (1, 0, True)
    assert "needs template 1" in _progress_line(progress)

    configured = delivery(whatsapp, budget, {"application": UTILITY, "announcement": MARKETING})
    assert await configured.senders["whatsapp"].start_up() == 1  # type: ignore[attr-defined]
    assert (await configured.drain()).sent == 1
    assert template_of(whatsapp.server.to(SITI)[0])[0] == MARKETING


async def test_meta_saying_the_window_closed_switches_to_the_template(whatsapp: WhatsApp, budget: SendBudget) -> None:
    whatsapp.server.templates = frozenset({UTILITY})
    siti = await resident(whatsapp, hours_ago=1)
    await push(whatsapp, siti)
    whatsapp.server.fail_next(400, 131047, "Re-engagement message")

    stats = await delivery(whatsapp, budget, {"application": UTILITY}).drain()

    assert stats.sent == 1
    [sent] = whatsapp.server.to(SITI)
    assert template_of(sent)[0] == UTILITY


# -- Meta's error codes ----------------------------------------------------------------------------


async def test_throughput_limit_pauses_the_number_and_the_message_waits(
    whatsapp: WhatsApp, budget: SendBudget, vtime: VirtualTime
) -> None:
    siti = await resident(whatsapp)
    await push(whatsapp, siti)
    whatsapp.server.fail_next(400, 130429, "Rate limit hit")

    stats = await delivery(whatsapp, budget).drain()

    assert (stats.rate_limited, budget.rate_limited) == (1, 1)
    [row] = await rows(whatsapp)
    assert (row.status, row.attempts) == (DeliveryStatus.PENDING, 0)
    whatsapp.clock.now += timedelta(seconds=61)
    assert (await delivery(whatsapp, budget).drain()).sent == 1


async def test_pair_rate_limit_waits_for_that_person_only(whatsapp: WhatsApp, budget: SendBudget) -> None:
    siti, budi = await resident(whatsapp, SITI), await resident(whatsapp, BUDI)
    await push(whatsapp, siti)
    await push(whatsapp, budi)
    whatsapp.server.fail_next(400, 131056, "pair rate limit hit", to=SITI)

    stats = await delivery(whatsapp, budget).drain()

    assert (stats.sent, budget.rate_limited) == (1, 0)  # Budi's went, nobody was paused
    waiting = next(r for r in await rows(whatsapp) if r.chat_id == SITI)
    assert (waiting.status, waiting.attempts) == (DeliveryStatus.PENDING, 0) and "131056" in (waiting.last_error or "")
    whatsapp.clock.now += timedelta(minutes=2)
    assert (await delivery(whatsapp, budget).drain()).sent == 1


async def test_not_on_whatsapp_is_unreachable(whatsapp: WhatsApp, budget: SendBudget) -> None:
    siti = await resident(whatsapp)
    await push(whatsapp, siti)
    whatsapp.server.fail_next(400, 131026, "Message Undeliverable")

    stats = await delivery(whatsapp, budget).drain()

    assert stats.unreachable == 1
    [row] = await rows(whatsapp)
    assert row.status == DeliveryStatus.UNREACHABLE and "131026" in (row.last_error or "")


async def test_marketing_limit_retries_later_then_fails_with_the_reason(whatsapp: WhatsApp, budget: SendBudget) -> None:
    siti = await resident(whatsapp)
    await push(whatsapp, siti, Origin.BROADCAST, text="Bursa kerja")
    for _ in range(3):
        whatsapp.server.fail_next(400, 131049, "healthy ecosystem engagement")

    first = await delivery(whatsapp, budget).drain()
    [row] = await rows(whatsapp)
    assert (first.retried, row.status, row.attempts) == (1, DeliveryStatus.PENDING, 1)
    for _ in range(2):
        whatsapp.clock.now += timedelta(hours=7)
        await delivery(whatsapp, budget).drain()

    [row] = await rows(whatsapp)
    assert row.status == DeliveryStatus.FAILED
    assert "gave up after 3 attempts" in (row.last_error or "") and "131049" in (row.last_error or "")


async def test_an_expired_token_stops_whatsapp_keeps_everything_and_resumes(
    whatsapp: WhatsApp, budget: SendBudget, caplog: pytest.LogCaptureFixture
) -> None:
    siti, budi = await resident(whatsapp, SITI), await resident(whatsapp, BUDI)
    await push(whatsapp, siti)
    await push(whatsapp, budi)
    whatsapp.server.fail_next(401, 190, "Error validating access token: Session has expired")
    whatsapp.server.fail_next(401, 190, "Error validating access token: Session has expired")
    loop = delivery(whatsapp, budget)

    with caplog.at_level(logging.WARNING):
        stats = await loop.drain()

    assert (stats.sent, stats.failed, budget.rate_limited >= 1) == (0, 0, True)
    assert [(r.status, r.attempts) for r in await rows(whatsapp)] == [(DeliveryStatus.PENDING, 0)] * 2
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "whatsapp refuses our credentials" in errors[0].getMessage()

    whatsapp.clock.now += timedelta(seconds=61)
    assert (await loop.drain()).sent == 2
    assert any("sending resumed" in r.getMessage() for r in caplog.records)


async def test_a_server_error_is_retried_with_backoff(whatsapp: WhatsApp, budget: SendBudget) -> None:
    siti = await resident(whatsapp)
    await push(whatsapp, siti)
    whatsapp.server.fail_next(503, 131016, "Service unavailable")

    first = await delivery(whatsapp, budget).drain()

    [row] = await rows(whatsapp)
    assert (first.retried, row.status, row.attempts) == (1, DeliveryStatus.PENDING, 1)
    whatsapp.clock.now += timedelta(seconds=5)
    assert (await delivery(whatsapp, budget).drain()).sent == 1


# -- status callbacks ------------------------------------------------------------------------------


async def test_delivered_and_read_are_recorded_and_never_move_back(whatsapp: WhatsApp, budget: SendBudget) -> None:
    siti = await resident(whatsapp)
    await push(whatsapp, siti)
    await delivery(whatsapp, budget).drain()
    [sent] = whatsapp.server.to(SITI)

    for status in ("delivered", "read", "delivered"):
        assert (await whatsapp.server.status(sent.wamid, SITI, status)).status_code == 200

    [row] = await rows(whatsapp)
    assert (row.status, row.receipt, row.receipt_at is not None) == (DeliveryStatus.SENT, "read", True)


async def test_a_failed_status_after_an_accepted_send_fails_the_row_with_the_reason(
    whatsapp: WhatsApp, budget: SendBudget
) -> None:
    siti = await resident(whatsapp)
    await push(whatsapp, siti)
    await delivery(whatsapp, budget).drain()
    [sent] = whatsapp.server.to(SITI)

    await whatsapp.server.status(sent.wamid, SITI, "failed", error=(131026, "Message undeliverable"))

    [row] = await rows(whatsapp)
    assert (row.status, row.receipt) == (DeliveryStatus.FAILED, "failed")
    assert row.last_error == "WhatsApp 131026: Message undeliverable (after it was accepted)"


async def test_a_window_closed_status_sends_the_row_again_as_a_template(whatsapp: WhatsApp, budget: SendBudget) -> None:
    whatsapp.server.templates = frozenset({UTILITY})
    siti = await resident(whatsapp)
    await push(whatsapp, siti)
    await delivery(whatsapp, budget, {"application": UTILITY}).drain()
    [free_form] = whatsapp.server.to(SITI)

    await whatsapp.server.status(free_form.wamid, SITI, "failed", error=(131047, "Re-engagement message"))
    [row] = await rows(whatsapp)
    assert (row.status, row.receipt) == (DeliveryStatus.PENDING, "failed"), (row.status, row.receipt, row.last_error)
    await delivery(whatsapp, budget, {"application": UTILITY}).drain()

    again = whatsapp.server.to(SITI)[-1]
    assert template_of(again)[0] == UTILITY
    [row] = await rows(whatsapp)
    assert (row.status, row.template, row.platform_message_id) == (DeliveryStatus.SENT, UTILITY, again.wamid)
    await whatsapp.server.status(again.wamid, SITI, "failed", error=(131047, "Re-engagement message"))
    [row] = await rows(whatsapp)
    assert row.status == DeliveryStatus.FAILED  # a template refused for the window is not tried again


@pytest.mark.parametrize(
    ("status", "error", "ends"),
    [
        ("delivered", None, (DeliveryStatus.SENT, "delivered")),
        ("failed", (131026, "Message undeliverable"), (DeliveryStatus.FAILED, "failed")),
    ],
)
async def test_a_status_that_comes_before_the_message_id_is_written_still_reaches_its_row(
    status: str,
    error: tuple[int, str] | None,
    ends: tuple[DeliveryStatus, str],
    whatsapp: WhatsApp,
    budget: SendBudget,
) -> None:
    siti = await resident(whatsapp)
    await push(whatsapp, siti)
    hold = whatsapp.server.hold_next(SITI)  # Meta has the message; its answer with the id is on its way
    sending = asyncio.create_task(delivery(whatsapp, budget).drain())
    await asyncio.wait_for(hold.arrived.wait(), 10)

    assert (await whatsapp.server.status(hold.wamid, SITI, status, error=error)).status_code == 200
    hold.answer()
    await asyncio.wait_for(sending, 10)
    await whatsapp.channel.drain()  # the webhook worker's next round

    [row] = await rows(whatsapp)
    assert (row.platform_message_id, (row.status, row.receipt)) == (hold.wamid, ends)


def test_template_kinds_cover_every_message_kind() -> None:
    from handlers.whatsapp.templates import BY_KIND

    assert set(BY_KIND) == {k.value for k in MessageKind}
