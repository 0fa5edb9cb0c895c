"""An unhandled rejection is logged, never fatal, on every server preset (server.mjs
logUnhandledRejections): a route that drops a rejected promise answers, the log names the
rejection, and the same process answers the next request. Real Node, Bun and Deno, each running
the command its build wrote into nitro.json; under Deno the node:process listener is what keeps
the process alive (Deno ends a process on an unhandled rejection nobody prevents)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import BIN, NODE, build_project, preview_argv, write_project

RUNTIMES = {"node": NODE, "bun": str(BIN / "bun"), "deno": str(BIN / "deno")}
FILES = {
    "routes/lose.ts": (
        "export default defineEventHandler(() => {\n"
        '  Promise.reject(new Error("lost-7f3a"));\n'
        '  return "answered";\n'
        "});\n"
    ),
}


@pytest.mark.parametrize("preset", ["node_server", "node_cluster", "bun", "deno_server"])
def test_an_unhandled_rejection_is_logged_and_the_server_keeps_answering(
    preset: str, tmp_path: Path, start_server
) -> None:
    project = write_project(tmp_path / "p", FILES)
    build_project(project, preset)
    argv = preview_argv(project)
    server = start_server([RUNTIMES[argv[0]], *argv[1:]], project, {"NITRO_PORT": "", "NITRO_HOST": ""})
    assert server.request("GET", "/lose") == (200, "answered")
    server.wait_for("[nitro] unhandled rejection:")
    server.wait_for("lost-7f3a")
    assert server.request("GET", "/lose") == (200, "answered")
    assert server.proc.poll() is None, server.output
