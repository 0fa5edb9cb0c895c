"""The pipeline, in one direction: load -> scan -> merge -> compile crons -> plan -> (bundle -> swap).

A dry run stops after the plan: every generated file is known as text, nothing is written and
esbuild is not needed. A real build writes exactly those texts, bundles, then swaps into place.
"""

from __future__ import annotations

import functools
import gc
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from .config import load_config
from .errors import CompilerError, PresetError, Warnings
from .features import narrow
from .inputs import input_hash
from .merge import build_project
from .model import Project
from .output_rules import check_outputs
from .plan import Plan, to_json
from .presets import Preset, get_preset
from .reads import shared_reads
from .result import Artifacts, BuildResult

if TYPE_CHECKING:
    from .emit import Emitter


def load_project(root: Path, warnings: Warnings) -> tuple[Project, str | None]:
    """Load and merge the project at `root`; also return the preset its config names."""
    if not root.is_dir():
        raise CompilerError(f"project folder {root} does not exist")
    config, config_file = load_config(root)
    return build_project(root, config, config_file, warnings), config.preset


# Nitro reads the preset from the environment when no --preset is given, before the config
# (https://github.com/nitrojs/nitro/blob/main/src/config/loader.ts: NITRO_PRESET || SERVER_PRESET).
PRESET_ENV = ("NITRO_PRESET", "SERVER_PRESET")


def choose_preset(project: Project, configured: str | None, preset: str | None) -> Preset:
    """`preset`, else $NITRO_PRESET (or $SERVER_PRESET), else the config's, else node_server;
    an unknown name is an error that says where it came from."""
    if preset:
        return get_preset(preset)
    env = next(((k, os.environ[k]) for k in PRESET_ENV if os.environ.get(k)), None)
    config_name = project.config_file.name if project.config_file else None
    where, name = env or (config_name, configured)
    try:
        return get_preset(name or "node_server")
    except PresetError as exc:
        if env:
            raise PresetError(f"{where}={name}: {exc}") from None
        raise PresetError(f"{where}: preset: {exc}") from None


def plan_build(project: Project, chosen: Preset, outputs: list[str], warnings: Warnings) -> Plan:
    """Every generated file as text, and the bundles to make; touches nothing on disk."""
    plan = Plan(project, chosen.name, warnings)
    chosen.plan(project, plan)
    # A file outside the preset's outputs would be in a dry run but never swapped into place.
    inside = [o.rstrip("/") + "/" for o in outputs]
    stray = [
        rel
        for rel in plan.files()
        if not plan.is_source(rel) and rel not in outputs and not rel.startswith(tuple(inside))
    ]
    if stray:
        raise RuntimeError(f"nitro-build bug: {chosen.name} plans {stray} outside its outputs {outputs}")
    return plan


def build(
    root: Path,
    preset: str | None = None,
    *,
    strict: bool = False,
    dry_run: bool = False,
    warnings: Warnings | None = None,
) -> BuildResult:
    """Build the project at `root` for `preset` (else $NITRO_PRESET, the config's, node_server)."""
    with collector_paused(), shared_reads():  # each project file read once per build (reads.py)
        return _build(Path(root).resolve(), preset, strict, dry_run, warnings)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a build runs: a build allocates objects by the
    million that live until it ends (a huge config, its schedules), and the collector's repeated
    passes over them were a fifth of an 86,400-schedule build (issue 10). A build makes little
    cyclic garbage; it is collected as usual once the collector is back on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _build(
    root: Path, preset: str | None, strict: bool, dry_run: bool, warnings: Warnings | None
) -> BuildResult:
    warnings = warnings if warnings is not None else Warnings(strict=strict)
    if dry_run:
        project, chosen, outputs = prepare(root, preset, warnings)
        plan = plan_build(project, chosen, outputs, warnings)
        return result(project, chosen, plan.files(), {}, outputs, warnings, dry_run=True)
    if not root.is_dir():
        raise CompilerError(f"project folder {root} does not exist")
    from .swap import build_lock, old_outputs_removed, recover_staging  # a real build only

    with build_lock(root):
        recover_staging(root)  # a build killed earlier: finish or discard its swap first
        with old_outputs_removed(root) as delete_trash:  # earlier builds' old outputs
            project, chosen, outputs = prepare(root, preset, warnings)
            return write_build(project, chosen, outputs, warnings, delete_trash)


