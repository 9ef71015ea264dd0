"""The webhook's signature and subscription handshake."""

from __future__ import annotations

import pytest

from handlers.whatsapp.signature import is_signed, sign, verification_answer

SECRET = "app-secret-1"
BODY = b'{"object":"whatsapp_business_account","entry":[]}'


def test_meta_signature_is_accepted() -> None:
    assert is_signed(SECRET, BODY, sign(SECRET, BODY))


@pytest.mark.parametrize(
    "header",
    [None, "", "sha256=", sign("another-secret", BODY), sign(SECRET, BODY + b" "), sign(SECRET, BODY)[7:], "sha1=abc"],
)
def test_anything_else_is_refused(header: str | None) -> None:
    assert not is_signed(SECRET, BODY, header)


def test_handshake_echoes_the_challenge_only_for_our_token() -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": "tok", "hub.challenge": "1158201444"}
    assert verification_answer(params, "tok") == "1158201444"
    assert verification_answer({**params, "hub.verify_token": "other"}, "tok") is None
    assert verification_answer({**params, "hub.mode": "unsubscribe"}, "tok") is None
    assert verification_answer({}, "tok") is None
