"""Every webhook case is a real-shaped payload under testdata/; one table says what each becomes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from handlers.whatsapp.wire import BadPayload, Delivery, Media, WaMessage, WaStatus, parse_delivery

TESTDATA = Path(__file__).parent / "testdata"
SENT = datetime(2026, 11, 29, 8, 0, tzinfo=UTC)
SITI = "6281234567890"
MID = "wamid.HBgNNjI4MTIzNDU2Nzg5MBUCABIYIDNBMDE="


def message(kind: str, **fields: Any) -> WaMessage:
    return WaMessage(id=MID, wa_id=SITI, sent_at=SENT, kind=kind, profile_name="Siti Aini", **fields)


CASES: list[tuple[str, Delivery | str]] = [
    ("text.json", Delivery([message("text", text="halo")])),
    ("button_reply.json", Delivery([message("interactive", reply_id="consent|y", reply_title="Setuju")])),
    ("list_reply.json", Delivery([message("interactive", reply_id="cluster|LAS", reply_title="Teknik Las")])),
    ("template_button.json", Delivery([message("button", reply_id="@rsvp|12|y", reply_title="Hadir")])),
    (
        "image.json",
        Delivery([message("image", media=Media("1479537139650973", "image/jpeg", caption="KTP saya"))]),
    ),
    (
        "document.json",
        Delivery([message("document", media=Media("1479537139650974", "application/pdf", filename="ijazah.pdf"))]),
    ),
    ("sticker.json", Delivery([message("sticker", media=Media("1479537139650975", "image/webp"))])),
    ("audio.json", Delivery([message("audio", media=Media("1479537139650976", "audio/ogg; codecs=opus"))])),
    ("location.json", Delivery([message("location")])),
    ("reaction.json", Delivery([message("reaction")])),
    ("unsupported.json", Delivery([message("unsupported")])),
    (
        "click_to_chat.json",
        Delivery([message("text", text="LAS1__poster_podosugih", referral="poster_podosugih")]),
    ),
    (
        "two_messages.json",
        Delivery(
            [
                WaMessage("wamid.A", SITI, SENT, "text", text="satu", profile_name="Siti Aini"),
                WaMessage("wamid.B", SITI, SENT, "text", text="dua", profile_name="Siti Aini"),
            ]
        ),
    ),
    (
        "status_delivered.json",
        Delivery(statuses=[WaStatus("wamid.OUT1", SITI, "delivered", datetime(2026, 11, 29, 8, 1, tzinfo=UTC))]),
    ),
    (
        "status_failed.json",
        Delivery(
            statuses=[
                WaStatus(
                    "wamid.OUT2",
                    SITI,
                    "failed",
                    datetime(2026, 11, 29, 8, 1, 10, tzinfo=UTC),
                    error_code=131047,
                    error_title="Re-engagement message",
                )
            ]
        ),
    ),
    ("not_whatsapp.json", "not a whatsapp_business_account webhook"),
    ("no_sender.json", "missing 'from'"),
    ("sender_not_a_number.json", "is not a WhatsApp number"),
    ("message_id_too_long.json", "message id of 206 characters"),
    ("bad_timestamp.json", "timestamp 'kemarin' is not a Unix time"),
]


@pytest.mark.parametrize(("name", "expected"), CASES, ids=[c[0] for c in CASES])
def test_webhook_payload(name: str, expected: Delivery | str) -> None:
    document = json.loads((TESTDATA / name).read_text(encoding="utf-8"))
    if isinstance(expected, str):
        with pytest.raises(BadPayload, match=expected):
            parse_delivery(document)
    else:
        assert parse_delivery(document) == expected


def test_every_testdata_file_is_in_the_table() -> None:
    assert sorted(p.name for p in TESTDATA.glob("*.json")) == sorted(name for name, _ in CASES)


@pytest.mark.parametrize("document", [None, [], "x", {"entry": []}])
def test_a_document_that_is_no_webhook_is_refused(document: Any) -> None:
    with pytest.raises(BadPayload):
        parse_delivery(document)


def test_odd_shapes_inside_a_webhook_are_skipped_not_crashed_on() -> None:
    document = {"object": "whatsapp_business_account", "entry": ["x", {"changes": "y"}, {"changes": [{"value": 3}]}]}
    assert parse_delivery(document) == Delivery()
