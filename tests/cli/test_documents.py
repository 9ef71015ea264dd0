"""`blkbot documents list|get`: staff see and open an applicant's documents from the terminal."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from storage.db import Database
from storage.files import LocalFolderStore
from storage.models import Application, Programme
from storage.repositories import catalog, contacts
from tests.cli.conftest import blkbot
from training.documents import DocumentKind, Incoming, receive

WHEN = datetime(2026, 11, 25, 3, tzinfo=UTC)


async def test_list_shows_received_and_missing_and_get_writes_the_file(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BLKBOT_FILES_DIR", str(tmp_path / "files"))
    store = LocalFolderStore(tmp_path / "files")
    async with db.transaction() as session:
        await session.execute(update(Programme).where(Programme.code == "LAS1").values(documents=["ktp", "ijazah"]))
        programme = await catalog.programme(session, "LAS1")
        assert programme is not None
        contact = await contacts.get_or_create(session, "telegram", "700", language="id")
        application = Application(number="LAS1-2027-0001", programme_id=programme.id, contact_id=contact.id)
        session.add(application)
        await session.flush()
        incoming = Incoming("image", "image/jpeg", b"\xff\xd8 ktp", 9)
        await receive(session, store, contact, DocumentKind.KTP, incoming, WHEN, application)

    assert await blkbot(db, ["documents", "list", "LAS1-2027-0001"]) == 0
    listed = capsys.readouterr().out
    assert "ktp" in listed and "image/jpeg" in listed and "missing: ijazah" in listed

    out = tmp_path / "ktp.jpg"
    assert await blkbot(db, ["documents", "get", "las1-2027-0001", "ktp", "--out", str(out)]) == 0
    assert out.read_bytes() == b"\xff\xd8 ktp"
