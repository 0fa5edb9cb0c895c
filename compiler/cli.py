"""The `nitro` command (build, dev, task, check, schema) and `nitro-build` (= `nitro build`)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ._version import __version__
from .console import echo, error, print_warnings, run_guarded, styled
from .errors import Warnings
from .lazy_commands import LazyGroup
from .presets import ALIASES, PRESETS

if TYPE_CHECKING:
    from .pipeline import BuildResult

# Imported when run (compiler/lazy_commands.py): `module:command`, and its line in --help.
CHECK = (
    ".check:check_command",
    "Validate the config, the scan and every cron (no esbuild, nothing written); exit 0 or 1.",
)
DEV = (
    ".dev.loop:dev_command",
    "Build for Node into .nitro/dev/, serve it, and rebuild and restart on every change.",
)
TASK = (".task_cli:task_group", "List and run the tasks of the running `nitro dev` server.")


# The text summary lists this many schedules (--json lists them all), then how many more there are.
SUMMARY_SCHEDULES = 50


def summary(result: BuildResult, schedules: int | None = None) -> dict[str, Any]:
    """The build summary as data (printed as text, or as JSON with --json); `schedules`: list only
    that many, and count them all in "scheduleCount"."""
    infos = result.schedules if schedules is None else result.first_schedules(schedules)
    data = {
        "preset": result.preset,
        "output": result.output_dir,
        "dryRun": result.dry_run,
        "outputs": list(result.outputs),
        "artifacts": list(result.artifacts),
        # Set when the server files were found in server/ (Nitro 2 / Nuxt layout), not the root.
        "layout": result.project.layout_note if result.project else None,
        "tasks": [
            {"name": t.name, "description": t.description, "source": t.source, "handler": t.handler}
            for t in result.tasks
        ],
        "schedules": [
            {
                "cron": s.cron,
                "platformCron": s.platform_cron,
                "tasks": list(s.tasks),
                "next": s.next[0].isoformat(timespec="seconds") if s.next else None,
                "timeZone": s.zone,
            }
            for s in infos
        ],
        "scheduleNote": result.preset_impl.schedule_note if infos else "",
        "commands": result.commands,
        "warnings": list(result.warnings),
        # The CI facts nitro.json holds (files: empty in a dry run, which bundles nothing).
        "inputHash": result.input_hash,
        "files": result.files,
    }
    if schedules is not None:
        data["scheduleCount"] = len(result.project.schedules) if result.project else len(infos)
    return data


def pasteable(command: str, root: Path) -> str:
    """`command` (run from the project root) as it works when pasted where nitro-build was run."""
    rel = os.path.relpath(root, Path.cwd())
    if rel == ".":
        return command
    import shlex

    return f"cd {shlex.quote(Path(rel).as_posix())} && {command}"


def print_summary(data: dict[str, Any], root: Path) -> None:
    """The summary as text; one write for all its lines (one echo per task line was measurable at
    10,000 tasks, issue 14)."""
    lines: list[str] = []
    if data["dryRun"]:
        lines.append(f"Dry run of preset {data['preset']}: nothing written, nothing bundled")
        for path in data["artifacts"]:
            lines.append(f"  would write {path}")
    else:
        done = styled(f"Built preset {data['preset']}", sys.stdout, fg="green", bold=True)
        echo(f"{done} into {data['output']}/")
    if data["layout"]:
        lines.append(f"Layout: {data['layout']}")
    lines.append(f"Tasks ({len(data['tasks'])}):")
    for t in data["tasks"]:
        where = t["handler"] or "no handler (answers 501)"
        lines.append(f"  {t['name']:<24} {t['description'] or '-':<36} {where} [{t['source']}]")
    total = data.get("scheduleCount", len(data["schedules"]))
    lines.append(f"Schedules ({total}):")
    for s in data["schedules"]:
        zone = "the server's time zone" if s["timeZone"] == "server" else s["timeZone"]
        lines.append(f"  {s['cron']:<20} {', '.join(s['tasks']):<36} next: {s['next']} ({zone})")
        if s["platformCron"] and s["platformCron"] != s["cron"]:
            lines.append(f"  {'':<20} {data['preset']} runs it as: {s['platformCron']}")
    if total > len(data["schedules"]):
        lines.append(f"  ... and {total - len(data['schedules'])} more (--json lists them all)")
    if data["scheduleNote"]:
        lines.append(f"  Note: {data['scheduleNote']}")
    for name, command in data["commands"].items():
        lines.append(f"{name.capitalize()}: {pasteable(command, root)}")
    click.echo("\n".join(lines))


class PresetChoice(click.Choice):
    """`--preset`: lists the presets in --help and completes them in the shell, but lets an
    unknown name through to the build, whose error has a did-you-mean and honours --json."""

    def __init__(self) -> None:
        super().__init__(PRESETS)

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        return value

    def shell_complete(self, ctx: Any, param: Any, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        names = [*PRESETS, *ALIASES, *(p.replace("_", "-") for p in PRESETS if "_" in p)]
        return [CompletionItem(n) for n in names if n.startswith(incomplete)]


def build_options(func: Any) -> Any:
    """The options `nitro build` and `nitro-build` share."""
    for option in reversed(
        [
            click.option(
                "--preset",
                type=PresetChoice(),
                help="Deployment preset (default: $NITRO_PRESET, else the config's, else node_server).",
            ),
            click.option(
                "--dir",
                "root",
                default=".",
                type=click.Path(file_okay=False, path_type=Path),
                help="Project folder.",
            ),
            click.option("--strict", is_flag=True, help="Turn warnings into errors."),
            click.option(
                "--json",
                "as_json",
                is_flag=True,
                help='Print the summary as JSON (on failure: {"error": {"type", "message"}}).',
            ),
            click.option(
                "--dry-run",
                is_flag=True,
                help="Everything except bundling and the swap: no esbuild needed, nothing written.",
            ),
            click.option(
                "--print",
                "print_path",
                metavar="PATH",
                help="Print one generated file (e.g. .vercel/output/config.json) instead of the summary.",
            ),
            click.option("--debug", is_flag=True, help="Show tracebacks."),
        ]
    ):
        func = option(func)
    return func


def do_build(
    preset: str | None,
    root: Path,
    strict: bool,
    as_json: bool,
    debug: bool,
    dry_run: bool = False,
    print_path: str | None = None,
) -> None:
    """Build (or plan, with --dry-run), print warnings and the summary or one artifact."""
    from .pipeline import build, collector_paused

    warnings = Warnings(strict=strict)
    try:
        result = run_guarded(
            debug,
            lambda: build(root, preset, strict=strict, dry_run=dry_run, warnings=warnings),
            as_json,
            warnings,
        )
    finally:
        print_warnings(warnings)
    if print_path is not None:
        print_artifact(result, print_path)
        return
    with collector_paused():  # the summary's next firings
        data = summary(result, None if as_json else SUMMARY_SCHEDULES)
    if as_json:
        click.echo(json.dumps(data, indent=2))
    else:
        print_summary(data, result.root)


def print_artifact(result: BuildResult, path: str) -> None:
    """--print PATH: the artifact's exact text on stdout, or an error listing the artifacts."""
    try:
        text = result.artifacts[path]
    except KeyError as exc:
        error(f"--print: {exc.args[0]}")
        sys.exit(1)
    click.echo(text, nl=False)


@click.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of nitro.config.json / nitro.config.toml."""
    from .schema import schema_text

    click.echo(schema_text(), nl=False)


@click.group(cls=LazyGroup, lazy={"check": CHECK, "dev": DEV, "task": TASK})
@click.version_option(version=__version__, prog_name="nitro-build")
def main() -> None:
    """nitro-build: compile tasks, schedules and routes into deployable bundles."""


@main.command("build")
@build_options
def build_command(**options: Any) -> None:
    """Build the project for a deployment preset."""
    do_build(**options)  # build_options' parameters are do_build's, by name


main.add_command(schema_command)


@click.group("nitro-build", cls=LazyGroup, lazy={"check": CHECK}, invoke_without_command=True)
@click.version_option(version=__version__, prog_name="nitro-build")
@build_options
@click.pass_context
def build_main(ctx: click.Context, **options: Any) -> None:
    """Build the project for a deployment preset (same as `nitro build`).

    `nitro-build check` validates instead (see `nitro-build check --help`); `nitro-build schema`
    prints the config's JSON Schema."""
    if ctx.invoked_subcommand is None:
        do_build(**options)


build_main.add_command(schema_command)


if __name__ == "__main__":
    main()
