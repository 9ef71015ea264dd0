"""Domain errors that carry data, so the layer above can word them for the resident."""

from dataclasses import dataclass
from typing import Any

from storage.errors import BlkbotError


class InvalidAnswer(BlkbotError):
    """An answer the resident can correct; `key` names the message template that explains why."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a file staff gave us: where (line None: the file as a whole) and what."""

    line: int | None
    text: str

    def render(self, source: str) -> str:
        return f"{source} line {self.line}: {self.text}" if self.line else f"{source}: {self.text}"


class CatalogError(BlkbotError):
    """A catalog file that cannot be loaded; the message names the file, line or key."""

    def __init__(self, source: str, message: str, line: int | None = None) -> None:
        where = f"{source} line {line}" if line else source
        super().__init__(f"{where}: {message}")
        self.source = source
        self.line = line
        self.message = message