def prepare(root: Path, preset: str | None, warnings: Warnings) -> tuple[Project, Preset, list[str]]:
    """Load the project, choose the preset and check its output paths (a build, a dry run, check)."""
    project, configured = load_project(root, warnings)
    chosen = choose_preset(project, configured, preset)
    project = narrow(chosen, project, warnings)  # what the preset does not support, left out
    outputs = chosen.outputs(project)
    check_outputs(project, outputs, chosen.output_dir(project))
    return project, chosen, outputs


def write_build(
    project: Project,
    chosen: Preset,
    outputs: list[str],
    warnings: Warnings,
    delete_trash: Callable[[], None] = lambda: None,
) -> BuildResult:
    """Plan, write the plan, bundle, write nitro.json with the CI facts, swap into place."""
    from .emit import Emitter

    em = Emitter(project, chosen.name, warnings)
    try:
        plan = plan_build(project, chosen, outputs, warnings)
        files = em.write_plan(plan)
        write_types(project, warnings)
        # The input hash reads every input file once more, and the old outputs are deleted
        # (swap.old_outputs_removed): both while esbuild runs.
        digest_once = functools.cache(lambda: "" if chosen.dev else input_hash(project, chosen.name))

        def meanwhile() -> None:
            delete_trash()
            digest_once()

        em.run_bundles(plan, meanwhile)
        hashes, digest = ci_inputs(chosen, em, outputs), digest_once()
        facts = ci_facts(digest, hashes) if digest else {}
        nitro_json = to_json({**chosen.nitro_json(project), **facts})
        em.path(chosen.nitro_json_path(project)).write_text(nitro_json, encoding="utf-8")
        em.swap_into_place(outputs)
    except BaseException:
        em.discard()
        raise
    files[chosen.nitro_json_path(project)] = nitro_json
    return result(project, chosen, files, hashes, outputs, warnings, digest=digest or None)


def ci_inputs(chosen: Preset, em: Emitter, outputs: list[str]) -> dict[str, str]:
    """Output sha256s; none for `dev`, whose output is never deployed (and whose rebuilds on every
    file change should not read every output once more; nor its input hash, write_build)."""
    if chosen.dev:
        return {}
    return em.staged_hashes(outputs)


def write_types(project: Project, warnings: Warnings) -> None:
    """.nitro/types and .nitro/tsconfig.json for editors and tsc. Before bundling: esbuild reads a
    project tsconfig.json that extends ours (its `strict` adds "use strict" to TS modules), so
    the first build must see it too, or a rebuild would differ. Never fails a build."""
    from .editor_types import write_editor_files

    try:
        write_editor_files(project)
    except OSError as exc:
        warnings.warn(f"could not write the editor types in .nitro/types ({exc}); the build is complete")


def ci_facts(digest: str, hashes: dict[str, str]) -> dict[str, object]:
    """What nitro.json and `nitro-build --json` tell a CI pipeline: the inputs' hash (a cache key)
    and every output file's sha256 (nitro.json itself excepted)."""
    return {"inputHash": digest, "files": hashes}


def result(
    project: Project,
    chosen: Preset,
    files: dict[str, str],
    hashes: dict[str, str],
    outputs: list[str],
    warnings: Warnings,
    dry_run: bool = False,
    digest: str | None = None,
) -> BuildResult:
    """The BuildResult; its tasks, schedules and input hash are computed when first read."""
    return BuildResult(
        root=project.root,
        preset=chosen.name,
        output_dir=chosen.output_dir(project),
        dry_run=dry_run,
        artifacts=Artifacts(files),
        warnings=tuple(warnings.items),
        commands=chosen.commands(project),
        files=hashes,
        outputs=tuple(outputs),
        project=project,
        preset_impl=chosen,
        known_input_hash=digest,
    )
