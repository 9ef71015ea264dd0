"""INSERT … ON CONFLICT, which SQLAlchemy spells once per dialect: blkbot runs on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")

INSERTS: dict[str, Callable[..., Any]] = {"postgresql": pg_insert, "sqlite": sqlite_insert}


def insert_for(session: AsyncSession) -> Callable[..., Any]:
    """The `insert` with `on_conflict_do_*` for the session's database."""
    return INSERTS[session.bind.dialect.name]


def per_dialect(build: Callable[[Callable[..., Any]], T]) -> dict[str, T]:
    """A statement built once for each dialect (from its `insert`), for a hot path to pick by name."""
    return {name: build(insert) for name, insert in INSERTS.items()}
