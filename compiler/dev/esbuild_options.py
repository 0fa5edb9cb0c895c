"""esbuild's command line (compiler/bundle.py) as the options of its JavaScript API, for the dev
session's long-lived context (https://esbuild.github.io/api/): one source of build options."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# Flags whose value is a comma-separated list.
_LISTS = {"resolve-extensions": "resolveExtensions", "conditions": "conditions"}
# `--name=value` flags that map to one string option.
_STRINGS = {
    "format": "format",
    "platform": "platform",
    "target": "target",
    "outdir": "outdir",
    "entry-names": "entryNames",
    "chunk-names": "chunkNames",
    "charset": "charset",
    "legal-comments": "legalComments",
}
# `--name:key=value` flags that map to an object option.
_MAPS = {"alias": "alias", "define": "define", "out-extension": "outExtension", "banner": "banner"}
# Flags about the command line's own output: the context is always silent.
_IGNORED = {"log-level", "log-limit", "color", "metafile"}


class UnsupportedFlag(ValueError):
    """A flag this translation does not know: the dev session keeps full rebuilds."""


def api_options(args: list[str], root: Path, node_path: str) -> dict[str, Any]:
    """The JS API options for `esbuild ARGS` run in `root` with NODE_PATH=node_path."""
    opts: dict[str, Any] = {
        "absWorkingDir": str(root),
        "entryPoints": [],
        "nodePaths": [p for p in node_path.split(os.pathsep) if p],
    }
    for arg in args[1:]:
        if not arg.startswith("--"):
            opts["entryPoints"].append(arg)
            continue
        _apply(opts, arg[2:])
    return opts


def _apply(opts: dict[str, Any], flag: str) -> None:
    name, eq, value = flag.partition("=")
    key, colon, sub = name.partition(":")
    if key in _IGNORED:
        return
    if colon and key in _MAPS:
        opts.setdefault(_MAPS[key], {})[sub] = value
    elif colon and key in ("inject", "external"):
        opts.setdefault(key, []).append(sub + eq + value)
    elif eq and key in _LISTS:
        opts.setdefault(_LISTS[key], []).extend(v for v in value.split(",") if v)
    elif eq and key in _STRINGS:
        opts[_STRINGS[key]] = value
    elif key in ("bundle", "splitting") and not eq:
        opts[key] = True
    elif key == "sourcemap" and not eq:
        opts["sourcemap"] = True
    elif key == "sources-content" and value in ("true", "false"):
        opts["sourcesContent"] = value == "true"
    else:
        raise UnsupportedFlag(f"--{flag}")
