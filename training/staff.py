"""Staff accounts as a service: who is staff right now, and adding or removing them (recorded).

Accounts come from two places: the settings (BLKBOT_STAFF, fixed while the bot runs) and the staff
table (`blkbot staff add|remove`, live). Callers pass the settings' accounts in as `configured`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import BlkbotError
from storage.models import StaffActionKind, StaffMember, StaffRole, Venue
from storage.repositories import staff
from training.permissions import ROLE_PERMISSIONS, SCOPED_ROLES, Actor, Permission, require

Configured = Mapping[tuple[str, str], str]
"""(channel, user id) -> role, from the settings."""


class StaffError(BlkbotError):
    """A change to the staff accounts that cannot be made; the message says why."""


class ConfiguredStaff(StaffError):
    """The account is listed in the settings: only editing them takes its access away."""

    def __init__(self, channel: str, user_id: str) -> None:
        super().__init__(f"{channel}:{user_id} is listed in the settings, not in the staff table")
        self.channel = channel
        self.user_id = user_id


async def current_actor(session: AsyncSession, channel: str, user_id: str, configured: Configured) -> Actor | None:
    """The account's role as of now: from the settings, else one query on the staff table.

    Staff steps call this on every turn, uncached, so that a removal or a change of role takes
    effect at the next button press rather than when some cache expires.
    """
    role = configured.get((channel, user_id))
    if role is not None:
        return Actor(channel, user_id, "", role)
    member = await staff.get(session, channel, user_id)
    return Actor(channel, user_id, member.name, member.role, member.venue) if member is not None else None


async def members(session: AsyncSession, actor: Actor) -> list[StaffMember]:
    """The staff table's accounts: who has access is staff management, like adding them."""
    require(actor, Permission.MANAGE_STAFF)
    return await staff.members(session)


async def add(
    session: AsyncSession,
    actor: Actor,
    *,
    channel: str,
    user_id: str,
    name: str,
    role: str,
    now: datetime,
    venue: str | None = None,
) -> StaffMember:
    """Add an account (or change its name, role and venue). A venue role needs a venue of the loaded
    catalog; other roles cover every venue and take none."""
    require(actor, Permission.MANAGE_STAFF)
    if role not in ROLE_PERMISSIONS:
        raise StaffError(f"unknown role {role!r}; roles: {', '.join(ROLE_PERMISSIONS)}")
    if role in SCOPED_ROLES:
        if not venue:
            raise StaffError(f"the {role} role needs --venue CODE: the venue whose programmes it sees")
        known = await session.scalar(select(Venue.code).where(Venue.code == venue))
        if known is None:
            codes = ", ".join(await session.scalars(select(Venue.code).order_by(Venue.code)))
            raise StaffError(f"no venue {venue!r} in the loaded catalog; venues: {codes or 'none'}")
    elif venue:
        raise StaffError(f"a {role} covers every venue; --venue is for the {StaffRole.VENUE} role")
    member = await staff.add(session, channel, user_id, name, role, venue if role in SCOPED_ROLES else None)
    scope = f" of {venue}" if role in SCOPED_ROLES else ""
    await record(session, actor, StaffActionKind.STAFF_ADDED, f"{channel}:{user_id} as {role}{scope}", now)
    return member


async def remove(
    session: AsyncSession, actor: Actor, *, channel: str, user_id: str, configured: Configured, now: datetime
) -> StaffMember:
    """Take an account's access away; its next staff step is refused."""
    require(actor, Permission.MANAGE_STAFF)
    if (channel, user_id) in configured:
        raise ConfiguredStaff(channel, user_id)
    member = await staff.get(session, channel, user_id)
    if member is None:
        raise StaffError(f"{channel}:{user_id} is not a staff account")
    await staff.remove(session, member)
    await record(session, actor, StaffActionKind.STAFF_REMOVED, f"{channel}:{user_id} ({member.role})", now)
    return member


async def record(session: AsyncSession, actor: Actor, action: StaffActionKind, target: str, now: datetime) -> None:
    """Keep who did what; `target` names things by id or code, never a resident's personal data."""
    await staff.record_action(session, actor=actor.label, role=actor.role, action=action, target=target, at=now)
