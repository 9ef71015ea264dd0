"""The NIK stays out of logs, whatever happens during a registration."""

from __future__ import annotations

import logging

import pytest

from conversations.io import Inbound
from conversations.runner import Conversations
from tests.flow.helpers import SITI_NIK, Resident
from training.nik import RedactNiks

OUR_LOGGERS = ("bot", "handlers", "conversations", "training", "outreach", "storage", "sqlalchemy")


async def test_nik_never_appears_in_logs_even_when_a_turn_fails(
    siti: Resident, conversations: Conversations, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in OUR_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)  # SQLAlchemy at DEBUG logs whole rows
    caplog.handler.addFilter(RedactNiks())  # as `blkbot` installs it on its log handlers
    await siti.walk_to_summary()
    await siti.submit()
    # A second registration with the same NIK, then a turn that blows up with the NIK in its error.
    await siti.type("/daftar")
    await siti.press("Tarik, daftar yang baru")  # one application at a time: this one replaces it
    await siti.pick("RIAS1", "RIAS")
    await siti.answer_questions()
    await siti.choose("education", "sma")
    await siti.type("Siti Nur Aini")
    await siti.type(SITI_NIK)

    async def explode(*_: object) -> None:
        raise RuntimeError(f"database said no to {SITI_NIK!r}")

    monkeypatch.setattr(conversations.engine, "take_turn", explode)
    reply = await siti.send(Inbound(text=SITI_NIK))

    assert "gangguan" in reply.messages[0].text  # the resident is told, kindly
    assert caplog.records, "the failure was logged"
    assert SITI_NIK not in caplog.text
    assert "3375**********02" in caplog.text
    assert "database said no to '3375**********02'" in caplog.text  # the traceback, masked
