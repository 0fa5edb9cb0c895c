"""The project's files read once per build, not once per use.

A build reads the same source files three times: the scan (each task's description and default
export, scan.py), the auto-import words (libs.project_sources) and the input hash (inputs.py).
At 10,000 task files the opens alone were 0.35 s of a build's Python (cProfile, issue #14).
Within `shared_reads()` the bytes of each file read are kept for the rest of the block; outside
it (a dev server between rebuilds, the API's other calls) every read goes to the disk, so a file
changed since is never served stale. Large files are read but not kept: the build's memory
counts toward the process tree's (esbuild runs beside it).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

KEEP_FILE_BYTES = 1 << 20  # a file larger than this is read again when needed
KEEP_TOTAL_BYTES = 32 << 20  # past this, files are no longer kept


class _Kept(threading.local):
    """The files kept by the innermost shared_reads of this thread: a build run in another
    thread of the same process (the API) keeps its own, and never ends this one's."""

    files: dict[str, bytes] | None = None
    total = 0


_kept = _Kept()


@contextmanager
def shared_reads() -> Iterator[None]:
    """Keep what read_bytes reads until the block ends (one build)."""
    outer = _kept.files, _kept.total
    _kept.files, _kept.total = {}, 0
    try:
        yield
    finally:
        _kept.files, _kept.total = outer


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """The file's bytes; within shared_reads, read from the disk only the first time. An OSError
    (missing, unreadable) is raised as by open() and never kept."""
    key = os.fspath(path)
    files = _kept.files
    if files is not None:
        data = files.get(key)
        if data is not None:
            return data
    data = _read(key)
    if files is not None and len(data) <= KEEP_FILE_BYTES and _kept.total + len(data) <= KEEP_TOTAL_BYTES:
        files[key] = data
        _kept.total += len(data)
    return data


_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
_FIRST = 1 << 16


def _read(path: str) -> bytes:
    """open() + read() without the buffered file object: open, read, close, where the object added
    two fstat calls, an ioctl and a seek per file (10,000 task files: 0.07 -> 0.035 s)."""
    fd = os.open(path, _FLAGS)
    try:
        data = os.read(fd, _FIRST)
        if len(data) < _FIRST:
            return data
        chunks = [data]
        while more := os.read(fd, 1 << 20):
            chunks.append(more)
        return b"".join(chunks)
    finally:
        os.close(fd)
