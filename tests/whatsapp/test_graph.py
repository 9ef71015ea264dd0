"""The Graph API client against the fake Cloud API over real HTTP: what is sent is what WhatsApp
would accept, and its refusals come back as the delivery loop's outcomes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from conversations.io import Option, Outbound
from handlers.whatsapp.graph import GraphApi
from handlers.whatsapp.render import Words, render
from messages.render import Templates
from outreach.errors import AccountRefused, NeedsTemplate, RateLimited, Rejected, TransientSendError
from tests.fakes.whatsapp_server import FakeWhatsAppServer

SITI = "6281234567890"
WORDS = Words(Templates(), "id")


@pytest.fixture
async def server() -> AsyncIterator[FakeWhatsAppServer]:
    async with FakeWhatsAppServer() as fake:
        yield fake


@pytest.fixture
async def graph(server: FakeWhatsAppServer) -> AsyncIterator[GraphApi]:
    api = GraphApi(server.base_url, server.phone_number_id, server.token)
    yield api
    await api.aclose()


def labels(count: int, width: int) -> tuple[Option, ...]:
    return tuple(Option(f"s|{n}", f"{n:02d} " + "Pelatihan " * (width // 10)) for n in range(count))


@pytest.mark.parametrize(
    "outbound",
    [
        Outbound("Halo"),
        Outbound("x" * 9000),
        Outbound("Setuju?", labels(2, 10)),
        Outbound("Pilih:", labels(3, 60)),
        Outbound("Pilih:", labels(10, 80)),
        Outbound("Pilih:", labels(25, 80)),
        Outbound("<b>Panjang</b> " * 600, labels(3, 10)),
        Outbound("Nomor HP?", ask_contact="📱 Kirim", reply_back="⬅️ Kembali"),
    ],
    ids=["text", "long text", "buttons", "list", "ten long rows", "numbered menu", "long body", "phone"],
)
async def test_every_rendering_is_accepted_by_whatsapp(
    outbound: Outbound, server: FakeWhatsAppServer, graph: GraphApi
) -> None:
    rendered = render(outbound, WORDS, own_number="0812-3456-7890")
    ids = [await graph.send(SITI, body) for body in rendered.bodies]
    assert len(set(ids)) == len(rendered.bodies) == len(server.to(SITI))


@pytest.mark.parametrize(
    ("status", "code", "outcome"),
    [(400, 131047, NeedsTemplate), (400, 130429, RateLimited), (500, 131000, TransientSendError), (400, 100, Rejected)],
)
async def test_refusals_become_outcomes(
    status: int, code: int, outcome: type[Exception], server: FakeWhatsAppServer, graph: GraphApi
) -> None:
    server.fail_next(status, code)
    with pytest.raises(outcome):
        await graph.send(SITI, {"type": "text", "text": {"body": "halo"}})
    assert server.sent == []


async def test_a_wrong_token_is_never_taken_for_a_bad_message(server: FakeWhatsAppServer) -> None:
    api = GraphApi(server.base_url, server.phone_number_id, "stolen")
    try:
        with pytest.raises(AccountRefused, match="190"):
            await api.send(SITI, {"type": "text", "text": {"body": "halo"}})
    finally:
        await api.aclose()


async def test_a_file_the_person_sent_is_fetched_with_the_token(server: FakeWhatsAppServer, graph: GraphApi) -> None:
    media_id = server.add_media(b"%PDF-1.4 ijazah", "application/pdf")
    file = await graph.media(media_id)
    assert (file.content, file.mime_type) == (b"%PDF-1.4 ijazah", "application/pdf")


async def test_an_unreachable_api_is_transient() -> None:
    api = GraphApi("http://127.0.0.1:9/v21.0", "1", "t", timeout=2)
    try:
        with pytest.raises(TransientSendError):
            await api.send(SITI, {"type": "text", "text": {"body": "halo"}})
    finally:
        await api.aclose()
