"""blkbot's log filter: the token and NIKs masked everywhere in a record; message texts dropped."""

from __future__ import annotations

import io
import logging

import pytest

from bot.logs import PrivateLogs

TOKEN = "7123456789:AAHk3vX_q-9ZpLwRt2YbNc4DfGs8JmQeU1o"
OTHER_TOKEN = "5550001111:ZZy8d7f6g5h4j3k2l1-_QwErTyUiOpAsDf"


def logged(record_logger: str, level: int, message: str, *args: object, message_texts: bool = False) -> str:
    """What one record looks like once it has gone through the filter on a handler."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(PrivateLogs("123:short-configured-token", message_texts=message_texts))
    logger = logging.getLogger(record_logger)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        try:
            raise RuntimeError(f"request to /bot{TOKEN}/sendMessage with nik 3375 0152 0395 0002 failed")
        except RuntimeError:
            logger.log(level, message, *args, exc_info=True)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    return stream.getvalue()


@pytest.mark.parametrize(
    "shown",
    [TOKEN, OTHER_TOKEN, TOKEN.replace(":", "%3A"), "123:short-configured-token"],
    ids=["ours", "any-token-shape", "url-encoded", "configured"],
)
def test_tokens_are_masked_in_message_args_and_traceback(shown: str) -> None:
    text = logged("blkbot.test", logging.ERROR, "POST http://api/bot%s/getMe (%s)", shown, shown)

    assert shown not in text
    assert text.startswith("POST http://api/bot<token>/getMe (<token>)")
    assert TOKEN not in text and "/bot<token>/sendMessage" in text  # the traceback too
    assert "nik 3375**********02 failed" in text


@pytest.mark.parametrize("name", ["telegram.ext.Application", "telegram.Bot", "sqlalchemy.engine.Engine", "aiosqlite"])
def test_debug_lines_carrying_message_texts_are_dropped_unless_allowed(name: str) -> None:
    assert logged(name, logging.DEBUG, "Processing update %s", "Siti Nur Aini") == ""
    assert "Siti Nur Aini" in logged(name, logging.DEBUG, "Processing update %s", "Siti Nur Aini", message_texts=True)
    assert "Application started" in logged(name, logging.INFO, "Application started")


def test_other_libraries_debug_lines_stay() -> None:
    assert "connect_tcp.started" in logged("httpcore.connection", logging.DEBUG, "connect_tcp.started")
