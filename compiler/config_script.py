"""Evaluate `nitro.config.ts` / `.mts` / `.js` / `.mjs` at build time, as Nitro does (c12).

esbuild bundles a small entry that imports the config (TypeScript, the project's own relative
modules), with the project's npm packages left for Node to resolve from the project (so they
run as they are, not stubbed); Node runs it in a child process with the project as its working
directory and the caller's environment, and prints the default export as JSON. `defineConfig` /
`defineNitroConfig` from nitro, nitro/config, nitropack or nitropack/config (or used without an
import) are the identity. Functions and `undefined` values are dropped, as JSON does.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from .config_cache import cache_key, cached, store
from .errors import ConfigError
from .render import RUNTIME_DIR

CONFIG_SPECIFIERS = ("nitro", "nitro/config", "nitropack", "nitropack/config")
SHIM = RUNTIME_DIR / "config_shim.mjs"
# esbuild's list of the files the config was bundled from: `nitro dev` watches them (dev/watch.py).
CONFIG_META = Path(".nitro") / "config-meta.json"
CONFIG_ENTRY = "nitro-config-entry.ts"  # the generated entry (esbuild's stdin), not a project file
MARKER = "\n\x00nitro-build-config\x00"
# A config that loops forever must not hang the build; NITRO_CONFIG_TIMEOUT (seconds) raises it.
DEFAULT_TIMEOUT_S = 10.0

# Runs in Node after the config module: default export (or what a function default returns,
# as c12 allows) -> JSON after MARKER; a failure -> {"error": ...} after MARKER.
_ENTRY = """
const write = (value) => process.stdout.write({marker} + JSON.stringify(value));
try {{
  const mod = await import({config});
  if (!("default" in mod)) throw Object.assign(new Error("no default export"), {{ nitroBuild: "nodefault" }});
  let config = mod.default;
  if (typeof config === "function") config = await config();
  const kind = config === null ? "null" : Array.isArray(config) ? "an array" : typeof config;
  if (kind !== "object") write({{ error: "kind", kind }});
  else write({{ config: JSON.parse(JSON.stringify(config)) ?? {{}} }});
}} catch (error) {{
  write({{ error: error?.nitroBuild ?? "throw", message: String(error?.stack ?? error) }});
}}
"""


def read_script_config(path: Path) -> dict[str, Any]:
    """The evaluated default export of the config module at `path`, as plain JSON data."""
    root = path.parent
    (root / CONFIG_META).parent.mkdir(exist_ok=True)
    out = root / CONFIG_META.parent / f"config-{os.getpid()}.mjs"
    try:
        _bundle(path, root, out)
        key = cache_key(root, root / CONFIG_META, (CONFIG_ENTRY, SHIM.name))
        if (config := cached(root, key)) is not None:
            return config
        result = _evaluate(out, path, root)
    finally:
        out.unlink(missing_ok=True)
    if "config" in result:
        store(root, key, result["config"])
        return result["config"]
    raise ConfigError(_failure(path.name, result).replace(str(root) + os.sep, ""))


def _bundle(path: Path, root: Path, out: Path) -> None:
    """esbuild: the config and its local modules into `out` (npm packages stay imports)."""
    # Imported here: reading a TOML or JSON config (and `nitro-build check`) needs no bundler.
    from .bundle import find_esbuild
    from .imports_check import explain_esbuild_errors

    entry = _ENTRY.format(config=json.dumps("./" + path.name), marker=json.dumps(MARKER))
    args = [
        find_esbuild(root),
        "--bundle",
        "--platform=node",
        "--format=esm",
        "--target=node20",
        "--packages=external",  # Node resolves the project's npm packages itself
        "--loader=ts",
        "--sourcemap=inline",  # with --enable-source-maps: a throw names the config's own line
        f"--sourcefile={CONFIG_ENTRY}",
        f"--inject:{SHIM}",
        # The bundle runs from .nitro/: module locations say where the config is, as under Nitro.
        f"--define:__filename={json.dumps(str(path))}",
        f"--define:__dirname={json.dumps(str(root))}",
        f"--define:import.meta.url={json.dumps(path.as_uri())}",
        f"--define:import.meta.filename={json.dumps(str(path))}",
        f"--define:import.meta.dirname={json.dumps(str(root))}",
        f"--outfile={out}",  # esbuild writes a metafile only beside an output file
        f"--metafile={root / CONFIG_META}",
        "--log-level=error",
        "--log-limit=0",
        "--color=false",
        f"--tsconfig-raw={json.dumps(_tsconfig(root))}",
    ]
    try:
        proc = subprocess.run(args, input=entry, cwd=root, capture_output=True, text=True, check=False)
    except OSError as exc:
        raise ConfigError(f"{path.name}: could not run esbuild ({args[0]}): {exc}") from None
    if proc.returncode != 0:
        raise ConfigError(f"{path.name}: cannot be bundled:\n{explain_esbuild_errors(proc.stderr)}")


def _tsconfig(root: Path) -> dict[str, Any]:
    """The project's tsconfig `baseUrl`/`paths` plus exact paths sending the defineConfig
    specifiers to our shim. Not esbuild aliases: an alias also takes every subpath
    (`nitropack/kit`), which must stay for Node to resolve from the project's own packages."""
    options: dict[str, Any] = {}
    try:
        from .presets._jsonc import parse_jsonc

        found = parse_jsonc((root / "tsconfig.json").read_text(encoding="utf-8"), "tsconfig.json")
        options = {k: v for k, v in found.get("compilerOptions", {}).items() if k in ("baseUrl", "paths")}
    except (OSError, ValueError, AttributeError, ConfigError):
        pass  # no tsconfig.json, or one esbuild would also fail to use: only our paths
    paths = {**options.get("paths", {}), **{spec: [str(SHIM)] for spec in CONFIG_SPECIFIERS}}
    return {"compilerOptions": {"baseUrl": options.get("baseUrl", "."), "paths": paths}}


