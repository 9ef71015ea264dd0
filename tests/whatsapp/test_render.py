"""What the resident sees on WhatsApp for each kind of Outbound the engine produces."""

from __future__ import annotations

from conversations.io import Option, Outbound
from handlers.whatsapp.render import (
    BODY_LIMIT,
    OWN_NUMBER,
    TEXT_LIMIT,
    TYPED,
    Words,
    render,
    render_text,
    split_text,
)
from messages.render import Templates

WORDS = Words(Templates(), "id")


def options(*labels: str) -> tuple[Option, ...]:
    return tuple(Option(f"step|{i}", label) for i, label in enumerate(labels))


def test_plain_text_becomes_one_text_message_with_whatsapp_markup() -> None:
    rendered = render(Outbound("<b>Halo</b> &lt;Siti&gt;"), WORDS)
    assert rendered.bodies == [{"type": "text", "text": {"body": "*Halo* <Siti>", "preview_url": False}}]
    assert rendered.menu == ()


def test_up_to_three_short_choices_are_reply_buttons() -> None:
    rendered = render(Outbound("Setuju?", options("✅ Setuju", "Tidak setuju")), WORDS)
    (body,) = rendered.bodies
    assert body["interactive"]["type"] == "button"
    assert body["interactive"]["body"] == {"text": "Setuju?"}
    assert [b["reply"] for b in body["interactive"]["action"]["buttons"]] == [
        {"id": "step|0", "title": "✅ Setuju"},
        {"id": "step|1", "title": "Tidak setuju"},
    ]


def test_a_label_too_long_for_a_button_makes_a_list_with_the_full_label_below() -> None:
    long = "Pengelasan SMAW Dasar untuk Calon PMI"
    rendered = render(Outbound("Pilih pelatihan:", options("Teknik Las", long)), WORDS)
    (body,) = rendered.bodies
    assert body["interactive"]["type"] == "list"
    action = body["interactive"]["action"]
    assert action["button"] == "Pilih"
    rows = action["sections"][0]["rows"]
    assert rows[0] == {"id": "step|0", "title": "1. Teknik Las"}
    assert rows[1]["id"] == "step|1"
    assert rows[1]["title"] == "2. Pengelasan SMAW Dasa…"
    assert len(rows[1]["title"]) <= 24
    assert rows[1]["description"] == long


def test_two_programmes_sharing_a_long_prefix_stay_apart() -> None:
    first, second = "Pengelasan SMAW Dasar Gelombang 1", "Pengelasan SMAW Dasar Gelombang 2"
    rows = render(Outbound("?", options(first, second, "Lain")), WORDS).bodies[0]["interactive"]["action"]["sections"][
        0
    ]["rows"]
    titles = [r["title"] for r in rows]
    assert len(set(titles)) == 3
    assert [r.get("description") for r in rows[:2]] == [first, second]


def test_more_than_ten_choices_are_a_numbered_menu_read_back_by_number() -> None:
    labels = [f"Kelurahan {n}" for n in range(1, 13)]
    rendered = render(Outbound("Pilih kelurahan:", options(*labels)), WORDS)
    (body,) = rendered.bodies
    text = body["text"]["body"]
    assert text.startswith("Pilih kelurahan:\n\n1. Kelurahan 1\n2. Kelurahan 2\n")
    assert "12. Kelurahan 12" in text
    assert text.endswith("Ketik nomor pilihan Anda (1–12).")
    assert rendered.menu == tuple(f"step|{i}" for i in range(12))


def test_back_is_listed_unnumbered_so_the_typed_numbers_match_the_reprompt() -> None:
    labels = [f"Kelurahan {n}" for n in range(1, 12)]
    rendered = render(Outbound("Pilih kelurahan:", (*options(*labels), Option("step|^", "⬅️ Kembali"))), WORDS)
    text = rendered.bodies[0]["text"]["body"]
    assert "11. Kelurahan 11\n⬅️ Kembali\n" in text
    assert "12." not in text
    assert text.endswith(Templates().label("id", "whatsapp/type_number", count=11))
    assert rendered.menu == tuple(f"step|{i}" for i in range(11))


def test_a_numbered_list_leaves_back_unnumbered() -> None:
    long = "Pengelasan SMAW Dasar untuk Calon PMI"
    outbound = Outbound("Pilih pelatihan:", (*options("Teknik Las", long), Option("step|^", "⬅️ Kembali")))
    rows = render(outbound, WORDS).bodies[0]["interactive"]["action"]["sections"][0]["rows"]
    assert [row["title"] for row in rows] == ["1. Teknik Las", "2. Pengelasan SMAW Dasa…", "⬅️ Kembali"]


def test_a_long_question_goes_first_as_text_and_the_buttons_keep_a_short_body() -> None:
    paragraph = ("Kalimat yang panjang sekali. " * 20).strip()
    text = "\n\n".join([paragraph] * 12)  # about 7,000 characters
    rendered = render(Outbound(text, options("Ya", "Tidak")), WORDS)
    *texts, last = rendered.bodies
    assert all(b["type"] == "text" and len(b["text"]["body"]) <= TEXT_LIMIT for b in texts)
    assert last["type"] == "interactive" and len(last["interactive"]["body"]["text"]) <= BODY_LIMIT
    shown = "\n\n".join([*(b["text"]["body"] for b in texts), last["interactive"]["body"]["text"]])
    assert shown == text


def test_the_phone_question_offers_the_senders_own_number_and_back() -> None:
    outbound = Outbound("Nomor HP Anda?", ask_contact="📱 Kirim nomor", reply_back="⬅️ Kembali")
    (body,) = render(outbound, WORDS, own_number="0812-3456-7890").bodies
    assert body["interactive"]["body"]["text"] == (
        "Nomor HP Anda?\n\nPakai nomor WhatsApp ini: 0812-3456-7890? Tekan tombol di bawah, atau ketik nomor lain."
    )
    assert [b["reply"] for b in body["interactive"]["action"]["buttons"]] == [
        {"id": OWN_NUMBER, "title": "Pakai nomor ini"},
        {"id": TYPED, "title": "⬅️ Kembali"},
    ]


def test_link_buttons_of_a_pushed_message_become_lines() -> None:
    bodies = render_text("<b>Lowongan</b>", [("Daftar", "https://karirhub.kemnaker.go.id/x")])
    assert bodies == [
        {
            "type": "text",
            "text": {"body": "*Lowongan*\n\nDaftar: https://karirhub.kemnaker.go.id/x", "preview_url": False},
        }
    ]


def test_split_text_never_loses_or_exceeds() -> None:
    word = "x" * 5000
    parts = split_text(f"awal {word} akhir", 4096)
    assert all(len(p) <= 4096 for p in parts)
    assert "".join(parts).replace(" ", "") == f"awal{word}akhir"
