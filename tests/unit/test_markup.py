"""Splitting Telegram HTML and converting it for the terminal and WhatsApp."""

from __future__ import annotations

import random
from html.parser import HTMLParser

import pytest

from messages.markup import html_to_plain, html_to_whatsapp, split_message, utf16_len


class _Checker(HTMLParser):
    """Independent check of a chunk: balanced tags, and the text Telegram would show."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.opens: list[str] = []
        self.text: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack.append(tag)
        self.opens.append(self.get_starttag_text() or "")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def check(chunk: str) -> _Checker:
    c = _Checker()
    c.feed(chunk)
    c.close()
    return c


def visible(html: str) -> str:
    return "".join(check(html).text)


def assert_valid_chunks(chunks: list[str], limit: int) -> None:
    for chunk in chunks:
        c = check(chunk)
        assert not c.errors, (c.errors, chunk)
        assert not c.stack, (f"unclosed {c.stack}", chunk)
        assert utf16_len("".join(c.text)) <= limit, chunk
        assert "".join(c.text).strip(), f"empty chunk {chunk!r}"


def squash(s: str) -> str:
    return "".join(s.split())


def test_utf16_len() -> None:
    assert utf16_len("") == 0
    assert utf16_len("abc") == 3
    assert utf16_len("é") == 1
    assert utf16_len("😀") == 2
    assert utf16_len("👨‍👩‍👧") == 8  # three emoji + two zero-width joiners


def test_short_message_is_returned_unchanged() -> None:
    html = "<b>Halo</b> &amp; selamat datang\n"
    assert split_message(html) == [html]


def test_empty_and_whitespace_only() -> None:
    assert split_message("") == []
    assert split_message("  \n\n ") == []
    assert split_message("<b> </b>") == []
    assert split_message("<i>&#32;&#10;</i>") == []  # entities that decode to whitespace


def test_tags_and_entities_do_not_count() -> None:
    """Exactly at the limit once tags are dropped and &amp; counts as 1."""
    html = "<b>" + "&amp;" * 10 + "</b>" + '<a href="https://example.com/x">' + "a" * 10 + "</a>"
    assert split_message(html, limit=20) == [html]
    assert len(split_message(html, limit=19)) == 2


def test_long_paragraph_without_spaces_is_cut_hard() -> None:
    html = "x" * 10_000
    chunks = split_message(html)
    assert [len(c) for c in chunks] == [4096, 4096, 1808]
    assert "".join(chunks) == html


def test_long_paragraph_of_words_is_cut_at_spaces() -> None:
    words = [f"kata{i}" for i in range(1250)]
    html = " ".join(words)
    assert 10_000 < len(html) < 3 * 4000
    chunks = split_message(html)
    assert len(chunks) == 3
    assert_valid_chunks(chunks, 4096)
    assert all(len(c) > 4096 - 10 for c in chunks[:-1])  # cut at the last space
    # No word was cut in half, and nothing was lost but the spaces at the cuts.
    assert [w for c in chunks for w in c.split()] == words


def test_many_short_lines_are_cut_at_newlines() -> None:
    lines = [f"{i}. Pelatihan menjahit angkatan {i}" for i in range(600)]
    html = "\n".join(lines)
    chunks = split_message(html, limit=1000)
    assert len(chunks) > 1
    assert_valid_chunks(chunks, 1000)
    assert [line for c in chunks for line in c.split("\n")] == lines


def test_blank_lines_are_preferred_over_newlines() -> None:
    para = "\n".join(["baris"] * 20)  # 119 characters
    html = "\n\n".join([para] * 10)
    chunks = split_message(html, limit=300)
    assert_valid_chunks(chunks, 300)
    for chunk in chunks:
        assert chunk == "\n\n".join([para] * chunk.count("\n\n") + [para])[: len(chunk)]
        assert chunk.endswith("baris") and chunk.startswith("baris")
    assert chunks[0] == para + "\n\n" + para  # two paragraphs fit, three do not


def test_short_heading_is_not_sent_alone() -> None:
    html = "<b>Daftar</b>\n\n" + "\n".join(f"baris {i}" for i in range(200))
    chunks = split_message(html, limit=500)
    assert_valid_chunks(chunks, 500)
    assert len(visible(chunks[0])) > 250


def test_bold_run_crossing_the_cut_is_closed_and_reopened() -> None:
    html = "Awal. <b>" + "tebal " * 300 + "</b> akhir."
    chunks = split_message(html, limit=500)
    assert len(chunks) >= 4
    assert_valid_chunks(chunks, 500)
    assert chunks[0].startswith("Awal. <b>") and chunks[0].endswith("</b>")
    for middle in chunks[1:-1]:
        assert middle.startswith("<b>") and middle.endswith("</b>")
    assert chunks[-1].endswith("</b> akhir.")
    assert squash("".join(visible(c) for c in chunks)) == squash(visible(html))


def test_nested_tags_reopen_with_their_attributes() -> None:
    link = '<a href="https://blk.example.go.id/daftar?x=1&amp;y=2">'
    html = "<i>miring " + link + "<b>" + "daftar " * 100 + "</b></a> selesai</i>"
    chunks = split_message(html, limit=200)
    assert_valid_chunks(chunks, 200)
    for chunk in chunks[1:]:
        assert chunk.startswith("<i>" + link + "<b>")
    for chunk in chunks[:-1]:
        assert chunk.endswith("</b></a></i>")


def test_pre_code_block_keeps_its_language_class() -> None:
    opening = '<pre><code class="language-python">'
    html = opening + "\n".join(f"x = {i}  # baris" for i in range(200)) + "</code></pre>"
    chunks = split_message(html, limit=400)
    assert_valid_chunks(chunks, 400)
    assert all(c.startswith(opening) and c.endswith("</code></pre>") for c in chunks)


def test_entities_at_the_boundary_are_never_cut() -> None:
    html = "a" * 9 + "&amp;&lt;&gt;&quot;&#39;&#x1F600;" + "b" * 20
    for limit in range(5, 40):
        chunks = split_message(html, limit=limit)
        assert_valid_chunks(chunks, limit)
        for chunk in chunks:
            # Every "&" starts a complete entity.
            for i, ch in enumerate(chunk):
                if ch == "&":
                    assert ";" in chunk[i : i + 10], (limit, chunk)
        assert "".join(visible(c) for c in chunks) == visible(html)


def test_emoji_count_as_two() -> None:
    html = "😀" * 10
    chunks = split_message(html, limit=5)
    assert chunks == ["😀😀", "😀😀", "😀😀", "😀😀", "😀😀"]
    chunks = split_message("😀" * 10, limit=4096)
    assert chunks == [html]
    assert split_message("a" + "😀" * 4, limit=8) == ["a😀😀😀", "😀"]


def test_emoji_sequences_are_not_split_when_avoidable() -> None:
    family = "👨‍👩‍👧"  # 8 UTF-16 units
    html = family * 5
    chunks = split_message(html, limit=20)
    assert_valid_chunks(chunks, 20)
    assert chunks == [family * 2, family * 2, family]


def test_limit_respected_with_mixed_content() -> None:
    rng = random.Random(20251027)
    pieces = [
        "kata",
        "😀",
        "&amp;",
        "é",
        " ",
        "\n",
        "\n\n",
        "<b>tebal</b>",
        "<i>mir ing</i>",
        '<a href="https://x.id/?a=1&amp;b=2">tautan</a>',
        "<u><s>dua</s></u>",
        "&#128512;",
    ]
    for _ in range(200):
        html = "".join(rng.choice(pieces) for _ in range(rng.randint(50, 400)))
        limit = rng.choice([7, 16, 50, 100, 333])
        chunks = split_message(html, limit=limit)
        assert_valid_chunks(chunks, limit)
        assert squash("".join(visible(c) for c in chunks)) == squash(visible(html))


def test_bad_limit() -> None:
    with pytest.raises(ValueError):
        split_message("x", limit=0)


# ------------------------------------------------------------------------ html_to_plain


@pytest.mark.parametrize(
    ("html", "plain"),
    [
        ("<b>Halo</b> <i>Budi</i>", "Halo Budi"),
        ("A &amp; B &lt;3 &#128512;", "A & B <3 😀"),
        ("baris 1\nbaris 2\n\nbaris 4", "baris 1\nbaris 2\n\nbaris 4"),
        ('<a href="https://blk.id/daftar">Daftar</a>', "Daftar (https://blk.id/daftar)"),
        ('<a href="https://blk.id">https://blk.id</a>', "https://blk.id"),
        ('<a href="mailto:a@b.id">a@b.id</a>', "a@b.id"),
        ('<a href="https://x.id/?a=1&amp;b=2"><b>Tautan</b></a>', "Tautan (https://x.id/?a=1&b=2)"),
        ('<pre><code class="language-py">x = 1\ny = 2</code></pre>', "x = 1\ny = 2"),
        ("<blockquote>kutipan</blockquote>", "kutipan"),
        ('<span class="tg-spoiler">rahasia</span>', "rahasia"),
        ("<b>tidak ditutup", "tidak ditutup"),
    ],
)
def test_html_to_plain(html: str, plain: str) -> None:
    assert html_to_plain(html) == plain


# --------------------------------------------------------------------- html_to_whatsapp


@pytest.mark.parametrize(
    ("html", "wa"),
    [
        ("<b>Halo</b> <strong>Budi</strong>", "*Halo* *Budi*"),
        ("<i>a</i> <em>b</em>", "_a_ _b_"),
        ("<s>a</s> <strike>b</strike> <del>c</del>", "~a~ ~b~ ~c~"),
        ("<code>kode</code>", "```kode```"),
        ("<pre>x = 1\ny = 2</pre>", "```x = 1\ny = 2```"),
        ('<pre><code class="language-py">x = 1</code></pre>', "```x = 1```"),
        ('<a href="https://blk.id/daftar">Daftar</a>', "Daftar (https://blk.id/daftar)"),
        ("Rp 1.500.000 &amp; gratis &lt;3", "Rp 1.500.000 & gratis <3"),
        ("<b>tebal </b>biasa", "*tebal* biasa"),  # no space inside the markers
        ("<b>satu\ndua</b>", "*satu*\n*dua*"),
        ("<b><i>keduanya</i></b>", "*_keduanya_*"),
        ("<u>garis bawah</u>", "garis bawah"),
        ("<blockquote>satu\ndua</blockquote>", "> satu\n> dua"),
        ("<b></b>kosong", "kosong"),
        # A resident's own markers are text, not markup: they come out as look-alikes.
        ("Nama: <b>*Siti* _Aini_</b>", "Nama: *\u2217Siti\u2217 \uff3fAini\uff3f*"),
        ("~coret~ `kode`", "\u223ccoret\u223c \u02cbkode\u02cb"),
    ],
)
def test_html_to_whatsapp(html: str, wa: str) -> None:
    assert html_to_whatsapp(html) == wa
