"""One module per deployment preset; `get_preset` finds one by name."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ..errors import PresetError

if TYPE_CHECKING:
    from .base import Preset

PRESETS = (
    "node_server",
    "node_cluster",
    "node_middleware",
    "bun",
    "deno_server",
    "deno_deploy",
    "cloudflare_module",
    "cloudflare_pages",
    "vercel",
    "kubernetes",
    "netlify",
    "dev",
)
ALIASES = {"node": "node_server", "deno": "deno_server"}


def __getattr__(name: str) -> Any:
    """`Preset` is imported on first use: the CLI needs only the names above (issue 14: `--help`
    must not import the preset base, jinja2 and pydantic)."""
    if name == "Preset":
        from .base import Preset

        return Preset
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get_preset(name: str) -> Preset:
    """The preset called `name` (Nitro's kebab-case spellings are accepted too)."""
    key = ALIASES.get(name, name.replace("-", "_"))
    if key not in PRESETS:
        import difflib  # error path only

        close = difflib.get_close_matches(key, [*PRESETS, *ALIASES], n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise PresetError(f"unknown preset {name!r}; {hint}choose one of: {', '.join(PRESETS)}")
    try:
        module = importlib.import_module(f"{__name__}.{key}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{key}":
            raise
        raise PresetError(f"preset {key!r} is not available in this version yet") from None
    return module.preset


__all__ = ["PRESETS", "Preset", "get_preset"]
