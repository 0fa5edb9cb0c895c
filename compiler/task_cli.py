"""`nitro task list|run`: talk to the running `nitro dev`, found through `.nitro/dev/nitro.dev.json`.

Spec: "Run tasks with dev server" / "Using CLI" (https://nitro.build/guide/tasks#using-cli).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import click

from .console import run_guarded, warning
from .dev import info_path, pid_alive, read_info
from .errors import CompilerError

DEFAULT_TIMEOUT = 30.0
RETRY_DELAY = 0.2  # between refused connections while nitro dev restarts its server
# The dev server is local: never send its requests through an HTTP proxy from the environment.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def find_dev_server(root: Path) -> str:
    """The address of the dev server running for `root`, or a CompilerError saying what to do."""
    rel = info_path(root).relative_to(root).as_posix()
    if not info_path(root).is_file():
        raise CompilerError(
            f"no dev server is running for {root} ({rel} not found); start `nitro dev` "
            "in the project (in another terminal), then run this command again"
        )
    info = read_info(root)
    if info is None or not isinstance(info.get("address"), str):
        raise CompilerError(
            f"{rel} is not a valid dev server info file; stop nitro dev, delete it and start nitro dev again"
        )
    if not pid_alive(info.get("pid")):
        raise CompilerError(
            f"{rel} is stale: the nitro dev process it names (pid {info.get('pid')}) is not running; "
            "start `nitro dev` again (it replaces the file)"
        )
    if not pid_alive(info.get("serverPid")):
        raise CompilerError(
            f"nitro dev (pid {info['pid']}) is running but not serving: it is still building, or its "
            "last build failed or the server exited (see its output); try again once it prints `ready`"
        )
    return info["address"]


def request(address: str, path: str, timeout: float, body: Any = None) -> tuple[int, Any]:
    """One request to the dev server: (status, JSON or text). Refused connections retry until the deadline."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        address + path,
        data=data,
        method="POST" if data is not None else "GET",
        headers={"content-type": "application/json", "accept": "application/json"},
    )
    deadline = time.monotonic() + timeout if timeout else None
    while True:
        left = max(deadline - time.monotonic(), 0.01) if deadline else None
        try:
            with OPENER.open(req, timeout=left) as resp:
                return resp.status, _decode(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, _decode(err.read())
        except urllib.error.URLError as err:
            if isinstance(err.reason, TimeoutError):
                raise _no_answer(address, timeout) from None
            refused = isinstance(err.reason, ConnectionRefusedError)
            if refused and (deadline is None or time.monotonic() + RETRY_DELAY < deadline):
                time.sleep(RETRY_DELAY)  # the server is being restarted after a change
                continue
            raise CompilerError(
                f"cannot reach the dev server at {address}: {err.reason}; check the nitro dev terminal"
            ) from None
        except TimeoutError:
            raise _no_answer(address, timeout) from None


def _no_answer(address: str, timeout: float) -> CompilerError:
    return CompilerError(
        f"the dev server at {address} did not answer within {timeout:g}s; check the nitro dev "
        "terminal (a long task may still be running: pass --timeout to wait longer, 0 for no limit)"
    )


def _decode(data: bytes) -> Any:
    if not data:
        return None  # 204: the task returned nothing
    try:
        return json.loads(data)
    except ValueError:
        return data.decode(errors="replace")


def _message(body: Any) -> str:
    if isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    return str(body)


JSON_KINDS = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def parse_payload(text: str | None) -> dict[str, Any] | None:
    """The --payload object; anything else warns and gives None (the task runs without one)."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        reason = f"not valid JSON ({exc.msg})"
    else:
        if isinstance(value, dict):
            return value
        reason = f"{JSON_KINDS.get(type(value), 'a JSON value')}, not a JSON object"
    warning(f"--payload is {reason}; running the task without a payload")
    return None


def task_table(data: dict[str, Any]) -> list[str]:
    """Lines of the task table: name, description, the cron expressions that run it."""
    tasks = data.get("tasks") or {}
    schedules = data.get("scheduledTasks") or []
    if not tasks:
        return ["No tasks. Add task files under tasks/ and set `experimental.tasks = true` in the config."]
    rows = [("TASK", "DESCRIPTION", "SCHEDULE")]
    for name in sorted(tasks):
        crons = [s["cron"] for s in schedules if name in s.get("tasks", [])]
        rows.append((name, (tasks[name] or {}).get("description") or "-", ", ".join(crons) or "-"))
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    return [f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]}".rstrip() for r in rows]


def common_options(func: Any) -> Any:
    for option in reversed(
        [
            click.option(
                "--dir",
                "root",
                default=".",
                type=click.Path(file_okay=False, path_type=Path),
                help="Project folder (where nitro dev runs).",
            ),
            click.option(
                "--timeout",
                default=DEFAULT_TIMEOUT,
                show_default=True,
                type=click.FloatRange(0),
                help="Seconds to wait for the dev server (0: no limit).",
            ),
            click.option("--debug", is_flag=True, help="Show tracebacks."),
        ]
    ):
        func = option(func)
    return func


@click.group("task")
def task_group() -> None:
    """List and run the tasks of the running `nitro dev` server."""


@task_group.command("list")
@common_options
@click.option("--json", "as_json", is_flag=True, help="Print the server's JSON.")
def list_command(root: Path, timeout: float, debug: bool, as_json: bool) -> None:
    """List the tasks, their descriptions and schedules."""

    def action() -> None:
        address = find_dev_server(root.resolve())
        status, body = request(address, "/_nitro/tasks", timeout)
        if status != 200 or not isinstance(body, dict):
            raise CompilerError(f"the dev server at {address} answered {status}: {_message(body)}")
        click.echo(json.dumps(body, indent=2) if as_json else "\n".join(task_table(body)))

    run_guarded(debug, action, as_json)


@task_group.command("run")
@click.argument("name")
@click.option("--payload", help="JSON object passed to the task as its payload.")
@common_options
def run_command(name: str, payload: str | None, root: Path, timeout: float, debug: bool) -> None:
    """Run task NAME on the dev server and print its result as JSON."""

    def action() -> None:
        address = find_dev_server(root.resolve())
        parsed = parse_payload(payload)
        path = "/_nitro/tasks/" + urllib.parse.quote(name, safe=":")
        status, body = request(address, path, timeout, {"payload": parsed} if parsed is not None else {})
        if status == 404:
            raise CompilerError(
                f'task "{name}" does not exist on the dev server; `nitro task list` shows the tasks'
            )
        if status == 403:
            raise CompilerError(f"the dev server at {address} refused the request (403): {_message(body)}")
        if not 200 <= status < 300:
            raise CompilerError(f'task "{name}" failed ({status}): {_message(body)}')
        click.echo(json.dumps(body, indent=2, ensure_ascii=False))

    run_guarded(debug, action)
