"""`blkbot whatsapp templates`: what to submit to Meta so that pushes can go outside the 24-hour window."""

from __future__ import annotations

import argparse

from bot.settings import Settings
from handlers.whatsapp.templates import KINDS, LANGUAGES, body_text, example_text
from messages.render import Templates


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    whatsapp = sub.add_parser("whatsapp", help="WhatsApp Business").add_subparsers(
        dest="whatsapp_command", required=True
    )
    whatsapp.add_parser(
        "templates", help="print the message templates to submit to Meta (name, category, language, body, example)"
    ).set_defaults(handler=templates_command, uses_database=False)


async def templates_command(settings: Settings, args: argparse.Namespace) -> int:
    templates = Templates()
    configured = settings.whatsapp_templates()
    print(
        "Submit each template in WhatsApp Manager > Message templates, in both languages, under one name.\n"
        "Once Meta approves it, set its name in the setting shown; until then pushes outside the 24-hour\n"
        "window of that kind are held (needs_template), never dropped.\n"
    )
    for kind in KINDS:
        name = configured.get(kind.kind.value)
        state = f"set: {kind.setting}={name}" if name else f"not set yet: {kind.setting}={kind.suggested_name}"
        print(f"== {name or kind.suggested_name}  ({state})")
        print(f"   category: {kind.category}   used for: {kind.kind.value} messages")
        for language in LANGUAGES.values():
            print(f"   -- language: {language}")
            print("   body:")
            for line in body_text(templates, language, kind).splitlines():
                print(f"      {line}".rstrip())
            print(f"   example for {{{{1}}}}: {example_text(templates, language, kind)}")
        print()
    return 0
