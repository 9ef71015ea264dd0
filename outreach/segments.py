"""Segments: who a broadcast (or the CLI) reaches, written the way staff say it.

"cluster=LAS,stage=selected" reaches everyone selected for a welding programme; "graduates=LAS"
reaches those certified competent in welding; an empty segment reaches every subscriber.

A segment naming a programme or a stage speaks to people about their own application, so it
reaches those who sent /berhenti too; the others are announcements, for subscribers only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import BlkbotError
from storage.models import Contact, MessageKind
from storage.repositories import segments
from training import people
from training.stages import UnknownStage, parse_stage

KEYS = ("cluster", "programme", "wave", "stage", "district", "graduates")


class SegmentError(BlkbotError):
    """A segment that cannot be read; the message names the part and what is allowed."""


@dataclass(frozen=True)
class Segment:
    cluster: str | None = None
    programme: str | None = None
    wave: int | None = None
    stages: tuple[str, ...] = field(default_factory=tuple)
    district: str | None = None
    graduates_of: str | None = None

    @classmethod
    def parse(cls, text: str) -> Segment:
        """Read "cluster=LAS,stage=selected|waitlisted" ("all" or "" for every subscriber)."""
        values: dict[str, Any] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            if part.lower() in ("all", "semua"):
                continue
            key, sep, value = part.partition("=")
            key, value = key.strip().lower(), value.strip()
            if not sep or not value:
                raise SegmentError(f"segment part {part!r}: expected key=value with key one of {', '.join(KEYS)}")
            match key:
                case "cluster" | "programme" | "district":
                    values[key] = value.upper() if key != "district" else value
                case "graduates":
                    values["graduates_of"] = value.upper()
                case "wave":
                    if not (value.isascii() and value.isdigit() and len(value) <= 9):
                        raise SegmentError(f"segment part {part!r}: wave must be a number")
                    values["wave"] = int(value)
                case "stage":
                    try:
                        values["stages"] = tuple(parse_stage(s).value for s in value.split("|"))
                    except UnknownStage as unknown:
                        raise SegmentError(f"segment part {part!r}: {unknown}") from None
                case _:
                    raise SegmentError(f"segment part {part!r}: unknown key {key!r}; keys: {', '.join(KEYS)}")
        return cls(**values)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, ())}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Segment:
        return cls(**{**data, "stages": tuple(data.get("stages", ()))})

    def describe(self) -> str:
        """The segment in the staff's words, for a preview and a report."""
        parts = [f"{k}={v if not isinstance(v, tuple) else '|'.join(v)}" for k, v in self.to_json().items()]
        return ", ".join(parts) or "all subscribers"

    @property
    def kind(self) -> MessageKind:
        """About the recipients' own application (a programme or a stage), or an announcement."""
        if self.programme or self.stages:
            return MessageKind.APPLICATION
        return MessageKind.ANNOUNCEMENT

    def describe_kind(self) -> str:
        """The kind in the staff's words, for the CLI preview: whether /berhenti people get it."""
        if self.kind is MessageKind.APPLICATION:
            return "about their own application: people who sent /berhenti get it too"
        return "announcement: people who sent /berhenti do not get it"

    def _query(self):  # type: ignore[no-untyped-def]
        return segments.recipients_query(
            cluster=self.cluster,
            programme=self.programme,
            wave=self.wave,
            stages=self.stages,
            district=self.district,
            graduates_of=self.graduates_of,
            subscribed_only=self.kind is MessageKind.ANNOUNCEMENT,
        )

    async def count(self, session: AsyncSession) -> int:
        return await segments.count(session, self._query())

    async def contacts(self, session: AsyncSession) -> list[Contact]:
        """Each person once, at the chat they used last, though the segment may find two of their chats."""
        return await people.once_each(session, await segments.contacts(session, self._query()))
