"""Real Redis topologies on free loopback ports, for the scheduler lock's tests.

One redis-server (restartable, no persistence), a Sentinel set-up (master, replica, two
redis-sentinel processes), a Redis Cluster (three masters, three replicas, created with
`redis-cli --cluster create`) and a TCP proxy that silently stops forwarding a connection after it
was idle for a while (as NATs and cloud load balancers do). Every process is stopped by `stop()`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import free_port, wait_until

REDIS_SERVER = shutil.which("redis-server")
REDIS_SENTINEL = shutil.which("redis-sentinel")


def redis_cli(port: int, *args: str, password: str | None = None) -> str:
    """One redis-cli command against 127.0.0.1:`port` (with AUTH `password`); its output."""
    env = {**os.environ, **({"REDISCLI_AUTH": password} if password else {})}
    proc = subprocess.run(
        ["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=20, env=env
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


class RedisServer:
    """One redis-server on a loopback port, without persistence; restartable on the same port."""

    def __init__(
        self,
        folder: Path,
        *extra: str,
        tls: tuple[Path, Path] | None = None,
        binary: str | None = REDIS_SERVER,
    ):
        if binary is None:
            pytest.fail(
                "redis-server / redis-sentinel is not on PATH: "
                "`apt-get install -y redis-server redis-sentinel`"
            )
        self.binary = binary
        self.port = free_port()
        self.tls = tls
        self.extra = extra
        self.folder = folder / f"redis-{self.port}"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.log = self.folder / "log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"{'rediss' if self.tls else 'redis'}://127.0.0.1:{self.port}"

    def argv(self) -> list[str]:
        ports = ["--port", str(self.port)]
        if self.tls:  # https://redis.io/docs/latest/operate/oss_and_stack/management/security/encryption/
            ports = [
                "--port",
                "0",
                "--tls-port",
                str(self.port),
                "--tls-cert-file",
                str(self.tls[0]),
                "--tls-key-file",
                str(self.tls[1]),
                "--tls-auth-clients",
                "no",
            ]
        return [self.binary, *ports, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", *self.extra]

    def start(self) -> None:
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(
                self.argv(), stdout=log, stderr=subprocess.STDOUT, cwd=self.folder, start_new_session=True
            )
        deadline = time.time() + 10
        while not self._answers():
            if self.proc.poll() is not None or time.time() > deadline:
                raise AssertionError(f"{self.binary} did not start:\n{self.log.read_text()}")
            time.sleep(0.05)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as raw:
                sock = _unverified_tls().wrap_socket(raw) if self.tls else raw
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith((b"+PONG", b"-NOAUTH"))
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)


def _unverified_tls() -> ssl.SSLContext:
    """The readiness probe only checks that the server answers; the tests check the certificate."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class Sentinel(RedisServer):
    """One redis-sentinel watching `master` (quorum 1, fast fail-over settings)."""

    def __init__(self, folder: Path, master_port: int, name: str, password: str | None = None):
        super().__init__(folder, binary=REDIS_SENTINEL)
        self.config = self.folder / "sentinel.conf"  # sentinel rewrites its config file
        auth = (
            (
                f"requirepass {password}\nsentinel sentinel-pass {password}\n"
                f"sentinel auth-pass {name} {password}\n"
            )
            if password
            else ""
        )
        self.config.write_text(
            f"port {self.port}\nbind 127.0.0.1\n"
            f"sentinel monitor {name} 127.0.0.1 {master_port} 1\n"
            f"sentinel down-after-milliseconds {name} 1000\n"
            f"sentinel failover-timeout {name} 4000\n" + auth
        )

    def argv(self) -> list[str]:
        return [self.binary, str(self.config)]


