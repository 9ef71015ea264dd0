"""A whole registration at BLKBOT_LOG_LEVEL=DEBUG, logged through blkbot's own logging set-up:
nothing the resident typed or shared, nor the bot's token, reaches the log."""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Iterator

import pytest
from pydantic import SecretStr

from bot.logs import MESSAGE_TEXT_LOGGERS, QUIET_LOGGERS, configure_logging
from bot.settings import Settings
from tests.e2e.conftest import Resident
from tests.e2e.test_telegram_registration import NIK, walk_to_summary
from tests.fakes.telegram_server import FakeTelegramServer

TOKEN = "7123456789:AAHk3vX_q-9ZpLwRt2YbNc4DfGs8JmQeU1o"
"""Shaped like BotFather's, so the filter must know the shape, not only this value."""

NAME = "Siti Nur Aini"
ADDRESS = "Jl. Merdeka 5 RT 01/RW 02"
NIK_FORMS = (
    "3375 0152 0395 0002",  # walk_to_summary types this one
    "3375.0152.0395.0002",
    "3375-0152-0395-0002",
    "3375–0152–0395–0002",  # en dashes, as phones autocorrect them
    "３３７５０１５２０３９５０００２",  # full-width digits
    "3375\u200b0152\u200b0395\u200b0002",  # zero-width spaces from a copy and paste
    NIK,
)
PHONES = ("6281234567890", "+6281234567890", "081234567890", "81234567890")
BIRTH_DATES = ("1995-03-12", "12 Maret 1995", "12-03-1995", "12/03/1995", NIK[6:12])


@pytest.fixture
def server_token() -> str:
    return TOKEN


@pytest.fixture
async def server(server_token: str) -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(token=server_token) as fake:
        yield fake


def capture(settings: Settings) -> Iterator[io.StringIO]:
    """blkbot's logging set-up writing to a string; the process's logging is restored afterwards."""
    root = logging.getLogger()
    names = [*QUIET_LOGGERS, *MESSAGE_TEXT_LOGGERS]
    levels = {name: logging.getLogger(name).level for name in names}
    root_level = root.level
    stream = io.StringIO()
    handler = configure_logging(settings, stream)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(root_level)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    yield from capture(Settings(_env_file=None, log_level="DEBUG", telegram_token=SecretStr(TOKEN)))  # type: ignore[call-arg]


@pytest.fixture
def debug_log_with_texts() -> Iterator[io.StringIO]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        log_level="DEBUG",
        telegram_token=SecretStr(TOKEN),
        log_message_texts=True,
    )
    yield from capture(settings)


async def register_typing_every_nik_form(resident: Resident) -> None:
    await walk_to_summary(resident, address=ADDRESS)
    for form in NIK_FORMS[1:]:
        await resident.press("✏️ Ubah NIK")
        seen = await resident.type(form)
        assert "lahir Minggu, 12 Maret 1995" in seen[-1].plain_text
        await resident.press("✅ Benar")
        assert "Periksa data Anda" in resident.last.plain_text
    seen = await resident.press("✅ Kirim pendaftaran")
    assert "BOGA1-2027-0001" in seen[-1].plain_text


async def test_debug_log_of_a_registration_holds_no_personal_data_nor_token(
    debug_log: io.StringIO, resident: Resident
) -> None:
    await register_typing_every_nik_form(resident)

    log = debug_log.getvalue()
    assert " DEBUG " in log and " INFO " in log  # the capture saw the libraries' lines
    found = [s for s in (TOKEN, TOKEN.split(":")[1], NAME, "Merdeka", *NIK_FORMS, *PHONES, *BIRTH_DATES) if s in log]
    assert found == []


async def test_log_message_texts_lets_texts_through_but_never_the_token(
    debug_log_with_texts: io.StringIO, resident: Resident
) -> None:
    await register_typing_every_nik_form(resident)

    log = debug_log_with_texts.getvalue()
    assert NAME in log and "Merdeka" in log  # for debugging on a test bot, as documented
    assert "3375**********02" in log
    for secret in (TOKEN, TOKEN.split(":")[1], *NIK_FORMS):
        assert secret not in log
