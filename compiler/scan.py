"""Scan `tasks/`, `api/` and `routes/` under the server dir into task and route entries.

Naming follows Nitro's file conventions (https://nitro.build/guide/tasks,
https://nitro.build/guide/routing): `tasks/db/migrate.ts` is `db:migrate`, `tasks/db/index.ts`
is `db`; `api/users/[id].get.ts` answers GET /api/users/:id.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import ScanError
from .reads import read_bytes

EXTENSIONS = (".ts", ".mts", ".cts", ".js", ".mjs", ".cjs")
METHODS = ("get", "post", "put", "patch", "delete", "head", "options", "connect", "trace")

# `meta: { ..., description: "..." }` in a task module: read statically so that listing tasks
# never has to load (and run the top level of) every task module.
_META_DESCRIPTION = re.compile(
    r"""meta\s*:\s*\{[^{}]*?description\s*:\s*(?P<q>["'`])(?P<text>(?:\\.|(?!(?P=q)).)*)(?P=q)""",
    re.S,
)
_META_DESCRIPTION_ASCII = re.compile(_META_DESCRIPTION.pattern.encode(), re.S)  # for ASCII sources


# Any spelling of a default export (ESM, re-export, CommonJS). Best effort, for a warning only:
# a module without one is registered but answers 501 when run.
_DEFAULT_EXPORT = re.compile(
    rb"\bexport\s+default\b|\bexport\s*\{[^}]*\bdefault\b|\bmodule\.exports\b|\bexports\.default\b"
)


@dataclass(frozen=True)
class ScannedTask:
    name: str
    file: Path
    description: str | None
    has_default: bool = True  # False: no default export seen, the task would answer 501
    # True: the module may set meta.description in a way not read statically (computed, spread):
    # the runtime's listing loads the module to read it.
    dynamic_description: bool = False


@dataclass(frozen=True)
class ScannedRoute:
    route: str
    method: str | None
    file: Path
    segments: tuple[dict[str, str], ...]


# Folders a scan never enters, even through a symlink (`tasks/up -> ..`): build outputs and
# work folders (an old bundle taken in as a task module fails to load), and installed packages.
NOT_SCANNED = (".nitro", ".output", ".vercel", ".wrangler", "dist", "node_modules")


def _module_files(folder: Path, root: Path, skip: frozenset[str] = frozenset()) -> list[tuple[str, Path]]:
    """(posix path relative to `folder`, file) for every module below it, sorted by that path.

    os.walk rather than Path.rglob: with 10000 task files pathlib's per-path parsing was the
    largest cost of a build (bench/bench_build.py).
    """
    found = []
    top = os.path.realpath(folder)
    seen = {top}
    # Symlinked folders are followed, as Nitro's scanner does (a shared tasks folder linked in);
    # a folder reached twice (a link cycle) is walked once, and one that holds the scanned folder
    # (a link to `..`) or is an output, work or package folder is not walked at all.
    fences = {os.path.realpath(root / n) for n in NOT_SCANNED} | skip
    fences = {f for f in fences if not inside(top, f)}  # a serverDir inside one is still scanned
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        dirnames[:] = [d for d in sorted(dirnames) if _first_visit(Path(dirpath, d), top, seen, fences)]
        rel_dir = os.path.relpath(dirpath, folder).replace(os.sep, "/")
        base = Path(dirpath)  # `base / name` parses only the name: half of Path(dirpath, name)
        for name in filenames:
            if name.endswith(EXTENSIONS) and not name.endswith((".d.ts", ".d.mts", ".d.cts")):
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                found.append((_utf8_name(rel, folder, root), base / name))
    return sorted(found)


def _first_visit(folder: Path, top: str, seen: set[str], fences: set[str]) -> bool:
    real = os.path.realpath(folder)
    if real in seen or inside(top, real) or any(inside(real, f) for f in fences):
        return False
    seen.add(real)
    return True


def inside(path: str, folder: str) -> bool:
    """Whether `path` is `folder` or below it."""
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _utf8_name(rel: str, folder: Path, root: Path) -> str:
    """`rel` when it is valid UTF-8; a file name with other bytes cannot name a task or route."""
    if rel.isascii():
        return rel
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise ScanError(
            f"{_rel(folder, root)}/{shown}: the file name is not valid UTF-8, so it cannot name a "
            "task or route; rename it"
        ) from None
    return rel


def _strip_ext(rel: str) -> list[str]:
    parts = rel.split("/")
    parts[-1] = parts[-1].rsplit(".", 1)[0]
    return parts


def task_name(rel: str) -> str:
    """`db/migrate.ts` -> `db:migrate`; `db/index.ts` -> `db`."""
    parts = _strip_ext(rel)
    if len(parts) > 1 and parts[-1] == "index":
        parts.pop()
    return ":".join(parts)


def scan_tasks(server_dir: Path, root: Path, skip: frozenset[str] = frozenset()) -> list[ScannedTask]:
    """The task modules under `<serverDir>/tasks`, one per name (two files, one name: error).

    `skip`: more real paths never to enter (the configured output folder)."""
    folder = server_dir / "tasks"
    by_name: dict[str, Path] = {}
    for rel, file in _module_files(folder, root, skip):
        name = task_name(rel)
        if name in by_name:
            first, second = (_rel(p, root) for p in (by_name[name], file))
            raise ScanError(
                f"{first} and {second} both define the task {name!r}: rename or remove one of them"
            )
        by_name[name] = file
    return [ScannedTask(n, f, *_read_task(f, root)) for n, f in sorted(by_name.items())]


def _read_task(file: Path, root: Path) -> tuple[str | None, bool, bool]:
    """The module's literal description, whether it has a default export, and whether its
    description may be set otherwise (read once)."""
    data = read_module(file, root)
    literal = read_description(data)
    return literal, bool(_DEFAULT_EXPORT.search(data)), literal is None and b"meta" in data


def task_facts(file: Path, root: Path) -> tuple[str | None, bool, bool]:
    """What a build reads from a task module's text (its registry entry depends on it): the
    literal description, a default export, a description set otherwise."""
    return _read_task(file, root)


def read_module(file: Path, root: Path) -> bytes:
    """A scanned module's bytes; one that cannot be read is a ScanError naming it."""
    try:
        return read_bytes(file)
    except OSError as exc:  # a dangling symlink, a file without read permission
        raise ScanError(f"{_rel(file, root)}: cannot be read ({exc.strerror}); fix or remove it") from None


def read_task_description(file: Path, root: Path) -> tuple[str | None, bool]:
    """(literal meta.description, may have another) of a task module named by the config."""
    literal, _, dynamic = _read_task(file, root)
    return literal, dynamic


def read_description(data: bytes) -> str | None:
    """The literal `meta.description` of a task module's source, when it is a plain string."""
    if b"description" not in data:  # most modules: skip decoding and the regex
        return None
    if data.isascii():  # the same match on the bytes, without decoding the module (10,000 tasks)
        found = _META_DESCRIPTION_ASCII.search(data)
        return _literal(found.group("q").decode(), found.group("text").decode()) if found else None
    match = _META_DESCRIPTION.search(data.decode("utf-8", errors="replace"))
    return _literal(match.group("q"), match.group("text")) if match else None


def _literal(quote: str, text: str) -> str | None:
    if quote == "`" and "${" in text:
        return None  # a template with ${...} is computed: the listing loads the module
    if "\\" not in text:
        return text
    if re.search(r"\\[^\\'\"`]", text):
        return None  # an escape such as \u00fc or \n: the listing loads the module, as JavaScript reads it
    return re.sub(r"\\(.)", r"\1", text)


def _segment(part: str) -> dict[str, str] | None:
    """One path segment; None for brackets that are neither `[name]`, `[...name]` nor `[...]`.

    As Nitro's scanner: a param name is anything up to `]` (`[user-id]`), and the anonymous
    catch-all `[...]` names its param `_` (rou3's `**`).
    """
    if part == "[...]":
        return {"catchall": "_"}
    if m := re.fullmatch(r"\[\.\.\.([^\[\]]+)\]", part):
        return {"catchall": m.group(1)}
    if m := re.fullmatch(r"\[([^\[\].][^\[\]]*)\]", part):
        return {"param": m.group(1)}
    return None if "[" in part or "]" in part else {"static": part}


def _segments(parts: list[str], rel: str) -> tuple[dict[str, str], ...]:
    """The route's segments; refuse what would otherwise match silently wrong (or never)."""
    found = [(part, _segment(part)) for part in parts]
    for part, seg in found:
        if seg is None:
            raise ScanError(
                f"{rel}: path segment {part!r} mixes [param] brackets with other text; a "
                "segment is either plain text, [name], [...name] or [...]: rename the file"
            )
    segments = tuple(seg for _, seg in found if seg is not None)
    if any("catchall" in s for s in segments[:-1]):
        raise ScanError(
            f"{rel}: a catch-all [...name] must be the last part of the route (it takes the rest "
            "of the path, so nothing after it could match); use a [param] there instead"
        )
    return segments


def _route_of(rel: str, prefix: str, where: str) -> tuple[str, str | None, tuple[dict[str, str], ...]]:
    parts = _strip_ext(rel)
    method = None
    stem, _, suffix = parts[-1].rpartition(".")
    if stem and suffix in METHODS:
        parts[-1], method = stem, suffix
    if parts[-1] == "index":
        parts.pop()
    segments = [p for p in prefix.strip("/").split("/") if p] + parts
    route = "/" + "/".join(segments)
    return route, method, _segments(segments, where)


def scan_routes(server_dir: Path, root: Path, skip: frozenset[str] = frozenset()) -> list[ScannedRoute]:
    """Handlers from `api/` (mounted at /api) and `routes/` (mounted at /)."""
    seen: dict[tuple, Path] = {}
    routes = []
    for folder, prefix in ((server_dir / "api", "/api"), (server_dir / "routes", "/")):
        for rel, file in _module_files(folder, root, skip):
            route, method, segments = _route_of(rel, prefix, _rel(file, root))
            # By shape: `[id]` and `[name]` in the same place match the same requests.
            key = (_shape(segments), method)
            if key in seen:
                first, second = (_rel(p, root) for p in (seen[key], file))
                raise ScanError(
                    f"{first} and {second} both handle {(method or 'any method').upper()} "
                    f"{route}: rename or remove one of them"
                )
            seen[key] = file
            routes.append(ScannedRoute(route, method, file, segments))
    return sorted(routes, key=route_sort_key)


def _shape(segments: tuple[dict[str, str], ...]) -> tuple:
    """What a route matches: static texts, and only the kind of each param or catch-all."""
    return tuple(("static", s["static"]) if "static" in s else (next(iter(s)),) for s in segments)


def route_sort_key(r: ScannedRoute) -> tuple:
    """Static segments before params before catch-alls; a method-specific route first."""
    rank = {"static": 0, "param": 1, "catchall": 2}
    # Param names do not count: `[id].ts` must not sort before `[user-id].get.ts`.
    shape = tuple((rank[next(iter(s))], s.get("static", "")) for s in r.segments)
    return (shape, r.method is None, r.method or "", r.route)


def _rel(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


# Named exports of a module (Nitro auto-imports those of `utils/`, https://nitro.build/guide/utils).
_NAMED_EXPORT = re.compile(
    rb"\bexport\s+(?:async\s+)?(?:function\s*\*?|const|let|var|class)\s*([A-Za-z_$][\w$]*)"
    rb"|\bexport\s*\{([^}]*)\}(?!\s*from)"
)


def scan_util_exports(
    server_dir: Path, root: Path, skip: frozenset[str] = frozenset()
) -> tuple[tuple[str, Path], ...]:
    """(name, module) for the named exports of `<serverDir>/utils/**`, which Nitro auto-imports;
    a name exported twice keeps its first module (by path)."""
    found: dict[str, Path] = {}
    for _, file in _module_files(server_dir / "utils", root, skip):
        for name in _export_names(read_module(file, root)):
            found.setdefault(name, file)
    return tuple(sorted(found.items()))


def _export_names(data: bytes) -> list[str]:
    names = []
    for declared, listed in _NAMED_EXPORT.findall(data):
        if declared:
            names.append(declared.decode())
        for item in listed.decode(errors="replace").split(",") if listed else ():
            alias = item.split(" as ")[-1].strip()
            if re.fullmatch(r"[A-Za-z_$][\w$]*", alias) and alias != "default":
                names.append(alias)
    return names
