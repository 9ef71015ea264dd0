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
    reprompt = html_to_plain(Templates().render("id", "common/choose_option", count=2))
    after = done.stdout.split("> ²", 1)[1]
    assert after.lstrip().startswith(reprompt)
