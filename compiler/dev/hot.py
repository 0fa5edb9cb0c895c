"""nitro dev's fast path: a changed task file is bundled alone and swapped into the running server.

A full rebuild bundles the whole project and restarts the server (1.2 s at 1,000 tasks, most of it
esbuild and Node's start). When the only change is the text of existing task files, and nothing
the build reads from them (description, default export, the auto-imports they use) changed, each
such file is bundled alone by a long-lived esbuild service (templates/dev/esbuild_hot.mjs), into
`.nitro/dev/server/hot/`, and the server is told to load that task from there on its next run
(templates/runtime/dev.mjs): a new module, so the task's top level runs again; the runtime's state
(storage, hooks, runtime config) is the server's own, reached through the auto-import names.

Modules tasks import are the server's instances too (compiler/dev_modules.py); a module only the
changed task imports, new to the server, is bundled into its chunk. Anything else falls back to
the full rebuild and restart: a task that newly imports a module only a non-task imported (a
second instance of it would split its state), a file added or removed, the config or a route
changed, a failed build (the full build prints the error, the old server keeps answering),
top-level await. `arm` records what the last full build knows; it is called after
every successful restart.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import dev_modules, templates
from ..bundle import ARGS_FILE
from ..errors import CompilerError
from ..lazy_tasks import FOLDER, awaits_at_top_level, group_name, task_modules
from ..libs import node_path, source_words
from ..plan import import_paths
from ..provided import AUTO_IMPORTS, MODULES, NITRO_AUTO_IMPORTS
from ..result import BuildResult
from ..scan import task_facts
from .esbuild_options import UnsupportedFlag, api_options
from .process import death_signal

SERVICE = Path(templates.__file__).resolve().parent / "dev" / "esbuild_hot.mjs"
HOT = "hot"  # in the sources folder (entries) and in the server folder (chunks)
SERVICE_TIMEOUT = 20.0  # seconds for one bundle of one task
# The server's answer to `{ modules }` (dev.mjs): { "exports": { key: names } }, or an error.
Ask = Callable[[list[str]], "dict[str, Any] | str"]
_NAMESPACE_IMPORT = re.compile(rb"""\bimport\s*\*\s*as\s+[\w$]+\s+from\s*["']([^"']+)["']""")
_EXPORT = re.compile(r"^export (?:\{ ([\w$]+) \}|function ([\w$]+)\()", re.M)


class Fallback(Exception):
    """Why this change needs the full rebuild (nitro dev prints it)."""


@dataclass
class Armed:
    """What the last full build knows, for checking a change against it."""

    root: Path
    sources: Path  # .nitro/build/dev
    out: Path  # .nitro/dev/server/hot
    runtime: Path  # the runtime copy the bundle's aliases point into
    options: dict[str, Any]  # esbuild's JS API options of the last build
    tasks: dict[Path, list[str]]  # task file -> the task names it is the handler of
    modules: dict[str, str]  # module the dev bundle exposes (its resolved path) -> its key
    importers: dict[str, set[str]]  # the bundle's inputs (esbuild's metafile) -> what imports them
    facts: dict[Path, tuple[str | None, bool, bool]]  # task file -> scan.task_facts at arm time
    inject: str  # the text of the chunks' auto-import module (_inject_source)
    injected: frozenset[str]  # names the dev bundle's auto-import module exports
    stubs: frozenset[str]  # of those, names nitro-build does not provide (a build error if used)
    candidates: frozenset[str]  # every name that would be injected if a file used it


class HotReload:
    """The esbuild service and the state of the last full build, for one `nitro dev` session."""

    def __init__(self, root: Path, node: str):
        self.root, self.node = root, node
        self.armed: Armed | None = None
        self.service: subprocess.Popen[str] | None = None
        self.count = 0
        self.inputs: set[Path] = set()  # what the swapped-in chunks bundled (for the watcher)
        self.exports: dict[str, list[str]] = {}  # exposed module -> its export names, per server

    def arm(self, result: BuildResult, started_ns: int) -> None:
        """Record the build that just went live; without a usable esbuild package, stay off."""
        self.armed, self.inputs, self.exports = None, set(), {}
        try:
            self.armed = _armed(self.root, result, started_ns)
        except (OSError, ValueError, KeyError, UnsupportedFlag):
            return
        if self.service is None or self.service.poll() is not None:
            self.service = self._start_service(self.armed.options["_esbuild"])

    def bundle(self, files: frozenset[Path], ask: Ask) -> list[tuple[list[str], Path, Path]]:
        """(task names, changed file, chunk) for each changed task file, or raise Fallback.
        `ask` gets the export names of exposed modules from the server (dev_modules.py)."""
        armed = self.armed
        if armed is None or self.service is None or self.service.poll() is not None:
            raise Fallback("no build to swap tasks into")
        for file in files:
            _check(armed, file)
        return [(armed.tasks[file], file, self._bundle_one(armed, file, ask)) for file in sorted(files)]

    def _build(self, armed: Armed, entry: Path, ask: Ask) -> dict[str, Any]:
        """The service's answer for `entry`, once the server named the exports of the exposed
        modules it imports."""
        options = {**armed.options, "entryPoints": [os.path.relpath(entry, armed.root)]}
        options.pop("_esbuild")
        request = {
            "options": options,
            "runtimeDir": str(armed.runtime),
            "names": sorted(armed.injected),
            "modules": armed.modules,
        }
        for _ in range(2):
            answer = self._request({**request, "exports": self.exports})
            if not answer.get("missing"):
                return answer
            told = ask(answer["missing"])
            if isinstance(told, str):
                raise Fallback(f"the server could not load {answer['missing'][0]}: {told}")
            self.exports |= told["exports"]
        raise Fallback("the server did not name the exports of the modules the task imports")

    def _bundle_one(self, armed: Armed, file: Path, ask: Ask) -> Path:
        self.count += 1
        entry = armed.sources / HOT / f"{self.count}.mjs"
        entry.parent.mkdir(parents=True, exist_ok=True)
        # Written each time: a failed full build meanwhile planned the sources folder afresh.
        Path(armed.options["inject"][0]).write_text(armed.inject, encoding="utf-8")
        path = import_paths([file], entry.parent, armed.root)[0]
        entry.write_text(task_modules([("hot", None, False, path)])[group_name(0)], encoding="utf-8")
        answer = self._build(armed, entry, ask)
        if not answer.get("ok"):  # a syntax error, a name the server lacks: the full build tells
            raise Fallback(f"esbuild could not bundle {os.path.relpath(file, armed.root)} alone")
        allowed = {os.path.relpath(p, armed.root) for p in (entry, file, *armed.options["inject"])}
        inputs = set(answer["inputs"])
        # A module the chunk bundles must be the task's own: nothing outside the chunk imports it
        # in the running server (else a second instance would split its state).
        for extra in sorted(inputs - allowed):
            if not extra.startswith("nitro-dev-") and not armed.importers.get(extra, set()) <= inputs:
                raise Fallback(f"{os.path.relpath(file, armed.root)} imports {extra}, shared with the server")
        self.inputs |= {armed.root / i for i in inputs - allowed if ":" not in i}
        chunk = armed.out / f"{self.count}.mjs"
        if awaits_at_top_level(chunk.read_text(encoding="utf-8")):
            raise Fallback(
                f"{os.path.relpath(file, armed.root)}: top-level await (the full build loads it with import())"
            )
        return chunk

    def _start_service(self, esbuild_main: str) -> subprocess.Popen[str] | None:
        try:
            return subprocess.Popen(
                [self.node, str(SERVICE), esbuild_main],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                cwd=self.root,
                start_new_session=True,
                preexec_fn=death_signal(),  # gone with nitro dev, even when it is killed
            )
        except OSError:
            return None

    def _request(self, request: dict[str, Any]) -> dict[str, Any]:
        service = self.service
        assert service is not None and service.stdin is not None and service.stdout is not None
        try:
            service.stdin.write(json.dumps(request) + "\n")
            service.stdin.flush()
            if not select.select([service.stdout], [], [], SERVICE_TIMEOUT)[0]:
                raise Fallback("the esbuild service did not answer")
            line = service.stdout.readline()
            return dict(json.loads(line))
        except (OSError, ValueError) as exc:
            self.close()
            raise Fallback(f"the esbuild service failed ({exc})") from None

    def close(self) -> None:
        """Stop the service: its stdin closes, it exits; killed if it does not within 2 s."""
        service, self.service = self.service, None
        if service is None:
            return
        try:
            if service.stdin:
                service.stdin.close()
            service.wait(2)
        except (OSError, subprocess.TimeoutExpired):
            service.kill()
            service.wait()
        if service.stdout:
            service.stdout.close()


def _check(armed: Armed, file: Path) -> None:
    """Raise Fallback unless `file` is a task module whose registry entry and auto-imports are as
    the last build made them."""
    name = os.path.relpath(file, armed.root)
    if file not in armed.tasks or not file.is_file():
        raise Fallback(f"{name} is not a task file of the last build")
    if file not in armed.facts:
        raise Fallback(f"{name}: changed during the last build, or imported by another module")
    if task_facts(file, armed.root) != armed.facts[file]:
        raise Fallback(f"{name}: its description or default export changed")
    data = file.read_bytes()
    words = source_words(data)
    if not (words & armed.candidates) <= armed.injected or words & armed.stubs:
        raise Fallback(f"{name}: the auto-imports it uses changed")
    for spec in _NAMESPACE_IMPORT.findall(data):
        # `ns.name` is no word the auto-imports were chosen by: only an exposed module has them all.
        module = MODULES.get(spec.decode("utf-8", "replace"))
        if module and str(armed.runtime / module.file) not in armed.modules:
            raise Fallback(
                f"{name}: `import * as` of {spec.decode()} (the server has no instance to share yet)"
            )


def _armed(root: Path, result: BuildResult, started_ns: int) -> Armed:
    sources = root / ".nitro" / "build" / "dev"
    args = json.loads((sources / ARGS_FILE).read_text(encoding="utf-8"))
    esbuild_main = Path(os.path.realpath(args[0])).parent.parent / "lib" / "main.js"
    if not esbuild_main.is_file():
        raise ValueError("no esbuild JavaScript package beside the binary")
    options = api_options(args, root, node_path(args[0]))
    runtime = Path(options["alias"]["#nitro-runtime"])
    inject_text = Path(options["inject"][0]).read_text(encoding="utf-8")
    injected = {a or b for a, b in _EXPORT.findall(inject_text)}
    stubs = set(re.findall(r"^export function ([\w$]+)\(", inject_text, re.M))
    out = root / ".nitro" / "dev" / "server" / HOT
    hot_inject = sources / HOT / "_auto_imports.mjs"
    for key in ("splitting", "chunkNames", "metafile"):
        options.pop(key, None)
    options |= {"outdir": str(out), "entryNames": "[name]", "inject": [str(hot_inject)]}
    options["_esbuild"] = str(esbuild_main)
    tasks: dict[Path, list[str]] = {}
    for task in result.project.tasks:
        if task.handler is not None:
            tasks.setdefault(task.handler, []).append(task.name)
    importers = _importers(sources)
    facts = {}
    for file in set(tasks) - _imported_elsewhere(root, sources, tasks, importers):
        # A file saved since the build started may differ from what it read: no fast path for it.
        try:
            if file.stat().st_mtime_ns < started_ns:
                facts[file] = task_facts(file, root)
        except (OSError, CompilerError):
            pass
    util_names = {name for name, _ in result.project.util_exports}
    return Armed(
        root=root,
        sources=sources,
        out=out,
        runtime=runtime,
        options=options,
        tasks=tasks,
        modules={os.path.normpath(root / key): key for key in dev_modules.exposed(sources)},
        importers=importers,
        facts=facts,
        inject=_inject_source(sorted(injected)),
        injected=frozenset(injected),
        stubs=frozenset(stubs),
        candidates=frozenset(AUTO_IMPORTS) | frozenset(NITRO_AUTO_IMPORTS) | frozenset(util_names),
    )


def _importers(sources: Path) -> dict[str, set[str]]:
    """Each input of the last dev bundle (relative to the project) -> the inputs importing it."""
    inputs = json.loads((sources / "meta.json").read_text(encoding="utf-8"))["inputs"]
    found: dict[str, set[str]] = {}
    for importer, data in inputs.items():
        for imported in data.get("imports", []):
            found.setdefault(imported["path"], set()).add(importer)
    return found


def _imported_elsewhere(
    root: Path, sources: Path, tasks: dict[Path, list[str]], importers: dict[str, set[str]]
) -> set[Path]:
    """Task files another module of the bundle imports (a route, a helper, another task): a
    chunk of their own would leave that importer with the old code."""
    groups = os.path.relpath(sources / FOLDER, root) + "/"
    return {
        file
        for file in tasks
        if any(not i.startswith(groups) for i in importers.get(os.path.relpath(file, root), ()))
    }


def _inject_source(names: list[str]) -> str:
    """The auto-import module of a task bundled alone: the running server's own instances."""
    lines = [
        "// generated by nitro-build: the dev server's auto-imports, for a task bundled alone",
        "const names = globalThis.__nitroDevAutoImports;",
    ]
    return "\n".join([*lines, *(f"export const {n} = names.{n};" for n in names)]) + "\n"
