"""`nitro-build check`: validate the config, the scan and every cron for one or more presets.

It runs the build's own code up to the plan (so a bad config gives the build's message, word for
word) and stops there: no esbuild, no Jinja, nothing written. Fast enough for a pre-commit hook.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from .console import error, warning
from .errors import CompilerError, Warnings


def check_preset(root: Path, preset: str | None, strict: bool, warnings: Warnings) -> dict[str, Any]:
    """Plan one preset's build without writing or rendering; raise the build's CompilerError."""
    from .pipeline import prepare
    from .plan import Plan

    project, chosen, _ = prepare(root.resolve(), preset, warnings)
    chosen.plan(project, Plan(project, chosen.name, warnings))
    return {
        "preset": chosen.name,
        "tasks": len(project.tasks),
        "schedules": [
            {"cron": s.cron, "platformCron": chosen.platform_cron(s.cron), "tasks": list(s.tasks)}
            for s in project.schedules
        ],
    }


def run_check(root: Path, presets: tuple[str, ...], strict: bool) -> list[dict[str, Any]]:
    """One result per preset (the configured one when none is named): ok, error, warnings."""
    results = []
    for preset in presets or (None,):
        warnings = Warnings(strict=strict)
        try:
            found = check_preset(root, preset, strict, warnings)
            results.append({**found, "ok": True, "error": None, "warnings": warnings.items})
        except CompilerError as exc:
            results.append({"preset": preset, "ok": False, "error": str(exc), "warnings": warnings.items})
    return results


def print_results(results: list[dict[str, Any]]) -> None:
    """Warnings and errors on stderr as a build prints them; one line per preset on stdout."""
    for result in results:
        for item in result["warnings"]:
            warning(item)
        if result["ok"]:
            count = len(result["schedules"])
            click.echo(f"ok: {result['preset']}: {result['tasks']} tasks, {count} schedules")
        else:
            error(result["error"])  # word for word what a build prints
            click.echo(f"failed: {result['preset'] or 'the configured preset'}")


@click.command("check")
@click.option("--preset", "presets", multiple=True, help="Preset to check (repeat for several).")
@click.option(
    "--dir", "root", default=".", type=click.Path(file_okay=False, path_type=Path), help="Project folder."
)
@click.option("--strict", is_flag=True, help="Turn warnings into errors.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def check_command(presets: tuple[str, ...], root: Path, strict: bool, as_json: bool) -> None:
    """Validate the config, the scan and every cron (no esbuild, nothing written); exit 0 or 1."""
    results = run_check(root, presets, strict)
    ok = all(r["ok"] for r in results)
    if as_json:
        click.echo(json.dumps({"ok": ok, "results": results}, indent=2))
    else:
        print_results(results)
    sys.exit(0 if ok else 1)