def _evaluate(bundled: Path, path: Path, root: Path) -> dict[str, Any]:
    node = shutil.which("node")
    if node is None:
        raise ConfigError(f"{path.name}: Node.js is needed to read this config and was not found on PATH")
    timeout = float(os.environ.get("NITRO_CONFIG_TIMEOUT") or DEFAULT_TIMEOUT_S)
    try:
        proc = subprocess.run(
            [node, "--enable-source-maps", str(bundled)],
            cwd=root,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        raise ConfigError(
            f"{path.name}: evaluating the config did not finish within {timeout:g} s (a loop, or "
            "a pending timer or connection at the top level?); NITRO_CONFIG_TIMEOUT=<seconds> "
            "allows longer"
        ) from None
    output, sep, result = proc.stdout.rpartition(MARKER)
    if not sep:
        detail = proc.stderr.strip() or f"exit code {proc.returncode}"
        raise ConfigError(f"{path.name}: evaluating the config failed: {_node_error(detail)}")
    _forward(output, proc.stderr)
    return json.loads(result)


def _forward(stdout: str, stderr: str) -> None:
    """What the config printed goes to our stderr, so the user still sees it."""
    for text in (stdout, stderr):
        if text.strip():
            sys.stderr.write(text if text.endswith("\n") else text + "\n")


def _node_error(detail: str) -> str:
    """Node's message for an import the project cannot satisfy (esbuild leaves npm packages to
    Node, which resolves them before any config code runs), else Node's own error line."""
    if m := re.search(r"Cannot find (?:package|module) '([^']+)'", detail):
        return (
            f"it imports {m.group(1)!r}, which Node cannot find from the project folder; install "
            f"it (npm install {m.group(1)}) or remove the import"
        )
    errors = [ln for ln in detail.splitlines() if re.match(r"^\w*Error\b|^\w+ \[ERR_", ln)]
    return errors[0] if errors else detail.splitlines()[-1]


def _failure(name: str, result: dict[str, Any]) -> str:
    kind = result["error"]
    if kind == "kind":
        return (
            f"{name}: the default export must be an object of settings (got {result['kind']}); "
            "write `export default defineConfig({ ... })`"
        )
    if kind == "nodefault":
        return f"{name}: has no default export; write `export default defineConfig({{ ... }})`"
    lines = result.get("message", "").splitlines() or ["an error"]
    first = lines[0]
    if first.startswith(("TypeError: Do not know how to serialize", "TypeError: Converting circular")):
        return f"{name}: the config cannot be turned into JSON ({first}); use plain values"
    # With source maps the stack names the original files: show the first place in the project.
    places = [m.group(1) for ln in lines[1:] if (m := re.search(r"\(?([^()\s]+:\d+:\d+)\)?$", ln))]
    place = next((p for p in places if CONFIG_ENTRY not in p and "node:" not in p), "")
    where = f" ({place})" if place else ""
    return f"{name}: evaluating the config threw {first}{where}"
