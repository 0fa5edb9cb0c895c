"""Shared test helpers: build projects through the real CLI, run bundles in real runtimes."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = REPO / "node_modules" / ".bin"
NODE = os.environ.get("NITRO_TEST_NODE", "node")
NODE_BUNDLE = [NODE, ".output/server/index.mjs"]
FIXTURES = REPO / "fixtures"
BUILD_OUTPUTS = (".output", ".nitro", ".vercel", ".wrangler", "dist")
TASKS_ON = "[experimental]\ntasks = true\n"  # nitro.config.toml lines that enable tasks
TASK = 'export default defineTask({ run() { return { result: "ok" } } });\n'  # a task module answering "ok"

# The shared behaviour matrix's fixtures (bundle, state, serve, task_cli) for the preset modules.
pytest_plugins = ("matrix",)


def cli_env(**extra: str) -> dict[str, str]:
    """Environment for the compiler under test: our sources first, esbuild from our lockfile."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["NITRO_ESBUILD"] = str(BIN / "esbuild")
    env.update(extra)
    return env


def run_cli(*args: str, cwd: Path | str | None = None, **env: str) -> subprocess.CompletedProcess:
    """Run `python -m nitro_build ARGS` and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "nitro_build", *args],
        cwd=cwd or REPO,
        env=cli_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def build_project(project: Path, preset: str = "node_server", *extra: str) -> subprocess.CompletedProcess:
    """Build `project` for `preset`; fail the test with the compiler's stderr if it fails."""
    proc = run_cli("build", "--preset", preset, "--dir", str(project), *extra)
    assert proc.returncode == 0, f"build failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


def write_project(root: Path, files: dict[str, str]) -> Path:
    """Write a small inline project: {relative path: content}."""
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def copy_fixture(name: str, dest: Path) -> Path:
    """fixtures/NAME copied to DEST/NAME, without the outputs of any earlier build."""
    target = dest / name
    shutil.copytree(FIXTURES / name, target, ignore=shutil.ignore_patterns(*BUILD_OUTPUTS))
    return target


def built_fixture(name: str, dest: Path, preset: str = "node_server") -> Path:
    """fixtures/NAME copied to DEST/NAME and built for `preset` through the real CLI."""
    project = copy_fixture(name, dest)
    build_project(project, preset)
    return project


def assert_generated_sources(project: Path, preset: str, snapshot_file: Any) -> dict[str, str]:
    """The build's registry.mjs and entry.mjs, absolute paths replaced, each equal to its snapshot."""
    sources = project / ".nitro" / "build" / preset
    names = ("registry.mjs", "entry.mjs")
    texts = {name: normalize_paths((sources / name).read_text(), project) for name in names}
    for name, text in texts.items():
        assert text == snapshot_file(name=name)
    return texts


def assert_generated_files(project: Path, preset: str, snapshot_file: Any, commands: dict[str, str]) -> None:
    """A server preset's registry.mjs, entry.mjs and .output/nitro.json equal to their snapshots;
    nitro.json names `commands`."""
    assert_generated_sources(project, preset, snapshot_file)
    nitro_json = (project / ".output" / "nitro.json").read_text()
    assert json.loads(nitro_json)["commands"] == commands
    assert normalize_nitro_json(nitro_json, project) == snapshot_file(name="nitro.json")


def preview_argv(project: Path) -> list[str]:
    """The preview command a build wrote into .output/nitro.json, split into arguments."""
    return shlex.split(json.loads((project / ".output" / "nitro.json").read_text())["commands"]["preview"])


