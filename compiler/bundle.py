"""Find esbuild and bundle a generated entry with it (https://esbuild.github.io/api/)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from subprocess import PIPE

from . import dev_modules
from .chunk_banner import finish_outputs
from .errors import BundleError
from .imports_check import check_unprovided_globals, explain_esbuild_errors, mentions_unprovided
from .keep_names import KEEP_NAMES, foreign_inputs, npm_backed_words, observes_names
from .lazy_tasks import fix_async_tasks, import_refused, imported_files, source_awaits_at_top_level
from .libs import h3_entry, node_path, project_sources, words_of
from .plan import BundleOptions
from .provided import alias_args, auto_import_source
from .render import RUNTIME_DIR
from .sourcemaps import clean_source_maps

# The esbuild command line of a dev build, beside its meta.json: nitro dev bundles a changed task
# alone with the same options (compiler/dev/hot.py).
ARGS_FILE = "esbuild-args.json"
# esbuild's heap per task module and its floor, in MiB (see _run); 10,000 tasks: 420 MiB, which
# with the compiler's own ~45 MiB keeps the build's process tree under 500 MiB (issue #14).
ESBUILD_MIB_PER_TASK, ESBUILD_MIB_FLOOR = 0.04, 420
# BundleOptions.ui_file: the dashboard's precompressed files (compiler/ui_assets.py), beside the chunks.
UI_FILE = "chunks/nitro-ui.gz"
# BundleOptions.minify, with keep_names.KEEP_NAMES unless BundleOptions.names_from_maps allows.
MINIFY = ["--minify"]
# The files an extensionless import may name, in this order (awaiting_imports maps imports the same way).
RESOLVE_EXTENSIONS = "--resolve-extensions=.ts,.mts,.cts,.js,.mjs,.cjs,.json"
INSTALL_HINT = (
    "esbuild was not found. Install it in the project with `npm install --save-dev esbuild`, "
    "or point NITRO_ESBUILD at an esbuild binary"
)


def find_esbuild(root: Path) -> str:
    """NITRO_ESBUILD, then node_modules/.bin of the project or a parent folder, then PATH."""
    env = os.environ.get("NITRO_ESBUILD")
    if env:
        return _from_env(env)
    for folder in (root, *root.parents):
        candidate = folder / "node_modules" / ".bin" / "esbuild"
        if candidate.is_file():
            return str(candidate)
    found = shutil.which("esbuild")
    if not found:
        raise BundleError(INSTALL_HINT)
    return found


def _from_env(env: str) -> str:
    """NITRO_ESBUILD: a path (relative to where the command was started), or a command on PATH."""
    if os.sep not in env and "/" not in env and shutil.which(env):
        return str(shutil.which(env))  # NITRO_ESBUILD=esbuild, as CC=gcc
    path = Path(env).resolve()
    if path.is_dir():
        inside = path / "esbuild"
        hint = f" (set it to {inside})" if inside.is_file() else ""
        raise BundleError(f"NITRO_ESBUILD={env} is a folder; point it at the esbuild binary itself{hint}")
    if not path.is_file():
        raise BundleError(f"NITRO_ESBUILD={env} does not exist. {INSTALL_HINT}")
    return str(path)


def bundle(
    root: Path,
    entry: Path,
    outdir: Path,
    opts: BundleOptions,
    runtime: Path = RUNTIME_DIR,
    meanwhile: Callable[[], object] | None = None,
) -> None:
    """Bundle `entry` into `outdir/index.mjs` (with opts.splitting, plus `outdir/chunks/`), or
    raise BundleError. Task modules are grouped and load lazily (compiler/lazy_tasks.py).
    `meanwhile` is called while the bundling esbuild runs (the build's input hash: Python reads
    the inputs while esbuild works, rather than after it)."""
    tasks = imported_files(entry.parent)
    outside = _folders_outside(entry.parent, root, tasks)
    read: set[str] = set()  # the real folders whose sources were read
    used, awaits, observed = _read_sources(root, outside, opts, read)
    _write_tsconfig(entry.parent)
    args = _args(root, entry, outdir, opts, runtime, used)
    if opts.minify and (observed or not opts.names_from_maps or npm_backed_words(used)):
        args.append(KEEP_NAMES)
    if opts.metafile:
        (entry.parent / ARGS_FILE).write_text(json.dumps(args), encoding="utf-8")
    limit = max(ESBUILD_MIB_FLOOR, round(len(tasks) * ESBUILD_MIB_PER_TASK))
    exposed = dev_modules.prepare(entry.parent, root) if opts.dev_modules else None
    if awaits:
        _find_async_tasks(args, entry.parent, root, limit)
    _run_tasks(args, entry.parent, root, limit, meanwhile)
    if not opts.minify and fix_async_tasks(entry.parent, outdir, root):
        shutil.rmtree(outdir / "chunks", ignore_errors=True)  # the entry is written again
        _run(args, root, limit)
    if exposed is not None and dev_modules.settle(entry.parent, root, exposed):
        _run(args, root, limit)
    inputs = _finish(args, outdir, opts, root, runtime, limit)
    if (
        opts.minify
        and KEEP_NAMES not in args
        and foreign_inputs(inputs, str(entry.parent), str(runtime), read, _h3_entry_folder(args))
    ):
        # The maps list an input the build did not read (a library the runtime bundles for an API
        # the project uses, a file outside the read folders): it may read names, so they are kept.
        shutil.rmtree(outdir / "chunks", ignore_errors=True)
        _run([*args, KEEP_NAMES], root, limit)
        _finish([*args, KEEP_NAMES], outdir, opts, root, runtime, limit)
    if opts.ui_file:
        (outdir / UI_FILE).parent.mkdir(exist_ok=True)  # an unsplit bundle has no chunks/ of its own
        shutil.copyfile(runtime / "ui" / "assets.gz", outdir / UI_FILE)


def _finish(
    args: list[str], outdir: Path, opts: BundleOptions, root: Path, runtime: Path, limit: int
) -> set[str]:
    """esbuild's output made final: bundled readably if it uses a name we do not provide, checked,
    its banner and task-group loader written, its maps' sources cleaned; the folders of its inputs
    (clean_source_maps; none without maps)."""
    main = outdir / f"{opts.entry_name}{opts.out_extension}"
    chunks = sorted((outdir / "chunks").glob(f"*{opts.out_extension}"))
    if opts.minify and mentions_unprovided([main, *chunks]):
        # Minified code names neither the files nor the names the error points at: bundle readably.
        shutil.rmtree(outdir / "chunks", ignore_errors=True)
        _run([a for a in args if a not in (*MINIFY, KEEP_NAMES)], root, limit)
        chunks = sorted((outdir / "chunks").glob(f"*{opts.out_extension}"))
    check_unprovided_globals([main, *chunks], root)
    if opts.banner or opts.sync_task_groups:
        finish_outputs([main, *chunks], opts.banner, opts.sync_task_groups)
    return clean_source_maps(outdir, root, runtime) if opts.sourcemap else set()


def _ui_file_url(opts: BundleOptions) -> str:
    """import.meta._uiFile: the dashboard's file (UI_FILE) relative to the server folder, or false
    to embed the files. runtime/ui.mjs resolves it from where its code landed: the entry, or a
    chunk under chunks/ when a task's imports share it (a split bundle)."""
    return json.dumps(UI_FILE) if opts.ui_file else "false"


