"""Where stored files' bytes live: a folder on this host, or chunked rows in the shared database.

Both backends keep bytes under generated names and answer the same five calls (put, read, open,
delete, exists). `FILE_STORAGE` chooses one:

- `local` keeps each file in UPLOAD_FOLDER, outside the web root, 0600, written exclusively; a file
  written in a transaction that rolls back is removed with it.
- `database` keeps each file as ~1 MB rows of `file_chunk`, written in the caller's transaction: a
  rollback leaves nothing and a commit shows the file to every host at once.

Reads on the database backend go through the caller's session, so a stream is read inside the app
context (request, job or command) that opened it.
"""
from __future__ import annotations

import bisect
import io
import os
import uuid
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

BACKENDS = ("local", "database")
# Small enough that no value is huge and a streamed reader holds one at a time; large enough that a
# 200 MB report is a couple of hundred rows.
CHUNK_BYTES = 1 << 20


class FileChunk(db.Model):
    """One slice of a file kept by the database backend; `position` counts from 0."""

    __tablename__ = "file_chunk"

    stored_name: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)


def new_name() -> str:
    return uuid.uuid4().hex


def _checked(name: str) -> str:
    # Generated names only: letters and digits, so no name can leave the folder or match a pattern.
    if not (name.isascii() and name.isalnum() and len(name) <= 64):
        raise ValueError("bad stored name")
    return name


# --- local ----------------------------------------------------------------------------------------


def _pending(session) -> list[Path]:
    return session.info.setdefault("svcproc_pending_files", [])


@sa.event.listens_for(sa.orm.Session, "after_commit")
def _files_kept(session):
    session.info.pop("svcproc_pending_files", None)


@sa.event.listens_for(sa.orm.Session, "after_soft_rollback")
def _files_dropped(session, previous_transaction):
    # A failed request leaves no orphan files: what it wrote goes with its rollback.
    if previous_transaction.parent is None:
        for path in session.info.pop("svcproc_pending_files", []):
            try:
                path.unlink()
            except FileNotFoundError:
                pass


class LocalStorage:
    """Files in a folder of this host: UPLOAD_FOLDER/<first two characters>/<name>."""

    name = "local"

    def __init__(self, folder: str | Path):
        self.folder = Path(folder).resolve()

    def _path(self, name: str) -> Path:
        return self.folder / _checked(name)[:2] / name

    def put(self, data: bytes, name: str | None = None) -> str:
        name = new_name() if name is None else name
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Created 0600 and exclusively: never readable by others, never over another file.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        _pending(db.session).append(path)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return name

    def read(self, name: str) -> bytes:
        return self._path(name).read_bytes()

    def open(self, name: str) -> BinaryIO:
        return open(self._path(name), "rb")

    def delete(self, name: str) -> None:
        """Removes the file at once: the folder is not part of the transaction."""
        self._path(name).unlink(missing_ok=True)

    def exists(self, name: str) -> bool:
        return self._path(name).is_file()


# --- database -------------------------------------------------------------------------------------

_chunks = FileChunk.__table__


class DatabaseStorage:
    """Files as rows of file_chunk, written and read in the session's own transaction."""

    name = "database"

    def put(self, data: bytes, name: str | None = None) -> str:
        if name is not None and self.exists(name):  # as the local backend's exclusive create
            raise FileExistsError(name)
        name = new_name() if name is None else _checked(name)
        # One statement per chunk: the driver never holds a second copy of the whole file.
        for position, start in enumerate(range(0, max(len(data), 1), CHUNK_BYTES)):
            db.session.execute(sa.insert(_chunks).values(stored_name=name, position=position,
                                                         data=data[start:start + CHUNK_BYTES]))
        return name

    def read(self, name: str) -> bytes:
        parts = db.session.execute(sa.select(_chunks.c.data).where(_chunks.c.stored_name == _checked(name))
                                   .order_by(_chunks.c.position)).scalars().all()
        if not parts:
            raise FileNotFoundError(name)
        return b"".join(parts)

    def open(self, name: str) -> BinaryIO:
        sizes = db.session.execute(sa.select(_chunks.c.position, sa.func.length(_chunks.c.data))
                                   .where(_chunks.c.stored_name == _checked(name))
                                   .order_by(_chunks.c.position)).all()
        if not sizes:
            raise FileNotFoundError(name)
        return io.BufferedReader(_ChunkReader(db.session, name, [size for _p, size in sizes]), 65536)

    def delete(self, name: str) -> None:
        """Removes the file with the transaction: a rollback brings it back."""
        db.session.execute(sa.delete(_chunks).where(_chunks.c.stored_name == _checked(name)))

    def exists(self, name: str) -> bool:
        return db.session.execute(sa.select(_chunks.c.position).where(
            _chunks.c.stored_name == _checked(name), _chunks.c.position == 0)).first() is not None


class _ChunkReader(io.RawIOBase):
    """A seekable reader over a file's chunks holding one chunk at a time (zip readers seek)."""

    def __init__(self, session, name: str, sizes: list[int]):
        self._session, self._name = session, name
        self._starts = [0]
        for size in sizes:
            self._starts.append(self._starts[-1] + size)
        self._size = self._starts.pop()
        self._pos = 0
        self._held: tuple[int, bytes] | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def _chunk(self, position: int) -> bytes:
        if self._held is None or self._held[0] != position:
            data = self._session.execute(sa.select(_chunks.c.data).where(
                _chunks.c.stored_name == self._name, _chunks.c.position == position)).scalar_one()
            self._held = (position, data)
        return self._held[1]

    def readinto(self, buffer) -> int:
        if self._pos >= self._size:
            return 0
        position = bisect.bisect_right(self._starts, self._pos) - 1
        chunk = self._chunk(position)
        offset = self._pos - self._starts[position]
        n = min(len(buffer), len(chunk) - offset)
        buffer[:n] = chunk[offset:offset + n]
        self._pos += n
        return n

    def close(self) -> None:
        self._held = None
        super().close()


def backend(name: str | None = None) -> LocalStorage | DatabaseStorage:
    """The backend named (default: the FILE_STORAGE setting)."""
    name = name or current_app.config["FILE_STORAGE"]
    if name == "local":
        return LocalStorage(current_app.config["UPLOAD_FOLDER"])
    if name == "database":
        return DatabaseStorage()
    raise ValueError(f"unknown file storage {name!r}; use one of {', '.join(BACKENDS)}")
