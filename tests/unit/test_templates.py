"""Checks over the real message tree (it starts empty; it tightens as templates land).

Parameters are unknown here, so templates are not rendered: only their syntax is checked,
and every message must exist in both languages so no resident silently gets a fallback.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import TemplateSyntaxError

from messages.render import Templates

TEMPLATES = Templates()
ROOT = TEMPLATES.root


def test_every_message_has_an_indonesian_and_english_twin() -> None:
    id_keys, en_keys = TEMPLATES.keys("id"), TEMPLATES.keys("en")
    assert sorted(id_keys - en_keys) == [], "messages with no English twin in messages/en"
    assert sorted(en_keys - id_keys) == [], "messages with no Indonesian twin in messages/id"


def _template_files() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.j2") if p.is_file())


def test_every_template_parses() -> None:
    errors = []
    for path in _template_files():
        source = path.read_text(encoding="utf-8")
        name = path.relative_to(ROOT).as_posix()
        try:
            TEMPLATES.environment.parse(source, name=name, filename=str(path))
        except TemplateSyntaxError as exc:
            errors.append(f"{name}:{exc.lineno}: {exc.message}")
    assert errors == []


def test_templates_live_in_language_folders() -> None:
    """A stray template (e.g. messages/ask_nik.html.j2) would never be found by render()."""
    misplaced = [
        p.relative_to(ROOT).as_posix()
        for p in _template_files()
        if p.relative_to(ROOT).parts[0] not in TEMPLATES.languages()
    ]
    assert misplaced == []
