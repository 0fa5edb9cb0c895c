"""Issue 14: `nitro --help` and `nitro-build --help` import only the CLI, not the compiler.

Checked by what a fresh interpreter has imported (sys.modules), not by timing: pydantic, jinja2,
urllib.request and importlib.metadata are what made `--help` slow (python -X importtime).
"""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest
from nitro_build.cli import build_main, main
from nitro_build.lazy_commands import short_help

HEAVY = (
    "pydantic",
    "jinja2",
    "urllib.request",
    "importlib.metadata",
    "nitro_build.pipeline",
    "nitro_build.presets.base",
    "nitro_build.dev.loop",
    "nitro_build.task_cli",
    "nitro_build.result",  # imported by the package on first use of a result name (PEP 562)
)

PROBE = """
import json, sys
sys.argv = [{script!r}, "--help"]
from nitro_build import entry
try:
    getattr(entry, {script!r}.replace("-", "_"))()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


@pytest.mark.parametrize("script", ["nitro", "nitro-build"])
def test_help_imports_no_compiler_module(script: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(script=script)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "Usage:" in proc.stdout
    loaded = set(json.loads(proc.stderr.strip().splitlines()[-1]))
    assert not [m for m in HEAVY if m in loaded]
    assert "click" in loaded  # the probe did run the CLI


@pytest.mark.parametrize("group", [main, build_main])
@pytest.mark.parametrize("limit", [30, 45, 200])
def test_each_lazy_commands_help_line_is_the_commands_own(group: click.Group, limit: int) -> None:
    ctx = click.Context(group)
    for name, (_, line) in group.lazy.items():  # type: ignore[attr-defined]
        command = group.get_command(ctx, name)
        assert command is not None and command.name == name
        assert short_help(line, limit) == command.get_short_help_str(limit)
