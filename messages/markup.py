"""Turn the bot's Telegram HTML into what each channel can take.

Telegram rejects a message over 4096 characters and a message whose HTML is unbalanced,
so long messages are cut into self-contained chunks. The terminal and WhatsApp cannot
show HTML at all, so they get plain text or WhatsApp's own ``*bold*`` markers instead.

Everything parses with the stdlib ``HTMLParser`` (``convert_charrefs=False``) so that tags
and entities are seen as units and never cut in half.
"""

from __future__ import annotations

import functools
import html as _html
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser

TELEGRAM_LIMIT = 4096

# Elements that never get a closing tag: they must not be pushed on the open-tag stack.
_VOID = frozenset(
    {"br", "hr", "img", "input", "meta", "link", "area", "base", "col", "embed", "source", "track", "wbr", "param"}
)
# A tag, for the quick look at short messages (attribute values never hold a raw ">": escaped).
_TAG = re.compile(r"<[^>]*>")
# Whitespace that a line may not break at.
_NO_BREAK = frozenset({"\u00a0", "\u2007", "\u202f", "\u2060"})


def utf16_len(s: str) -> int:
    """Length in UTF-16 code units: Telegram's unit for message and entity lengths."""
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


# --------------------------------------------------------------------------- tokenizing


@dataclass(slots=True)
class _Event:
    kind: str  # "start", "end", "startend", "data", "ref", "other"
    pos: int
    tag: str = ""
    attrs: list[tuple[str, str | None]] = field(default_factory=list)
    raw: str = ""


