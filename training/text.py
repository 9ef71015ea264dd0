"""Catalog text that staff write in several languages."""

from collections.abc import Mapping
from typing import TypeAlias

DEFAULT_LANGUAGE = "id"
LANGUAGES = ("id", "en")

LocalText: TypeAlias = Mapping[str, str]


def local(text: LocalText | None, lang: str) -> str:
    """Pick `lang`, falling back to Bahasa Indonesia, so a half-translated catalog still speaks."""
    if not text:
        return ""
    return text.get(lang) or text.get(DEFAULT_LANGUAGE) or next(iter(text.values()))
