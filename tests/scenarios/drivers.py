"""One scenario, two platforms: a scenario is a list of steps (type, press a button by its label,
share one's own phone number, expect a fragment of text), and a driver plays them on one platform.

The registration's order lives in `REGISTRATION` alone, so a change to the flow is one edit here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from tests.e2e.conftest import Resident
from tests.fakes.whatsapp_server import Sent
from tests.whatsapp.conftest import Phone

SITI_PHONE = "6281234567890"
"""Her number as both platforms hand it over: Telegram's shared contact and WhatsApp's wa_id."""
SITI_NIK = "3375015203950002"


@dataclass(frozen=True)
class Type:
    text: str


@dataclass(frozen=True)
class Press:
    label: str
    """The button's label, or a part of it that only one button of the last message has (WhatsApp
    shortens long labels to 20 characters)."""


@dataclass(frozen=True)
class ShareOwnPhone:
    """Telegram's "share my phone number" button; WhatsApp's "use this number"."""


@dataclass(frozen=True)
class Expect:
    fragment: str
    """Text the last turn's messages must hold."""


Step = Type | Press | ShareOwnPhone | Expect

REGISTRATION: list[Step] = [
    Type("/daftar"),
    Press("Tata Boga"),
    Expect("Olahan Kue dan Roti"),
    Press("Olahan Kue dan Roti"),
    Expect("Umur paling sedikit 18 tahun"),  # the card: its requirements, before any personal data
    Press("✅ Daftar"),
    Expect("Apakah Anda setuju?"),
    Press("✅ Setuju"),
    *[Press(answer) for answer in ("Ya", "Ya", "Tidak", "Tidak")],  # KTP, health, working or studying, trained
    Press("SMA"),
    Type("Siti Nur Aini"),
    Type(SITI_NIK),
    Expect("12 Maret 1995"),
    Press("Benar"),
    Type("Jl. Merdeka 5 RT 01"),
    Press("Pekalongan Barat"),
    ShareOwnPhone(),
    Expect("Periksa data Anda"),
    Press("Kirim pendaftaran"),
    Expect("BOGA1-2027-0001"),
]
"""A whole registration for Olahan Kue dan Roti, as Siti makes it on either platform."""


class Driver(Protocol):
    channel: str
    chat_id: str

    async def type(self, text: str) -> str: ...
    async def press(self, label: str) -> str: ...
    async def share_own_phone(self) -> str: ...


def pick(labels: list[str], wanted: str) -> int:
    """The index of the button labelled `wanted`, or of the only one whose label contains it."""
    if wanted in labels:
        return labels.index(wanted)
    found = [i for i, label in enumerate(labels) if wanted.casefold() in label.casefold()]
    assert len(found) == 1, f"no single button {wanted!r} among {labels}"
    return found[0]


class OnTelegram:
    """Siti's Telegram chat, through real PTB and the fake Bot API."""

    channel = "telegram"

    def __init__(self, resident: Resident) -> None:
        self.resident = resident
        self.chat_id = str(resident.chat_id)

    async def type(self, text: str) -> str:
        return _texts(m.plain_text for m in await self.resident.type(text))

    async def press(self, label: str) -> str:
        buttons = self.resident.last.inline_buttons
        button = buttons[pick([str(b["text"]) for b in buttons], label)]
        seen = await self.resident.press_data(self.resident.last, button["callback_data"], check=True)
        return _texts(m.plain_text for m in seen)

    async def share_own_phone(self) -> str:
        return _texts(m.plain_text for m in await self.resident.share_phone(SITI_PHONE))

    async def share_someone_elses(self, phone: str) -> str:
        """A contact from the address book: Telegram says it is not the sender's own account."""
        server = self.resident.server
        seen = await self.resident._turn(server.share_contact(self.resident.chat_id, phone, own_contact=False))
        return _texts(m.plain_text for m in seen)


class OnWhatsApp:
    """Siti's WhatsApp, through the bot's real webhook and the fake Cloud API."""

    channel = "whatsapp"

    def __init__(self, phone: Phone) -> None:
        self.phone = phone
        self.chat_id = phone.wa_id

    async def type(self, text: str) -> str:
        return _shown(await self.phone.say(text))

    async def press(self, label: str) -> str:
        choices = self.phone.last.choices
        return _shown(await self.phone.press(choices[pick([t for _, t in choices], label)][1]))

    async def share_own_phone(self) -> str:
        return await self.press("Pakai nomor ini")


def replaced(scenario: list[Step], old: Step, *new: Step) -> list[Step]:
    """The scenario with one step done another way (a typed phone number instead of a shared one)."""
    at = scenario.index(old)
    return [*scenario[:at], *new, *scenario[at + 1 :]]


async def play(driver: Driver, scenario: list[Step]) -> str:
    """Play the steps; returns what the last turn said."""
    said = ""
    for step in scenario:
        match step:
            case Type(text):
                said = await driver.type(text)
            case Press(label):
                said = await driver.press(label)
            case ShareOwnPhone():
                said = await driver.share_own_phone()
            case Expect(fragment):
                assert fragment in said, f"{driver.channel}: expected {fragment!r} in {said!r}"
    return said


def _shown(sent: list[Sent]) -> str:
    """What the phone shows: WhatsApp draws *bold* without its asterisks."""
    return _texts(m.text.replace("*", "") for m in sent)


def _texts(texts: Iterable[str]) -> str:
    return "\n\n".join(texts)
