"""The role table: what an admin and an operator may do, read as one table."""

from __future__ import annotations

import pytest

from storage.models import StaffRole
from training.permissions import Actor, NotAllowed, Permission, require

P = Permission
TABLE = [
    # permission                admin  operator
    (P.BROADCAST_ALL, True, False),
    (P.BROADCAST_SEGMENT, True, True),
    (P.MANAGE_EVENTS, True, True),
    (P.POST_VACANCIES, True, True),
    (P.CHANGE_STAGES, True, True),
    (P.VIEW_APPLICANTS, True, True),
    (P.CHECK_APPLICATIONS, True, True),
    (P.RUN_SELECTION, True, False),
    (P.MANAGE_TRAINING, True, True),
    (P.IMPORT_CERTIFICATION, True, True),
    (P.MANAGE_STAFF, True, False),
    (P.PAST_PARTICIPANTS, True, True),
]


def test_the_table_covers_every_permission() -> None:
    assert sorted(row[0] for row in TABLE) == sorted(Permission)


@pytest.mark.parametrize(
    ("role", "permission", "allowed"),
    [(StaffRole.ADMIN, p, admin) for p, admin, _ in TABLE]
    + [(StaffRole.OPERATOR, p, op) for p, _, op in TABLE]
    + [("boss", p, False) for p, _, _ in TABLE],  # an unknown role may do nothing
)
def test_role_may(role: str, permission: Permission, allowed: bool) -> None:
    actor = Actor("telegram", "42", "Bu Rina", role)
    assert actor.may(permission) is allowed
    if allowed:
        require(actor, permission)
    else:
        with pytest.raises(NotAllowed, match=f"telegram:42 \\({role}\\) may not {permission.value}"):
            require(actor, permission)


def test_every_staff_service_takes_an_actor_it_cannot_be_called_without() -> None:
    """A service whose actor is optional runs city-wide when a caller forgets it: none may have one."""
    import importlib
    import inspect
    import pkgutil

    import outreach
    import training

    optional: list[str] = []
    for package in (training, outreach):
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            for name, function in inspect.getmembers(module, inspect.isfunction):
                if function.__module__ != module.__name__:
                    continue
                actor = inspect.signature(function).parameters.get("actor")
                if actor is not None and (
                    actor.default is not inspect.Parameter.empty or "None" in str(actor.annotation)
                ):
                    optional.append(f"{module.__name__}.{name}")
    assert optional == []
