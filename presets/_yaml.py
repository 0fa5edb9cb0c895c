"""A tiny deterministic YAML writer for the manifests the presets emit (dicts, lists, str, int, bool).

Keys keep their insertion order; every string is written double-quoted with JSON escapes, which
YAML 1.2 reads as the same string (https://yaml.org/spec/1.2.2/#731-double-quoted-style), so no
value can be mistaken for a number, a boolean or null. No runtime dependency on a YAML library.
"""

from __future__ import annotations

import json
import re
from typing import Any

PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_./-]*")


def dump(doc: dict[str, Any]) -> str:
    """One YAML document, ending in a newline."""
    return "\n".join(_mapping(doc, 0)) + "\n"


def _key(key: str) -> str:
    return key if PLAIN_KEY.fullmatch(key) else json.dumps(key)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    raise TypeError(f"cannot write {type(value).__name__} as YAML")


def _mapping(doc: dict[str, Any], indent: int) -> list[str]:
    pad, lines = " " * indent, []
    for key, value in doc.items():
        if isinstance(value, dict) and value:
            lines += [f"{pad}{_key(key)}:", *_mapping(value, indent + 2)]
        elif isinstance(value, list) and value:
            lines += [f"{pad}{_key(key)}:", *_sequence(value, indent)]
        else:
            empty = "{}" if isinstance(value, dict) else "[]" if isinstance(value, list) else None
            lines.append(f"{pad}{_key(key)}: {empty or _scalar(value)}")
    return lines


def _sequence(items: list[Any], indent: int) -> list[str]:
    pad, lines = " " * indent, []
    for item in items:
        if isinstance(item, dict) and item:
            first, *rest = _mapping(item, indent + 2)
            lines += [f"{pad}- {first.lstrip()}", *rest]
        elif isinstance(item, list) and item:
            raise TypeError("nested lists are not written")
        else:
            lines.append(f"{pad}- {_scalar(item) if not isinstance(item, (dict, list)) else '{}'}")
    return lines
