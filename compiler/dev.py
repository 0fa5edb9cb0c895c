"""`nitro dev`: build the dev preset, run it with Node, rebuild and restart on every change.

The loop: build -> start `node .nitro/dev/server/index.mjs` -> wait for a change to the config,
tasks/, api/ or routes/ -> rebuild -> only when that succeeded, stop the old server (it must free
the port first) and start the new one. A failed build prints the error and the old server keeps
answering. `.nitro/dev/nitro.dev.json` names this process and the address while it runs.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click

from .presets.dev import DEV_DIR

from .build import build
from .config import CONFIG_NAMES, load_config
from .console import print_warnings
from .errors import CompilerError, Warnings

INFO_FILE = "nitro.dev.json"
WATCHED_DIRS = ("tasks", "api", "routes")
READY_TIMEOUT = 20.0  # seconds a fresh server gets to print "Listening on"
STOP_TIMEOUT = 5.0  # seconds between SIGTERM and SIGKILL
CHILD_SHUTDOWN_MS = "3000"  # the server's own bound for running tasks (node.mjs), below STOP_TIMEOUT
TICK_MS = 300  # how often the config files are checked between file-system events
LISTENING = re.compile(r"^Listening on (\S+)")
PR_SET_PDEATHSIG = 1


# ---------------------------------------------------------------- nitro.dev.json


def info_path(root: Path) -> Path:
    """Where `nitro dev` records its pid and address for `nitro task`."""
    return root / DEV_DIR / INFO_FILE


def read_info(root: Path) -> dict[str, Any] | None:
    """The recorded info, or None when the file is missing or unreadable."""
    try:
        data = json.loads(info_path(root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_info(root: Path, data: dict[str, Any]) -> None:
    """Write atomically, so `nitro task` never reads half a file."""
    path = info_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{INFO_FILE}.{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def pid_alive(pid: Any) -> bool:
    """True when process `pid` exists and is not a zombie."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)  # signal 0: existence check, nothing is sent
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no procfs (macOS): trust kill()
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def client_url(host: str, port: int) -> str:
    """Where local clients reach a server on host:port; wildcard addresses mean loopback."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host in ("::", "[::]"):
        host = "::1"
    host = host.strip("[]")
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


# ---------------------------------------------------------------- the Node server


def find_node() -> str:
    """NITRO_NODE, else `node` on PATH."""
    found = os.environ.get("NITRO_NODE") or shutil.which("node")
    if not found:
        raise CompilerError(
            "node was not found on PATH: nitro dev runs the dev build with Node.js 20 or newer; "
            "install it or set NITRO_NODE to the node binary"
        )
    return found


def check_port_free(host: str, port: int) -> None:
    """Fail early, with a clear message, when another process already listens on host:port."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as sock:
        # Same option Node sets on listening sockets, so TIME_WAIT leftovers do not count as busy.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host.strip("[]"), port))
        except OSError as exc:
            raise CompilerError(
                f"cannot listen on {host}:{port} ({exc.strerror or exc}); stop the process "
                "using that port or pass another --port / --host"
            ) from None


