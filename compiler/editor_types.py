"""Editor support: `.nitro/types/*.d.ts` and `.nitro/tsconfig.json`, written by every build.

As Nitro does (https://github.com/nitrojs/nitro/blob/main/src/build/types.ts: nitro.d.ts,
nitro-imports.d.ts and a tsconfig), so that `defineTask`, `runTask`, `defineHandler` used without
an import are known to the editor, and the `nitro/*` specifiers resolve to our declarations. A
project opts in with a `tsconfig.json` of `{ "extends": "./.nitro/tsconfig.json" }`.

The declarations themselves are hand-written in templates/types/nitro-runtime.d.ts; which
specifier exports which name, and which names are globals, comes from compiler/provided.py.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .bundle import find_esbuild
from .config import SCRIPT_CONFIG_NAMES
from .errors import CompilerError
from .keep_names import h3_own_names
from .libs import find_package, h3_entry
from .model import Project
from .plan import import_path
from .provided import AUTO_IMPORTS, MODULES, Module
from .render import HEADER, TEMPLATES_DIR

TYPES_DIR = ".nitro/types"
TSCONFIG = ".nitro/tsconfig.json"
RUNTIME_TYPES = TEMPLATES_DIR / "types" / "nitro-runtime.d.ts"
RUNTIME_MODULE = "#nitro-build/runtime"  # the ambient module nitro-runtime.d.ts declares
# The npm packages behind the runtime APIs, as the declarations import their types; the
# tsconfig's `paths` map each onto the copy the bundle uses (compiler/libs.py).
LIBS = {name: f"#nitro-build/lib/{name}" for name in ("h3", "unstorage", "hookable", "ofetch")}
# Build outputs of every preset: never type-checked (they are bundles, and huge).
OUTPUT_FOLDERS = (".output", ".vercel", ".wrangler", "dist", "node_modules")


def declared(kind: str) -> list[str]:
    """Names nitro-runtime.d.ts exports: `kind` "types" (interfaces, type aliases) or "values"."""
    words = r"interface|type" if kind == "types" else r"function|const|class"
    text = RUNTIME_TYPES.read_text(encoding="utf-8")
    return sorted(set(re.findall(rf"^\s*export (?:{words}) (\$?\w+)", text, re.M)))


# h3 2 names runtime/h3.mjs defines again with h3's own results (so a route that only defines a
# handler does not load h3, and with it undici, at its first request): their types stay h3's.
H3_REIMPLEMENTED = frozenset({"defineHandler", "defineEventHandler", "eventHandler"})


def _h3_own_names() -> set[str]:
    """The names runtime/h3.mjs adds to h3's (`export * from "#nitro-h3"`), typed by us."""
    return set(h3_own_names()) - H3_REIMPLEMENTED


def _module_block(spec: str, module: Module, ours: set[str], h3_own: set[str]) -> str:
    """`declare module "spec"`: each exported name from our declarations, or from the h3 package."""
    h3_file = module.file == "h3.mjs"
    mine = [n for n in module.exports if (n in h3_own if h3_file else n in ours)]
    lines = [f"declare module {json.dumps(spec)} {{"]
    if h3_file:
        lines.append(f"  export * from {json.dumps(LIBS['h3'])};")
    else:
        h3 = [n for n in module.exports if n not in ours]
        lines += [f"  export {{ {', '.join(h3)} }} from {json.dumps(LIBS['h3'])};"] if h3 else []
    source = json.dumps(RUNTIME_MODULE)
    lines += [f"  export {{ {', '.join(mine)} }} from {source};"] if mine else []
    types = [t for t in declared("types") if t not in module.exports]  # h3's class H3Event wins
    lines += [] if h3_file else [f"  export type {{ {', '.join(types)} }} from {source};"]
    return "\n".join([*lines, "}"])


def modules_dts() -> str:
    """One ambient module per provided specifier (provided.MODULES): its values and the types."""
    ours, h3_own = set(declared("values")), _h3_own_names()
    blocks = [HEADER, "// What each import specifier provides (compiler/provided.py MODULES)."]
    blocks += [_module_block(spec, mod, ours, h3_own) for spec, mod in MODULES.items()]
    return "\n".join(blocks) + "\n"


def imports_dts(project: Project) -> str:
    """The names usable without an import, as globals: the project's own utils/ exports (which win,
    as in the bundle), then provided.AUTO_IMPORTS."""
    here = project.root / TYPES_DIR
    own = {name: import_path(module, here) for name, module in project.util_exports}
    specs = {**{n: s for n, s in AUTO_IMPORTS.items() if n not in own}, **own}
    lines = [
        f"  const {name}: typeof import({json.dumps(spec)})[{json.dumps(name)}];"
        for name, spec in sorted(specs.items())
    ]
    return (
        "\n".join(
            [
                HEADER,
                "// Auto-imported names: utils/ exports and compiler/provided.py AUTO_IMPORTS.",
                "export {};",
                "declare global {",
                *lines,
                "}",
            ]
        )
        + "\n"
    )


