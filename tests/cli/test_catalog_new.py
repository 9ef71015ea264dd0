"""`blkbot catalog new`: an office starts its own catalog from an annotated file that already passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from storage.db import Database
from storage.repositories import catalog
from tests.cli.conftest import run


def test_new_catalog_passes_the_check_and_loads(
    cli_db: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "katalog.toml"
    assert main(["catalog", "new", str(target)]) == 0
    assert "blkbot catalog check" in capsys.readouterr().out

    assert main(["catalog", "check", str(target)]) == 0
    assert main(["catalog", "load", str(target)]) == 0

    async def loaded(db: Database) -> tuple[str, list[str], list[str | None]]:
        async with db.transaction() as session:
            info = await catalog.info(session)
            assert info is not None
            office = [
                info.office_phone,
                info.office_whatsapp,
                info.office_email,
                info.office_address,
                info.office_hours,
            ]
            return info.city, sorted(p.code for p in await catalog.programmes(session) if p.active), office

    city, programmes, office = run(loaded, cli_db)
    assert (city, programmes) == ("Kota Contoh", ["BOGA1", "LAS1"])
    assert None not in office  # every way to reach the office is shown, to be filled in


def test_new_catalog_names_every_rule_kind(tmp_path: Path) -> None:
    """Staff learn the rules from the file: each kind the parser reads is shown there."""
    target = tmp_path / "katalog.toml"
    assert main(["catalog", "new", str(target)]) == 0
    text = target.read_text(encoding="utf-8")
    for kind in ("ktp_region", "min_age", "max_age", "min_education", "healthy", "not_working", "never_trained"):
        assert f'kind = "{kind}"' in text
    assert 'kind = "declaration"' in text


def test_new_catalog_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "katalog.toml"
    target.write_text("# my work\n", encoding="utf-8")
    assert main(["catalog", "new", str(target)]) == 1
    assert "exists already" in capsys.readouterr().err
    assert target.read_text(encoding="utf-8") == "# my work\n"