class SentinelSetup:
    """A master, its replica and two sentinels; `url` is the lock's redis+sentinel:// URL. With
    `idle_drop`, master and replica are known to the sentinels at IdleDropProxy ports (replication
    and the sentinels themselves are reached directly)."""

    def __init__(
        self,
        folder: Path,
        name: str = "mymaster",
        idle_drop: float | None = None,
        password: str | None = None,
    ):
        self.name, self.password = name, password
        self.proxies: list[IdleDropProxy] = []
        auth = ["--requirepass", password, "--masterauth", password] if password else []
        self.master = RedisServer(folder, "--repl-ping-replica-period", "1", *auth)
        self.master.start()
        replica_args = [
            "--replicaof",
            "127.0.0.1",
            str(self.master.port),
            "--repl-ping-replica-period",
            "1",
            *auth,
        ]
        self.replica = RedisServer(folder, *replica_args)
        master_at, self.replica_at = self.master.port, self.replica.port
        if idle_drop is not None:
            self.proxies = [IdleDropProxy(server.port, idle_drop) for server in (self.master, self.replica)]
            master_at, self.replica_at = (proxy.port for proxy in self.proxies)
            self.replica.extra = (
                *replica_args,
                "--replica-announce-ip",
                "127.0.0.1",
                "--replica-announce-port",
                str(self.replica_at),
            )
        self.replica.start()
        self.sentinels = [Sentinel(folder, master_at, name, password) for _ in range(2)]
        for sentinel in self.sentinels:
            sentinel.start()
        wait_until(self._replica_known, 20, "the sentinels to know the synced replica")

    @property
    def url(self) -> str:
        hosts = ",".join(f"127.0.0.1:{s.port}" for s in self.sentinels)
        return f"redis+sentinel://{hosts}/{self.name}"

    def cli(self, port: int, *args: str) -> str:
        return redis_cli(port, *args, password=self.password)

    def _replica_known(self) -> bool:
        synced = "master_link_status:up" in self.cli(self.replica.port, "INFO", "replication")
        listed = all(
            str(self.replica_at) in self.cli(s.port, "SENTINEL", "REPLICAS", self.name)
            for s in self.sentinels
        )
        return synced and listed

    def master_port(self) -> int:
        answer = self.cli(self.sentinels[0].port, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.name)
        return int(answer.split()[1])

    def failover(self, stall_ms: int = 0) -> None:
        """SENTINEL FAILOVER: the replica becomes the master, the old master its replica. With
        `stall_ms`, the master first holds every write that long (CLIENT PAUSE WRITE)."""
        before = self.master_port()
        if stall_ms:
            assert self.cli(self.master.port, "CLIENT", "PAUSE", str(stall_ms), "WRITE") == "OK"
        # NOGOODSLAVE while the sentinel sees no synced replica for a moment (a loaded machine).
        failover = ("SENTINEL", "FAILOVER", self.name)
        wait_until(
            lambda: self.cli(self.sentinels[0].port, *failover) == "OK", 15, "SENTINEL FAILOVER to start"
        )
        wait_until(lambda: self.master_port() != before, 15, "the sentinels to name the new master")

    def kill_master(self, key: str = "") -> None:
        """Stops the master: the sentinels see it down after 1 s and promote the replica."""
        before = self.master_port()
        self.master.stop()
        wait_until(lambda: self.master_port() != before, 20, "the sentinels to promote the replica")

    def stop(self) -> None:
        for server in (*self.sentinels, self.replica, self.master):
            server.stop()
        for proxy in self.proxies:
            proxy.stop()


