"""The preset's banner kept only in the output files that need it (issue #14: the bundle's size).

esbuild writes `--banner:js` at the top of every output file, lazily loaded chunks included
(https://esbuild.github.io/api/#banner). The Node banner defines `require` (for bundled CommonJS
code) and enables source maps; the latter acts only in the entry, since a module's maps are read
when it is compiled, before its own code runs. A chunk that never names `require` gets an empty
first line instead: the lines below, and so its source map, stay where they were.
"""

from __future__ import annotations

import re
from pathlib import Path

REQUIRE = re.compile(r"\brequire\b")


def drop_unused_banners(chunks: list[Path], banner: str) -> None:
    head = banner + "\n"
    for chunk in chunks:
        text = chunk.read_text(encoding="utf-8")
        if text.startswith(head) and not REQUIRE.search(text, len(head)):
            chunk.write_text("\n" + text[len(head) :], encoding="utf-8")
