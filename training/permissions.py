"""What each staff role may do, in one table, and the acting staff member every staff service takes.

A service (a broadcast, adding staff ...) is called from the CLI, from a chat step and, later, from
the browser console; each passes the same `Actor` and the service itself calls `require`, so no
caller can forget the check. The table below is the only place a role gets its meaning.

| permission          | admin | operator | venue |
|---------------------|-------|----------|-------|
| broadcast_all       | yes   | no       | no    |
| broadcast_segment   | yes   | yes      | own   |
| manage_events       | yes   | yes      | own   |
| post_vacancies      | yes   | yes      | yes   |
| change_stages       | yes   | yes      | own   |
| view_applicants     | yes   | yes      | own   |
| check_applications  | yes   | yes      | own   |
| run_selection       | yes   | no       | no    |
| manage_training     | yes   | yes      | own   |
| import_certification| yes   | yes      | own   |
| manage_staff        | yes   | no       | no    |
| past_participants   | yes   | yes      | no    |

"own": venue staff hold the operator's permissions for the programmes of ONE venue (`Actor.venue`)
and see nothing of the others. Services check a programme with `require_programme` and narrow what
they list with `within`; admins and operators cover every venue. Vacancies are city-wide (an
employer's job is no venue's), so venue staff post them like operators.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, TypeVar

from storage.errors import BlkbotError
from storage.models import StaffRole


class Permission(StrEnum):
    BROADCAST_ALL = "broadcast_all"
    """An announcement to every subscriber: the one message that reaches the whole city."""
    BROADCAST_SEGMENT = "broadcast_segment"
    """An announcement to a cluster, programme, wave, stage, district or graduates."""
    MANAGE_EVENTS = "manage_events"
    """Tests, interviews, training days and their reminders; the schedule with its answers (/jadwal)."""
    POST_VACANCIES = "post_vacancies"
    CHANGE_STAGES = "change_stages"
    """Move applications through the selection (and tell the applicants)."""
    VIEW_APPLICANTS = "view_applicants"
    """Exports and figures with personal data."""
    CHECK_APPLICATIONS = "check_applications"
    """The administrative check (pass or fail with a reason) and the test and interview scores."""
    RUN_SELECTION = "run_selection"
    """Rank a programme's applicants and hand out its seats and waitlist (`blkbot selection run`)."""
    MANAGE_TRAINING = "manage_training"
    """Attendance marks per training day, drop-outs and completion (`blkbot training ...`); asking graduates
    the tracer study now (`blkbot tracer run-once`)."""
    IMPORT_CERTIFICATION = "import_certification"
    """Import the LSP's competency results (and tell each participant)."""
    MANAGE_STAFF = "manage_staff"
    """Add, remove and list staff accounts."""
    PAST_PARTICIPANTS = "past_participants"
    """Import the city's list of people trained before: one list for every venue, so not venue staff's."""


ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    StaffRole.ADMIN: frozenset(Permission),
    StaffRole.OPERATOR: frozenset(Permission)
    - {Permission.BROADCAST_ALL, Permission.MANAGE_STAFF, Permission.RUN_SELECTION},
    StaffRole.VENUE: frozenset(Permission)
    - {Permission.BROADCAST_ALL, Permission.MANAGE_STAFF, Permission.RUN_SELECTION, Permission.PAST_PARTICIPANTS},
}
"""Operators run the daily work; reaching everyone at once, deciding who gets a programme's seats
and who is staff stay with admins. Venue staff do an operator's work inside one venue, except the one
city-wide list (past participants) that no venue's work needs."""

SCOPED_ROLES = frozenset({StaffRole.VENUE})
"""Roles that act on one venue's programmes only; an account of such a role without a venue covers none."""


@dataclass(frozen=True)
class Actor:
    """Who is acting, as every staff service sees it: no CLI, chat or web type, just the account and its role."""

    channel: str
    user_id: str
    name: str
    role: str
    venue: str | None = None
    """The one venue whose programmes a venue staff member sees; None: all venues (admin, operator)."""

    @property
    def label(self) -> str:
        """ "telegram:42": how reports and the audit table name the actor (a staff account, no resident data)."""
        return f"{self.channel}:{self.user_id}"

    def may(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS.get(self.role, frozenset())

    @property
    def scoped(self) -> bool:
        """True when the actor sees one venue's programmes only."""
        return self.role in SCOPED_ROLES

    def covers(self, venue_code: str) -> bool:
        """Whether a programme held at `venue_code` is within the actor's reach."""
        return not self.scoped or (self.venue is not None and venue_code == self.venue)


class NotAllowed(BlkbotError):
    """The actor's role does not carry the permission the action needs."""

    def __init__(self, actor: Actor, permission: Permission) -> None:
        super().__init__(f"{actor.label} ({actor.role}) may not {permission.value}")
        self.actor = actor
        self.permission = permission


class OutsideVenue(NotAllowed):
    """The actor's role carries the permission, but not for this programme's venue."""

    def __init__(self, actor: Actor, permission: Permission, programme: str) -> None:
        BlkbotError.__init__(
            self, f"{actor.label} ({actor.role} of {actor.venue or 'no venue'}) may not act on {programme}"
        )
        self.actor = actor
        self.permission = permission
        self.programme = programme


def require(actor: Actor, permission: Permission) -> None:
    """Raise NotAllowed unless the actor's role carries `permission`; services call it before writing anything."""
    if not actor.may(permission):
        raise NotAllowed(actor, permission)


class Sited(Protocol):
    """Anything held at a venue: a programme (its `venue_code`)."""

    code: str
    venue_code: str


def require_programme(actor: Actor, permission: Permission, programme: Sited) -> None:
    """`require`, and the programme must be of the actor's venue: the one scope check every service uses."""
    require(actor, permission)
    if not actor.covers(programme.venue_code):
        raise OutsideVenue(actor, permission, programme.code)


T = TypeVar("T")


def within(actor: Actor, items: Iterable[T], venue_of: Callable[[T], str]) -> list[T]:
    """The items (programmes, applications, rows) whose venue the actor covers: what a list shows them."""
    return [item for item in items if actor.covers(venue_of(item))]


def beyond(actor: Actor, programme: Sited) -> str | None:
    """An import row's problem when its programme lies outside the actor's venue, else None: imports
    list such rows by line and change nothing, like any other bad row."""
    if actor.covers(programme.venue_code):
        return None
    return f"{programme.code} is not a programme of {actor.venue or 'your venue'}"