def ts_type(value: Any, indent: str = "    ") -> str:
    """The TypeScript type of a JSON value (runtimeConfig), as Nitro's generated config types."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        items = sorted({ts_type(v, indent) for v in value})
        return f"Array<{' | '.join(items) or 'unknown'}>"
    if isinstance(value, dict):
        inner = indent + "  "
        fields = "".join(f"{inner}{json.dumps(k)}: {ts_type(v, inner)};\n" for k, v in value.items())
        return "{\n" + fields + indent + "}" if fields else "Record<string, unknown>"
    return "unknown"


def config_dts(project: Project) -> str:
    """The project's runtimeConfig as the type useRuntimeConfig() returns (Nitro: nitro-config.d.ts)."""
    body = ts_type(project.runtime_config or {}, "  ")
    fields = body[2:-3].rstrip("\n") if body.startswith("{\n") else ""
    return (
        "\n".join(
            [
                HEADER,
                "// The config's runtimeConfig: what useRuntimeConfig() returns (plus NITRO_* overrides).",
                f"declare module {json.dumps(RUNTIME_MODULE)} {{",
                "  export interface NitroRuntimeConfig {",
                *([fields] if fields else []),
                "  }",
                "}",
            ]
        )
        + "\n"
    )


def nitro_dts() -> str:
    """The entry the tsconfig lists: it pulls in the others."""
    refs = ("nitro-runtime.d.ts", "nitro-config.d.ts", "nitro-modules.d.ts", "nitro-imports.d.ts")
    return HEADER + "\n" + "".join(f'/// <reference path="./{name}" />\n' for name in refs)


def tsconfig(project: Project, where: Path) -> dict[str, object]:
    """The tsconfig.json to write in folder `where`: Nitro's compiler options; the project (and
    serverDir) included, outputs excluded.

    Not Nitro's `verbatimModuleSyntax`: esbuild reads the project's tsconfig too, and with it
    kept `import { SomeType }` imports that it drops today, failing builds that work without it.
    """

    def rel(path: Path) -> str:
        found = Path(os.path.relpath(path, where)).as_posix()
        return found if found.startswith(".") else f"./{found}"

    include = [f"{rel(project.root)}/**/*"]
    if project.root not in (project.server_dir, *project.server_dir.parents):
        include.append(f"{rel(project.server_dir)}/**/*")
    outputs = [project.root / name for name in OUTPUT_FOLDERS]
    if project.output_dir is not None:
        outputs.append(project.output_dir)
    # .nitro itself too (generated sources, staging): the types come in through `files`. And a
    # nitro.config.ts: it runs in the build, not the bundle, and is typed by Nitro's own package.
    configs = [rel(project.root / name) for name in SCRIPT_CONFIG_NAMES]
    exclude = sorted({rel(p) for p in outputs}) + [f"{rel(project.root)}/.nitro", *configs]
    return {
        "compilerOptions": {
            "target": "ESNext",
            "module": "Preserve",
            "moduleResolution": "Bundler",
            "moduleDetection": "force",
            "isolatedModules": True,
            "allowImportingTsExtensions": True,
            "allowJs": True,
            "resolveJsonModule": True,
            "esModuleInterop": True,
            "skipLibCheck": True,
            "strict": True,
            "noImplicitOverride": True,
            "forceConsistentCasingInFileNames": True,
            "noEmit": True,
            "paths": lib_paths(project, rel),
        },
        "files": [rel(project.root / TYPES_DIR / "nitro.d.ts")],
        "include": include,
        "exclude": exclude,
    }


def lib_paths(project: Project, rel: Callable[[Path], str]) -> dict[str, list[str]]:
    """`paths` entries: each library's types, from the copy the bundle would use."""
    try:
        esbuild = find_esbuild(project.root)
    except CompilerError:
        esbuild = ""
    paths: dict[str, list[str]] = {}
    h3 = h3_entry(project.root, esbuild)
    if h3 != "h3":  # h3 v2 found: its entry's own declarations
        paths[LIBS["h3"]] = [rel(Path(h3).with_suffix(".d.mts"))]
    for name in ("unstorage", "hookable", "ofetch"):
        folder = find_package(project.root, name, esbuild)
        if folder is not None:
            paths[LIBS[name]] = [rel(folder)]
    return paths


def editor_files(project: Project) -> dict[str, str]:
    """Project-relative path -> text of every editor file."""
    types = {
        "nitro.d.ts": nitro_dts(),
        "nitro-runtime.d.ts": RUNTIME_TYPES.read_text(encoding="utf-8"),
        "nitro-config.d.ts": config_dts(project),
        "nitro-modules.d.ts": modules_dts(),
        "nitro-imports.d.ts": imports_dts(project),
    }
    files = {f"{TYPES_DIR}/{name}": text for name, text in types.items()}
    # .nitro/tsconfig.json, and Nitro 2's .nitro/types/tsconfig.json (a Nitro 2 project's
    # tsconfig.json extends that one: https://nitro.build/guide/typescript).
    for rel in (TSCONFIG, f"{TYPES_DIR}/tsconfig.json"):
        where = (project.root / rel).parent
        files[rel] = json.dumps(tsconfig(project, where), indent=2) + "\n"
    return files


def write_editor_files(project: Project) -> None:
    """Write the editor files that changed, each atomically (an editor may be reading them)."""
    for rel, text in editor_files(project).items():
        target = project.root / rel
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, target)
