"""`blkbot chat` with piped answers, as a newcomer or a script drives it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from messages.markup import html_to_plain
from messages.render import Templates

BLKBOT = Path(sys.executable).parent / "blkbot"


def test_a_superscript_two_at_a_menu_gets_the_reprompt_and_exits_cleanly(cli_db: str) -> None:
    done = subprocess.run([BLKBOT, "chat"], input="²\n", capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    # /start opens at the clusters (browsing asks no consent): the demo catalog has ten open.
    reprompt = html_to_plain(Templates().render("id", "common/choose_option", count=10))
    after = done.stdout.split("> ²", 1)[1]
    assert after.lstrip().startswith(reprompt)


REGISTER = (
    "1\n1\n1\n1\nya\nya\ntidak\ntidak\n4\nSiti Nur Aini\n3375015203950002\n1\nJl. Merdeka 5\n1\n081234567890\n1\n"
)
"""The README's scripted registration: Siti for BOGA1."""


def test_a_stage_moved_from_another_terminal_shows_in_the_chat_once(cli_db: str) -> None:
    registering = subprocess.run([BLKBOT, "chat"], input=REGISTER, capture_output=True, text=True, timeout=120)
    assert "BOGA1-2027-0001" in registering.stdout, registering.stdout[-2000:]

    staff = subprocess.run(
        [BLKBOT, "applications", "stage", "BOGA1-2027-0001", "--to", "diterima"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert staff.returncode == 0, staff.stderr
    assert "1 applicants will be told" in staff.stdout

    reading = subprocess.run([BLKBOT, "chat", "--no-start"], input="", capture_output=True, text=True, timeout=120)
    assert reading.returncode == 0, reading.stderr
    assert "Selamat! Anda diterima sebagai peserta" in reading.stdout
    assert "(nomor BOGA1-2027-0001)" in reading.stdout
    assert "sqlalchemy" not in reading.stderr  # the screen it shares with the conversation stays clean

    again = subprocess.run([BLKBOT, "chat", "--no-start"], input="", capture_output=True, text=True, timeout=120)
    assert "Selamat!" not in again.stdout
