"""Templates: escaping, strictness, language fallback, per-language includes, filters.

Every test builds its own template tree, so nothing here depends on the real messages.
"""

from __future__ import annotations

import os
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from jinja2 import TemplateNotFound, UndefinedError
from markupsafe import Markup

import messages
from messages.render import Templates, format_number, format_phone, format_rupiah


def write(root: Path, files: dict[str, str], *, auto_reload: bool = False) -> Templates:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return Templates(root, auto_reload=auto_reload)


@pytest.fixture
def tpl(tmp_path: Path) -> Templates:
    return write(
        tmp_path,
        {
            "id/greet.html.j2": "Halo, <b>{{ name }}</b>!\n",
            "en/greet.html.j2": "Hello, <b>{{ name }}</b>!\n",
            "id/only_id.html.j2": "Hanya {{ d|tanggal }} ({{ lang }})",
            "id/reg/ask_nik.html.j2": "Ketik NIK Anda.\n{% include '_partials/footer.html.j2' %}",
            "en/reg/ask_nik.html.j2": "Type your NIK.\n{% include '_partials/footer.html.j2' %}",
            "id/_partials/footer.html.j2": "<i>Salam, BLK</i> [{{ lang }}]",
            "en/_partials/footer.html.j2": "<i>Regards, BLK</i> [{{ lang }}]",
            # Only an Indonesian version of this partial: English falls back to it.
            "id/_partials/macros.html.j2": ("{% macro when(d) %}{{ d|tanggal_pendek }}/{{ lang }}{% endmacro %}"),
            "id/sched.html.j2": "{% import '_partials/macros.html.j2' as m %}{{ m.when(d) }}",
            "en/sched.html.j2": "{% import '_partials/macros.html.j2' as m %}{{ m.when(d) }}",
            "id/filters.html.j2": (
                "{{ d|tanggal }} | {{ d|tanggal_pendek }} | {{ dt|waktu }} | {{ dt|jam }} | "
                "{{ fee|rupiah }} | {{ n|angka }}"
            ),
            "en/filters.html.j2": (
                "{{ d|tanggal }} | {{ d|tanggal_pendek }} | {{ dt|waktu }} | {{ dt|jam }} | "
                "{{ fee|rupiah }} | {{ n|angka }}"
            ),
        },
    )


FILTER_PARAMS = {
    "d": date(2025, 10, 27),
    "dt": datetime(2025, 10, 27, 14, 0, tzinfo=ZoneInfo("Asia/Jakarta")),
    "fee": 1_500_000,
    "n": 1234,
}


def test_default_root_is_the_package_folder() -> None:
    assert Templates().root == Path(messages.__file__).resolve().parent


def test_render_and_strip(tpl: Templates) -> None:
    assert tpl.render("id", "greet", name="Budi") == "Halo, <b>Budi</b>!"
    assert tpl.render("en", "greet", name="Budi") == "Hello, <b>Budi</b>!"


def test_parameters_are_escaped(tpl: Templates) -> None:
    out = tpl.render("id", "greet", name='<b>Tom & "Jerry"</b>')
    assert out == "Halo, <b>&lt;b&gt;Tom &amp; &#34;Jerry&#34;&lt;/b&gt;</b>!"


def test_markup_parameters_are_trusted(tpl: Templates) -> None:
    """Already-rendered messages can be nested on purpose with markupsafe.Markup."""
    assert tpl.render("id", "greet", name=Markup("<i>Budi</i>")) == "Halo, <b><i>Budi</i></b>!"


def test_missing_parameter_raises(tpl: Templates) -> None:
    with pytest.raises(UndefinedError):
        tpl.render("id", "greet")


def test_lang_is_reserved_but_key_is_a_fine_parameter(tmp_path: Path) -> None:
    t = write(tmp_path, {"id/k.html.j2": "{{ key }}"})
    assert t.render("id", "k", key="nilai") == "nilai"
    with pytest.raises(TypeError, match="reserved"):
        t.render("id", "k", key="x", lang="en")


