"""A database connection that dies as a commit's answer is on its way back.

The server has committed; the bot gets what SQLAlchemy raises for a connection found dead. A real
server cannot be stopped at that instant, so a session event raises it, after the real commit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import ORMExecuteState, Session


@contextmanager
def dies_after_committing(statement: Any) -> Iterator[list[bool]]:
    """The first transaction that runs `statement` commits, then loses its connection. The list
    yielded holds True once that happened."""
    cut: list[bool] = []

    def note(state: ORMExecuteState) -> None:
        if state.statement is statement:
            state.session.info["dies_after_commit"] = True

    def die(session: Session) -> None:
        if session.info.pop("dies_after_commit", False) and not cut:
            cut.append(True)
            lost = ConnectionResetError("connection reset by peer")
            raise DBAPIError("COMMIT", None, lost, connection_invalidated=True)

    event.listen(Session, "do_orm_execute", note)
    event.listen(Session, "after_commit", die)
    try:
        yield cut
    finally:
        event.remove(Session, "do_orm_execute", note)
        event.remove(Session, "after_commit", die)
