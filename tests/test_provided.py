"""The table of what the bundle provides (compiler/provided.py) matches the runtime files."""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import REPO
from nitro_build.provided import AUTO_IMPORTS, MODULES

# The repository's runtime, whose bare imports (h3, unstorage) resolve from the repository's
# node_modules; an installed copy in site-packages has none beside it (bundling supplies them).
RUNTIME_DIR = REPO / "templates" / "runtime"


def _exports(file: str) -> set[str]:
    url = (RUNTIME_DIR / file).as_uri()
    script = f"console.log(JSON.stringify(Object.keys(await import({url!r}))))"
    out = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return set(json.loads(out.stdout))


@pytest.mark.parametrize("spec", sorted(MODULES))
def test_every_listed_export_exists(spec: str) -> None:
    mod = MODULES[spec]
    assert set(mod.exports) <= _exports(mod.file), spec


@pytest.mark.parametrize("name", sorted(AUTO_IMPORTS))
def test_every_auto_import_comes_from_a_module_that_exports_it(name: str) -> None:
    assert name in MODULES[AUTO_IMPORTS[name]].exports
