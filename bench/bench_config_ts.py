"""Build time of the 10-task bench project with its config as nitro.config.ts instead of TOML.

nitro.config.ts is evaluated at build time (esbuild bundles it, Node runs it: two extra child
processes), so a TypeScript config costs a little per build. Target: within 0.15 s of the TOML
build. Builds alternate between the two projects so machine noise hits both alike.

    python bench/bench_config_ts.py [--repeat 9]

Last run (2 shared cores, up to 8 helpers' tests running): see bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tomllib
from pathlib import Path

from bench_build import OUT, make_project, measure


def as_ts(project: Path, suffix: str = "-ts", head: str = "") -> Path:
    """A copy of `project` whose TOML config is rewritten as an equivalent nitro.config.ts."""
    target = project.with_name(project.name + suffix)
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(project, target, ignore=shutil.ignore_patterns(".output", ".nitro"))
    config = tomllib.loads((target / "nitro.config.toml").read_text())
    (target / "nitro.config.toml").unlink()
    (target / "nitro.config.ts").write_text(
        'import { defineConfig } from "nitro";\n' + head + "\n"
        f"export default defineConfig({json.dumps(config, indent=2)});\n"
    )
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    toml = make_project(OUT / "config-toml-10", 10)
    projects = {
        "toml": toml,
        # A plain config: its result is reused while its code is unchanged (config_cache.py).
        "ts": as_ts(toml),
        # Imports a built-in, so Node evaluates it on every build.
        "ts_node": as_ts(toml, "-ts-node", 'import { sep } from "node:path";\nvoid sep;\n'),
    }
    for project in projects.values():
        measure(project)  # warm the file cache, esbuild's binary and the config cache
    times: dict[str, list[float]] = {name: [] for name in projects}
    for _ in range(args.repeat):
        for name, project in projects.items():
            times[name].append(measure(project)[0])
    medians = {k: round(statistics.median(v), 3) for k, v in times.items()}
    print(
        json.dumps(
            {
                "tasks": 10,
                **{f"{k}_s_median": v for k, v in medians.items()},
                "ts_minus_toml_s": round(medians["ts"] - medians["toml"], 3),
                "ts_node_minus_toml_s": round(medians["ts_node"] - medians["toml"], 3),
                "target_s": 0.15,
                **{f"{k}_s_all": [round(t, 3) for t in v] for k, v in times.items()},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