def test_fallback_to_indonesian_renders_in_indonesian(tpl: Templates) -> None:
    out = tpl.render("en", "only_id", d=date(2025, 10, 27))
    assert out == "Hanya Senin, 27 Oktober 2025 (id)"
    assert tpl.resolve_lang("en", "only_id") == "id"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("en-US", "Hello"), ("en_GB", "Hello"), ("fr", "Halo"), ("../en", "Halo"), ("", "Halo")],
)
def test_language_codes(tpl: Templates, lang: str, expected: str) -> None:
    assert tpl.render(lang, "greet", name="X").startswith(expected)


def test_unknown_key_raises(tpl: Templates) -> None:
    with pytest.raises(TemplateNotFound):
        tpl.render("en", "nope")


@pytest.mark.parametrize("key", ["", "/greet", "../id/greet", "a//b", "a\\b"])
def test_malformed_key_raises(tpl: Templates, key: str) -> None:
    with pytest.raises(ValueError):
        tpl.render("id", key)


def test_includes_resolve_per_language(tpl: Templates) -> None:
    assert tpl.render("id", "reg/ask_nik") == "Ketik NIK Anda.\n<i>Salam, BLK</i> [id]"
    assert tpl.render("en", "reg/ask_nik") == "Type your NIK.\n<i>Regards, BLK</i> [en]"


def test_missing_partial_falls_back_to_indonesian_file_but_keeps_language(
    tpl: Templates,
) -> None:
    d = date(2025, 10, 27)
    assert tpl.render("id", "sched", d=d) == "27 Okt 2025/id"
    assert tpl.render("en", "sched", d=d) == "27 Oct 2025/en"


def test_include_name_variants(tmp_path: Path) -> None:
    t = write(
        tmp_path,
        {
            "id/_p/x.html.j2": "id-x",
            "en/_p/x.html.j2": "en-x",
            "en/a.html.j2": "{% include '_p/x' %} {% include '/id/_p/x.html.j2' %}",
        },
    )
    assert t.render("en", "a") == "en-x id-x"


def test_extends_resolves_per_language(tmp_path: Path) -> None:
    t = write(
        tmp_path,
        {
            "id/_base.html.j2": "[{% block body %}{% endblock %}] {{ lang }}",
            "en/page.html.j2": "{% extends '_base.html.j2' %}{% block body %}isi{% endblock %}",
        },
    )
    assert t.render("en", "page") == "[isi] en"


def test_trim_and_lstrip_blocks(tmp_path: Path) -> None:
    t = write(
        tmp_path,
        {
            "id/list.html.j2": (
                "Pelatihan:\n{% for c in courses %}\n    {% if c %}\n• {{ c }}\n    {% endif %}\n{% endfor %}\n"
            )
        },
    )
    assert t.render("id", "list", courses=["Las", "Jahit"]) == "Pelatihan:\n• Las\n• Jahit"


def test_filters_follow_template_language(tpl: Templates) -> None:
    assert tpl.render("id", "filters", **FILTER_PARAMS) == (
        "Senin, 27 Oktober 2025 | 27 Okt 2025 | Senin, 27 Oktober 2025 pukul 14.00 WIB"
        " | 14.00 WIB | Rp 1.500.000 | 1.234"
    )
    assert tpl.render("en", "filters", **FILTER_PARAMS) == (
        "Monday, 27 October 2025 | 27 Oct 2025 | Monday, 27 October 2025 at 14:00 WIB"
        " | 14:00 WIB | Rp 1,500,000 | 1,234"
    )


def test_has_keys_languages(tpl: Templates) -> None:
    assert tpl.has("id", "greet") and tpl.has("en", "greet")
    assert tpl.has("id", "only_id") and not tpl.has("en", "only_id")
    assert not tpl.has("fr", "greet")
    assert tpl.keys("id") == {"greet", "only_id", "reg/ask_nik", "sched", "filters"}
    assert tpl.keys("en") == {"greet", "reg/ask_nik", "sched", "filters"}
    assert tpl.keys("fr") == set()
    assert tpl.languages() == {"id", "en"}


