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
from pathlib import Path

from .model import Project
from .provided import AUTO_IMPORTS, MODULES
from .render import HEADER, TEMPLATES_DIR

TYPES_DIR = ".nitro/types"
TSCONFIG = ".nitro/tsconfig.json"
RUNTIME_TYPES = TEMPLATES_DIR / "types" / "nitro-runtime.d.ts"
RUNTIME_MODULE = "#nitro-build/runtime"  # the ambient module nitro-runtime.d.ts declares
# Build outputs of every preset: never type-checked (they are bundles, and huge).
OUTPUT_FOLDERS = (".output", ".vercel", ".wrangler", "dist", "node_modules")


def type_names() -> list[str]:
    """The interfaces and type aliases nitro-runtime.d.ts exports (every specifier has them all)."""
    text = RUNTIME_TYPES.read_text(encoding="utf-8")
    return sorted(set(re.findall(r"^\s*export (?:interface|type) (\w+)", text, re.M)))


def modules_dts() -> str:
    """One ambient module per provided specifier: its values (provided.MODULES), and the types."""
    source = json.dumps(RUNTIME_MODULE)
    types = f"  export type {{ {', '.join(type_names())} }} from {source};\n"
    blocks = [HEADER, "// What each import specifier provides (compiler/provided.py MODULES)."]
    for spec, module in MODULES.items():
        values = f"  export {{ {', '.join(module.exports)} }} from {source};\n" if module.exports else ""
        blocks.append(f"declare module {json.dumps(spec)} {{\n{values}{types}}}")
    return "\n".join(blocks) + "\n"


def imports_dts() -> str:
    """The names usable without an import (provided.AUTO_IMPORTS), as globals."""
    lines = [
        f"  const {name}: typeof import({json.dumps(spec)})[{json.dumps(name)}];"
        for name, spec in sorted(AUTO_IMPORTS.items())
    ]
    return "\n".join([HEADER, "// Auto-imported names (compiler/provided.py AUTO_IMPORTS).",
                      "export {};", "declare global {", *lines, "}"]) + "\n"


def nitro_dts() -> str:
    """The entry the tsconfig lists: it pulls in the three others."""
    refs = ("nitro-runtime.d.ts", "nitro-modules.d.ts", "nitro-imports.d.ts")
    return HEADER + "\n" + "".join(f'/// <reference path="./{name}" />\n' for name in refs)


def tsconfig(project: Project) -> dict[str, object]:
    """Nitro's compiler options; the project (and serverDir) included, outputs excluded.

    Not Nitro's `verbatimModuleSyntax`: esbuild reads the project's tsconfig too, and with it
    kept `import { SomeType }` imports that it drops today, failing builds that work without it.
    """
    work = project.root / ".nitro"

    def rel(path: Path) -> str:
        return Path(os.path.relpath(path, work)).as_posix()

    include = [f"{rel(project.root)}/**/*"]
    if project.root not in (project.server_dir, *project.server_dir.parents):
        include.append(f"{rel(project.server_dir)}/**/*")
    outputs = [project.root / name for name in OUTPUT_FOLDERS]
    if project.output_dir is not None:
        outputs.append(project.output_dir)
    # .nitro itself too (generated sources, staging): the types come in through `files`.
    exclude = sorted({rel(p) for p in outputs}) + ["../.nitro"]
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
        },
        "files": ["./types/nitro.d.ts"],
        "include": include,
        "exclude": exclude,
    }


def editor_files(project: Project) -> dict[str, str]:
    """Project-relative path -> text of every editor file."""
    types = {
        "nitro.d.ts": nitro_dts(),
        "nitro-runtime.d.ts": RUNTIME_TYPES.read_text(encoding="utf-8"),
        "nitro-modules.d.ts": modules_dts(),
        "nitro-imports.d.ts": imports_dts(),
    }
    files = {f"{TYPES_DIR}/{name}": text for name, text in types.items()}
    files[TSCONFIG] = json.dumps(tsconfig(project), indent=2) + "\n"
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
