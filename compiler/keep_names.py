"""Whether a minified bundle needs esbuild's --keep-names (https://esbuild.github.io/api/#keep-names).

Minifying renames functions and classes; --keep-names adds a `__name(fn, "name")` call for each
(3.1 kB of a 10-task Node server, issue #14) so that their `.name` stays the original. Two things
read it: V8's stack frames, and code reading `.name`. Where the runtime formats stack traces
through the source maps (runtime/stack_maps.mjs names each frame's function from the map,
BundleOptions.names_from_maps), the frames need no `__name`; what is left is code reading a name.
Our runtime never reads a name it did not set itself, so names are dropped only when nothing else
bundled could: no project source shows a name-observing pattern (`observes_names`, on the bytes the
build reads anyway, compiler/bundle.py `_read_sources`), no file uses an auto-import whose module
bundles a library (`npm_backed_words`), and, after bundling, the source maps list no input the
build did not read (`foreign_inputs`: a library, a file outside the read folders). Conservative: a
pattern in a comment or a string keeps names too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from functools import lru_cache

from .provided import AUTO_IMPORTS, LEAVES, MODULES
from .render import RUNTIME_DIR
from .scan import inside

KEEP_NAMES = "--keep-names"

# A word every pattern below holds: most files have none, and this finds that 5 times faster than
# the patterns themselves (10,000 task files: 17 against 70 ms).
_CANDIDATE = re.compile(
    rb"name|class|constructor|Reflect|getOwnProperty|inspect|prototype|toString|import|from|require"
)
# `.name`, `?.name`, `["name"]`; `class`, `constructor`; reflection and printing. Bytes, as read.
_OBSERVES = re.compile(
    rb"""\.\s*name(?![\w$])|\[\s*(?:"name"|'name'|`name`)\s*\]"""
    rb"|(?<![\w$])(?:class|constructor|Reflect|getOwnPropertyNames|getOwnPropertyDescriptors?|inspect)(?![\w$])"
    rb"|Function\s*\.\s*prototype|\.\s*toString\s*\("
)
# Every module specifier: `from "x"`, `import "x"`, `import("x")`, `require("x")`, `export * from`;
# group 1: the named clause of `import { a, type B } from "x"` / `export { a } from "x"`, if any.
_SPECIFIER = re.compile(
    rb"""(?:(?<![\w$.])(?:import|export)\s*(?:type\s+)?\{([^{}]*)\}\s*from|\bfrom|\bimport|\brequire)"""
    rb"""\s*\(?\s*(?:"([^"\n]+)"|'([^'\n]+)'|`([^`\n$]+)`)"""
)
_TYPE_ONLY = re.compile(rb"(?<![\w$.])import\s+type\s*\{")
# runtime/h3.mjs: `export * from` the h3 library, then our own definitions (defineEventHandler, ...).
_LOCAL_EXPORT = re.compile(r"^export (?:async )?(?:function\*?|const|let|class) ([\w$]+)", re.M)
# Runtime modules that bundle no library (the others import h3, unstorage, hookable, ofetch, destr).
_OWN_FILES = frozenset({"nitro.mjs", "task.mjs", "define_task.mjs", "types.mjs"})
# Node's built-in modules a bare specifier may name without `node:` (https://nodejs.org/api/).
_BUILTINS = frozenset(
    "assert async_hooks buffer child_process cluster console constants crypto dgram diagnostics_channel "
    "dns domain events fs http http2 https inspector module net os path perf_hooks process punycode "
    "querystring readline repl stream string_decoder sys timers tls trace_events tty url util v8 vm "
    "wasi worker_threads zlib".split()
)


def observes_names(data: bytes) -> bool:
    """Whether one source file could read a function's or class's name, or imports code that the
    build does not read (an npm package, h3): then the bundle keeps --keep-names."""
    if not _CANDIDATE.search(data):
        return False
    if _OBSERVES.search(data):
        return True
    return any(_foreign_import(m) for m in _SPECIFIER.finditer(data))


def _foreign_import(match: re.Match[bytes]) -> bool:
    """Whether one import brings code the build does not read: a bare specifier other than a Node
    built-in or one of our runtime modules without a library, unless it names only h3 names that
    runtime/h3.mjs defines itself (`import { defineEventHandler } from "nitro/h3"`) or only types.
    Relative and absolute files are checked after bundling (foreign_inputs)."""
    clause, *quoted = match.groups()
    spec = next(filter(None, quoted)).decode("utf-8", "replace")
    if spec.startswith((".", "/", "node:")) or spec.split("/", 1)[0] in _BUILTINS:
        return False
    module = MODULES.get(spec)
    if module is None:
        return True
    if module.file in _OWN_FILES or _TYPE_ONLY.match(match.group(0)):
        return False
    names = [n.split()[-1] for n in _clause_names(clause)] if clause is not None else None
    return module.file != "h3.mjs" or names is None or not set(names) <= h3_own_names()


def _clause_names(clause: bytes) -> list[str]:
    """The imported names of `{ a, b as c, type D }`, types left out (erased)."""
    parts = [
        p.split(" as ")[0].strip() for p in clause.decode("utf-8", "replace").replace("\n", " ").split(",")
    ]
    return [p for p in parts if p and not p.startswith("type ")]


@lru_cache(maxsize=1)
def h3_own_names() -> frozenset[str]:
    """The names runtime/h3.mjs defines itself, beside its `export *` of the h3 library: code
    using only these bundles no library code (editor_types types them)."""
    source = (RUNTIME_DIR / "h3.mjs").read_text(encoding="utf-8")
    return frozenset(_LOCAL_EXPORT.findall(source))


def npm_backed_words(words: frozenset[str]) -> bool:
    """Whether the project's words (libs.words_of) use an auto-import whose module bundles a library
    (h3's utilities, useStorage, $fetch, ...). `words` also holds the project's own names, which
    win over ours: conservative, they keep names too."""
    return any(
        name in words and _library_backed(name, LEAVES.get(name, MODULES[spec].file))
        for name, spec in AUTO_IMPORTS.items()
    )


def _library_backed(name: str, file: str) -> bool:
    """Whether auto-importing `name` from runtime module `file` bundles a library."""
    return file not in _OWN_FILES and not (file == "h3.mjs" and name in h3_own_names())


def foreign_inputs(
    folders: Iterable[str], generated: str, runtime: str, read: set[str], exempt: Iterable[str] = ()
) -> bool:
    """Whether a bundle's inputs (the absolute folders of its source maps' `sources`) include a file
    the build did not read: one neither in the runtime, nor in the generated sources, nor in a
    folder `read` (the real paths of the folders libs.project_sources read: not node_modules,
    dist or dot-folders; a symlinked tasks folder by its target, as esbuild names it), nor in an
    `exempt` folder: that of h3's entry module (libs.h3_entry), which runtime/h3.mjs re-exports
    and which holds only imports and re-exports (its `serve` imports srvx, another input), so
    it is listed, with esbuild's init wrapper, even when only h3.mjs's own names are used."""
    ours = [p for place in (generated, runtime, *exempt) for p in {place, os.path.realpath(place)}]
    for folder in folders:
        if not any(inside(folder, p) for p in ours) and os.path.realpath(folder) not in read:
            return True
    return False