def test_template_edits_are_picked_up_with_auto_reload(tmp_path: Path) -> None:
    t = write(tmp_path, {"id/x.html.j2": "satu"}, auto_reload=True)
    assert t.render("id", "x") == "satu"
    path = tmp_path / "id/x.html.j2"
    path.write_text("dua", encoding="utf-8")
    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 5))
    assert t.render("id", "x") == "dua"


@pytest.mark.parametrize(
    ("n", "lang", "text"),
    [
        (0, "id", "0"),
        (999, "id", "999"),
        (1234, "id", "1.234"),
        (1234, "en", "1,234"),
        (1_234_567, "id", "1.234.567"),
        (-1234, "id", "-1.234"),
        (1234.5, "id", "1.234,5"),
        (1234.5, "en", "1,234.5"),
    ],
)
def test_format_number(n: int | float, lang: str, text: str) -> None:
    assert format_number(n, lang) == text


@pytest.mark.parametrize(
    ("amount", "lang", "text"),
    [
        (1_500_000, "id", "Rp 1.500.000"),
        (1_500_000, "en", "Rp 1,500,000"),
        (0, "id", "Rp 0"),
        (Decimal("2500.5"), "id", "Rp 2.501"),
        (75000.0, "id", "Rp 75.000"),
        (-5000, "id", "-Rp 5.000"),
    ],
)
def test_format_rupiah(amount: int | float | Decimal, lang: str, text: str) -> None:
    assert format_rupiah(amount, lang) == text


def test_numbers_reject_bool() -> None:
    with pytest.raises(TypeError):
        format_number(True)
    with pytest.raises(TypeError):
        format_rupiah(False)


def test_time_only_filter_accepts_naive_time(tmp_path: Path) -> None:
    t = write(tmp_path, {"id/t.html.j2": "{{ t|jam }}", "en/t.html.j2": "{{ t|jam }}"})
    assert t.render("id", "t", t=time(9, 30)) == "09.30"
    assert t.render("en", "t", t=time(9, 30)) == "09:30"


def test_new_translation_of_a_partial_replaces_the_fallback_with_auto_reload(tmp_path: Path) -> None:
    t = write(
        tmp_path,
        {
            "id/_p/f.html.j2": "id",
            "en/a.html.j2": "{% include '_p/f.html.j2' %}",
        },
        auto_reload=True,
    )
    assert t.render("en", "a") == "id"
    (tmp_path / "en/_p").mkdir()
    (tmp_path / "en/_p/f.html.j2").write_text("en", encoding="utf-8")
    assert t.render("en", "a") == "en"


def test_without_auto_reload_the_files_are_read_once(tmp_path: Path) -> None:
    t = write(tmp_path, {"id/x.html.j2": "satu"})
    assert t.render("en", "x") == "satu"
    (tmp_path / "en").mkdir()
    (tmp_path / "en/x.html.j2").write_text("one", encoding="utf-8")
    (tmp_path / "id/x.html.j2").write_text("dua", encoding="utf-8")
    assert t.render("en", "x") == "satu"  # what the running bot said at first, until it restarts
    assert Templates(tmp_path).render("en", "x") == "one"


def test_label_is_plain_text_and_kept_unless_auto_reload(tmp_path: Path) -> None:
    t = write(tmp_path, {"id/b.html.j2": "  ✅ <b>Setuju</b> &amp; lanjut \n", "id/n.html.j2": "{{ n }} <i>kursi</i>"})
    assert t.label("id", "b") == "✅ Setuju & lanjut"
    assert t.label("id", "n", n=5) == "5 kursi"
    (tmp_path / "id/b.html.j2").write_text("Baru", encoding="utf-8")
    assert t.label("id", "b") == "✅ Setuju & lanjut"
    assert Templates(tmp_path, auto_reload=True).label("id", "b") == "Baru"


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("+6281234567890", "0812-3456-7890"),
        ("6281234567890", "0812-3456-7890"),
        ("+628123456789", "0812-3456-789"),
        ("+12025550123", "+1 202-555-0123"),
        ("bukan nomor", "bukan nomor"),
    ],
)
def test_phone_numbers_are_shown_as_people_write_them(stored: str, shown: str) -> None:
    assert format_phone(stored) == shown