def _h3_entry_folder(args: list[str]) -> tuple[str, ...]:
    """The folder of the h3 entry module the bundle aliases `#nitro-h3` to (keep_names.foreign_inputs)."""
    found = [a.split("=", 1)[1] for a in args if a.startswith("--alias:#nitro-h3=")]
    return tuple(os.path.dirname(f) for f in found if os.path.isabs(f))


def _read_sources(
    root: Path, folders: tuple[Path, ...], opts: BundleOptions, read: set[str]
) -> tuple[frozenset[str], bool, bool]:
    """The project's source files, each read once (10,000 task files: a read per use was a tenth of
    the build): the words worth an auto-import, and, for a minified bundle, whether a file may
    await at its top level (then _find_async_tasks bundles once more to find its modules) and
    whether one could read a function's name (keep_names.observes_names, when names may go)."""
    awaits = observed = False
    minify, names = opts.minify, opts.minify and opts.names_from_maps

    def each() -> Iterator[bytes]:
        nonlocal awaits, observed
        for data in project_sources(root, folders, read):
            awaits = awaits or (minify and source_awaits_at_top_level(data))
            observed = observed or (names and observes_names(data))
            yield data

    return words_of(each()), awaits, observed


def _args(
    root: Path, entry: Path, outdir: Path, opts: BundleOptions, runtime: Path, used: frozenset[str]
) -> list[str]:
    esbuild = find_esbuild(root)
    args = [
        esbuild,
        # Relative to the project (esbuild's cwd): esbuild reads an entry point containing `=` as
        # `outname=entry`, which broke builds of projects under a folder such as `a=b`.
        os.path.relpath(entry, root),
        "--bundle",
        "--format=esm",
        f"--platform={opts.platform}",
        f"--target={opts.target}",
        f"--outdir={outdir}",
        f"--entry-names={opts.entry_name}",
        f"--out-extension:.js={opts.out_extension}",
        f"--alias:#nitro-runtime={runtime}",
        *alias_args(runtime),
        # The build's own runtime config and storage mounts (compiler/nitro_apis.py), and h3 v2.
        f"--alias:#nitro-virtual={entry.parent / '_virtual'}",
        f"--alias:#nitro-h3={h3_entry(root, esbuild)}",
        f"--inject:{_write_auto_imports(entry.parent, runtime, used, opts)}",
        RESOLVE_EXTENSIONS,
        "--log-level=error",
        "--log-limit=0",
        "--color=false",
        "--charset=utf8",
        "--legal-comments=none",
    ]
    args += [f"--conditions={c}" for c in opts.conditions]
    args += [f"--external:{e}" for e in opts.external]
    args += [f"--define:{name}={value}" for name, value in opts.defines]
    args.append(f"--define:import.meta._uiFile={_ui_file_url(opts)}")
    if opts.banner:
        args.append(f"--banner:js={opts.banner}")
    if opts.metafile:
        args.append(f"--metafile={entry.parent / 'meta.json'}")
    if opts.sourcemap:
        # Mappings only: a stack trace needs no source text, and the bundle ships none of it.
        args += ["--sourcemap", "--sources-content=false"]
    if opts.minify:
        args += MINIFY
    if opts.splitting:
        # Content-hashed names: the same input gives the same files.
        args += ["--splitting", "--chunk-names=chunks/[name]-[hash]"]
    return args


