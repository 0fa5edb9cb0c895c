"""Load the project's nitro config (TOML, JSON, or a TypeScript/JavaScript module evaluated by
config_script.py) and validate it with the strict pydantic models of config_models.py.

A config validated before (same data, same nitro-build) is read back from the validated-config
cache (config_store.py) without importing pydantic; a config that fails validation is never
cached, so its errors are reported, word for word, on every run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import config_store
from .config_json import key_path, read_json
from .errors import ConfigError
from .nitro_keys import set_aside_unused

if TYPE_CHECKING:
    from .config_models import NitroConfig

# The evaluated configs (config_script.py, which imports its subprocess machinery when used).
SCRIPT_CONFIG_NAMES = ("nitro.config.ts", "nitro.config.mts", "nitro.config.js", "nitro.config.mjs")

CONFIG_NAMES = ("nitro.config.toml", "nitro.config.json", *SCRIPT_CONFIG_NAMES)
# Far deeper than any real config; Python's parsers and pydantic recurse once per level and
# raised RecursionError (a traceback) at a few hundred.
MAX_DEPTH = 64


def find_config(root: Path) -> Path | None:
    """The project's config file, or None; both formats present is an error."""
    found = [root / name for name in CONFIG_NAMES if (root / name).is_file()]
    if len(found) > 1:
        names = ", ".join(p.name for p in found[:-1]) + f" and {found[-1].name}"
        raise ConfigError(
            f"{names} are all present in {root}: nitro-build reads one config file; keep one "
            "of them and delete the others"
            if len(found) > 2
            else f"{names} are both present in {root}: keep one of them and delete the other"
        )
    return found[0] if found else None


def load_config(root: Path) -> tuple[NitroConfig, Path | None]:
    """Read and validate the project's config (an absent file means all defaults)."""
    path = find_config(root)
    if path is None:
        return validated({}, "nitro config"), None
    if path.name in SCRIPT_CONFIG_NAMES:
        return _from_raw(_read_script(path), path.name, None), path
    text = _read_text(path)
    # A TOML or JSON file's text decides everything below: one validated before is not even parsed.
    key = config_store.text_key(path.name, text)
    found = config_store.cached(key)
    if found is not None:
        return found, path
    return _from_raw(_parse(path, text), path.name, key), path


def _from_raw(raw: dict[str, Any], filename: str, key: str | None) -> NitroConfig:
    check_depth(raw, filename)
    kept, unused = set_aside_unused(_nitro2_src_dir(raw))
    return validated(kept, filename, unused, key)


def validated(
    kept: dict[str, Any], filename: str, unused: tuple[str, ...] = (), key: str | None = None
) -> NitroConfig:
    """`kept` as a NitroConfig whose set-aside Nitro keys are `unused`: validated by pydantic (a
    ConfigError naming `filename`) and cached under `key`; without a key, from the cache when
    this data passed validation before (it is its own key)."""
    if key is None:
        key = config_store.data_key(kept)
        found = config_store.cached(key)
        if found is not None:
            found._unused = unused  # another file may have set other keys aside
            return found
    from .config_models import validate

    config = validate(kept, filename)
    config._unused = unused
    config_store.store(key, config)
    return config


def _read_script(path: Path) -> dict[str, Any]:
    from .config_script import read_script_config

    return read_script_config(path)


def _nitro2_src_dir(raw: dict[str, Any]) -> dict[str, Any]:
    """Nitro 2's `srcDir` is Nitro 3's `serverDir` (Nitro 3 still reads it, deprecated)."""
    if "srcDir" not in raw or "serverDir" in raw:
        return raw
    out = {k: v for k, v in raw.items() if k != "srcDir"}
    out["serverDir"] = raw["srcDir"]
    return out


def _read_text(path: Path) -> str:
    try:
        # utf-8-sig: editors on Windows (Notepad) save UTF-8 with a byte order mark.
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path.name}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None


def _parse(path: Path, text: str) -> dict[str, Any]:
    """Parse the file's text as TOML or JSON, turning syntax errors into located messages."""
    import tomllib  # here: a config read from the cache is not parsed at all

    try:
        data = tomllib.loads(text) if path.suffix == ".toml" else read_json(text, path.name)
    except RecursionError:
        raise ConfigError(_too_deep(path.name, ())) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name}: invalid TOML: {exc}") from None
    except json.JSONDecodeError as exc:
        # JSON has no comments; people used to tsconfig.json or wrangler.jsonc write them anyway.
        hint = (
            ""
            if text[exc.pos : exc.pos + 2] not in ("//", "/*")
            else ("; JSON allows no comments: remove them, or move the settings to nitro.config.toml")
        )
        raise ConfigError(
            f"{path.name}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}{hint}"
        ) from None
    except ValueError:  # Python refuses to parse integers of more than 4300 digits
        raise ConfigError(
            f"{path.name}: a number has more than 4300 digits; no setting takes such a number"
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path.name}: the top level must be an object of settings")
    return data


def check_depth(data: Any, name: str) -> None:
    """Refuse values nested deeper than MAX_DEPTH, walking without recursion."""
    stack: list[tuple[Any, tuple[Any, ...]]] = [(data, ())]
    while stack:
        value, where = stack.pop()
        if len(where) > MAX_DEPTH:
            raise ConfigError(_too_deep(name, where[:3]))
        if isinstance(value, (dict, list)):
            items = value.items() if isinstance(value, dict) else enumerate(value)
            stack.extend((child, (*where, key)) for key, child in items)


def _too_deep(name: str, where: tuple[Any, ...]) -> str:
    at = f"{key_path(where)}...: " if where else ""
    return (
        f"{name}: {at}values are nested more than {MAX_DEPTH} levels deep; no setting needs that, "
        "flatten the structure"
    )
