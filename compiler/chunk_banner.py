"""The preset's banner kept only in the output files that need it (issue #14: the bundle's size).

esbuild writes `--banner:js` at the top of every output file, lazily loaded chunks included
(https://esbuild.github.io/api/#banner). The Node banner defines `require` (for bundled CommonJS
code); an output file, the entry included, that never names `require` gets an empty first line
instead: the lines below, and so its source map, stay where they were.
"""

from __future__ import annotations

from pathlib import Path

# The Node banner (presets/base.py): `require` for bundled CommonJS code inside ESM output.
REQUIRE_BANNER = "import { createRequire as __nitroRequire } from 'node:module'; const require = __nitroRequire(import.meta.url);"


def drop_unused_banners(files: list[Path], banner: str) -> None:
    head = (banner + "\n").encode("utf-8")
    for path in files:
        data = path.read_bytes()
        if data.startswith(head) and not names_require(data, len(head)):
            path.write_bytes(b"\n" + data[len(head) :])


_WORD = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


def names_require(data: bytes, start: int = 0) -> bool:
    """Whether `require` occurs from `start` on as a whole word (as `\\brequire\\b` finds it in
    bytes). Bytes, not text: decoding 3 MB of chunks was most of this step's time at 10,000 tasks;
    bytes.find, not that regular expression: half of what was left (most chunks never spell it).
    ASCII words may see more `require`s than Unicode's would: a banner kept is only a line more."""
    at = data.find(b"require", start)
    while at >= 0:
        end = at + len(b"require")
        if (at == 0 or data[at - 1] not in _WORD) and (end == len(data) or data[end] not in _WORD):
            return True
        at = data.find(b"require", at + 1)
    return False
