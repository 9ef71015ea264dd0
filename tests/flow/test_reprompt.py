"""A mistyped answer: a short re-prompt whose "(1–N)" matches the numbers the menu shows.

The console numbers a menu's answers and leaves "back" unnumbered (so does WhatsApp's numbered
menu, see tests/whatsapp/test_render.py); the re-prompt counts the same answers. After a wrong
answer the error itself carries the buttons: the long question (every programme's card) is not
sent again.
"""

from __future__ import annotations

import io
import re

from conversations.runner import Conversations
from handlers.console import Console
from messages.markup import html_to_plain
from tests.flow.helpers import Resident, Words

BACK = "⬅️ Kembali"


async def at_the_programme_step(siti: Resident) -> None:
    await siti.type("/daftar")
    await siti.choose("cluster", "LAS")
    assert siti.step == "programme" and BACK in siti.buttons


async def test_a_wrong_answer_at_the_programme_step_brings_the_buttons_not_the_cards(
    siti: Resident, words: Words
) -> None:
    await at_the_programme_step(siti)
    cards = siti.text
    programmes = [b for b in siti.buttons if b != BACK]
    assert len(programmes) >= 2 and all(name in cards for name in programmes)

    await siti.type("las listrik yang besar")
    (reprompt,) = siti.messages
    assert reprompt.text == words("common/choose_option", count=len(programmes))
    assert siti.buttons == [*programmes, BACK]

    await siti.choose("programme", "LAS1")  # the buttons the error carries still answer the question
    assert siti.step == "card"


async def test_back_from_the_reprompt_returns_to_the_clusters(siti: Resident, words: Words) -> None:
    await at_the_programme_step(siti)
    await siti.type("99")
    await siti.press(BACK)
    assert siti.step == "cluster" and BACK not in siti.buttons


async def test_the_reprompt_counts_the_numbers_the_console_shows_and_back_is_not_one(
    conversations: Conversations, words: Words
) -> None:
    console = Console(conversations, chat_id="siti", out=io.StringIO())
    await console.say("/daftar")
    await console.say("ya")
    await console.say("3")  # Teknik Las: its programmes, and back
    menu = shown(console).rsplit("Pilih", 1)[1]
    numbers = [int(n) for n in re.findall(r"^  (\d+)\. ", menu, re.MULTILINE)]
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 2
    assert f"\n  {BACK}\n" in menu  # shown, without a number

    await console.say(str(len(numbers) + 1))
    assert shown(console).strip().startswith(html_to_plain(words("common/choose_option", count=len(numbers))))

    await console.say(str(len(numbers)))  # the last number is the last programme, not back
    answered = shown(console)
    assert "Pilih bidang" not in answered and "Silakan tekan" not in answered
    assert f"\n  {BACK}\n" in answered  # the next question, with its own back


def shown(console: Console) -> str:
    """What the console printed since the last call."""
    printed = console.out.getvalue()  # type: ignore[attr-defined]
    console.out = io.StringIO()
    return printed


async def test_a_menu_of_one_is_not_counted_as_one_to_one(siti: Resident, words: Words) -> None:
    await siti.type("/daftar")
    await siti.choose("cluster", "BOGA")  # one programme open
    await siti.type("99")
    assert siti.text == words("common/choose_option", count=1) and "1–1" not in siti.text
