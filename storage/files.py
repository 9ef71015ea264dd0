"""Where the documents residents send are kept: a small interface over a folder (now) or an
S3-compatible bucket (later), addressed by keys that carry no personal data.

A key is a relative path of lower-case letters, digits, "-", "_" and "." ("las1-2027-0001/ktp-3f9a.jpg");
it never names a person, so a listing of the store or a backup's file names gives nobody away.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

from storage.errors import BlkbotError

KEY = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9]+)?(?:/[a-z0-9_-]+(?:\.[a-z0-9]+)?)*")


class FileMissing(BlkbotError):
    """The store has no file under this key (erased, or the folder was moved)."""


def checked_key(key: str) -> str:
    if not KEY.fullmatch(key):
        raise ValueError(f"not a file store key: {key!r}")
    return key


class FileStore(Protocol):
    """Put, get, delete and list files by key; what the documents service needs and nothing more."""

    async def put(self, key: str, content: bytes) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None:
        """Remove the file; a key already gone is no error (erasure may run twice)."""
        ...

    async def list(self, prefix: str = "") -> list[str]: ...


class LocalFolderStore:
    """Files under one folder (BLKBOT_FILES_DIR), read and written in a worker thread so a large
    file never stalls the conversations. A write goes to a temporary file first and is renamed
    into place, so a crash never leaves half a document under its key."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / checked_key(key)

    async def put(self, key: str, content: bytes) -> None:
        await asyncio.to_thread(_write, self._path(key), content)

    async def get(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError:
            raise FileMissing(f"no file {key!r} in {self.root}") from None

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(_remove, self.root, self._path(key))

    async def list(self, prefix: str = "") -> list[str]:
        return [k for k in await asyncio.to_thread(_keys, self.root) if k.startswith(prefix)]


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _remove(root: Path, path: Path) -> None:
    path.unlink(missing_ok=True)
    if path.parent != root and path.parent.is_dir() and not any(path.parent.iterdir()):
        path.parent.rmdir()


def _keys(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    keys = (p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    return sorted(k for k in keys if not k.rsplit("/", 1)[-1].startswith("."))


class MemoryFileStore:
    """Files in a dict: the default of a bare `Services` (tests, benchmarks); `blkbot run` and
    `blkbot chat` use a LocalFolderStore."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    async def put(self, key: str, content: bytes) -> None:
        self.files[checked_key(key)] = bytes(content)

    async def get(self, key: str) -> bytes:
        try:
            return self.files[key]
        except KeyError:
            raise FileMissing(f"no file {key!r}") from None

    async def delete(self, key: str) -> None:
        self.files.pop(key, None)

    async def list(self, prefix: str = "") -> list[str]:
        return sorted(k for k in self.files if k.startswith(prefix))
