"""Build-time side of Nitro's runtime APIs: plugins, storage mounts and the runtime config.

Decided here, shipped as data: the plugin files in start-up order, the unstorage mounts a preset
gets (with driver names checked against unstorage's own list and the preset's platform), and the
`runtimeConfig` the bundle starts from (https://nitro.build/guide/plugins,
https://nitro.build/guide/storage, https://nitro.build/guide/configuration#runtime-configuration).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import key_path
from .errors import BundleError, ConfigError, ScanError, UnsupportedFeatureError
from .layout import resolve_config_path
from .libs import find_package
from .scan import _DEFAULT_EXPORT, _module_files, _rel, read_module

# ------------------------------------------------------------------------------------ plugins


def scan_plugins(root: Path, server_dir: Path, configured: list[str], cfg_name: str) -> tuple[Path, ...]:
    """The config's `plugins` first, then `<serverDir>/plugins/**` sorted by path (Nitro's order);
    each must have a default export, the function Nitro calls with the app."""
    files = [_configured_plugin(root, cfg_name, i, p) for i, p in enumerate(configured)]
    files += [file for _, file in _module_files(server_dir / "plugins", root)]
    unique = tuple(dict.fromkeys(f.resolve() for f in files))
    for file in unique:
        if not _DEFAULT_EXPORT.search(read_module(file, root)):
            raise ScanError(
                f"{_rel(file, root)}: a plugin needs a default export; write "
                "`export default defineNitroPlugin((nitroApp) => { ... })`"
            )
    return unique


def _configured_plugin(root: Path, cfg_name: str, index: int, value: str) -> Path:
    path = resolve_config_path(root, cfg_name, f"plugins[{index}]", value)
    if not path.is_file():
        raise ConfigError(
            f"{cfg_name}: plugins[{index}]: {value!r} is not a file (paths are relative to the project)"
        )
    return path


# ------------------------------------------------------------------------------------ storage

# What each preset's platform offers storage drivers (a lasting filesystem, TCP sockets, Cloudflare
# bindings, Deno KV) is part of the preset's declared features: `Features.platform`, presets/*.py.

# unstorage driver module -> what it needs from the platform, and why.
DRIVER_NEEDS: dict[str, tuple[str, str]] = {
    "fs": ("filesystem", "it writes files, and this platform has no lasting, shared filesystem"),
    "fs-lite": ("filesystem", "it writes files, and this platform has no lasting, shared filesystem"),
    "redis": ("tcp", "ioredis needs TCP sockets (node:net), which this platform does not give it"),
    "cloudflare-kv-binding": ("cloudflare-bindings", "it reads a Cloudflare Worker binding"),
    "cloudflare-r2-binding": ("cloudflare-bindings", "it reads a Cloudflare Worker binding"),
    "deno-kv": ("deno-kv", "Deno KV exists only in Deno"),
}
PORTABLE_HINT = "memory, upstash or vercel-kv (HTTP) work on every preset"


@dataclass(frozen=True)
class StorageMount:
    """One mount: where (`data`), unstorage's driver module and the driver's options."""

    base: str
    driver: str  # the name as written
    module: str  # "unstorage/drivers/fs", or a project file
    options: dict[str, Any]


def resolve_mounts(project: Any, preset: str, dev: bool, drivers: dict[str, str]) -> list[StorageMount]:
    """The mounts for this build: `storage`, with `devStorage` over it under nitro dev, where
    `data` defaults to `.data/kv` on disk as in Nitro (production: unstorage's memory root)."""
    chosen = {k: ("storage", v) for k, v in project.storage.items()}
    if dev:
        chosen |= {k: ("devStorage", v) for k, v in project.dev_storage.items()}
        if "data" not in chosen:
            chosen["data"] = ("devStorage", {"driver": "fs", "base": str(project.root / ".data" / "kv")})
    cfg = project.config_file.name if project.config_file else "nitro config"
    for key, table in (("storage", project.storage), ("devStorage", project.dev_storage)):
        for base, spec in table.items():  # a misspelt driver is an error in every build
            _module_of(project.root, cfg, key, base, spec["driver"], drivers)
    from .presets import get_preset  # presets import this module's callers: import when needed

    features = get_preset(preset).features.platform
    return [
        _mount(project.root, cfg, key, base, spec, drivers, preset, features)
        for base, (key, spec) in sorted(chosen.items())
    ]


def _mount(
    root: Path,
    cfg: str,
    key: str,
    base: str,
    spec: dict[str, Any],
    drivers: dict[str, str],
    preset: str,
    features: frozenset[str],
) -> StorageMount:
    name = spec["driver"]
    module = _module_of(root, cfg, key, base, name, drivers)
    need = DRIVER_NEEDS.get(module.rsplit("/", 1)[-1])
    if need and need[0] not in features:
        raise UnsupportedFeatureError(
            f"{cfg}: {key_path((key, base, 'driver'))}: storage driver {name!r} (useStorage) is not "
            f"available on preset {preset}: {need[1]}; {PORTABLE_HINT}"
        )
    return StorageMount(base, name, module, {k: v for k, v in spec.items() if k != "driver"})


def _module_of(root: Path, cfg: str, key: str, base: str, name: str, drivers: dict[str, str]) -> str:
    """The module a driver name stands for: unstorage's, or a driver file of the project's own."""
    where = f"{cfg}: {key_path((key, base, 'driver'))}"
    if name.startswith((".", "/")):  # Nitro also accepts a path to a driver module
        path = resolve_config_path(root, cfg, key_path((key, base, "driver")), name)
        if not path.is_file():
            raise ConfigError(f"{where}: driver file {name!r} does not exist")
        return str(path)
    if name not in drivers:
        import difflib  # error path only

        close = difflib.get_close_matches(name, list(drivers), n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}? " if close else ""
        raise ConfigError(
            f"{where}: unknown storage driver {name!r}; {hint}unstorage's drivers are: "
            f"{', '.join(sorted(n for n in drivers if '-' in n or n.islower()))}"
        )
    return drivers[name]


_BUILTIN = re.compile(r'^\s*"?([\w-]+)"?:\s*"(unstorage/drivers/[\w-]+)"', re.M)


def unstorage_drivers(unstorage_dir: Path) -> dict[str, str]:
    """unstorage's own `builtinDrivers` table (name -> module), read from the installed package."""
    text = (unstorage_dir / "dist" / "index.mjs").read_text(encoding="utf-8")
    table = text[text.index("const builtinDrivers") :]
    table = table[: table.index("};")]
    return dict(_BUILTIN.findall(table))


def storage_context(mounts: list[StorageMount], dev: bool) -> dict[str, Any]:
    """What templates/virtual/storage.mjs.jinja needs: driver modules and mounts by index."""
    modules = list(dict.fromkeys(m.module for m in mounts))
    return {
        "dev": dev,
        "modules": modules,
        "mounts": [{"base": m.base, "index": modules.index(m.module), "options": m.options} for m in mounts],
    }


# ------------------------------------------------------------------------------------ runtime config


def runtime_config(user: dict[str, Any], cfg_name: str = "nitro config") -> dict[str, Any]:
    """Nitro's normalised runtimeConfig: `app.baseURL` and a `nitro` table, null leaves as ""."""
    try:
        config = _fallback(json.loads(json.dumps(user)))
    except TypeError:  # TOML's unquoted dates and times have no JSON form
        raise ConfigError(
            f"{cfg_name}: runtimeConfig: holds an unquoted TOML date or time, which the bundle "
            "cannot carry; quote it to make it a string"
        ) from None
    config.setdefault("app", {}).setdefault("baseURL", "/")
    config.setdefault("nitro", {})
    return config


def _fallback(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: "" if v is None else _fallback(v) for k, v in value.items()}
    return value


def env_names(config: dict[str, Any], prefix: str = "") -> list[str]:
    """Every variable name that can override `config` (NITRO_X and the envPrefix form), for
    Deno's --allow-env list."""
    alt = str(config.get("nitro", {}).get("envPrefix") or "_")
    names = ["NITRO_ENV_PREFIX", "NITRO_ENV_EXPANSION"]
    for path in _key_paths(config):
        key = snake_case("_".join(path)).upper()
        names += [f"NITRO_{key}", f"{alt}{key}"]
    return sorted(set(names))


def _key_paths(value: dict[str, Any], parent: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    for key, child in value.items():
        paths.append((*parent, key))
        if isinstance(child, dict):
            paths += _key_paths(child, (*parent, key))
    return paths


def snake_case(text: str) -> str:
    """scule's snakeCase, as templates/runtime/runtime-config.mjs (the variable names must agree)."""
    parts, buff, prev_upper, prev_split = [], "", None, None
    for char in text:
        if char in "-_/.":
            parts.append(buff)
            buff, prev_upper = "", None
            continue
        upper = None if char.isdigit() else char != char.lower()
        if prev_split is False and prev_upper is False and upper is True:
            parts.append(buff)
            buff, prev_upper = char, upper
            continue
        if prev_split is False and prev_upper is True and upper is False and len(buff) > 1:
            parts.append(buff[:-1])
            buff, prev_upper = buff[-1] + char, upper
            continue
        buff += char
        prev_upper, prev_split = upper, False
    parts.append(buff)
    return "_".join(p.lower() for p in parts)


# ------------------------------------------------------------------------------------ emit


def plan_runtime_apis(project: Any, plan: Any, preset: str, dev: bool) -> None:
    """Plan the build's runtime config and storage mounts as `_virtual/` sources, which the
    runtime imports as `#nitro-virtual/...` (compiler/bundle.py)."""
    plan.add_source(
        "virtual/runtime-config.mjs.jinja",
        "_virtual/runtime-config.mjs",
        runtime_config=project.runtime_config,
    )
    mounts = resolve_mounts(project, preset, dev, _drivers(project))
    plan.add_source("virtual/storage.mjs.jinja", "_virtual/storage.mjs", **storage_context(mounts, dev))


def _esbuild_if_any(root: Path) -> str:
    """The esbuild in use, for its node_modules; "" when there is none: a dry run and `check`
    plan without esbuild (the project's own node_modules and our checkout's are still searched)."""
    from .bundle import find_esbuild  # here: planning without storage drivers needs no bundler

    try:
        return find_esbuild(root)
    except BundleError:
        return ""


def _drivers(project: Any) -> dict[str, str]:
    """unstorage's driver table when the project names drivers; {} when it names none."""
    named = [*project.storage.values(), *project.dev_storage.values()]
    if not any(not m["driver"].startswith((".", "/")) for m in named):
        return {"fs": "unstorage/drivers/fs"}  # the dev default mount
    folder = find_package(project.root, "unstorage", _esbuild_if_any(project.root))
    if folder is None:
        cfg = project.config_file.name if project.config_file else "nitro config"
        raise ConfigError(
            f"{cfg}: storage: unstorage is not installed; run `npm install unstorage` in the project"
        )
    return unstorage_drivers(folder)


# ------------------------------------------------------------------------------------ deno


def deno_permissions(project: Any) -> tuple[list[str], list[str]]:
    """What the runtime APIs need from `deno run`: variable names that can override the runtime
    config (none unless the project has one), and the folders of its fs storage mounts."""
    names = env_names(project.runtime_config) if project.runtime_config != runtime_config({}) else []
    mounts = resolve_mounts(project, "deno_server", False, _drivers(project)) if project.storage else []
    on_disk = [m for m in mounts if m.module.endswith(("/fs", "/fs-lite"))]
    folders = [_deno_folder(str(m.options.get("base", "."))) for m in on_disk]
    return names, sorted(set(folders))


def _deno_folder(base: str) -> str:
    """The folder to allow for an fs mount: unstorage creates missing parents one by one, so a
    relative base is allowed from its first segment (`./.data/kv` -> `./.data`); an absolute one
    as it is (it must exist)."""
    if base.startswith("/"):
        return base
    first = next((part for part in base.split("/") if part not in ("", ".")), ".")
    return first if first == ".." or first == "." else f"./{first}"