def _find_async_tasks(args: list[str], sources: Path, root: Path, limit: int) -> None:
    """fix_async_tasks reads esbuild's readable output (`async "path"() {`), which a minified
    bundle lacks: when a project file may use top-level await (_read_sources), bundle once
    unminified into a scratch folder to find those modules (an await in an npm package alone is
    not looked for)."""
    scratch = sources / "async-check"
    shutil.rmtree(scratch, ignore_errors=True)
    drop = (*MINIFY, KEEP_NAMES, "--sourcemap", "--sources-content=false")
    probe = [a for a in args if a not in drop and not a.startswith(("--outdir=", "--metafile="))]
    _run_tasks([*probe, f"--outdir={scratch}"], sources, root, limit)
    fix_async_tasks(sources, scratch, root)
    shutil.rmtree(scratch, ignore_errors=True)


def _write_auto_imports(folder: Path, runtime: Path, used: frozenset[str], opts: BundleOptions) -> Path:
    """The injected auto-import module, written beside the generated entry, with only the names
    the project's files mention (`used`, libs.words_of): esbuild imports the injected
    module into every file, and a lazily loaded task module keeps its imports whole, so every
    listed API's library would ship."""
    target = folder / "_auto_imports.mjs"
    source = auto_import_source(runtime, used, opts.project_auto_imports, opts.awaiting_auto_imports)
    target.write_text(source, encoding="utf-8")
    return target


def _write_tsconfig(folder: Path) -> None:
    """An empty tsconfig.json beside the generated entry. esbuild applies the nearest tsconfig.json
    to every file (https://esbuild.github.io/content-types/#tsconfig-json), and above the generated
    files sits the editor's .nitro/tsconfig.json (editor_types.py), whose `strict` made esbuild
    write "use strict" into each lazily initialised module (13 bytes apiece): the output is ES
    modules, strict already, and nothing else in that file is meant for the generated sources."""
    (folder / "tsconfig.json").write_text("{}\n", encoding="utf-8")


