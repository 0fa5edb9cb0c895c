"""The dev server child: `node .nitro/dev/server/index.mjs` in its own process group."""

from __future__ import annotations

import itertools
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from ..errors import CompilerError
from ..presets.dev import DEV_DIR

STOP_TIMEOUT = 5.0  # seconds between SIGTERM and SIGKILL
CHILD_SHUTDOWN_MS = "3000"  # the server's own bound for running tasks (node.mjs), below STOP_TIMEOUT
LISTENING = re.compile(r"^Listening on (\S+)")
PR_SET_PDEATHSIG = 1


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


# Node's exit code for a module whose top-level await never settled: the event loop emptied with
# the entry still loading (https://nodejs.org/api/process.html#exit-codes). Node prints nothing.
UNSETTLED_TOP_LEVEL_AWAIT = 13


def exit_explained(code: int | None) -> str:
    """`exit code N`, with what to look at when Node says nothing itself (code 13)."""
    if code != UNSETTLED_TOP_LEVEL_AWAIT:
        return f"exit code {code}"
    return (
        f"exit code {code}: Node's unsettled top-level await, a module's top-level `await` never "
        "finished and Node printed nothing; look at the modules that await at their top level (in "
        "the server's folders, the modules they import and npm packages): one waits on a promise "
        "that never settles, or on a module that imports it back (in nitro dev's one-file bundle, "
        "a module that uses an auto-imported utils/ helper imports every helper)"
    )


def death_signal() -> Callable[[], None] | None:
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
        # The dev bundle is one file, compiled before its banner could enable source maps: the
        # flag makes a failing task's stack name its .ts file and line in dev too.
        env["NODE_OPTIONS"] = f"{env.get('NODE_OPTIONS', '')} --enable-source-maps".strip()
        # The reload channel (runtime/dev.mjs): a socket pair, so only this process can use it.
        self.control, theirs = socket.socketpair()
        env["NITRO_DEV_CONTROL_FD"] = str(theirs.fileno())
        self.replies = self.control.makefile("r", encoding="utf-8")
        self.ids = itertools.count(1)
        self.url: str | None = None
        self.ready = threading.Event()
        self.proc = subprocess.Popen(
            [node, f"{DEV_DIR}/server/index.mjs"],
            cwd=root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,
            preexec_fn=death_signal(),
            pass_fds=(theirs.fileno(),),
        )
        theirs.close()
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

    def reload(self, tasks: list[str], file: Path, timeout: float) -> str | None:
        """Make `tasks` load from the chunk `file` from their next run; None once the server has
        confirmed, else what went wrong (the caller then restarts the server)."""
        answer = self.ask({"tasks": tasks, "file": str(file)}, timeout)
        return answer if isinstance(answer, str) else None

    def ask(self, request: dict[str, Any], timeout: float) -> dict[str, Any] | str:
        """One request on the reload channel (runtime/dev.mjs): its answer, or what went wrong."""
        request = {**request, "id": next(self.ids)}
        try:
            self.control.settimeout(timeout)
            self.control.sendall((json.dumps(request) + "\n").encode())
            while True:
                line = self.replies.readline()
                if not line:
                    return "the server closed its reload channel"
                answer = json.loads(line)
                if answer.get("id") == request["id"]:
                    return dict(answer) if answer.get("ok") else str(answer.get("error"))
        except (OSError, ValueError) as exc:
            return f"no answer on the reload channel ({exc})"

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
        self.replies.close()
        self.control.close()
        return self.proc.returncode

    def _signal(self, sig: int) -> None:
        try:
            os.killpg(self.proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass
