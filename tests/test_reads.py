"""compiler/reads.py: within one build a project file is read from the disk once; outside a build
(a dev server between rebuilds) every read sees the file as it is now."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from nitro_build import reads
from nitro_build.reads import read_bytes, shared_reads


def test_a_file_is_read_once_within_a_build_and_afresh_after_it(tmp_path: Path) -> None:
    file = tmp_path / "a.ts"
    file.write_bytes(b"one")
    with shared_reads():
        assert read_bytes(file) == b"one"
        file.write_bytes(b"two")
        assert read_bytes(str(file)) == b"one"  # the build saw one version of it throughout
    assert read_bytes(file) == b"two"
    with shared_reads():
        assert read_bytes(file) == b"two"


def test_large_and_missing_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reads, "KEEP_FILE_BYTES", 100)
    big = tmp_path / "big.js"
    data = bytes(range(256)) * 1000  # past the first read's 64 KiB
    big.write_bytes(data)
    with shared_reads():
        assert read_bytes(big) == data
        big.write_bytes(b"changed")
        assert read_bytes(big) == b"changed"  # too large to keep: read again
        with pytest.raises(FileNotFoundError):
            read_bytes(tmp_path / "missing.ts")
        with pytest.raises(IsADirectoryError):
            read_bytes(tmp_path)


def test_a_build_in_another_thread_keeps_its_own_files(tmp_path: Path) -> None:
    """Two builds in two threads of one process (the API), the first to start ending first: each
    keeps its own reads, and neither leaves kept files behind for reads after both ended."""
    file = tmp_path / "a.ts"
    file.write_bytes(b"one")
    inside, leave = threading.Event(), threading.Event()
    seen: list[bytes] = []

    def first_build() -> None:
        with shared_reads():
            seen.append(read_bytes(file))
            inside.set()
            leave.wait(10)
            seen.append(read_bytes(file))

    worker = threading.Thread(target=first_build)
    worker.start()
    assert inside.wait(10)
    with shared_reads():
        file.write_bytes(b"two")
        assert read_bytes(file) == b"two"  # not the other build's kept b"one"
        leave.set()
        worker.join(10)
    assert seen == [b"one", b"one"]
    file.write_bytes(b"three")
    assert read_bytes(file) == b"three"  # both builds ended: nothing kept
