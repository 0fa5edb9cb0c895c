"""The validated-config cache: a config that passed validation once is read back without pydantic.

Importing pydantic and building the config models was about half of `nitro-build check` and of a
10-task build (issue 14, bench/bench_build.py). The models stay the one source of truth: a config
is validated by them the first time it is seen, and what they produced is kept, keyed by a hash
of the config file's text (for an evaluated nitro.config.ts, of its data) and of nitro-build's
code (user_cache.py). A later run with the same config gets the same values back, without even
parsing the file, as ConfigView objects, which answer the attribute reads the compiler makes of
a NitroConfig (values, `model_fields_set`, `model_dump()`, the properties, `unused_keys`).

Only successes are kept, so an invalid config is reported by pydantic, word for word, every time.
Entries live in the user's cache folder (user_cache.py: not the project, atomic, an unreadable
entry is ignored and replaced), and one is written only when it reads back exactly as validated.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

from . import user_cache

if TYPE_CHECKING:
    from .config_models import NitroConfig

FORMAT = "nitro-build validated config 2"
KIND = "config"


def data_key(kept: dict[str, Any]) -> str | None:
    """The key of validating `kept`, or None when the data is not plain JSON (a TOML date from a
    script config): such a config is validated every time rather than risk two sharing a key."""
    try:
        return user_cache.key(FORMAT, "data", json.dumps(kept, ensure_ascii=True, allow_nan=True))
    except (TypeError, ValueError, OSError):
        return None


def text_key(filename: str, text: str) -> str:
    """The key of a TOML or JSON config file's text (its name says how it is parsed)."""
    return user_cache.key(FORMAT, "file", filename, text)


def cached(key: str | None) -> NitroConfig | None:
    """The config validated under `key` before, or None (no entry, or one that does not decode)."""
    stored = user_cache.read(KIND, key) if key else None
    try:
        view = _decode(stored["config"]) if isinstance(stored, dict) else None
        unused = tuple(str(k) for k in stored["unused"]) if isinstance(stored, dict) else ()
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
        return None
    if not isinstance(view, ConfigView):
        return None
    view._unused = unused
    # A duck-typed stand-in: the compiler reads only attributes a NitroConfig has (tests compare
    # builds from the models and from the cache, tests/test_config_store.py).
    return cast("NitroConfig", view)


def store(key: str | None, config: NitroConfig) -> None:
    """Keep `config` (just validated, its `unused_keys` set) under `key`, when the cache gives
    it back exactly."""
    if key is None:
        return
    try:
        encoded = _encode(config)
        if not _same(_decode(json.loads(json.dumps(encoded))), config):
            return  # a value JSON cannot give back as it was: validate this config every time
    except (TypeError, ValueError):
        return
    user_cache.write(KIND, key, {"config": encoded, "unused": list(config.unused_keys)})


class ConfigView:
    """A validated model's values, read back from the cache: attributes as the model's fields
    (and extra keys, for `extra="allow"` models), `model_fields_set`, `model_dump()`, and the
    model's properties as the model computed them."""

    _unused: tuple[str, ...] = ()

    def __init__(
        self,
        name: str,
        values: dict[str, Any],
        fields_set: list[str],
        extra: dict[str, Any],
        props: dict[str, Any],
    ) -> None:
        self._name = name
        self._values = values
        self._extra = extra
        self._props = props
        self.model_fields_set = frozenset(fields_set)

    def __getattr__(self, attr: str) -> Any:
        # Only called for what the instance and class lack: a field, an extra key, a property.
        for table in ("_values", "_extra", "_props"):
            found = self.__dict__.get(table, {})
            if attr in found:
                return found[attr]
        raise AttributeError(f"{self.__dict__.get('_name', 'ConfigView')} has no attribute {attr!r}")

    @property
    def unused_keys(self) -> tuple[str, ...]:
        """Set per run by load_config, as on a NitroConfig (not part of the validation)."""
        return self._unused

    def model_dump(self) -> dict[str, Any]:
        """As pydantic dumps the model: fields in order, then extra keys, nested models as dicts."""
        return {k: _dump(v) for k, v in (*self._values.items(), *self._extra.items())}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ConfigView):
            return NotImplemented
        return (self._name, self._values, self._extra) == (other._name, other._values, other._extra)

    def __hash__(self) -> int:
        return hash((self._name, tuple(self._values)))

    def __repr__(self) -> str:
        return f"{self._name}({', '.join(f'{k}={v!r}' for k, v in self._values.items())})"


def _dump(value: Any) -> Any:
    if isinstance(value, ConfigView):
        return value.model_dump()
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dump(v) for v in value]
    return value


# The stored form: every node is a one-key object saying what it is, so a user's own data (a
# runtimeConfig value that happens to look like a node) is never mistaken for one.
#   {"=": value}  plain JSON data, no model inside
#   {"m": [class name, {field: node}, [fields set], {extra: value}, {property: value}]}
#   {"d": {key: node}} / {"l": [node, ...]}  a dict or list with models inside


def _encode(value: Any) -> dict[str, Any]:
    if _is_model(value):
        cls = type(value)
        props = {
            name: getattr(value, name)
            for name, attr in vars(cls).items()
            if isinstance(attr, property) and name not in vars(ConfigView)
        }
        fields = {name: _encode(getattr(value, name)) for name in cls.model_fields}
        extra = dict(value.__pydantic_extra__ or {})
        return {"m": [cls.__name__, fields, sorted(value.model_fields_set), extra, props]}
    if not _holds_model(value):
        return {"=": value}
    if isinstance(value, dict):
        return {"d": {k: _encode(v) for k, v in value.items()}}
    return {"l": [_encode(v) for v in value]}


def _is_model(value: Any) -> bool:
    return hasattr(type(value), "model_fields") and hasattr(value, "model_fields_set")


def _holds_model(value: Any) -> bool:
    if _is_model(value):
        return True
    if isinstance(value, dict):
        return any(_holds_model(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_model(v) for v in value)
    return False


def _same(view: Any, value: Any) -> bool:
    """Whether `view`, read back from the cache, holds exactly `value`'s data, types included."""
    if _is_model(value):
        fields = type(value).model_fields
        return (
            isinstance(view, ConfigView)
            and view.model_fields_set == value.model_fields_set
            and all(_same(getattr(view, name), getattr(value, name)) for name in fields)
            and _same(view._extra, dict(value.__pydantic_extra__ or {}))
        )
    if type(view) is not type(value):
        return False
    if isinstance(value, dict):
        return list(view) == list(value) and all(_same(view[k], v) for k, v in value.items())
    if isinstance(value, list):
        return len(view) == len(value) and all(_same(a, b) for a, b in zip(view, value, strict=True))
    return bool(view == value)


def _decode(node: dict[str, Any]) -> Any:
    (tag, body), *more = node.items()
    if more:
        raise ValueError("not a cache node")
    if tag == "=":
        return body
    if tag == "d":
        return {k: _decode(v) for k, v in body.items()}
    if tag == "l":
        return [_decode(v) for v in body]
    if tag == "m":
        name, fields, fields_set, extra, props = body
        values = {k: _decode(v) for k, v in fields.items()}
        return ConfigView(str(name), values, list(fields_set), dict(extra), dict(props))
    raise ValueError(f"unknown cache node {tag!r}")
