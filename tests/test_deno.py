"""The deno_server preset under real Deno (node_modules/.bin/deno from the lockfile), started with
the exact permissions nitro.json documents: the shared behaviour matrix, `node:` and `npm:`
imports in user code, the permission sandbox, the `task` CLI and the generated files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    BIN,
    assert_generated_files,
    build_project,
    built_fixture,
    last_line,
    preview_argv,
    write_project,
)
from matrix import (  # noqa: F401 (shared tests, run here)
    AUTH,
    TOKEN,
    Runtime,
    call,
    test_matrix,
    test_nitro_port_and_host_win,
    test_waituntil_work_finishes_before_exit,
)

DENO = str(BIN / "deno")


def documented_command(project: Path, *extra: str) -> list[str]:
    """nitro.json's preview command with our deno binary, plus `extra` flags before the script."""
    argv = preview_argv(project)
    assert argv[:2] == ["deno", "run"] and argv[-1] == ".output/server/index.mjs", argv
    return [DENO, *argv[1:-1], *extra, argv[-1]]


def state_flags(state: Path) -> list[str]:
    """What the fixture's tasks themselves need (they keep their traces in $STATE_DIR)."""
    return ["--allow-env=STATE_DIR", f"--allow-read={state}", f"--allow-write={state}"]


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    return Runtime("deno_server", lambda project, state: documented_command(project, *state_flags(state)))


def test_generated_files(tmp_path: Path, snapshot_file: Any) -> None:
    project = built_fixture("basic", tmp_path, "deno_server")
    assert_generated_files(
        project,
        "deno_server",
        snapshot_file,
        {
            "preview": (
                "deno run --unstable-lazy-dynamic-imports --allow-net --allow-env=HOST,NITRO_HOST,NITRO_PORT,"
                "NITRO_SHUTDOWN_TIMEOUT,NITRO_TASKS_TOKEN,PORT --allow-read=.output/server/chunks .output/server/index.mjs"
            )
        },
    )


def test_scheduler_lock_adds_its_url_variable_to_the_permissions(tmp_path: Path) -> None:
    project = write_project(
        tmp_path,
        {
            "nitro.config.toml": '[experimental]\ntasks = true\n[scheduledTasks]\n"* * * * *" = "t"\n'
            '[scheduler.lock]\ndriver = "redis"\n',
            "tasks/t.ts": "export default defineTask({ run: () => ({ result: 1 }) });\n",
        },
    )
    build_project(project, "deno_server")
    preview = json.loads((project / ".output" / "nitro.json").read_text())["commands"]["preview"]
    assert ",NITRO_SCHEDULER_REDIS_URL," in preview


# ---------------------------------------------------------------- node: and npm: imports

GREETER_PKG = {"name": "nitro-local-greeter", "version": "1.0.0", "type": "module", "exports": "./index.js"}
IMPORTS_PROJECT = {
    "nitro.config.toml": "[experimental]\ntasks = true\n",
    # With a package.json, Deno resolves `npm:` specifiers from the project's node_modules
    # (https://docs.deno.com/runtime/fundamentals/node/#node_modules): no registry access needed.
    "package.json": json.dumps(
        {"name": "p", "private": True, "dependencies": {"nitro-local-greeter": "1.0.0"}}
    ),
    "node_modules/nitro-local-greeter/package.json": json.dumps(GREETER_PKG),
    "node_modules/nitro-local-greeter/index.js": "export const greet = (who) => `hello ${who} from npm`;\n",
    "tasks/hash.ts": 'import { createHash } from "node:crypto";\n'
    "export default defineTask({ run: ({ payload }) => ({ result: "
    'createHash("sha256").update(String(payload.text)).digest("hex") }) });\n',
    "tasks/greet.ts": 'import { greet } from "npm:nitro-local-greeter";\n'
    "export default defineTask({ run: ({ payload }) => "
    "({ result: greet(payload.who) }) });\n",
    "tasks/env.ts": "export default defineTask({ run: () => ({ result: process.env.NOT_ALLOWED_HERE }) });\n",
}


def test_node_and_npm_imports_work_offline_and_permissions_stay_narrow(
    start_server: Any, tmp_path: Path
) -> None:
    project = write_project(tmp_path / "imports", IMPORTS_PROJECT)
    build_project(project, "deno_server")
    # Left as an import for Deno to resolve, not bundled by esbuild.
    chunks = "".join(p.read_text() for p in (project / ".output" / "server").rglob("*.mjs"))
    assert '"npm:nitro-local-greeter"' in chunks
    env = {
        "NITRO_TASKS_TOKEN": TOKEN,
        "DENO_DIR": str(tmp_path / "deno-cache"),  # nothing cached from earlier runs
        "NPM_CONFIG_REGISTRY": "http://127.0.0.1:9/",  # a registry fetch would fail
        "NOT_ALLOWED_HERE": "secret",
    }
    server = start_server(documented_command(project), project, env)
    hashed = call(server, "POST", "/_nitro/tasks/hash", body={"payload": {"text": "abc"}}, headers=AUTH)
    assert hashed.json == {"result": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"}
    greeted = call(server, "POST", "/_nitro/tasks/greet", body={"payload": {"who": "deno"}}, headers=AUTH)
    assert greeted.json == {"result": "hello deno from npm"}
    # A variable outside --allow-env is refused by Deno's sandbox: the command is not `-A`.
    refused = call(server, "POST", "/_nitro/tasks/env", headers=AUTH)
    assert refused.status == 500
    assert "NOT_ALLOWED_HERE" in refused.json["message"] and "secret" not in refused.body.decode()


# ---------------------------------------------------------------- Deno specifics


def test_task_cli_runs_one_task_under_deno(task_cli: Callable[..., Any]) -> None:
    proc = task_cli("run", "echo:payload", "--payload", '{"n": 1}', timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {
        "result": {"name": "echo:payload", "payload": {"n": 1}, "waitUntil": "function"}
    }
    failed = task_cli("run", "no:handler", timeout=60)
    assert failed.returncode == 1
    assert last_line(failed.stderr) == 'error: Task "no:handler" has no handler implementation (501)'
