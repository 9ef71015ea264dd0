"""`blkbot whatsapp templates`: what an office submits to Meta, in Meta's terms."""

from __future__ import annotations

import pytest

from bot.cli import main


def test_templates_lists_both_kinds_in_both_languages_with_placeholder_and_example(
    cli_db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BLKBOT_WHATSAPP_TEMPLATE_APPLICATION", "kabar_blk_kota")
    monkeypatch.delenv("BLKBOT_WHATSAPP_TEMPLATE_ANNOUNCEMENT", raising=False)

    assert main(["whatsapp", "templates"]) == 0

    out = capsys.readouterr().out
    assert "== kabar_blk_kota  (set: BLKBOT_WHATSAPP_TEMPLATE_APPLICATION=kabar_blk_kota)" in out
    assert "not set yet: BLKBOT_WHATSAPP_TEMPLATE_ANNOUNCEMENT=blkbot_pengumuman" in out
    assert out.count("category: UTILITY") == 1 and out.count("category: MARKETING") == 1
    assert out.count("-- language: id") == 2 and out.count("-- language: en") == 2
    assert out.count("{{1}}") == 8  # once in each body, once in each example's label
    assert "Ada kabar tentang pendaftaran pelatihan Anda" in out and "example for {{1}}: Hasil seleksi" in out