def _folders_outside(folder: Path, root: Path, tasks: list[str]) -> tuple[Path, ...]:
    """Folders of the modules the generated registry imports from outside the project (a
    serverDir such as `../shared`, a config task handler there); `tasks`: imported_files."""
    registry = folder / "registry.mjs"
    if not registry.is_file():
        return ()
    targets = re.findall(r'import\("([^"]+)"\)', registry.read_text(encoding="utf-8"))
    targets += tasks
    # One normpath, resolve and directory listing per folder, not per module (10,000 task files
    # sit in a few folders); a module that is itself a symbolic link is resolved on its own, as
    # esbuild follows it.
    by_folder: dict[str, set[str]] = {}
    for target in targets:  # import specifiers: `/`-separated on every OS
        head, _, name = target.rpartition("/")
        by_folder.setdefault(head, set()).add(name)
    found: set[Path] = set()
    for head, names in by_folder.items():
        where = os.path.normpath(os.path.join(folder, head))
        links = _links(where, names)
        if names - links:
            found.add(Path(where).resolve())
        found |= {Path(where, name).resolve().parent for name in links}
    return tuple(sorted(p for p in found if p != root and root not in p.parents))


def _links(where: str, names: set[str]) -> set[str]:
    """Which of `names` in the folder `where` are symbolic links: one listing of the folder (its
    entries' types come with it), not an lstat per file."""
    try:
        with os.scandir(where) as entries:
            return {e.name for e in entries if e.name in names and e.is_symlink()}
    except OSError:  # a missing folder: esbuild names the import it cannot resolve
        return {name for name in names if os.path.islink(os.path.join(where, name))}


def _run_tasks(
    args: list[str], sources: Path, root: Path, limit: int, meanwhile: Callable[[], object] | None = None
) -> None:
    """_run; when esbuild refuses a group module's `require()` of a task because a module it
    imports further down awaits at top level (a `utils/` helper reaches every task through the
    auto-imports), those tasks get `import()` (lazy_tasks.import_refused) and esbuild runs again.
    Nitro loads every task with import(), so such a project builds there too."""
    for _ in range(3):
        try:
            _run(args, root, limit, meanwhile)
            return
        except BundleError as exc:
            if not import_refused(sources, root, getattr(exc, "esbuild_output", "")):
                raise
            meanwhile = None  # it ran with the refused build


def _run(args: list[str], root: Path, memory_mib: int, meanwhile: Callable[[], object] | None = None) -> None:
    # NODE_PATH: the runtime APIs' libraries when the project has no node_modules of its own.
    env = {**os.environ, "NODE_PATH": node_path(args[0])}
    # A one-off esbuild build hardly collects garbage (GOGC=50 left its 600 MiB peak at 10,000
    # tasks unchanged, measured); a soft memory limit makes Go's collector run near it
    # (https://pkg.go.dev/runtime#hdr-Environment_Variables): 415 MiB for 0.6 s more CPU. It grows
    # with the task count, so a bigger project's heap does not sit at the limit (the collector
    # would then take up to half the CPU); a GOMEMLIMIT of the user's own wins. The collector's
    # CPU rises steeply as the limit nears the live heap: at 10,000 tasks, 420 MiB against 400
    # cost esbuild 2.0 s of CPU against 2.3 s (interleaved; GOGC=200 beside it changed nothing).
    env.setdefault("GOMEMLIMIT", f"{memory_mib}MiB")
    try:
        # errors="replace": esbuild quotes the offending source line, which may not be UTF-8.
        proc = subprocess.Popen(
            args, cwd=root, env=env, stdout=PIPE, stderr=PIPE, text=True, errors="replace"
        )
    except OSError as exc:
        raise BundleError(f"could not run esbuild ({args[0]}): {exc}. {INSTALL_HINT}") from None
    with proc:  # waits for esbuild, also when `meanwhile` fails
        if meanwhile is not None:
            meanwhile()
        out, err = proc.communicate()
    if proc.returncode != 0:
        detail = explain_esbuild_errors(err or out)
        error = BundleError(f"esbuild failed to bundle the project:\n{detail}")
        error.esbuild_output = err or out  # type: ignore[attr-defined]
        raise error
