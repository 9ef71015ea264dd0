"""What each staff role may do, in one table, and the acting staff member every staff service takes.

A service (a broadcast, adding staff ...) is called from the CLI, from a chat step and, later, from
the browser console; each passes the same `Actor` and the service itself calls `require`, so no
caller can forget the check. The table below is the only place a role gets its meaning.

| permission          | admin | operator |
|---------------------|-------|----------|
| broadcast_all       | yes   | no       |
| broadcast_segment   | yes   | yes      |
| manage_events       | yes   | yes      |
| post_vacancies      | yes   | yes      |
| change_stages       | yes   | yes      |
| view_applicants     | yes   | yes      |
| check_applications  | yes   | yes      |
| run_selection       | yes   | no       |
| manage_training     | yes   | yes      |
| import_certification| yes   | yes      |
| manage_staff        | yes   | no       |
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

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
    """Attendance marks per training day, drop-outs and completion (`blkbot training ...`)."""
    IMPORT_CERTIFICATION = "import_certification"
    """Import the LSP's competency results (and tell each participant)."""
    MANAGE_STAFF = "manage_staff"
    """Add and remove staff accounts."""


ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    StaffRole.ADMIN: frozenset(Permission),
    StaffRole.OPERATOR: frozenset(Permission)
    - {Permission.BROADCAST_ALL, Permission.MANAGE_STAFF, Permission.RUN_SELECTION},
}
"""Operators run the daily work; reaching everyone at once, deciding who gets a programme's seats
and who is staff stay with admins."""


@dataclass(frozen=True)
class Actor:
    """Who is acting, as every staff service sees it: no CLI, chat or web type, just the account and its role."""

    channel: str
    user_id: str
    name: str
    role: str

    @property
    def label(self) -> str:
        """ "telegram:42": how reports and the audit table name the actor (a staff account, no resident data)."""
        return f"{self.channel}:{self.user_id}"

    def may(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS.get(self.role, frozenset())


class NotAllowed(BlkbotError):
    """The actor's role does not carry the permission the action needs."""

    def __init__(self, actor: Actor, permission: Permission) -> None:
        super().__init__(f"{actor.label} ({actor.role}) may not {permission.value}")
        self.actor = actor
        self.permission = permission


def require(actor: Actor, permission: Permission) -> None:
    """Raise NotAllowed unless the actor's role carries `permission`; services call it before writing anything."""
    if not actor.may(permission):
        raise NotAllowed(actor, permission)
