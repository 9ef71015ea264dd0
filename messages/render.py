"""Render the bot's sentences from ``messages/<lang>/<key>.html.j2``.

One ``Templates`` object (one Jinja2 environment) serves the whole process. Template names
inside the environment are always ``<lang>/<path>``; includes, imports and extends written
in a template are resolved relative to that template's language folder, so an English
template including ``_partials/footer.html.j2`` gets ``en/_partials/footer.html.j2``, or
the Indonesian one when the English partial does not exist.
"""

from __future__ import annotations

import functools
import re
from collections import ChainMap
from collections.abc import Callable, MutableMapping
from datetime import date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import phonenumbers
from jinja2 import (
    BaseLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    pass_context,
    select_autoescape,
)
from jinja2.runtime import Context

from messages.dates import (
    DEFAULT_LANG,
    format_date,
    format_date_short,
    format_datetime,
    format_time,
    normalize_lang,
)
from messages.markup import html_to_plain

SUFFIX = ".html.j2"
PACKAGE_ROOT = Path(__file__).resolve().parent

# A language folder name: "id", "en", "pt-br". Anything else (a user-supplied code with a
# slash, say) is treated as a language we do not have.
_LANG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


# ------------------------------------------------------------------------------- numbers


def _group(digits: str, lang: str) -> str:
    """Swap Python's "1,234.5" separators for Indonesian "1.234,5" when needed."""
    if normalize_lang(lang) == "id":
        return digits.translate(str.maketrans({",": ".", ".": ","}))
    return digits


def format_number(n: int | float | Decimal, lang: str = DEFAULT_LANG) -> str:
    """Counts with thousands separators: "1.234" (id) / "1,234" (en)."""
    if isinstance(n, bool):
        raise TypeError("format_number got a bool; pass a number")
    return _group(f"{n:,}", lang)


