"""Reading a JSON config strictly (a key repeated in one object is an error), and rendering key
paths the way every config error names them."""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import ConfigError


class _Pairs(dict):
    """A parsed JSON object that remembers the keys it saw more than once."""

    repeated: tuple[str, ...] = ()


def _pairs(pairs: list[tuple[str, Any]]) -> _Pairs:
    obj = _Pairs(pairs)
    if len(obj) < len(pairs):  # some key came twice: find which
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                obj.repeated += (key,)
            seen.add(key)
    return obj


def _repeated_key(value: Any, where: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
    """The key path of the first repeated key in parsed JSON, or None."""
    if isinstance(value, _Pairs) and value.repeated:
        return (*where, value.repeated[0])
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        if found := _repeated_key(child, (*where, key)):
            return found
    return None


def read_json(text: str, name: str) -> Any:
    """json.loads, refusing a key repeated in one object: JSON keeps only the last one, so a task
    listed under the same cron twice was silently unscheduled (TOML refuses repeats itself)."""
    repeated = _repeated_key(json.loads(text, object_pairs_hook=_pairs))
    if repeated:
        raise ConfigError(
            f"{name}: {key_path(repeated)}: this key appears twice in the same object and JSON "
            "keeps only the last one; merge the two entries"
        )
    return json.loads(text)


def key_path(parts: tuple[Any, ...] | list[Any]) -> str:
    """Render a location as a dotted key path, quoting keys that are not plain identifiers."""
    out = []
    for part in parts:
        text = str(part)
        if isinstance(part, int):
            out.append(f"[{part}]")
            continue
        plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", text)
        out.append(("." if out else "") + (text if plain else json.dumps(text)))
    return "".join(out)
