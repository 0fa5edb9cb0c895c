"""Turn what the bundle cannot provide into build errors naming the file, line, name and what
is available (compiler/provided.py), instead of a green build that answers 500 at run time."""

from __future__ import annotations

import re
from pathlib import Path

from .errors import BundleError
from .provided import (
    FAMILIES,
    MISSING_PREFIX,
    MODULES,
    available_auto_imports,
    available_modules,
)

# One esbuild message (`--color=false --log-limit=0`): title, optional location, notes.
_MESSAGE = re.compile(r"^✘ \[ERROR\] (?P<title>.*?)\n(?P<body>(?:(?!✘ \[).*\n?)*)", re.M)
_LOCATION = re.compile(r"^ {4}(?P<file>\S.*?):(?P<line>\d+):(?P<col>\d+):$", re.M)
_UNRESOLVED = re.compile(r'Could not resolve "(?P<to>[^"]*)"(?: \(originally "(?P<spec>[^"]*)"\))?')
_NO_EXPORT = re.compile(r'No matching export in "(?P<file>[^"]*)" for import "(?P<name>[^"]*)"')
# Notes that advise esbuild flags the user cannot pass through nitro-build.
_IRRELEVANT = ("as external to exclude it", "using the alias feature", "Cannot read directory")


def explain_esbuild_errors(output: str) -> str:
    """esbuild's error output, with each message about our specifiers rewritten."""
    messages = [(m.group("title"), m.group("body")) for m in _MESSAGE.finditer(output)]
    if not messages:
        return output.strip()
    lines = [_explain(title, body) for title, body in messages]
    return "\n\n".join(line for line in dict.fromkeys(lines) if line)


def _explain(title: str, body: str) -> str:
    where = _where(body)
    if m := _UNRESOLVED.match(title):
        spec = m.group("spec") or m.group("to")
        if _is_ours(spec):
            return (
                f"{where}: {spec!r} is not provided by nitro-build. Available modules: {available_modules()}"
            )
    if m := _NO_EXPORT.match(title):
        return _no_export(where, m.group("file"), m.group("name"), body)
    if title.startswith("Cannot read directory") and ".mjs" in title:
        return ""  # the same failure as the alias message that follows it
    return _trimmed(title, body)


def _no_export(where: str, file: str, name: str, body: str) -> str:
    """`import { x } from "nitro"` where our module lacks x."""
    if file.endswith("config_shim.mjs"):  # nitro.config.ts, evaluated by config_script.py
        return (
            f"{where}: {name!r} is not available to a config nitro-build evaluates: it provides "
            "defineConfig and defineNitroConfig from nitro, nitro/config, nitropack and "
            "nitropack/config (import other Nitro APIs in server files, not in the config)"
        )
    spec = _quoted_specifier(body) or next(
        (s for s, mod in MODULES.items() if file.endswith("/" + mod.file)), file
    )
    exports = MODULES[spec].exports if spec in MODULES else ()
    have = ", ".join(exports) if exports else "nothing (types only)"
    return f"{where}: {name!r} is not provided by nitro-build's {spec!r}. It exports: {have}"


def _trimmed(title: str, body: str) -> str:
    """esbuild's own message, minus notes about esbuild flags."""
    notes = [block for block in body.split("\n\n") if not any(t in block for t in _IRRELEVANT)]
    return ("✘ [ERROR] " + title + "\n" + "\n\n".join(notes)).rstrip()


def _where(body: str) -> str:
    loc = _LOCATION.search(body)
    return f"{loc.group('file')}:{loc.group('line')}" if loc else "the project"


def _quoted_specifier(body: str) -> str | None:
    """The specifier on the quoted source line of an esbuild message (`from "nitro"`)."""
    m = re.search(r"""from\s*["']([^"']+)["']""", body)
    return m.group(1) if m else None


def _is_ours(spec: str) -> bool:
    return any(spec == f or spec.startswith(f + "/") for f in FAMILIES)


def mentions_unprovided(bundle_files: list[Path]) -> bool:
    """Whether a stub of a name nitro-build does not provide made it into the bundle."""
    return any(MISSING_PREFIX in file.read_text(encoding="utf-8") for file in bundle_files)


def check_unprovided_globals(bundle_files: list[Path], root: Path) -> None:
    """Raise for each Nitro auto-import a user file uses without our runtime providing it.
    `bundle_files`: the entry and its split chunks, read as one (the stub of a missing name may
    sit in a shared chunk, the code using it in a task group's chunk)."""
    texts = [file.read_text(encoding="utf-8") for file in bundle_files]
    if not any(MISSING_PREFIX in text for text in texts):
        return
    missing = re.compile(re.escape(MISSING_PREFIX) + r"([\w$]+)")
    names = sorted({name for text in texts for name in missing.findall(text)})
    problems = [_locate(name, texts, root) for name in names]
    raise BundleError(
        "\n".join(problems)
        + f"\nNames usable without an import: {available_auto_imports()}; modules: {available_modules()}"
    )


def _locate(name: str, bundles: list[str], root: Path) -> str:
    """`file:line: name is not provided` for each user file whose bundled code calls `name`."""
    use = re.compile(rf"(?<![\w$.]){re.escape(name)}(?![\w$])")
    found = []
    for file, code in (section for bundle in bundles for section in _sections(bundle)):
        if file.endswith("_auto_imports.mjs") or not use.search(code):
            continue
        found.append(f"{file}:{_source_line(root / file, use)}")
    where = ", ".join(found) or "a project file"
    return (
        f"{where}: {name!r} is used without an import, but nitro-build does not provide it "
        "(Nitro would auto-import it)"
    )


# The `export { a, b as c };` esbuild ends a chunk with (before its sourceMappingURL comment).
CHUNK_EXPORTS = re.compile(r"^export \{[^}]*\};\s*(?://# sourceMappingURL=\S+\s*)?\Z", re.M)


def _sections(bundle: str) -> list[tuple[str, str]]:
    """(source path, code) for each `// path` section esbuild writes into one output file (its
    head, the imports of shared chunks, belongs to no section: per file, so that a chunk's imports
    are never read as the code of the previous file's last section). A chunk's closing export
    list is not the code of its last section either."""
    bundle = CHUNK_EXPORTS.sub("", bundle)
    parts = re.split(r"^// (\S+\.(?:[cm]?[jt]s))$", bundle, flags=re.M)
    return list(zip(parts[1::2], parts[2::2], strict=False))


def _source_line(file: Path, use: re.Pattern[str]) -> int:
    """The first line of `file` that uses the name outside a comment (best effort: 1)."""
    try:
        lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return 1
    for number, line in enumerate(lines, 1):
        code = line.split("//", 1)[0]
        if use.search(code) and not code.lstrip().startswith(("*", "/*", "import ")):
            return number
    return 1