def format_rupiah(amount: int | float | Decimal, lang: str = DEFAULT_LANG) -> str:
    """ "Rp 1.500.000" (id) / "Rp 1,500,000" (en), rounded to whole rupiah."""
    if isinstance(amount, bool):
        raise TypeError("format_rupiah got a bool; pass an amount")
    whole = int(Decimal(str(amount)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    sign = "-" if whole < 0 else ""
    return f"{sign}Rp {_group(f'{abs(whole):,}', lang)}"


@functools.lru_cache(maxsize=4096)
def format_phone(e164: str) -> str:
    """A phone number the way Indonesians write it: "+6281234567890" -> "0812-3456-7890"
    (another country's number in its international form); anything unreadable as it came.
    Remembered: every WhatsApp reply offers the sender's own number, and parsing it costs more
    than the rest of rendering the reply."""
    try:
        number = phonenumbers.parse(e164 if e164.startswith("+") else "+" + e164)
    except phonenumbers.NumberParseException:
        return e164
    if number.country_code == 62:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


# ------------------------------------------------------------------------------- filters


def _ctx_lang(context: Context) -> str:
    """The language of the template being rendered.

    ``lang`` is a template global (see ``_LangLoader.load``), so it is there even inside
    macros imported without context.
    """
    lang = context.get("lang")
    if isinstance(lang, str):
        return lang
    name = context.name or ""
    return name.split("/", 1)[0] if "/" in name else DEFAULT_LANG


@pass_context
def _tanggal(context: Context, d: date) -> str:
    return format_date(d, _ctx_lang(context))


@pass_context
def _tanggal_pendek(context: Context, d: date) -> str:
    return format_date_short(d, _ctx_lang(context))


@pass_context
def _waktu(context: Context, dt: datetime) -> str:
    return format_datetime(dt, _ctx_lang(context))


@pass_context
def _jam(context: Context, t: datetime | time) -> str:
    return format_time(t, None, _ctx_lang(context))


@pass_context
def _rupiah(context: Context, amount: int | float | Decimal) -> str:
    return format_rupiah(amount, _ctx_lang(context))


@pass_context
def _angka(context: Context, n: int | float | Decimal) -> str:
    return format_number(n, _ctx_lang(context))


FILTERS: dict[str, Callable[..., str]] = {
    "telepon": format_phone,
    "tanggal": _tanggal,
    "tanggal_pendek": _tanggal_pendek,
    "waktu": _waktu,
    "jam": _jam,
    "rupiah": _rupiah,
    "angka": _angka,
}


# -------------------------------------------------------------------------------- loading


def _lang_of(name: str) -> str:
    return name.split("/", 1)[0]


class _LangLoader(BaseLoader):
    """Loads ``<lang>/<path>``, falling back to ``id/<path>``, and tags it with ``lang``.

    The fallback lets a language share Indonesian partials it has not translated (yet);
    whole messages fall back in ``Templates.render`` instead, so that their dates and
    numbers follow the language they are actually written in.
    """

    def __init__(self, root: Path) -> None:
        self._root = root
        self._fs = FileSystemLoader(str(root), encoding="utf-8")

    def get_source(self, environment: Environment, template: str) -> tuple[str, str | None, Callable[[], bool] | None]:
        try:
            return self._fs.get_source(environment, template)
        except TemplateNotFound:
            lang, _, rest = template.partition("/")
            if not rest or lang == DEFAULT_LANG:
                raise
            source, filename, uptodate = self._fs.get_source(environment, f"{DEFAULT_LANG}/{rest}")
            own = self._root / template

            def still_fallback() -> bool:
                # Stale once the translated file appears, so auto-reload picks it up.
                return (uptodate is None or uptodate()) and not own.is_file()

            return source, filename, still_fallback

    def list_templates(self) -> list[str]:
        return self._fs.list_templates()

    def load(
        self,
        environment: Environment,
        name: str,
        globals: MutableMapping[str, Any] | None = None,
    ) -> Template:
        # Overridden (the docs discourage it only for loaders wrapped by Choice/Prefix
        # loaders, which this one never is) so that every template, imported macros
        # included, sees ``lang`` derived from its own name.
        maps = globals.maps if isinstance(globals, ChainMap) else [globals or {}]
        return super().load(environment, name, ChainMap({"lang": _lang_of(name)}, *maps))


class _LangEnvironment(Environment):
    """Resolves include/import/extends names relative to the parent's language folder."""

    def join_path(self, template: str, parent: str) -> str:
        if template.startswith("/"):  # explicit "/id/_partials/x.html.j2"
            name = template.lstrip("/")
        else:
            name = f"{_lang_of(parent)}/{template}"
        return name if name.endswith(".j2") else name + SUFFIX


# ------------------------------------------------------------------------------ templates


def _check_key(key: str) -> None:
    """Keys are code constants; a malformed one is a bug, not a missing template."""
    parts = key.split("/")
    if not key or key.startswith("/") or "\\" in key or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"bad message key: {key!r}")


class Templates:
    """All message templates, with the language fallback and Telegram-safe escaping.

    Build one per process and share it: the environment caches compiled templates, and
    which language answers each key. With ``auto_reload`` a template edited (or translated)
    while the process runs is picked up, at the price of looking at the files on every
    render; the bot renders a dozen sentences a turn and leaves it off.
    """

    def __init__(self, root: Path | None = None, *, auto_reload: bool = False) -> None:
        self.root = Path(root) if root is not None else PACKAGE_ROOT
        self.auto_reload = auto_reload
        self._resolved: dict[tuple[str, str], str] = {}
        self._labels: dict[tuple[str, str], str] = {}
        self.environment: Environment = _LangEnvironment(
            loader=_LangLoader(self.root),
            autoescape=select_autoescape(
                enabled_extensions=("html.j2", "html"), default_for_string=True, default=False
            ),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            cache_size=2000,
            auto_reload=auto_reload,
        )
        self.environment.filters.update(FILTERS)

    # -- lookup

    def _path(self, lang: str, key: str) -> Path:
        return self.root / lang / f"{key}{SUFFIX}"

    def has(self, lang: str, key: str) -> bool:
        """True if ``lang`` itself (no fallback) has the template ``key``."""
        _check_key(key)
        return bool(_LANG_RE.match(lang)) and self._path(lang, key).is_file()

    def resolve_lang(self, lang: str, key: str) -> str:
        """The language ``render`` will use: ``lang``, then its base ("en-US" → "en"),
        then "id". Raises ``TemplateNotFound`` if even "id" lacks the key."""
        known = self._resolved.get((lang, key))
        if known is not None:
            return known
        chain = [lang, lang.replace("_", "-").split("-", 1)[0].lower(), DEFAULT_LANG]
        for candidate in dict.fromkeys(chain):
            if self.has(candidate, key):
                if not self.auto_reload:
                    self._resolved[(lang, key)] = candidate
                return candidate
        raise TemplateNotFound(f"{DEFAULT_LANG}/{key}{SUFFIX}")

    def languages(self) -> set[str]:
        """Language folders present under the root."""
        if not self.root.is_dir():
            return set()
        return {
            p.name for p in self.root.iterdir() if p.is_dir() and _LANG_RE.match(p.name) and not p.name.startswith("_")
        }

    def keys(self, lang: str) -> set[str]:
        """Every message key of ``lang``; partials (any path part starting "_") excluded."""
        base = self.root / lang
        if not _LANG_RE.match(lang) or not base.is_dir():
            return set()
        found = set()
        for path in base.rglob(f"*{SUFFIX}"):
            rel = path.relative_to(base).as_posix()
            if path.is_file() and not any(part.startswith("_") for part in rel.split("/")):
                found.add(rel[: -len(SUFFIX)])
        return found

    # -- rendering

    def render(self, lang: str, key: str, /, **params: Any) -> str:
        """Render ``<lang>/<key>.html.j2`` (or its fallback) with ``params``, stripped.

        Parameters are auto-escaped; a parameter the template uses but the caller did not
        pass raises ``jinja2.UndefinedError``. ``lang`` is reserved: templates get it from
        the language actually rendered.
        """
        if "lang" in params:
            raise TypeError("'lang' is reserved in message parameters")
        used = self.resolve_lang(lang, key)
        template = self.environment.get_template(f"{used}/{key}{SUFFIX}")
        return template.render(**params).strip()

    def label(self, lang: str, key: str, /, **params: Any) -> str:
        """A button label or a menu entry: rendered like any sentence, then made plain, since
        buttons show no markup. Labels without parameters are kept: a turn shows a dozen."""
        if params:
            return html_to_plain(self.render(lang, key, **params)).strip()
        known = self._labels.get((lang, key))
        if known is None:
            known = html_to_plain(self.render(lang, key)).strip()
            if not self.auto_reload:
                self._labels[(lang, key)] = known
        return known
