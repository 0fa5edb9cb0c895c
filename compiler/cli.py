"""The `nitro` command (build, dev, task) and `nitro-build` (= `nitro build`)."""
from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from ._version import __version__
from .build import BuildResult, build
from .console import print_warnings, run_guarded
from .dev import dev_command
from .errors import Warnings
from .task_cli import task_group


def _next_run(result: BuildResult, cron: str) -> str | None:
    from .cron import next_firings

    # Platform cron triggers (Cloudflare, Vercel) fire in UTC; servers fire in local time.
    utc = getattr(result.preset, "utc_schedules", False)
    start = datetime.now(UTC) if utc else datetime.now().astimezone()
    found = next_firings(cron, start, 1)
    return found[0].isoformat(timespec="seconds") if found else None


def _shown_path(path: Path, root: Path) -> str:
    """`path` relative to the project; `../...` for a serverDir or handler outside it."""
    return Path(os.path.relpath(path, root)).as_posix()


def summary(result: BuildResult) -> dict[str, Any]:
    """The build summary as data (printed as text, or as JSON with --json)."""
    root = result.project.root
    return {
        "preset": result.preset.name,
        "output": result.preset.output_dir(result.project),
        "outputs": list(result.outputs),
        "tasks": [
            {
                "name": t.name,
                "description": t.description,
                "source": t.source,
                "handler": _shown_path(t.handler, root) if t.handler else None,
            }
            for t in result.project.tasks
        ],
        "schedules": [
            {
                "cron": s.cron,
                "platformCron": result.preset.platform_cron(s.cron),
                "tasks": list(s.tasks),
                "next": _next_run(result, s.cron),
            }
            for s in result.project.schedules
        ],
        "commands": result.commands,
        "warnings": list(result.warnings),
    }


def print_summary(data: dict[str, Any]) -> None:
    click.echo(f"Built preset {data['preset']} into {data['output']}/")
    click.echo(f"Tasks ({len(data['tasks'])}):")
    for t in data["tasks"]:
        where = t["handler"] or "no handler (answers 501)"
        click.echo(f"  {t['name']:<24} {t['description'] or '-':<36} {where} [{t['source']}]")
    click.echo(f"Schedules ({len(data['schedules'])}):")
    for s in data["schedules"]:
        click.echo(f"  {s['cron']:<20} {', '.join(s['tasks']):<36} next: {s['next']}")
        if s["platformCron"] and s["platformCron"] != s["cron"]:
            click.echo(f"  {'':<20} {data['preset']} runs it as: {s['platformCron']}")
    for name, command in data["commands"].items():
        click.echo(f"{name.capitalize()}: {command}")


def build_options(func: Any) -> Any:
    """The options `nitro build` and `nitro-build` share."""
    for option in reversed(
        [
            click.option("--preset", help="Deployment preset (default: config's, else node_server)."),
            click.option(
                "--dir", "root", default=".", type=click.Path(file_okay=False, path_type=Path),
                help="Project folder.",
            ),
            click.option("--strict", is_flag=True, help="Turn warnings into errors."),
            click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON."),
            click.option("--debug", is_flag=True, help="Show tracebacks."),
        ]
    ):
        func = option(func)
    return func


def do_build(preset: str | None, root: Path, strict: bool, as_json: bool, debug: bool) -> None:
    """Build, print warnings and the summary."""
    warnings = Warnings(strict=strict)
    try:
        result = run_guarded(debug, lambda: build(root, preset, strict=strict, warnings=warnings))
    finally:
        print_warnings(warnings)
    data = summary(result)
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        print_summary(data)


@click.group()
@click.version_option(version=__version__, prog_name="nitro-build")
def main() -> None:
    """nitro-build: compile tasks, schedules and routes into deployable bundles."""


@main.command("build")
@build_options
def build_command(preset: str | None, root: Path, strict: bool, as_json: bool, debug: bool) -> None:
    """Build the project for a deployment preset."""
    do_build(preset, root, strict, as_json, debug)


main.add_command(dev_command)
main.add_command(task_group)


@click.command("nitro-build")
@build_options
def build_main(preset: str | None, root: Path, strict: bool, as_json: bool, debug: bool) -> None:
    """Build the project for a deployment preset (same as `nitro build`)."""
    do_build(preset, root, strict, as_json, debug)


if __name__ == "__main__":
    main()
