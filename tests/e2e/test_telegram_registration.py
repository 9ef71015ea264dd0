"""A resident registers on Telegram: real python-telegram-bot, real HTTP, the fake Bot API server."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from conversations.runner import Conversations
from storage.db import Database
from storage.models import Application, Contact
from tests.e2e.conftest import Resident, start_bot, stop_bot
from tests.fakes.telegram_server import FakeTelegramServer

NIK = "3375015203950002"  # a woman born 12 March 1995 in Kota Pekalongan


async def walk_to_summary(resident: Resident, address: str = "Jl. Merdeka 5 RT 01/RW 02") -> None:
    seen = await resident.start()
    assert "Selamat datang" in seen[0].plain_text
    await resident.press("Tata Boga")
    assert "Olahan Kue dan Roti" in resident.last.plain_text
    assert "Kuota 20 orang" in resident.last.plain_text
    await resident.press("Olahan Kue dan Roti")
    assert "Punya KTP Kota Pekalongan" in resident.last.plain_text  # the card, before any personal data
    await resident.press("✅ Daftar")
    assert "Apakah Anda setuju?" in resident.last.plain_text
    await resident.press("✅ Setuju")
    for answer in ("Ya", "Ya", "Tidak", "Tidak"):  # KTP, health, working or studying, trained before
        await resident.press(answer)
    await resident.press("SMA / SMK / sederajat")
    await resident.type("Siti Nur Aini")
    seen = await resident.type("3375 0152 0395 0002")
    assert "lahir Minggu, 12 Maret 1995" in seen[-1].plain_text
    await resident.press("✅ Benar")
    await resident.type(address)
    seen = await resident.press("Pekalongan Barat")
    ask_phone = seen[-1]
    assert ask_phone.keyboard_buttons[0]["request_contact"] is True
    seen = await resident.share_phone("6281234567890")
    assert "Periksa data Anda" in seen[-1].plain_text


async def test_resident_registers_with_buttons_typed_answers_and_shared_contact(
    resident: Resident, server: FakeTelegramServer, db: Database
) -> None:
    await walk_to_summary(resident)
    summary = resident.last
    assert "Nomor HP: 0812-3456-7890" in summary.plain_text
    assert "NIK: 3375015203950002" in summary.plain_text

    seen = await resident.press("✅ Kirim pendaftaran")

    assert "Nomor pendaftaran Anda: BOGA1-2027-0001" in seen[-1].plain_text
    # The pressed summary now shows the choice and has no keyboard left to press.
    assert summary.edited and summary.inline_markup is None
    assert summary.plain_text.endswith("» ✅ Kirim pendaftaran")
    assert server.calls_to("answerCallbackQuery")
    async with db.transaction() as session:
        application = await session.scalar(select(Application))
        contact = await session.scalar(select(Contact))
    assert application is not None and contact is not None
    assert (application.number, application.nik, application.full_name) == ("BOGA1-2027-0001", NIK, "Siti Nur Aini")
    assert (application.phone, application.district_code, application.education) == (
        "+6281234567890",
        "33.75.01",
        "sma",
    )
    assert (contact.channel, contact.chat_id, contact.subscribed) == ("telegram", "7001", True)


async def test_double_tap_on_submit_creates_one_application_and_is_answered_quietly(
    resident: Resident, server: FakeTelegramServer, db: Database
) -> None:
    await walk_to_summary(resident)
    summary = resident.last
    data = next(b["callback_data"] for b in summary.inline_buttons if b["text"] == "✅ Kirim pendaftaran")
    before = {m.message_id for m in server.messages(resident.chat_id)}
    server.reset_calls()

    first = await server.press_button(resident.chat_id, summary.message_id, data)
    second = await server.press_button(resident.chat_id, summary.message_id, data, check=False)
    for query_id in (first, second):
        await server.wait_for_call(
            "answerCallbackQuery", predicate=lambda c, q=query_id: c.params.get("callback_query_id") == q
        )
    # The chat's turns run one after the other: once /status is answered, both presses are done with.
    await server.send_text(resident.chat_id, "/status")
    await server.wait_for_message(resident.chat_id, predicate=lambda m: "Pendaftaran Anda" in m.plain_text)

    sent = [m.plain_text for m in server.messages(resident.chat_id) if m.message_id not in before and m.from_bot]
    assert len(sent) == 2, sent  # no "that button is old" note, no second copy of anything
    assert "BOGA1-2027-0001" in sent[0] and "Pendaftaran Anda" in sent[1]
    edits = server.calls_to("editMessageText", resident.chat_id) + server.calls_to(
        "editMessageReplyMarkup", resident.chat_id
    )
    assert [(c.method, c.ok) for c in edits] == [("editMessageText", True)]  # the summary marked once, no 400
    async with db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(Application)) == 1


async def test_old_keyboard_gets_a_gentle_reply_and_the_current_question(
    resident: Resident, server: FakeTelegramServer
) -> None:
    await resident.start()
    clusters = resident.last
    await resident.press("Tata Boga")
    programmes = resident.last
    await resident.press("Olahan Kue dan Roti")
    # A slow phone still shows the clusters keyboard and sends its press now.
    seen = await resident.press_data(clusters, "cluster|BOGA")

    assert "sudah tidak berlaku" in seen[0].plain_text
    assert "Daftar" in seen[-1].plain_text
    assert programmes.inline_markup is None  # answered keyboards are removed
    # The clusters message lost its keyboard when answered: nothing is asked of Telegram to remove it again.
    assert not [c for c in server.calls_to("editMessageReplyMarkup", resident.chat_id) if not c.ok]


async def test_the_next_question_does_not_wait_for_the_press_to_be_answered_or_marked(
    resident: Resident, server: FakeTelegramServer
) -> None:
    await resident.start()
    clusters = resident.last
    server.fail_next("answerCallbackQuery", kind="hang")
    server.fail_next("editMessageText", kind="hang")

    seen = await resident._turn(server.press_button(resident.chat_id, clusters.message_id, "cluster|BOGA"))

    assert "Pilih pelatihan" in seen[-1].plain_text
    assert not server.calls_to("answerCallbackQuery") and not server.calls_to("editMessageText")  # still held
    server.release_hangs()
    await server.wait_for_call("answerCallbackQuery")
    await server.wait_for_call("editMessageText", resident.chat_id)
    await resident.press("Olahan Kue dan Roti")  # the chat goes on
    assert "Punya KTP Kota Pekalongan" in resident.last.plain_text


async def test_two_quick_messages_get_their_replies_in_order_even_when_the_first_send_is_retried(
    resident: Resident, server: FakeTelegramServer
) -> None:
    await resident.start()
    server.fail_next("sendMessage", chat_id=resident.chat_id, status=502)  # the first reply is sent again later

    await server.send_text(resident.chat_id, "/bantuan")
    await server.send_text(resident.chat_id, "/status")
    await server.wait_for_message(resident.chat_id, predicate=lambda m: "belum punya pendaftaran" in m.plain_text)

    texts = [m.plain_text for m in server.messages(resident.chat_id)]
    helped = next(i for i, t in enumerate(texts) if "Jawab pertanyaan terakhir" in t)
    status = next(i for i, t in enumerate(texts) if "belum punya pendaftaran" in t)
    assert helped < status


async def test_answers_with_html_are_shown_escaped(resident: Resident, server: FakeTelegramServer) -> None:
    await walk_to_summary(resident, address="<b>Jl. Merdeka</b> & Gg. <Mawar> 5")

    # The fake server parses HTML as strictly as Telegram: unescaped input would have been refused.
    assert "Alamat: <b>Jl. Merdeka</b> & Gg. <Mawar> 5" in resident.last.plain_text
    assert "&lt;b&gt;Jl. Merdeka&lt;/b&gt; &amp; Gg. &lt;Mawar&gt; 5" in resident.last.text
    assert all(call.status == 200 for call in server.calls_to("sendMessage"))


async def test_conversation_resumes_after_the_bot_restarts(
    conversations: Conversations, server: FakeTelegramServer, db: Database
) -> None:
    app = await start_bot(conversations, server)
    resident = Resident(server, 7002)
    await resident.start()
    await resident.press("Tata Boga")
    await stop_bot(app)

    restarted = Conversations(db, conversations.services)
    app = await start_bot(restarted, server)
    try:
        seen = await resident.press("Olahan Kue dan Roti")
        assert "KTP Kota Pekalongan" in seen[-1].plain_text
    finally:
        await stop_bot(app)


async def test_reply_refused_for_its_html_is_sent_as_plain_text(resident: Resident, server: FakeTelegramServer) -> None:
    server.fail_next(
        "sendMessage",
        status=400,
        description="Bad Request: can't parse entities: unsupported start tag",
        chat_id=resident.chat_id,
    )
    await resident.start()
    await server.wait_for_message(resident.chat_id, predicate=lambda m: "Selamat datang" in m.plain_text)

    welcome = next(c for c in server.calls_to("sendMessage", resident.chat_id) if c.ok)
    assert welcome.params.get("parse_mode") is None
    assert "<b>" not in welcome.params["text"]


async def test_rate_limited_reply_is_sent_after_retry_after(resident: Resident, server: FakeTelegramServer) -> None:
    server.fail_next(
        "sendMessage",
        status=429,
        description="Too Many Requests: retry after 1",
        retry_after=1,
        chat_id=resident.chat_id,
    )
    seen = await resident.start()

    statuses = [c.status for c in server.calls_to("sendMessage", resident.chat_id)]
    assert statuses[:2] == [429, 200]
    assert "Selamat datang" in seen[0].plain_text


async def test_blocked_bot_does_not_stop_other_chats(server: FakeTelegramServer, resident: Resident) -> None:
    server.set_forbidden(6999)
    await server.send_text(6999, "/start")
    seen = await resident.start()

    assert "Selamat datang" in seen[0].plain_text
    refused = await server.wait_for_call("sendMessage", 6999)  # the two chats' turns run side by side
    assert refused.status == 403


async def test_many_residents_at_once_are_each_answered_in_order(
    resident: Resident, server: FakeTelegramServer
) -> None:
    residents = [Resident(server, 8000 + i) for i in range(20)]
    await asyncio.gather(*(r.start() for r in residents))
    await asyncio.gather(*(r.press("Tata Boga") for r in residents))

    for r in residents:
        texts = [m.plain_text for m in server.messages(r.chat_id)]
        assert "Selamat datang" in texts[0]
        assert "Pilih pelatihan" in texts[-1]


async def test_a_message_over_telegrams_limit_arrives_in_parts_with_the_buttons_on_the_last(
    resident: Resident, server: FakeTelegramServer, db: Database
) -> None:
    from sqlalchemy import update

    from storage.models import Programme

    long_text = "Materi: " + "pengelasan pelat posisi datar & tegak <aman>. " * 55  # about 2,500 characters
    async with db.transaction() as session:
        await session.execute(
            update(Programme).where(Programme.cluster_code == "LAS").values(description={"id": long_text})
        )
    await resident.start()

    seen = await resident.press("Teknik Las")

    assert len(seen) >= 2
    assert all(len(m.plain_text) <= 4096 for m in seen)
    assert [m.inline_markup is not None for m in seen] == [False] * (len(seen) - 1) + [True]
    assert len(seen[-1].button_texts) == 3  # the two welding programmes, and back
    joined = "\n".join(m.plain_text for m in seen)
    assert joined.count("<aman>") == 2 * 55  # escaped on the way out, shown as typed
