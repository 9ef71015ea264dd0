"""`blkbot catalog load`: bad numbers and a programme with applications that a file leaves out.

Run against the test database (SQLite and PostgreSQL) through the command's own handler.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from storage.db import Database
from storage.models import Application, OutboxMessage
from storage.repositories import catalog, contacts, interests
from tests.cli.conftest import blkbot
from tests.conftest import DEMO_CATALOG, NOW
from training.catalog_file import CatalogInvalid
from training.catalog_store import ProgrammesDropped


def demo_without(tmp_path: Path, *codes: str) -> Path:
    """The demo catalog with the `[[programme]]` blocks of `codes` cut out, as a careless edit would."""
    text = DEMO_CATALOG.read_text(encoding="utf-8")
    head, *blocks = text.split("[[programme]]\n")
    kept = [b for b in blocks if not any(b.startswith(f'code = "{code}"\n') for code in codes)]
    assert len(kept) == len(blocks) - len(codes)
    path = tmp_path / "catalog.toml"
    path.write_text("[[programme]]\n".join([head, *kept]), encoding="utf-8")
    return path


async def apply_to(db: Database, code: str, count: int) -> None:
    async with db.transaction() as session:
        programme = await catalog.programme(session, code)
        assert programme is not None
        for i in range(count):
            session.add(Application(number=f"{code}-T-{i}", programme_id=programme.id))


async def is_active(db: Database, *codes: str) -> list[bool]:
    async with db.transaction() as session:
        return [p.active for code in codes if (p := await catalog.programme(session, code)) is not None]


async def test_leaving_out_programmes_with_applications_is_refused_naming_them(db: Database, tmp_path: Path) -> None:
    await apply_to(db, "LAS1", 2)
    await apply_to(db, "BOGA1", 1)
    path = demo_without(tmp_path, "LAS1", "BOGA1", "BRST1")  # BRST1 has no applications

    with pytest.raises(ProgrammesDropped) as refused:
        await blkbot(db, ["catalog", "load", str(path)])

    message = str(refused.value)
    assert "leaves out programmes that have applications: BOGA1 (1 applications), LAS1 (2 applications)" in message
    assert "--close BOGA1 --close LAS1" in message
    assert await is_active(db, "LAS1", "BOGA1", "BRST1") == [True, True, True]


async def test_programmes_closed_with_the_option_are_closed(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await apply_to(db, "LAS1", 2)
    path = demo_without(tmp_path, "LAS1", "BRST1")

    assert await blkbot(db, ["catalog", "load", str(path), "--close", "las1"]) == 0

    assert "loaded" in capsys.readouterr().out
    assert await is_active(db, "LAS1", "BRST1", "BOGA1") == [False, False, True]
    assert await blkbot(db, ["catalog", "load", str(path)]) == 0  # closed stays closed, no --close again


async def test_closing_a_programme_the_file_still_lists_is_refused(db: Database, tmp_path: Path) -> None:
    with pytest.raises(Exception, match="--close BOGA1: the file still lists BOGA1"):
        await blkbot(db, ["catalog", "load", str(DEMO_CATALOG), "--close", "BOGA1"])
    with pytest.raises(Exception, match="--close TAMBANG: no open programme TAMBANG"):
        await blkbot(db, ["catalog", "load", str(DEMO_CATALOG), "--close", "TAMBANG"])


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("quota = 16", "quota = 99999999999999999", "quota must be a whole number from 1 to 10000"),
        ("wave = 1", "wave = 100", "wave must be a whole number from 1 to 12"),
        ('{ kind = "min_age", years = 18 }', '{ kind = "min_age", years = 3000000000 }', "years must be from"),
    ],
)
async def test_numbers_beyond_their_range_are_refused_by_line(
    db: Database, tmp_path: Path, old: str, new: str, expected: str
) -> None:
    text = DEMO_CATALOG.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "catalog.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if old in row)

    with pytest.raises(CatalogInvalid) as refused:
        await blkbot(db, ["catalog", "load", str(path)])

    assert f"{path} line {line}:" in str(refused.value) and expected in str(refused.value)
    async with db.transaction() as session:
        las1 = await catalog.programme(session, "LAS1")
    assert las1 is not None and las1.quota == 16


async def test_control_characters_are_dropped_from_catalog_texts(db: Database, tmp_path: Path) -> None:
    text = DEMO_CATALOG.read_text(encoding="utf-8")
    path = tmp_path / "catalog.toml"
    path.write_text(text.replace('name = "UPT BLK', 'name = "UPT\\u0000 BLK\\u0007', 1), encoding="utf-8")

    assert await blkbot(db, ["catalog", "load", str(path)]) == 0

    async with db.transaction() as session:
        names = [p.venue.name for p in await catalog.programmes(session)]
    assert all("\x00" not in n and "\x07" not in n for n in names)
    assert any(n.startswith("UPT BLK") for n in names)


async def test_a_load_that_adds_a_programme_tells_those_who_asked_about_its_cluster(
    db: Database, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with db.transaction() as session:
        waiting = await contacts.get_or_create(session, "telegram", "5001", language="id")
        other = await contacts.get_or_create(session, "telegram", "5002", language="id")
        for person in (waiting, other):
            await contacts.set_subscribed(session, person, True)  # as the button does
        await interests.remember(session, waiting.id, "BOGA", "BOGA1", NOW)
        await interests.remember(session, other.id, "LAS", None, NOW)
    text = DEMO_CATALOG.read_text(encoding="utf-8")
    block = text.split("[[programme]]\n")[
        [b.startswith('code = "BOGA1"\n') for b in text.split("[[programme]]\n")].index(True)
    ]
    later = (
        block.replace('code = "BOGA1"', 'code = "BOGA9"')
        .replace("opens = 2026-11-01, closes = 2027-01-15", "opens = 2098-01-01, closes = 2098-02-01")
        .replace("starts = 2027-01-25, ends = 2027-02-12", "starts = 2098-03-02, ends = 2098-03-20")
    )
    path = tmp_path / "catalog.toml"
    path.write_text(text.rstrip() + "\n\n[[programme]]\n" + later, encoding="utf-8")

    assert await blkbot(db, ["catalog", "load", str(path)]) == 0
    assert "; 1 message(s) queued to people waiting for a programme that opened" in capsys.readouterr().out

    async with db.transaction() as session:
        [row] = list(await session.scalars(select(OutboxMessage)))
        left = [(i.contact_id, i.cluster_code) for i in await interests.of_contacts(session, [other.id])]
    assert (row.contact_id, row.dedupe_key) == (waiting.id, f"opening:BOGA9:2098-01-01:{waiting.id}")
    assert "Pendaftaran dibuka Rabu, 1 Januari 2098" in row.text and row.buttons == []
    assert left == [(other.id, "LAS")]  # a welding wish waits for a welding programme
