""" "Kabari saya": a button under "no programme open" and under a turned-away message that
remembers which cluster (and programme) the person was looking at, so that they hear when a
programme of that cluster opens (outreach/openings.py), and subscribes them to announcements.
"""

from __future__ import annotations

from conversations.context import Context
from conversations.engine import Action, Engine, State
from conversations.io import Option, Reply
from storage.repositories import interests
from training import people
from training.text import local

NOTIFY_ACTION = "notify"


def notify_option(ctx: Context, cluster: str | None = None, programme: str | None = None) -> Option:
    """The "Kabari saya" button: "@notify|LAS.LAS1" (either part may be empty; far below 64 bytes)."""
    return Option(f"@{NOTIFY_ACTION}|{cluster or ''}.{programme or ''}", ctx.label("buttons/notify_me"))


async def notify_me(engine: Engine, ctx: Context, state: State, payload: str) -> Reply:
    """Remembers the cluster of interest, turns announcements on, and says what will come."""
    cluster_code, _, programme_code = payload.partition(".")
    cluster = ctx.catalog.cluster(cluster_code) if cluster_code else None
    programme = ctx.catalog.programme(programme_code) if programme_code and cluster is not None else None
    await people.set_subscribed(ctx.session, ctx.contact, True)
    await interests.remember(
        ctx.session,
        ctx.contact.id,
        cluster.code if cluster else None,
        programme.code if programme else None,
        ctx.now(),
    )
    name = local(cluster.name, ctx.lang) if cluster else ""
    return Reply([ctx.say("interests/noted", cluster=name), *await engine.resume(ctx, state)])


ACTIONS: dict[str, Action] = {NOTIFY_ACTION: notify_me}