class _Recorder(HTMLParser):
    """Records parser events with their start offsets so each event's raw text is exact.

    Reconstructing raw text from callback arguments would normalize it (``AT&T `` would
    come back as ``AT&T;``); slicing the source between event offsets cannot.
    """

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=False)
        self.source = source
        self.events: list[_Event] = []
        self._line_starts = [0]
        for i, ch in enumerate(source):
            if ch == "\n":
                self._line_starts.append(i + 1)

    def _pos(self) -> int:
        line, col = self.getpos()
        return self._line_starts[line - 1] + col

    def _add(self, kind: str, tag: str = "", attrs: list[tuple[str, str | None]] | None = None) -> None:
        self.events.append(_Event(kind, self._pos(), tag, attrs or []))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._add("start", tag, attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._add("startend", tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        self._add("end", tag)

    def handle_data(self, data: str) -> None:
        self._add("data")

    def handle_entityref(self, name: str) -> None:
        self._add("ref")

    def handle_charref(self, name: str) -> None:
        self._add("ref")

    def handle_comment(self, data: str) -> None:
        self._add("other")

    def handle_decl(self, decl: str) -> None:
        self._add("other")

    def handle_pi(self, data: str) -> None:
        self._add("other")

    def unknown_decl(self, data: str) -> None:
        self._add("other")


def _events(source: str) -> list[_Event]:
    """Parse ``source`` into events whose ``raw`` texts concatenate back to ``source``."""
    rec = _Recorder(source)
    rec.feed(source)
    rec.close()
    events = rec.events
    ends = [ev.pos for ev in events[1:]] + [len(source)] if events else []
    for ev, end in zip(events, ends, strict=True):
        ev.raw = source[ev.pos : end]
    # Defensive: an event whose slice is empty carries no text (tags always have some).
    return [ev for ev in events if ev.raw or ev.kind in ("start", "end", "startend")]


# ------------------------------------------------------------------------------ splitting


@dataclass(slots=True)
class _Atom:
    """One indivisible unit: a character, an entity, or a tag (which is invisible)."""

    raw: str
    text: str = ""  # what Telegram shows; "" for tags
    width: int = 0  # UTF-16 length of ``text``
    kind: str = "text"  # "text", "open", "close", "other"
    tag: str = ""


def _atoms(source: str) -> list[_Atom]:
    atoms: list[_Atom] = []
    for ev in _events(source):
        if ev.kind == "data":
            atoms.extend(_Atom(ch, ch, utf16_len(ch)) for ch in ev.raw)
        elif ev.kind == "ref":
            text = _html.unescape(ev.raw)
            atoms.append(_Atom(ev.raw, text, utf16_len(text)))
        elif ev.kind == "start" and ev.tag not in _VOID:
            atoms.append(_Atom(ev.raw, kind="open", tag=ev.tag))
        elif ev.kind == "end" and ev.tag not in _VOID:
            atoms.append(_Atom(ev.raw, kind="close", tag=ev.tag))
        else:
            atoms.append(_Atom(ev.raw, kind="other"))
    return atoms


def _open_stacks(atoms: list[_Atom]) -> list[tuple[_Atom, ...]]:
    """``stacks[i]`` = the tags still open just before ``atoms[i]`` (``i`` up to len)."""
    stack: tuple[_Atom, ...] = ()
    stacks = [stack]
    for atom in atoms:
        if atom.kind == "open":
            stack = (*stack, atom)
        elif atom.kind == "close":
            for depth in range(len(stack) - 1, -1, -1):
                if stack[depth].tag == atom.tag:
                    stack = stack[:depth]
                    break
        stacks.append(stack)
    return stacks


@dataclass(slots=True)
class _Break:
    start: int  # first whitespace atom of the run
    end: int  # first atom after the run
    rank: int  # 3 blank line, 2 newline, 1 space


def _breaks(atoms: list[_Atom]) -> list[_Break]:
    """Runs of breakable whitespace, ranked by how natural a cut there is."""
    runs: list[_Break] = []
    i, n = 0, len(atoms)
    while i < n:
        a = atoms[i]
        if a.kind == "text" and a.text.isspace() and a.text not in _NO_BREAK:
            j = i
            newlines = 0
            while j < n and atoms[j].kind == "text" and atoms[j].text.isspace() and atoms[j].text not in _NO_BREAK:
                newlines += atoms[j].text.count("\n")
                j += 1
            runs.append(_Break(i, j, 3 if newlines >= 2 else 2 if newlines else 1))
            i = j
        else:
            i += 1
    return runs


def _glued(atoms: list[_Atom], i: int) -> bool:
    """True if a hard cut before ``atoms[i]`` would split a visible character cluster."""
    if i <= 0 or i >= len(atoms) or atoms[i].kind != "text":
        return False
    ch = atoms[i].text[:1]
    prev = atoms[i - 1].text[-1:] if atoms[i - 1].kind == "text" else ""
    return (
        prev == "\u200d"
        or ch == "\u200d"
        or ch in ("\ufe0e", "\ufe0f")
        or "\U0001f3fb" <= ch <= "\U0001f3ff"  # skin-tone modifiers
        or bool(ch and unicodedata.combining(ch))
    )


def split_message(html: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Split Telegram HTML into chunks that each fit ``limit`` and parse on their own.

    Length is what Telegram counts: visible text in UTF-16 code units, after entities are
    decoded. A cut prefers the last blank line, then newline, then space, in the second
    half of the window (so a short heading is not sent alone); failing that, the last break
    of any kind; failing that, a hard cut that still keeps tags, entities, surrogate pairs
    and emoji sequences whole. The whitespace at a cut is dropped. Tags open at a cut are
    closed at the end of the chunk and reopened, with their original attributes, at the
    start of the next. Chunks with no visible text are dropped.

    A single unit wider than ``limit`` (only possible with a tiny limit) gets a chunk of its
    own rather than looping forever.
    """
    if limit < 1:
        raise ValueError("limit must be positive")
    if utf16_len(html) <= limit:
        # Nearly every message: the source is no longer than the visible text could be (tags
        # vanish, entities shrink), so it fits whole; only blankness needs a look.
        visible = _TAG.sub("", html)
        if "&" not in visible:
            return [html] if visible.strip() else []
    atoms = _atoms(html)
    prefix = [0]
    for a in atoms:
        prefix.append(prefix[-1] + a.width)
    if prefix[-1] <= limit:
        return [html] if "".join(a.text for a in atoms).strip() else []

    stacks = _open_stacks(atoms)
    runs = _breaks(atoms)
    run_starts = [r.start for r in runs]
    n = len(atoms)
    chunks: list[str] = []
    start = 0
    while start < n:
        # Furthest end whose visible width fits; zero-width tags after it come along...
        end = bisect_right(prefix, prefix[start] + limit) - 1
        # ...except opening tags, which belong with the text they open.
        while end > start and atoms[end - 1].kind == "open":
            end -= 1
        if end >= n:
            cut, resume = n, n
        else:
            if prefix[end] == prefix[start]:
                # Not even one visible unit fits: take one anyway to make progress.
                end = start
                while end < n and atoms[end].width == 0:
                    end += 1
                end = min(end + 1, n)
            cut, resume = _choose_cut(atoms, runs, run_starts, prefix, start, end, limit)
        body = atoms[start:cut]
        if "".join(a.text for a in body).strip():
            opening = "".join(a.raw for a in stacks[start])
            closing = "".join(f"</{a.tag}>" for a in reversed(stacks[cut]))
            chunks.append(opening + "".join(a.raw for a in body) + closing)
        start = resume
    return chunks


def _choose_cut(
    atoms: list[_Atom],
    runs: list[_Break],
    run_starts: list[int],
    prefix: list[int],
    start: int,
    end: int,
    limit: int,
) -> tuple[int, int]:
    """Pick where to end a chunk in ``atoms[start:end]``: (end of chunk, start of next)."""
    lo = bisect_right(run_starts, start)  # a run at ``start`` would give an empty chunk
    hi = bisect_right(run_starts, end)
    candidates = runs[lo:hi]
    if candidates:
        half = prefix[start] + limit // 2
        late = [r for r in candidates if prefix[r.start] >= half]
        best = max(late, key=lambda r: (r.rank, r.start)) if late else candidates[-1]
        cut, resume = best.start, best.end
        # Keep "<b>" and "</b>" next to their text instead of leaving empty "<b></b>" at
        # the edges: stacks[] reopens / closes them correctly either way.
        while cut > start and atoms[cut - 1].kind == "open":
            cut -= 1
        while resume < len(atoms) and atoms[resume].kind == "close":
            resume += 1
        return cut, resume
    cut = end
    while cut > start + 1 and _glued(atoms, cut):
        cut -= 1
    return cut, cut


# ------------------------------------------------------------------------------ converting


@dataclass(slots=True)
class _Node:
    tag: str
    attrs: dict[str, str]
    parts: list[str] = field(default_factory=list)


Render = Callable[[_Node, str, list[_Node]], str]


def _convert(source: str, render: Render, text: Callable[[str], str] = lambda data: data) -> str:
    """Rebuild ``source`` bottom-up: each element's converted content goes to ``render``.

    ``render(node, inner, ancestors)`` returns the replacement for the element; unclosed
    elements are closed at the end, stray closing tags are ignored. ``text`` sees each piece
    of (unescaped) text outside the tags.
    """
    root = _Node("", {})
    stack = [root]

    def close_top() -> None:
        node = stack.pop()
        stack[-1].parts.append(render(node, "".join(node.parts), stack[1:]))

    for ev in _events(source):
        if ev.kind in ("data", "ref"):
            # Data is unescaped too: at the very end of input the parser can hand an
            # unterminated entity ("&amp") over as data.
            stack[-1].parts.append(text(_html.unescape(ev.raw)))
        elif ev.kind in ("start", "startend"):
            node = _Node(ev.tag, {k: v or "" for k, v in ev.attrs})
            if ev.kind == "startend" or ev.tag in _VOID:
                stack[-1].parts.append(render(node, "", stack[1:]))
            else:
                stack.append(node)
        elif ev.kind == "end" and ev.tag not in _VOID and any(node.tag == ev.tag for node in stack[1:]):
            while stack[-1].tag != ev.tag:
                close_top()
            close_top()
    while len(stack) > 1:
        close_top()
    return "".join(root.parts)


def _link(label: str, href: str) -> str:
    """ "label (url)" unless the label already says the url."""
    shown = label.strip()
    if not href or shown == href:
        return label
    for scheme in ("mailto:", "tel:"):
        if href.startswith(scheme) and shown == href[len(scheme) :]:
            return label
    if not shown:
        return href
    return f"{label} ({href})"


def _plain(node: _Node, inner: str, ancestors: list[_Node]) -> str:
    if node.tag == "a":
        return _link(inner, node.attrs.get("href", ""))
    if node.tag == "br":
        return "\n"
    return inner


def html_to_plain(html: str) -> str:
    """Telegram HTML to plain text for the terminal console: no tags, links spelled out."""
    return _convert(html, _plain)


def _wrap_lines(inner: str, marker: str) -> str:
    """``*x*`` per line, with spaces kept outside the markers.

    WhatsApp ignores a marker next to a space (``*bold *``) and does not carry
    formatting reliably across lines, so each line is wrapped on its own.
    """
    out = []
    for line in inner.split("\n"):
        core = line.strip()
        if not core:
            out.append(line)
            continue
        lead = line[: len(line) - len(line.lstrip())]
        trail = line[len(line.rstrip()) :]
        out.append(f"{lead}{marker}{core}{marker}{trail}")
    return "\n".join(out)


_WA_MARKERS = {
    "b": "*",
    "strong": "*",
    "i": "_",
    "em": "_",
    "s": "~",
    "strike": "~",
    "del": "~",
}


def _whatsapp(node: _Node, inner: str, ancestors: list[_Node]) -> str:
    tag = node.tag
    if tag in _WA_MARKERS:
        return _wrap_lines(inner, _WA_MARKERS[tag])
    if tag in ("code", "pre"):
        # <pre><code>…</code></pre> is one block, not two nested ones.
        if any(a.tag in ("code", "pre") for a in ancestors) or not inner.strip():
            return inner
        return f"```{inner}```"
    if tag == "a":
        return _link(inner, node.attrs.get("href", ""))
    if tag == "blockquote":
        return "\n".join(f"> {line}" if line.strip() else line for line in inner.split("\n"))
    if tag == "br":
        return "\n"
    return inner  # u, span, tg-spoiler, …: WhatsApp has no equivalent


_WA_LOOKALIKES = str.maketrans({"*": "\u2217", "_": "\uff3f", "~": "\u223c", "`": "\u02cb"})
"""WhatsApp has no escape character: a resident's "*Siti*" would turn bold, so the markers in
text (as opposed to tags) become look-alike characters that WhatsApp does not read as markup."""


@functools.lru_cache(maxsize=4096)
def html_to_whatsapp(html: str) -> str:
    """Telegram HTML to WhatsApp's markup (``*b*``, ``_i_``, ``~s~``, ```` ```code``` ````).

    Only tags become markers: text between them can never add formatting of its own. Remembered
    for the last few thousand texts: most are the same questions asked of every resident, and
    parsing them again was a twentieth of a WhatsApp turn."""
    return _convert(html, _whatsapp, lambda data: data.translate(_WA_LOOKALIKES))