def run_task_cli(
    command: list[str], project: Path, *args: str, timeout: float = 30, **env: str
) -> subprocess.CompletedProcess:
    """`COMMAND task ARGS` in `project`: a built bundle's own task CLI, without a server."""
    return subprocess.run(
        [*command, "task", *args],
        cwd=project,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def last_line(text: str) -> str:
    """The last line of a process's output (a command's `error: ...` sentence)."""
    return text.strip().splitlines()[-1]


def last_json_line(text: str) -> Any:
    """The last line of a process's output, parsed as JSON (a bundle's error or a driver's result)."""
    return json.loads(text.strip().splitlines()[-1])


# --- polling and logs that tasks append to -------------------------------------------------


def wait_until(check: Callable[[], Any], timeout: float = 10, what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy and return that; fail naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def log_lines(path: Path) -> list[str]:
    """The non-empty lines appended to `path` so far; [] before the file exists."""
    text = path.read_text() if path.exists() else ""
    return [line.strip() for line in text.splitlines() if line.strip()]


def wait_for_lines(path: Path, count: int, timeout: float = 10) -> list[str]:
    """Wait until `path` has at least `count` lines; return them."""

    def enough() -> list[str] | None:
        found = log_lines(path)
        return found if len(found) >= count else None

    return wait_until(enough, timeout, f"{count} line(s) in {path.name}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A bundle running in a real runtime; always stopped by the fixture that made it."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str], port: int):
        self.port = port
        self.log_path = cwd / f".server-{port}.log"
        self._log = open(self.log_path, "w+")
        self.proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def output(self) -> str:
        return self.log_path.read_text()

    def wait_for(self, text: str, timeout: float = 20) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if text in self.output:
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"process exited ({self.proc.returncode}):\n{self.output}")
            time.sleep(0.05)
        raise AssertionError(f"{text!r} not seen within {timeout}s:\n{self.output}")

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, Any]:
        """Send one request; return (status, parsed JSON or text)."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=data,
            method=method,
            headers={"content-type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(req, timeout=15) as resp:
                return resp.status, _decode(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, _decode(err.read())

    def stop(self, sig: int = signal.SIGKILL) -> int | None:
        """Stop the whole process group (the runtime and anything it started)."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self._log.close()
        return self.proc.returncode


def _decode(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data.decode(errors="replace")


@pytest.fixture
def start_server():
    """start_server(argv, cwd, env=None, ready="Listening") -> Server, stopped after the test."""
    servers: list[Server] = []

    def start(
        argv: list[str],
        cwd: Path,
        env: dict[str, str] | None = None,
        ready: str | None = "Listening",
        port: int | None = None,
    ) -> Server:
        port = port or free_port()
        full_env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", **(env or {})}
        server = Server(argv, cwd, full_env, port)
        servers.append(server)
        if ready:
            server.wait_for(ready)
        return server

    yield start
    for server in servers:
        server.stop()


# --- snapshots: one text file per generated file (syrupy single-file extension) -------------
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode  # noqa: E402


class TextFileSnapshot(SingleFileSnapshotExtension):
    """Each snapshot is its own readable text file under tests/__snapshots__/<test file>/."""

    _write_mode = WriteMode.TEXT
    file_extension = "txt"


def normalize_nitro_json(text: str, *roots: Path) -> str:
    """nitro.json for a snapshot: machine paths, sha256 digests and the content hashes in chunk
    names replaced. They change with every runtime or version change; tests/test_api.py checks the
    digests against the files."""
    text = re.sub(r"\b[0-9a-f]{64}\b", "<sha256>", normalize_paths(text, *roots))
    return re.sub(r"(/chunks/[^/\"]*)-[A-Z0-9]{8}(\.m?js)\b", r"\1-<hash>\2", text)


def bundled_sources(folder: Path) -> str:
    """Every source file the bundles under `folder` were made from, one a line, read from their
    source maps (a minified bundle keeps no `// path` comments)."""
    maps = sorted(folder.rglob("*.map"))
    assert maps, f"no source map under {folder}"
    return "\n".join(src for m in maps for src in json.loads(m.read_text(encoding="utf-8"))["sources"])


def normalize_paths(text: str, *roots: Path) -> str:
    """Replace absolute paths (the repo, a project folder) so snapshots hold no machine paths."""
    for root, label in [(REPO, "<repo>"), *((r, "<project>") for r in roots)]:
        text = text.replace(str(root.resolve()), label)
    return text


@pytest.fixture
def snapshot_file(snapshot):
    """`assert text == snapshot_file(name="registry.mjs")`: one snapshot file per output file."""
    return lambda **kw: snapshot.use_extension(TextFileSnapshot)(**kw)


@pytest.fixture
def redis(tmp_path) -> Iterator[Callable[..., Any]]:
    """redis(*extra_args, tls=(cert, key)) -> a started RedisServer, stopped after the test."""
    from redis_nodes import RedisServer  # here: only the Redis tests need it

    servers: list[RedisServer] = []

    def start(*extra: str, tls: tuple[Path, Path] | None = None) -> RedisServer:
        server = RedisServer(tmp_path, *extra, tls=tls)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()


def without_runs(listing: dict) -> dict:
    """A /_nitro/tasks listing without each task's `runs` (the run history), after checking that
    every task has one, a list: the rest of the listing is Nitro's, compared exactly."""
    tasks = {}
    for name, task in listing["tasks"].items():
        assert isinstance(task.get("runs"), list), f"task {name} has no runs list"
        tasks[name] = {key: value for key, value in task.items() if key != "runs"}
    return {**listing, "tasks": tasks}
