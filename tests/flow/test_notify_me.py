""" "Kabari saya": the button remembers which cluster (and programme) the person was looking at, and a
catalog load that opens a programme there tells them once, then forgets the wish."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
from sqlalchemy import select

from conversations.context import Services
from conversations.io import Inbound
from conversations.runner import Conversations
from messages.render import Templates
from outreach import openings
from storage.db import Database
from storage.models import Contact, Conversation, Interest, OutboxMessage
from storage.repositories import contacts
from tests.conftest import JAKARTA, NOW, Clock
from tests.flow.helpers import Resident
from training.catalog import Catalog
from training.catalog_store import store_catalog

NOTIFY = "🔔 Kabari saya pelatihan berikutnya"


@pytest.fixture
def siti(conversations: Conversations) -> Resident:
    return Resident(conversations, "siti", channel="telegram")


async def wishes(db: Database) -> list[tuple[int, str | None, str | None]]:
    async with db.transaction() as session:
        rows = await session.execute(
            select(Interest.contact_id, Interest.cluster_code, Interest.programme_code).order_by(Interest.id)
        )
        return [(contact_id, cluster, programme) for contact_id, cluster, programme in rows.all()]


async def contact_of(db: Database, chat_id: str) -> Contact:
    async with db.transaction() as session:
        contact = await contacts.get(session, "telegram", chat_id)
        assert contact is not None
        return contact


async def turned_away_from_boga1(resident: Resident) -> None:
    await resident.type("/daftar")
    await resident.pick("BOGA1", "BOGA")
    while resident.step != "q_healthy":
        await resident.choose(resident.step or "", "y")
    await resident.choose("q_healthy", "n")


async def load_and_announce(db: Database, templates: Templates, catalog: Catalog) -> int:
    """What `blkbot catalog load` does: note what was available, load, tell those waiting."""
    today = NOW.date()
    async with db.transaction() as session:
        before = await openings.available(session, today)
        await store_catalog(session, catalog, "next-wave.toml")
        return await openings.announce(session, templates, before, today, NOW)


def with_copy(catalog: Catalog, code: str, of: str) -> Catalog:
    [original] = [p for p in catalog.programmes if p.code == of]
    return replace(catalog, programmes=(*catalog.programmes, replace(original, code=code)))


async def test_the_button_remembers_the_cluster_and_programme_and_dataku_shows_it(siti: Resident, db: Database) -> None:
    await turned_away_from_boga1(siti)
    assert NOTIFY in siti.buttons

    await siti.press(NOTIFY)

    assert "Saat pelatihan <b>Tata Boga</b> membuka pendaftaran, kami kabari Anda" in siti.text
    contact = await contact_of(db, "siti")
    assert contact.subscribed is True
    assert await wishes(db) == [(contact.id, "BOGA", "BOGA1")]
    await siti.type("/dataku")
    assert "Kabar pelatihan yang Anda tunggu: Tata Boga (Olahan Kue dan Roti)" in siti.text


async def test_pressing_it_again_keeps_one_wish_per_cluster(siti: Resident, db: Database) -> None:
    await turned_away_from_boga1(siti)
    await siti.press(NOTIFY)
    await siti.send(Inbound(choice="@notify|BOGA.BOGA1"))
    await siti.send(Inbound(choice="@notify|NOPE.X"))  # a forged cluster is kept as "any"
    contact = await contact_of(db, "siti")
    assert await wishes(db) == [(contact.id, "BOGA", "BOGA1"), (contact.id, None, None)]


async def test_nothing_open_remembers_a_wish_for_any_cluster(
    db: Database, templates: Templates, clock: Clock, conversations: Conversations
) -> None:
    clock.now = datetime(2031, 1, 1, 9, 0, tzinfo=JAKARTA)  # after every demo programme closed
    budi = Resident(conversations, "budi", channel="telegram")
    await budi.type("/daftar")
    assert budi.buttons == [NOTIFY]
    await budi.press(NOTIFY)
    assert "Saat ada pelatihan yang membuka pendaftaran" in budi.text
    assert [(cluster, programme) for _, cluster, programme in await wishes(db)] == [(None, None)]


async def test_a_load_that_opens_a_programme_tells_those_waiting_once(
    siti: Resident, conversations: Conversations, db: Database, templates: Templates, demo_catalog: Catalog
) -> None:
    await turned_away_from_boga1(siti)
    await siti.press(NOTIFY)
    budi = Resident(conversations, "budi", channel="telegram")
    await budi.send(Inbound(choice="@notify|."))  # from "nothing open": any cluster
    siti_id, budi_id = (await contact_of(db, "siti")).id, (await contact_of(db, "budi")).id

    assert await load_and_announce(db, templates, demo_catalog) == 0  # the same catalog opens nothing
    next_wave = with_copy(with_copy(demo_catalog, "BOGA2", of="BOGA1"), "LAS2", of="LAS1")
    assert await load_and_announce(db, templates, next_wave) == 3

    async with db.transaction() as session:
        rows = list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    told = sorted((r.contact_id, r.dedupe_key.split(":")[1]) for r in rows)
    assert told == sorted([(siti_id, "BOGA2"), (budi_id, "BOGA2"), (budi_id, "LAS2")])
    [to_siti] = [r for r in rows if r.contact_id == siti_id]
    assert to_siti.origin == "opening" and to_siti.kind == "announcement"
    assert to_siti.text.startswith("🔔 <b>Pendaftaran pelatihan Tata Boga</b>")
    assert "Pendaftaran sudah dibuka sampai" in to_siti.text
    assert to_siti.buttons == [[{"label": "📝 Daftar pelatihan", "data": "/daftar BOGA2"}]]
    assert await wishes(db) == []  # told, so forgotten

    assert await load_and_announce(db, templates, with_copy(next_wave, "BOGA3", of="BOGA1")) == 0

    # The message's button, pressed in a bot that has read the new catalog (within its cache time).
    later = Resident(
        Conversations(db, Services(templates=templates, timezone=JAKARTA, clock=Clock())), "siti", "telegram"
    )
    await later.send(Inbound(choice="/daftar BOGA2"))
    async with db.transaction() as session:
        state = await session.get(Conversation, ("telegram", "siti"))
    assert state is not None and state.data["answers"]["programme"] == "BOGA2"


async def test_erasure_forgets_the_wish(siti: Resident, db: Database) -> None:
    await turned_away_from_boga1(siti)
    await siti.press(NOTIFY)
    await siti.type("/hapusdata")
    assert await wishes(db) != []
    await siti.press("Ya, hapus data saya")
    assert await wishes(db) == []
