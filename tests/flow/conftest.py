"""Fixtures most flow tests share: Siti, the resident who walks the flows, and the bot's words."""

from __future__ import annotations

import pytest

from conversations.runner import Conversations
from messages.render import Templates
from tests.flow.helpers import Resident, Words


@pytest.fixture
def words(templates: Templates) -> Words:
    return Words(templates)


@pytest.fixture
def siti(conversations: Conversations) -> Resident:
    return Resident(conversations, "siti")
