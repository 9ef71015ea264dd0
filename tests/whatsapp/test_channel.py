"""A resident on WhatsApp: Meta's webhook in (signed, stored before it is answered), the bot's
replies out through the Cloud API, both over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from handlers.whatsapp.channel import WhatsAppChannel
from handlers.whatsapp.signature import sign
from handlers.whatsapp.wire import Delivery, WaMessage
from storage.models import Application, Contact, Conversation, InboundMessage, InboundStatus, WhatsAppChat
from storage.repositories import inbound as inbound_rows
from tests.fakes.dying_connection import dies_after_committing
from tests.flow.helpers import SITI_NIK
from tests.whatsapp.conftest import VERIFY_TOKEN, Phone, WhatsApp

pytestmark = pytest.mark.usefixtures("whatsapp")


async def test_a_whole_registration_on_whatsapp(siti: Phone, whatsapp: WhatsApp) -> None:
    replies = await siti.say("DAFTAR BOGA1__poster_kel_podosugih")
    assert "Selamat datang" in replies[0].text
    assert "Punya KTP Kota Pekalongan" in siti.last.text  # the programme's card, before any personal data
    await siti.press("✅ Daftar")
    assert [t for _, t in siti.last.choices][:2] == ["✅ Setuju", "Tidak setuju"]
    await siti.press("✅ Setuju")
    for answer in ("Ya", "Ya", "Tidak", "Tidak"):  # KTP, health, working or studying, trained before
        assert [t for _, t in siti.last.choices][:2] == ["Ya", "Tidak"]
        await siti.press(answer)
    await siti.press("SMA")
    await siti.say("Siti Nur Aini")
    await siti.say(SITI_NIK)
    await siti.press("Benar")
    await siti.say("Jl. Merdeka 5 RT 01")
    await siti.press("Pekalongan Barat")
    assert "0812-3456-7890" in siti.last.text  # the phone question offers her own WhatsApp number
    await siti.press("Pakai nomor ini")
    assert "Periksa data Anda" in siti.last.text or "Kirim pendaftaran" in str(siti.last.choices)
    replies = await siti.press("Kirim pendaftaran")
    assert "BOGA1-2027-0001" in replies[-1].text

    async with whatsapp.conversations.db.transaction() as session:
        application = await session.scalar(select(Application))
        contact = await session.get(Contact, application.contact_id)
        chat = await session.get(WhatsAppChat, siti.wa_id)
        stored = list(await session.scalars(select(InboundMessage)))
    assert (contact.channel, contact.chat_id) == ("whatsapp", siti.wa_id)
    assert application.phone == "+6281234567890"
    assert application.source == "BOGA1__poster_kel_podosugih"
    assert chat.opted_in_via == "click_to_chat:BOGA1__poster_kel_podosugih"
    assert stored and all(m.status == InboundStatus.DONE and m.payload == {} and m.reply == [] for m in stored)


async def test_a_repeated_delivery_is_answered_once(siti: Phone, whatsapp: WhatsApp) -> None:
    value = whatsapp.server.message_value(siti.wa_id, {"type": "text", "text": {"body": "halo"}})
    for _ in range(3):  # Meta retries when it did not see our 200 in time
        assert (await whatsapp.server.webhook(value)).status_code == 200
    replies = await siti.replies()
    assert len(replies) == 1 and "Apa yang ingin Anda lakukan" in replies[0].text


async def test_an_unsigned_or_forged_call_is_refused_and_never_answered(siti: Phone, whatsapp: WhatsApp) -> None:
    value = whatsapp.server.message_value(siti.wa_id, {"type": "text", "text": {"body": "/hapusdata"}})
    assert (await whatsapp.server.webhook(value, secret="guessed")).status_code == 401
    unsigned = await whatsapp.server._client.post(
        whatsapp.server.webhook_url, content=json.dumps({"object": "whatsapp_business_account"}).encode()
    )
    assert unsigned.status_code == 401
    assert await siti.replies() == []
    async with whatsapp.conversations.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(InboundMessage)) == 0


async def test_a_signed_document_that_is_not_a_webhook_gets_400(whatsapp: WhatsApp) -> None:
    body = b'{"object": "page"}'
    answer = await whatsapp.server._client.post(
        whatsapp.server.webhook_url,
        content=body,
        headers={"X-Hub-Signature-256": sign(whatsapp.server.app_secret, body)},
    )
    assert answer.status_code == 400


async def test_subscription_handshake(whatsapp: WhatsApp) -> None:
    url = whatsapp.server.webhook_url
    ok = await whatsapp.server._client.get(
        url, params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "8271"}
    )
    assert (ok.status_code, ok.text) == (200, "8271")
    wrong = await whatsapp.server._client.get(
        url, params={"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "8271"}
    )
    assert wrong.status_code == 403


async def test_a_message_stored_before_a_crash_is_answered_after_the_restart(siti: Phone, whatsapp: WhatsApp) -> None:
    """The webhook was acknowledged, then the process died before the turn: nothing is lost."""
    assert (await whatsapp.server.text(siti.wa_id, "halo")).status_code == 200
    assert whatsapp.server.to(siti.wa_id) == []  # nobody answered yet
    await whatsapp.restarted().drain()
    assert "Apa yang ingin Anda lakukan" in whatsapp.server.to(siti.wa_id)[0].text


async def test_a_reply_that_could_not_be_sent_goes_out_later_without_taking_the_turn_again(
    siti: Phone, whatsapp: WhatsApp
) -> None:
    await siti.say("/daftar")
    await siti.press("Tata Boga")
    await siti.press("Olahan Kue dan Roti")
    await siti.press("✅ Daftar")  # consent asked
    before = len(whatsapp.server.to(siti.wa_id))
    for _ in range(3):
        whatsapp.server.fail_next(500, 131000, "Something went wrong")
    assert (await whatsapp.server.press(siti.wa_id, "consent|y", "✅ Setuju")).status_code == 200
    await whatsapp.channel.drain()
    assert len(whatsapp.server.to(siti.wa_id)) == before  # the first question is still owed
    async with whatsapp.conversations.db.transaction() as session:
        row = (await session.scalars(select(InboundMessage).order_by(InboundMessage.id.desc()))).first()
        assert row.status == InboundStatus.ANSWERED and row.payload == {}

    whatsapp.clock.now += timedelta(minutes=2)  # the claim's lease ran out
    await whatsapp.restarted().drain()
    sent = whatsapp.server.to(siti.wa_id)
    assert len(sent) == before + 1 and "KTP Kota Pekalongan" in sent[-1].text
    async with whatsapp.conversations.db.transaction() as session:
        contact = await session.scalar(select(Contact).where(Contact.chat_id == siti.wa_id))
        assert contact.consented_at is not None


async def test_a_reply_cut_off_halfway_sends_only_the_rest_later(siti: Phone, whatsapp: WhatsApp) -> None:
    """The welcome went out, the programme card below it could not: tried again, only the card goes."""
    welcome = whatsapp.server.hold_next(to=siti.wa_id)
    assert (await whatsapp.server.text(siti.wa_id, "DAFTAR BOGA1__poster")).status_code == 200
    answering = asyncio.create_task(whatsapp.channel.drain())
    await welcome.arrived.wait()
    card = whatsapp.server.hold_next(to=siti.wa_id)
    welcome.answer()
    await card.arrived.wait()
    for _ in range(3):  # the card's every attempt
        whatsapp.server.fail_next(500, 131000, "Something went wrong", to=siti.wa_id)
    card.answer()
    await answering
    assert ["Selamat datang" in s.text for s in whatsapp.server.to(siti.wa_id)] == [True]

    whatsapp.clock.now += timedelta(minutes=2)  # the claim's lease ran out
    await whatsapp.restarted().drain()
    sent = whatsapp.server.to(siti.wa_id)
    assert len(sent) == 2 and "Punya KTP Kota Pekalongan" in sent[1].text


@pytest.mark.parametrize("kind", ["sticker", "location", "audio", "reaction", "unsupported"])
async def test_what_the_bot_cannot_read_gets_a_short_answer(kind: str, siti: Phone, whatsapp: WhatsApp) -> None:
    body = {"sticker": {"mime_type": "image/webp", "id": "1"}, "location": {"latitude": 1, "longitude": 2}}
    message = {"type": kind, **({kind: body[kind]} if kind in body else {})}
    assert (await whatsapp.server.webhook(whatsapp.server.message_value(siti.wa_id, message))).status_code == 200
    replies = await siti.replies()
    assert "belum bisa saya baca" in replies[0].text


async def test_a_photo_reaches_the_flow_as_a_file(siti: Phone, whatsapp: WhatsApp) -> None:
    media_id = whatsapp.server.add_media(b"\xff\xd8jpeg", "image/jpeg")
    value = whatsapp.server.message_value(
        siti.wa_id, {"type": "image", "image": {"id": media_id, "mime_type": "image/jpeg"}}
    )
    assert (await whatsapp.server.webhook(value)).status_code == 200
    replies = await siti.replies()
    assert replies  # no documents step yet: the menu answers, and nothing crashed


async def test_erasure_on_whatsapp_forgets_the_poster_code_and_the_menu(siti: Phone, whatsapp: WhatsApp) -> None:
    await siti.say("DAFTAR BOGA1__poster_kel_podosugih")
    await siti.say("/hapusdata")
    await siti.press("Ya, hapus")
    async with whatsapp.conversations.db.transaction() as session:
        chat = await session.get(WhatsAppChat, siti.wa_id)
        stored = list(await session.scalars(select(InboundMessage)))
    assert (chat.opted_in_via, chat.menu) == ("erased", [])
    assert all(m.payload == {} and m.reply == [] for m in stored)


async def test_webhooks_that_arrive_together_keep_each_message_once_and_answer_in_order(whatsapp: WhatsApp) -> None:
    """Meta posts many webhooks at once under load, out of order, and repeats some: they are
    written together (handlers/whatsapp/batching.py) and each message still counts once."""
    ana, budi = "6281211110001", "6281211110002"
    sent = whatsapp.clock() - timedelta(minutes=1)
    hello = WaMessage("wamid.ANA1", ana, sent, "text", text="halo")
    register = WaMessage("wamid.ANA2", ana, sent + timedelta(seconds=20), "text", text="/daftar")
    other = WaMessage("wamid.BUDI1", budi, sent + timedelta(seconds=5), "text", text="halo")
    deliveries = [Delivery([register]), Delivery([hello]), Delivery([other]), Delivery([hello])]

    assert await asyncio.gather(*(whatsapp.channel.store(d) for d in deliveries)) == [1, 1, 1, 0]
    await whatsapp.channel.drain()

    to_ana = whatsapp.server.to(ana)
    assert "Apa yang ingin Anda lakukan" in to_ana[0].text  # "halo" was sent first, so answered first
    assert "Tata Boga" in str(to_ana[-1].choices)
    assert len(whatsapp.server.to(budi)) == 1
    async with whatsapp.conversations.db.transaction() as session:
        chat = await session.get(WhatsAppChat, ana)
        stored = await session.scalar(select(func.count()).select_from(InboundMessage))
    assert (chat.opted_in_at, chat.last_message_at, chat.opted_in_via) == (
        hello.sent_at,
        register.sent_at,
        "first_message",
    )
    assert stored == 3


async def test_a_message_another_worker_took_over_after_the_lease_ran_out_is_not_taken_twice(
    siti: Phone, whatsapp: WhatsApp
) -> None:
    """Worker A claimed two messages and stalled on the first reply's send past its lease; worker B
    took the chat over and answered both. A must not take the second turn again when it comes back."""
    assert (await whatsapp.server.text(siti.wa_id, "/daftar")).status_code == 200
    assert (await whatsapp.server.text(siti.wa_id, "Tata Boga")).status_code == 200
    held = whatsapp.server.hold_next(to=siti.wa_id)
    stalled = asyncio.create_task(whatsapp.channel.cycle())  # worker A
    await held.arrived.wait()
    whatsapp.clock.now += timedelta(minutes=2)  # A's lease ran out
    other = WhatsAppChannel(
        whatsapp.conversations, whatsapp.graph, app_secret="x", verify_token="x", worker="B", clock=whatsapp.clock
    )
    await other.drain()
    held.answer()
    await stalled

    async with whatsapp.conversations.db.transaction() as session:
        conversation = await session.get(Conversation, ("whatsapp", siti.wa_id))
    assert conversation.version == 2  # one turn per message
    texts = [s.text for s in whatsapp.server.to(siti.wa_id)]
    assert sum("Olahan Kue dan Roti" in str(s.choices) for s in whatsapp.server.to(siti.wa_id)) == 1
    assert not any("Silakan tekan salah satu tombol" in text for text in texts), texts


async def test_a_turn_whose_commit_went_through_as_its_connection_died_is_not_taken_again(
    siti: Phone, whatsapp: WhatsApp
) -> None:
    """The server committed the turn, then the connection died before it said so: the turn is
    retried on a new connection (as for any lost connection), finds the turn saved, and sends the
    reply that was kept instead of taking the turn a second time."""
    await siti.say("/daftar")
    with dies_after_committing(inbound_rows._ANSWERED) as cut:
        replies = await siti.say("Tata Boga")

    assert cut == [True]
    assert len(replies) == 1 and "Olahan Kue dan Roti" in str(replies[0].choices)
    async with whatsapp.conversations.db.transaction() as session:
        conversation = await session.get(Conversation, ("whatsapp", siti.wa_id))
    assert conversation.version == 2  # /daftar, then the cluster once
