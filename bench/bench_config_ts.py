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


def as_ts(project: Path) -> Path:
    """A copy of `project` whose TOML config is rewritten as an equivalent nitro.config.ts."""
    target = project.with_name(project.name + "-ts")
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(project, target, ignore=shutil.ignore_patterns(".output", ".nitro"))
    config = tomllib.loads((target / "nitro.config.toml").read_text())
    (target / "nitro.config.toml").unlink()
    (target / "nitro.config.ts").write_text(
        'import { defineConfig } from "nitro";\n\n'
        f"export default defineConfig({json.dumps(config, indent=2)});\n"
    )
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    toml = make_project(OUT / "config-toml-10", 10)
    ts = as_ts(toml)
    measure(toml), measure(ts)  # warm the file cache and esbuild's binary
    times: dict[str, list[float]] = {"toml": [], "ts": []}
    for _ in range(args.repeat):
        times["toml"].append(measure(toml)[0])
        times["ts"].append(measure(ts)[0])
    medians = {k: round(statistics.median(v), 3) for k, v in times.items()}
    print(json.dumps({
        "tasks": 10,
        "toml_s_median": medians["toml"],
        "ts_s_median": medians["ts"],
        "difference_s": round(medians["ts"] - medians["toml"], 3),
        "target_s": 0.15,
        "toml_s_all": [round(t, 3) for t in times["toml"]],
        "ts_s_all": [round(t, 3) for t in times["ts"]],
    }, indent=2))


if __name__ == "__main__":
    main()