class ClusterSetup:
    """Three masters and three replicas in one Redis Cluster; `url` is a redis+cluster:// URL. With
    `idle_drop`, every node is announced at an IdleDropProxy's port (MOVED and replication go
    through the proxies; the cluster bus does not)."""

    def __init__(self, folder: Path, idle_drop: float | None = None):
        self.nodes: list[RedisServer] = []
        self.proxies: list[IdleDropProxy] = []
        for _ in range(6):
            bus = free_port()
            args = [
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                "2000",
                "--cluster-port",
                str(bus),
            ]
            node = RedisServer(folder, *args)
            if idle_drop is not None:
                proxy = IdleDropProxy(node.port, idle_drop)
                self.proxies.append(proxy)
                announce = [
                    "--cluster-announce-ip",
                    "127.0.0.1",
                    "--cluster-announce-port",
                    str(proxy.port),
                    "--cluster-announce-bus-port",
                    str(bus),
                    "--repl-ping-replica-period",
                    "1",
                ]
                node.extra = (*args, *announce)
            self.nodes.append(node)
            node.start()
        addresses = [f"127.0.0.1:{n.port}" for n in self.nodes]
        create = ["redis-cli", "--cluster", "create", *addresses, "--cluster-replicas", "1", "--cluster-yes"]
        subprocess.run(create, check=True, capture_output=True, timeout=60)
        wait_until(self._ready, 30, "the cluster to be ok on every node")

    @property
    def url(self) -> str:
        ports = [p.port for p in self.proxies] or [n.port for n in self.nodes]
        return "redis+cluster://" + ",".join(f"127.0.0.1:{port}" for port in ports[:2])

    def _ready(self) -> bool:
        return all("cluster_state:ok" in redis_cli(port, "CLUSTER", "INFO") for port in self.roles())

    def roles(self) -> dict[int, str]:
        """port -> "master" or "slave", for the nodes that run."""
        running = [n for n in self.nodes if n.proc and n.proc.poll() is None]
        return {n.port: redis_cli(n.port, "ROLE").split()[0] for n in running}

    def owner(self, key: str) -> int:
        """The port of the master serving `key` (without idle_drop: CLUSTER NODES names real ports)."""
        port = next(iter(self.roles()))
        slot = int(redis_cli(port, "CLUSTER", "KEYSLOT", key))
        for line in redis_cli(port, "CLUSTER", "NODES").splitlines():
            fields = line.split()
            ranges = [part.split("-") for part in fields[8:] if part[0].isdigit()]
            if "master" in fields[2] and any(int(r[0]) <= slot <= int(r[-1]) for r in ranges):
                return int(fields[1].split("@")[0].rsplit(":", 1)[1])
        raise AssertionError(f"no master serves slot {slot}")

    def kill_master(self, key: str) -> int:
        """Stops the master serving `key`; its replica takes over after cluster-node-timeout. The
        promoted replica's port."""
        master_port = self.owner(key)
        replica = next(
            n
            for n in self.nodes
            if self.roles().get(n.port) == "slave"
            and int(redis_cli(n.port, "ROLE").split()[2]) == master_port
        )
        next(n for n in self.nodes if n.port == master_port).stop()
        wait_until(lambda: self.roles()[replica.port] == "master", 20, "the replica to take over")
        wait_until(self._ready, 20, "the cluster to be ok again")
        return replica.port

    def failover(self, stall_ms: int = 0) -> int:
        """CLUSTER FAILOVER on one replica: it takes over its master's slots. Its port.

        The master holds every write from the start of a manual fail-over until the replica has
        taken over. With `stall_ms`, the replica is frozen (SIGSTOP) that long right after the
        fail-over starts: a slow hand-over, as on a loaded machine."""
        replica = next(n for n in self.nodes if self.roles()[n.port] == "slave")
        assert redis_cli(replica.port, "CLUSTER", "FAILOVER") == "OK"
        if stall_ms:
            assert replica.proc is not None, "a running node"
            os.killpg(replica.proc.pid, signal.SIGSTOP)
            time.sleep(stall_ms / 1000)
            os.killpg(replica.proc.pid, signal.SIGCONT)
        wait_until(lambda: self.roles()[replica.port] == "master", 15, "the replica to become a master")
        wait_until(self._ready, 15, "the cluster to be ok again")
        return replica.port

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()
        for proxy in self.proxies:
            proxy.stop()


class IdleDropProxy:
    """A TCP proxy to 127.0.0.1:`target` that, once a connection has been idle for `idle` seconds,
    silently stops forwarding it in both directions (it does not close it): a NAT or load balancer
    that forgot the connection. With `replies_only`, commands still reach Redis but no answer comes
    back (the command ran, the client cannot know). Runs its own event loop in a thread."""

    def __init__(self, target: int, idle: float = 1.5, replies_only: bool = False):
        self.target, self.idle, self.replies_only = target, idle, replies_only
        self.port = free_port()
        self.dropped = 0
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        ready.wait(10)

    def _run(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(asyncio.start_server(self._accept, "127.0.0.1", self.port))
        ready.set()
        self.loop.run_forever()

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        writers = [client_w]
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", self.target)
            writers.append(server_w)
            state = {"last": time.monotonic(), "dead": False}
            await asyncio.gather(
                self._pump(client_r, server_w, state, self.replies_only),
                self._pump(server_r, client_w, state, False),
            )
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            for writer in writers:
                writer.close()

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: dict, forward_when_dead: bool
    ) -> None:
        while data := await reader.read(65536):
            if not state["dead"] and time.monotonic() - state["last"] > self.idle:
                state["dead"] = True
                self.dropped += 1
            if state["dead"] and not forward_when_dead:
                continue  # swallowed: the peer waits for an answer that never comes
            state["last"] = time.monotonic()
            writer.write(data)
            await writer.drain()

    def stop(self) -> None:
        async def close() -> None:
            self.server.close()
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
