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

from .provided import AUTO_IMPORTS, LEAVES, MODULES
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
# Every module specifier: `from "x"`, `import "x"`, `import("x")`, `require("x")`, `export * from`.
_SPECIFIER = re.compile(
    rb"""(?:\bfrom|\bimport|\brequire)\s*\(?\s*(?:"([^"\n]+)"|'([^'\n]+)'|`([^`\n$]+)`)"""
)
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
    specifiers = (next(filter(None, m.groups())) for m in _SPECIFIER.finditer(data))
    return any(_foreign_specifier(spec.decode("utf-8", "replace")) for spec in specifiers)


def _foreign_specifier(spec: str) -> bool:
    """A bare specifier other than a Node built-in or one of our runtime modules without a library.
    Relative and absolute files are checked after bundling (foreign_inputs)."""
    if spec.startswith((".", "/", "node:")) or spec.split("/", 1)[0] in _BUILTINS:
        return False
    module = MODULES.get(spec)
    return module is None or module.file not in _OWN_FILES


def npm_backed_words(words: frozenset[str]) -> bool:
    """Whether the project's words (libs.words_of) use an auto-import whose module bundles a library
    (h3's utilities, useStorage, $fetch, ...). `words` also holds the project's own names, which
    win over ours: conservative, they keep names too."""
    return any(
        name in words and LEAVES.get(name, MODULES[spec].file) not in _OWN_FILES
        for name, spec in AUTO_IMPORTS.items()
    )


def foreign_inputs(folders: Iterable[str], generated: str, runtime: str, read: set[str]) -> bool:
    """Whether a bundle's inputs (the absolute folders of its source maps' `sources`) include a file
    the build did not read: one neither in the runtime, nor in the generated sources, nor in a
    folder `read` (the real paths of the folders libs.project_sources read: not node_modules,
    dist or dot-folders; a symlinked tasks folder by its target, as esbuild names it)."""
    ours = [p for place in (generated, runtime) for p in {place, os.path.realpath(place)}]
    for folder in folders:
        if not any(inside(folder, p) for p in ours) and os.path.realpath(folder) not in read:
            return True
    return False
