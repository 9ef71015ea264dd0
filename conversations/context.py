"""What a step may use during one turn: the transaction, the contact, the answers so far, the words."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup
from sqlalchemy.ext.asyncio import AsyncSession

from conversations.io import Option, Outbound
from messages.render import Templates
from storage.files import FileStore, MemoryFileStore
from storage.models import Contact
from training import staff
from training.catalog_view import CatalogCache, CatalogView
from training.permissions import Actor


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    """Long-lived things every turn shares, so call signatures stay short."""

    templates: Templates
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Jakarta"))
    clock: Callable[[], datetime] = system_clock
    staff: Mapping[tuple[str, str], str] = field(default_factory=dict)
    """(channel, user id) -> role, from settings; the staff table adds to it."""
    catalog: CatalogCache = field(default_factory=CatalogCache)
    files: FileStore = field(default_factory=MemoryFileStore)
    """Where the documents residents send are kept (a folder under BLKBOT_FILES_DIR when running)."""

    def now(self) -> datetime:
        """Always UTC: SQLite keeps no offset, so every stored time must be in the same zone."""
        return self.clock().astimezone(UTC)


@dataclass
class Context:
    session: AsyncSession
    contact: Contact
    services: Services
    data: dict[str, Any]
    staff_role: str | None = None
    """Set when the person is staff (settings or the staff table, cached for a while): it only spares a
    resident's turn any staff query; a staff step confirms the role with `staff_actor`."""
    catalog: CatalogView = field(default_factory=CatalogView)
    """The catalog as this turn sees it (shared, read-only rows)."""
    _actor: Actor | None = field(default=None, init=False, repr=False)
    _actor_read: bool = field(default=False, init=False, repr=False)

    async def staff_actor(self) -> Actor | None:
        """The person as staff, read from the database now (once per turn); None once access is gone."""
        if not self._actor_read:
            self._actor = await staff.current_actor(
                self.session, self.contact.channel, self.contact.chat_id, self.services.staff
            )
            self._actor_read = True
        return self._actor

    @property
    def lang(self) -> str:
        return self.contact.language

    @property
    def answers(self) -> dict[str, Any]:
        return self.data.setdefault("answers", {})

    def now(self) -> datetime:
        return self.services.now()

    def today(self) -> date:
        """The date in the office's time zone: registration windows close at local midnight."""
        return self.now().astimezone(self.services.timezone).date()

    def render(self, key: str, **params: Any) -> str:
        return self.services.templates.render(self.lang, key, **params)

    def fragment(self, key: str, **params: Any) -> Markup:
        """A rendered piece to put inside another template without escaping it twice."""
        return Markup(self.render(key, **params))

    def label(self, key: str, **params: Any) -> str:
        """A button label: rendered like any sentence, then made plain, since buttons show no markup."""
        return self.services.templates.label(self.lang, key, **params)

    def office(self) -> dict[str, Any]:
        """The parameters of the _partials/office_contact piece: where a resident finds a person."""
        return {"office": self.catalog.office, "contact": self.catalog.office_contact}

    def say(self, key: str, options: Iterable[Option] = (), columns: int = 1, **params: Any) -> Outbound:
        return Outbound(self.render(key, **params), options=tuple(options), columns=columns)
