"""Reuse the evaluated nitro.config.ts when running it again could not give another result.

Starting Node is most of what a TypeScript config costs a build (bench/bench_config_ts.py). A
config whose bundled files import no package or built-in and touch nothing outside the language
(no clock, randomness, console, file, network or global access) is a pure function of its code,
plus the environment when it reads `process.env`. Its result is kept in .nitro/ under the hash of
that code (and environment) and reused; any other config is run by Node on every build.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

CACHE = Path(".nitro") / "config-cache.json"

# Anything through which a config could see more than its own code and the environment.
_IMPURE = re.compile(
    r"\b(?:Date|Math\.random|performance|crypto|fetch|require|eval|Function|globalThis|global|"
    r"console|setTimeout|setInterval|setImmediate|queueMicrotask|Intl|toLocale\w*|WebAssembly|"
    r"Atomics|SharedArrayBuffer|Bun|Deno|navigator|import\s*\(|import\.meta)\b|"
    r"\bprocess\b(?!\.env\b)"
)


def cache_key(root: Path, meta: Path, skip: tuple[str, ...]) -> str | None:
    """The hash that names this config's result, or None when it may differ between runs.

    `meta`: esbuild's metafile of the config bundle; `skip`: its inputs that are ours (the
    generated entry, the defineConfig shim), whose text is fixed.
    """
    try:
        inputs = json.loads(meta.read_text())["inputs"]
    except (OSError, ValueError, KeyError):
        return None
    digest = hashlib.sha256()
    reads_env = False
    for rel, info in sorted(inputs.items()):
        if any(rel.endswith(s) for s in skip):
            continue
        if any(i.get("external") and not any(i["path"].endswith(s) for s in skip) for i in info["imports"]):
            return None  # a package or built-in: it may read files, the clock, the network
        try:
            text = (root / rel).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        if _IMPURE.search(text):  # comments included: a false alarm only costs a Node run
            return None
        reads_env = reads_env or "process.env" in text
        digest.update(rel.encode() + b"\0" + text.encode() + b"\0")
    if reads_env:
        digest.update(json.dumps(sorted(os.environ.items())).encode())
    return digest.hexdigest()


def cached(root: Path, key: str | None) -> dict[str, Any] | None:
    """The result stored under `key`, if any."""
    if key is None:
        return None
    try:
        stored = json.loads((root / CACHE).read_text())
    except (OSError, ValueError):
        return None
    return stored.get("config") if stored.get("key") == key else None


def store(root: Path, key: str | None, config: dict[str, Any]) -> None:
    """Keep `config` as the result for `key` (one entry: the project's current config)."""
    if key is None:
        return
    try:
        (root / CACHE).write_text(json.dumps({"key": key, "config": config}))
    except OSError:
        pass  # a read-only .nitro only costs the next build a Node run
