"""The output files finished after esbuild, in one pass: the preset's banner kept only in the
files that need it (issue #14: the bundle's size), and on Node the task groups loaded with
require() (issue #18: a first run's latency).

esbuild writes `--banner:js` at the top of every output file, lazily loaded chunks included
(https://esbuild.github.io/api/#banner). The Node banner defines `require` (for bundled CommonJS
code); an output file, the entry included, that never names `require` gets an empty first line
instead: the lines below, and so its source map, stay where they were.
"""

from __future__ import annotations

import re
from pathlib import Path

# The Node banner (presets/base.py): `require` for bundled CommonJS code inside ESM output.
REQUIRE_BANNER = "import { createRequire as __nitroRequire } from 'node:module'; const require = __nitroRequire(import.meta.url);"


def finish_outputs(files: list[Path], banner: str, sync_task_groups: bool) -> None:
    """One read and at most one write per output file: the banner kept only where `require` is
    named, and (sync_task_groups, Node) the task groups loaded through GROUP_LOADER, which the
    file's first line (the banner's, or the empty line left for it) then defines."""
    head = (banner + "\n").encode("utf-8") if banner else b""
    for path in files:
        data = new = path.read_bytes()
        if head and new.startswith(head) and not names_require(new, len(head)):
            new = b"\n" + new[len(head) :]
        if sync_task_groups and b"tasks-" in new:
            loaded = _GROUP_IMPORT.sub(GROUP_LOADER.encode(), new)
            if loaded != new:
                first, _, rest = loaded.partition(b"\n")
                new = first + b" " + LOADER_LINE.encode() + b"\n" + rest
        if new != data:
            path.write_bytes(new)


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


# A task group's loader in esbuild's output (templates/registry.mjs.jinja: one `import()` per
# group chunk, named chunks/[name]-[hash]), and what the entry's first line adds to load it.
_GROUP_IMPORT = re.compile(rb'\bimport(?=\("\./(?:chunks/)?tasks-\d+-[A-Z0-9]+\.mjs"\))')
# Node's import() of a chunk waits for its module loader's reads on the thread pool (four per
# import on Node 20): with 10,000 tasks that put a first run's p99 at 9.6-10 ms against 3.8 ms for
# require() of the same chunk, its p50 1.3 against 1.0 ms (bench/README.md). Node 20.19 and
# 22.12 require() an ES module without top-level await synchronously
# (https://nodejs.org/api/modules.html#loading-ecmascript-modules-using-require), sharing the ES
# module cache with import(); on an older Node, or a chunk whose task awaits at its top level,
# require() throws and import() loads it as before. Same length as `import`: the line's source
# map columns stay right. The line bypasses the minifier, so it is written minified; it reads
#   const $ntask = ((require) => (path) => { try { return require(path); } catch { return import(path); } })(
#     createRequire(import.meta.url));
# Its one caller awaits what it returns (runtime/task_table.mjs find): a module is as good as a promise.
GROUP_LOADER = "$ntask"
LOADER_LINE = (
    'import{createRequire as __nitroTaskRequire}from"node:module";'
    f"const {GROUP_LOADER}=(r=>p=>{{try{{return r(p)}}catch{{return import(p)}}}})(__nitroTaskRequire(import.meta.url));"
)
