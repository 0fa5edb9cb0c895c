"""The preset's banner kept only in the output files that need it (issue #14: the bundle's size).

esbuild writes `--banner:js` at the top of every output file, lazily loaded chunks included
(https://esbuild.github.io/api/#banner). The Node banner defines `require` (for bundled CommonJS
code); an output file, the entry included, that never names `require` gets an empty first line
instead: the lines below, and so its source map, stay where they were.
"""

from __future__ import annotations

import re
from pathlib import Path

# Bytes, not text: decoding 3 MB of chunks was most of this step's time at 10,000 tasks (ASCII
# `\b` may see more `require`s than Unicode's would: a banner kept is only a line more).
REQUIRE = re.compile(rb"\brequire\b")
# The Node banner (presets/base.py): `require` for bundled CommonJS code inside ESM output.
REQUIRE_BANNER = "import { createRequire as __nitroRequire } from 'node:module'; const require = __nitroRequire(import.meta.url);"


def drop_unused_banners(files: list[Path], banner: str) -> None:
    head = (banner + "\n").encode("utf-8")
    for path in files:
        data = path.read_bytes()
        if data.startswith(head) and not REQUIRE.search(data, len(head)):
            path.write_bytes(b"\n" + data[len(head) :])
