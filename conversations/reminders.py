"""Placeholder: filled in by the reminders work (see issue 4)."""

from __future__ import annotations

from conversations.engine import Action, Command

COMMANDS: dict[str, Command] = {}
STAFF_COMMANDS: dict[str, Command] = {}
ACTIONS: dict[str, Action] = {}
