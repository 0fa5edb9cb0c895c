"""The `nitro dev` session: build, serve, rebuild on change, swap servers; and the click command."""

from __future__ import annotations

import os
import re
import signal
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from ..config import load_config
from ..console import error, print_warnings, run_guarded
from ..errors import CompilerError, Warnings
from ..layout import resolve_server_dir
from ..pipeline import build
from ..result import BuildResult
from .hot import Fallback, HotReload
from .info import client_url, info_path, pid_alive, read_info, write_info
from .process import ServerProcess, check_port_free, exit_explained, find_node
from .watch import Watcher, bundled_project_files, unwatched

READY_TIMEOUT = 20.0  # seconds a fresh server gets to print "Listening on"


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGTERM and SIGHUP (terminal closed) behave like Ctrl-C: KeyboardInterrupt, then cleanup."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@dataclass
class DevServer:
    """One `nitro dev` session for the project at `root`."""

    root: Path
    host: str = "127.0.0.1"
    port: int = 3000
    strict: bool = False
    debug: bool = False
    node: str = field(init=False, default="")
    server: ServerProcess | None = field(init=False, default=None)
    server_dir: Path = field(init=False)
    bundled: tuple[list[Path], int] = field(init=False, default=([], 0))
    hot: HotReload | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        # The configured serverDir from the start: otherwise the first build moves the watch from
        # the root to it, and that alone triggers a second build and server restart.
        try:
            config = load_config(self.root)[0]
            configured = resolve_server_dir(self.root, config, "", (self.root / config.scan_dir).resolve())[0]
        except Exception:  # noqa: BLE001 - the first build reports it
            configured = self.root
        self.server_dir = configured if configured.is_dir() else self.root

    def run(self) -> None:
        """Build, serve, and rebuild on changes until Ctrl-C or SIGTERM; then clean up."""
        if not self.root.is_dir():
            raise CompilerError(f"project folder {self.root} does not exist")
        self.node = find_node()
        self.hot = HotReload(self.root, self.node)
        self.claim()
        try:
            with stop_on_signals():
                check_port_free(self.host, self.port)
                click.echo(f"[nitro dev] building {self.root}")
                watcher = Watcher(
                    self.root,
                    lambda: self.server_dir,
                    self.check_server,
                    lambda: self.bundled,
                )
                for reason, files in watcher.changes():
                    if reason:
                        click.echo(f"[nitro dev] {reason}: {'reloading' if files else 'rebuilding'}")
                    if not (files and self.swap_tasks(files)):
                        self.rebuild()
        except KeyboardInterrupt:
            pass
        finally:
            self.close()

    def claim(self) -> None:
        """Refuse to run twice for one project; replace a stale info file."""
        info = read_info(self.root)
        if info and info.get("pid") != os.getpid() and pid_alive(info.get("pid")):
            raise CompilerError(
                f"nitro dev is already running for this project (pid {info['pid']}, "
                f"{info.get('address')}); use it, or stop it before starting another"
            )
        self.write_info()

    def write_info(self) -> None:
        """Record this process, the address and the server answering there (None: not serving)."""
        serving = self.server.proc.pid if self.server and self.server.ready.is_set() else None
        write_info(
            self.root,
            {
                "pid": os.getpid(),
                "address": client_url(self.host, self.port),
                "host": self.host,
                "port": self.port,
                "serverPid": serving,
            },
        )

    def rebuild(self) -> None:
        """Build; on success swap servers, on failure print the error and keep the old one."""
        started, started_ns = time.monotonic(), time.time_ns()
        warnings = Warnings(strict=self.strict)
        try:
            result = build(self.root, "dev", strict=self.strict, warnings=warnings)
        except CompilerError as exc:
            print_warnings(warnings)
            if self.debug:
                traceback.print_exc()
            return self.build_failed(str(exc))
        except Exception:  # a compiler bug: show it, but keep the session alive
            print_warnings(warnings)
            return self.build_failed("internal error while building:\n" + traceback.format_exc())
        print_warnings(warnings)
        self.server_dir = result.project.server_dir
        self.bundled = (bundled_project_files(self.root, self.server_dir), started_ns)
        click.echo(f"[nitro dev] built in {time.monotonic() - started:.2f}s")
        self.restart(result, started_ns)

    def swap_tasks(self, files: frozenset[Path]) -> bool:
        """The fast path (hot.py): bundle each changed task file alone and have the running server
        load it from its next run. False: the change needs the full rebuild (the line says why)."""
        started, started_ns = time.monotonic(), time.time_ns()
        try:
            if self.hot is None or self.server is None or not self.server.ready.is_set():
                raise Fallback("no server is running")
            server = self.server
            for names, file, chunk in self.hot.bundle(
                files, lambda keys: server.ask({"modules": keys}, READY_TIMEOUT)
            ):
                if problem := self.server.reload(names, chunk, READY_TIMEOUT):
                    raise Fallback(f"the server did not swap {file.name} in: {problem}")
        except Fallback as why:
            click.echo(f"[nitro dev] rebuilding everything: {why}")
            return False
        # A module a swapped-in task now bundles is watched like the others the build bundled
        # (saved after this swap started: a change).
        known = set(self.bundled[0])
        if extra := set(unwatched(self.root, self.server_dir, sorted(self.hot.inputs))) - known:
            self.bundled = (sorted(known | extra), started_ns)
        click.echo(f"[nitro dev] reloaded in {time.monotonic() - started:.3f}s (server kept running)")
        return True

    def build_failed(self, message: str) -> None:
        error(message)
        still = "the previous server keeps running" if self.server else "no server is running yet"
        click.echo(f"[nitro dev] build failed; {still}. Fix the error and save to rebuild.", err=True)

    def restart(self, result: BuildResult, started_ns: int) -> None:
        """Stop the old server (freeing the port), then start the new build and wait for it."""
        if self.server:
            self.server.stop()
            self.server = None
        self.server = ServerProcess(self.root, self.node, self.host, self.port)
        if not self.server.wait_ready(READY_TIMEOUT):
            code = self.server.stop()
            self.server = None
            self.write_info()
            error(
                f"the dev server did not start ({exit_explained(code)}); see its output above. "
                "Fix the cause and save a file to retry"
            )
            return
        self.pin_port(self.server.url)
        self.write_info()
        if self.hot is not None:
            self.hot.arm(result, started_ns)
        url = client_url(self.host, self.port)
        click.echo(f"[nitro dev] ready: {url} (tasks: {url}/_nitro/tasks)")
        click.echo(f"[nitro dev] dashboard: {url}/_nitro/ui")

    def check_server(self) -> None:
        """Notice a server that died on its own (e.g. an uncaught exception): say so, stop advertising it."""
        if self.server is None or self.server.proc.poll() is None:
            return
        code = self.server.stop()
        self.server = None
        self.write_info()
        error(
            f"the dev server exited unexpectedly ({exit_explained(code)}); see its output "
            "above. Save a file to rebuild and start it again"
        )

    def pin_port(self, url: str | None) -> None:
        """With --port 0 the first server picks a free port; restarts keep that one."""
        match = re.search(r":(\d+)/?$", url or "")
        if self.port == 0 and match:
            self.port = int(match.group(1))

    def close(self) -> None:
        """Stop the server and remove nitro.dev.json; further Ctrl-C/SIGTERM wait for this."""
        stops = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
        previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in stops}
        try:
            if self.server:
                self.server.stop()
                self.server = None
            if self.hot is not None:
                self.hot.close()
            info = read_info(self.root)
            if info is not None and info.get("pid") == os.getpid():
                info_path(self.root).unlink(missing_ok=True)
            click.echo("[nitro dev] stopped")
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


@click.command("dev")
@click.option(
    "--dir",
    "root",
    default=".",
    type=click.Path(file_okay=False, path_type=Path),
    help="Project folder.",
)
@click.option(
    "--port",
    default=3000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; /_nitro/tasks answers loopback clients only.",
)
@click.option("--strict", is_flag=True, help="Turn warnings into errors.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def dev_command(root: Path, port: int, host: str, strict: bool, debug: bool) -> None:
    """Build for Node into .nitro/dev/, serve it, and rebuild and restart on every change."""
    run_guarded(debug, lambda: DevServer(root.resolve(), host, port, strict, debug).run())
