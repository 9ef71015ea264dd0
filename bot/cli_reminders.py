"""Placeholder: the staff CLI of the reminders work (see issue 4)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add this area's `blkbot ...` subcommands."""