def _death_signal() -> Callable[[], None] | None:
    """Linux: a preexec hook so the server gets SIGTERM if `nitro dev` dies without cleaning up."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved here, not after fork
    except (OSError, AttributeError):
        return None
    return lambda: prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))


class ServerProcess:
    """`node .nitro/dev/server/index.mjs` in its own process group; its stdout is forwarded."""

    def __init__(self, root: Path, node: str, host: str, port: int):
        env = {**os.environ, "PORT": str(port), "NITRO_PORT": str(port), "HOST": host, "NITRO_HOST": host}
        env.setdefault("NITRO_SHUTDOWN_TIMEOUT", CHILD_SHUTDOWN_MS)
        self.url: str | None = None
        self.ready = threading.Event()
        self.proc = subprocess.Popen(
            [node, f"{DEV_DIR}/server/index.mjs"], cwd=root, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, text=True, encoding="utf-8", errors="replace",
            start_new_session=True, preexec_fn=_death_signal(),
        )
        self.reader = threading.Thread(target=self._forward, daemon=True)
        self.reader.start()

    def _forward(self) -> None:
        """Echo the server's output; its `Listening on URL` line means it is ready."""
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            match = LISTENING.match(line)
            if match and not self.ready.is_set():
                self.url = match.group(1)
                self.ready.set()
            sys.stdout.write(line)
            sys.stdout.flush()

    def wait_ready(self, timeout: float) -> bool:
        """True once listening; False when it exited or stayed silent for `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.ready.wait(0.05):
                return True
            if self.proc.poll() is not None:
                return self.ready.is_set()
        return False

    def stop(self) -> int | None:
        """SIGTERM (node.mjs drains running tasks), SIGKILL after STOP_TIMEOUT; returns the exit code."""
        if self.proc.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                click.echo(f"[nitro dev] server did not stop within {STOP_TIMEOUT:g}s, killing it", err=True)
                self._signal(signal.SIGKILL)
                self.proc.wait()
        self._signal(signal.SIGKILL)  # anything the server started in its group
        self.reader.join(timeout=2)
        return self.proc.returncode

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


# ---------------------------------------------------------------- watching


def _relative(root: Path, path: str | Path) -> str:
    return Path(path).relative_to(root).as_posix() if Path(path).is_relative_to(root) else str(path)


def bundled_project_files(root: Path, server_dir: Path) -> list[Path]:
    """Project files in the last dev build (esbuild's meta.json) that no folder watch covers."""
    meta = root / ".nitro" / "build" / "dev" / "meta.json"
    try:
        inputs = json.loads(meta.read_text())["inputs"]
    except (OSError, ValueError, KeyError):
        return []
    watched = [server_dir / name for name in WATCHED_DIRS] + [root / ".nitro"]
    found = []
    for rel in inputs:
        path = (root / rel).resolve()
        if not path.is_relative_to(root) or "node_modules" in path.parts:
            continue  # our runtime templates, installed packages
        if not any(path.is_relative_to(folder) for folder in watched):
            found.append(path)
    return sorted(found)


def _describe(root: Path, changes: set[tuple[Any, str]]) -> str:
    """`tasks/a.ts, api/b.ts changed` for a batch of watchfiles changes."""
    names = sorted({_relative(root, path) for _, path in changes})
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    return f"{', '.join(names[:3])}{more} changed"


@dataclass
class Watcher:
    """Yields a reason to rebuild for each batch of changes to the config, tasks/, api/, routes/,
    or any other project file the last build bundled (a helper module, a config task's handler).

    The folders are watched recursively with watchfiles; the config files and the other bundled
    files are checked by stat on every tick, so the project root (with node_modules and .nitro) is
    never watched recursively.
    """

    root: Path
    server_dir: Callable[[], Path]
    on_tick: Callable[[], None] = lambda: None
    # The other bundled files, and when the build that listed them started (time.time_ns()).
    bundled: Callable[[], tuple[list[Path], int]] = lambda: ([], 0)

    def _dirs(self) -> tuple[tuple[Path, int], ...]:
        """The watched folders that exist, with their inode (a re-created folder needs a new watch)."""
        found = []
        for path in (self.server_dir() / name for name in WATCHED_DIRS):
            try:
                if path.is_dir():
                    found.append((path, path.stat().st_ino))
            except OSError:
                pass  # removed between the two calls: it is simply not watched
        return tuple(found)

    def _config(self) -> dict[Path, Any]:
        """Stat of each config file and each other bundled file (None: absent)."""
        states: dict[Path, Any] = {}
        for path in [*(self.root / name for name in CONFIG_NAMES), *self.bundled()[0]]:
            try:
                st = path.stat()
                states[path] = (st.st_mtime_ns, st.st_size, st.st_ino)
            except OSError:
                states[path] = None
        return states

    def _changed_files(self, before: dict[Path, Any], now: dict[Path, Any]) -> list[str]:
        """Files whose stat differs from the last tick. A file new to the list (the last build found
        it) counts as changed when it was modified after that build started: saved meanwhile."""
        since = self.bundled()[1]
        return [
            _relative(self.root, p)
            for p, state in now.items()
            if (before[p] != state if p in before else state is not None and state[0] > since)
        ]

    def changes(self) -> Iterator[str]:
        """First "" (build now: the watch is already running, so nothing saved later is missed), then
        one reason per batch of changes. The watch is renewed when a watched folder appears or goes."""
        from watchfiles import DefaultFilter, watch

        config, pending, first = self._config(), "", True
        while True:
            dirs = self._dirs()
            batches = watch(
                *(path for path, _ in dirs), watch_filter=DefaultFilter(),
                yield_on_timeout=True, rust_timeout=TICK_MS, raise_interrupt=True,
            )
            for batch in batches:
                self.on_tick()
                reasons = [pending] if pending else []
                pending = ""
                if batch:
                    reasons.append(_describe(self.root, batch))
                now = self._config()
                if changed := self._changed_files(config, now):
                    reasons.append(f"{', '.join(changed[:3])} changed")
                config = now
                if self._dirs() != dirs:
                    # Rebuild once the new watch is running, so no change made meanwhile is missed.
                    pending = "; ".join([*reasons, "watched folders changed"])
                    break
                if first or reasons:
                    yield "" if first else "; ".join(reasons)
                    first = False
            batches.close()


# ---------------------------------------------------------------- the loop


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

    def __post_init__(self) -> None:
        # The configured serverDir from the start: otherwise the first build moves the watch from
        # the root to it, and that alone triggers a second build and server restart.
        try:
            configured = (self.root / load_config(self.root)[0].server_dir).resolve()
        except Exception:  # noqa: BLE001 - the first build reports it
            configured = self.root
        self.server_dir = configured if configured.is_dir() else self.root

    def run(self) -> None:
        """Build, serve, and rebuild on changes until Ctrl-C or SIGTERM; then clean up."""
        if not self.root.is_dir():
            raise CompilerError(f"project folder {self.root} does not exist")
        self.node = find_node()
        self.claim()
        try:
            with stop_on_signals():
                check_port_free(self.host, self.port)
                click.echo(f"[nitro dev] building {self.root}")
                watcher = Watcher(
                    self.root, lambda: self.server_dir, self.check_server,
                    lambda: self.bundled,
                )
                for reason in watcher.changes():
                    if reason:
                        click.echo(f"[nitro dev] {reason}: rebuilding")
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
        write_info(self.root, {
            "pid": os.getpid(),
            "address": client_url(self.host, self.port),
            "host": self.host,
            "port": self.port,
            "serverPid": serving,
        })

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
        self.restart()

    def build_failed(self, message: str) -> None:
        click.echo(f"error: {message}", err=True)
        still = "the previous server keeps running" if self.server else "no server is running yet"
        click.echo(f"[nitro dev] build failed; {still}. Fix the error and save to rebuild.", err=True)

    def restart(self) -> None:
        """Stop the old server (freeing the port), then start the new build and wait for it."""
        if self.server:
            self.server.stop()
            self.server = None
        self.server = ServerProcess(self.root, self.node, self.host, self.port)
        if not self.server.wait_ready(READY_TIMEOUT):
            code = self.server.stop()
            self.server = None
            self.write_info()
            click.echo(
                f"error: the dev server did not start (exit code {code}); see its output above. "
                "Fix the cause and save a file to retry", err=True,
            )
            return
        self.pin_port(self.server.url)
        self.write_info()
        url = client_url(self.host, self.port)
        click.echo(f"[nitro dev] ready: {url} (tasks: {url}/_nitro/tasks)")

    def check_server(self) -> None:
        """Notice a server that died on its own (e.g. an uncaught exception): say so, stop advertising it."""
        if self.server is None or self.server.proc.poll() is None:
            return
        code = self.server.stop()
        self.server = None
        self.write_info()
        click.echo(f"error: the dev server exited unexpectedly (exit code {code}); see its output "
                   "above. Save a file to rebuild and start it again", err=True)

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
            info = read_info(self.root)
            if info is not None and info.get("pid") == os.getpid():
                info_path(self.root).unlink(missing_ok=True)
            click.echo("[nitro dev] stopped")
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


@click.command("dev")
@click.option(
    "--dir", "root", default=".", type=click.Path(file_okay=False, path_type=Path), help="Project folder.",
)
@click.option("--port", default=3000, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0: any free port).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; /_nitro/tasks answers loopback clients only.")
@click.option("--strict", is_flag=True, help="Turn warnings into errors.")
@click.option("--debug", is_flag=True, help="Show tracebacks.")
def dev_command(root: Path, port: int, host: str, strict: bool, debug: bool) -> None:
    """Build for Node into .nitro/dev/, serve it, and rebuild and restart on every change."""
    try:
        DevServer(root.resolve(), host, port, strict, debug).run()
    except CompilerError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
