"""Security regressions, each run against a real bundle in its runtime.

- dev: /_nitro/tasks refuses what a web page can make a local browser send (DNS rebinding: a
  foreign Host; cross-site requests: a foreign Origin, `Sec-Fetch-Site: cross-site`).
- Node adapter: a request path starting with `//` is a path, not a host plus a shorter path.
- Task payloads: `__proto__` / `constructor.prototype` keys from the query or the body never reach
  a task (a task that merges its payload must not be able to pollute Object.prototype).
- Redis lock URL: a password holding `@` or `/` is never logged, at run time or at build time.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import NODE, NODE_BUNDLE, build_project, free_port, run_cli, write_project

TOKEN = "security-test-token"
CONFIG = """\
[experimental]
tasks = true
"""
# Creates `marked` in the project folder, so a refused request can be shown not to have run it.
MARK_TASK = (
    'import { writeFileSync } from "node:fs";\n'
    'export default defineTask({ run() { writeFileSync("marked", "1"); return { result: "marked" } } });\n'
)
# A naive recursive merge, as task code often has: it follows `__proto__` and `constructor.prototype`.
MERGE_TASK = """\
function merge(target, source) {
  for (const key in source) {
    const value = source[key];
    if (value && typeof value === "object") merge((target[key] ??= {}), value);
    else target[key] = value;
  }
  return target;
}
export default defineTask({
  run({ payload }) {
    merge({}, payload);
    return { keys: Object.keys(payload), polluted: ({}).polluted ?? null, zero: ({})[0] ?? null };
  },
});
"""


# ---------------------------------------------------------------- dev: browsers on this machine


@pytest.fixture
def dev_server(tmp_path: Path, start_server):
    project = write_project(tmp_path / "dev", {"nitro.config.toml": CONFIG, "tasks/mark.ts": MARK_TASK})
    build_project(project, "dev")
    return project, start_server([NODE, ".nitro/dev/server/index.mjs"], project)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Host": "attacker.example:3000"}, id="dns-rebinding-host"),
        pytest.param({"Host": "127.0.0.1.attacker.example"}, id="host-with-loopback-prefix"),
        pytest.param({"Origin": "https://attacker.example"}, id="cross-origin"),
        pytest.param({"Origin": "null"}, id="opaque-origin"),
        pytest.param({"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"}, id="cross-site-img"),
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_dev_tasks_refuse_requests_a_web_page_can_make(dev_server, headers, method):
    """A browser is a loopback client: a page it shows must not run (or list) tasks through it."""
    project, server = dev_server
    body = {} if method == "POST" else None
    status, body = server.request(method, "/_nitro/tasks/mark", body=body, headers=headers)
    assert status == 403, body
    assert body["statusCode"] == 403
    assert not (project / "marked").exists()
    assert server.request("GET", "/_nitro/tasks", headers=headers)[0] == 403


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="plain-client"),
        pytest.param({"Host": "localhost:3000"}, id="localhost"),
        pytest.param({"Host": "app.localhost"}, id="sub-localhost"),
        pytest.param({"Host": "[::1]:3000"}, id="ipv6-loopback-host"),
        pytest.param({"Origin": "http://127.0.0.1:5173", "Sec-Fetch-Site": "same-site"}, id="local-page"),
        pytest.param({"Sec-Fetch-Site": "none"}, id="typed-into-address-bar"),
    ],
)
def test_dev_tasks_still_serve_local_clients(dev_server, headers):
    project, server = dev_server
    status, body = server.request("POST", "/_nitro/tasks/mark", body={}, headers=headers)
    assert (status, body) == (200, {"result": "marked"})
    assert (project / "marked").exists()


# ---------------------------------------------------------------- Node: `//` paths


def test_node_double_slash_path_is_not_read_as_a_host(tmp_path: Path, start_server):
    """`GET //x/api/secret` is the path /x/api/secret (as on Bun and Deno), not x + /api/secret:
    a proxy rule for /api/... must not be sidestepped by prefixing `//anything`."""
    project = write_project(
        tmp_path / "p",
        {
            "api/secret.ts": "export default defineHandler((event) => ({ path: event.path }));\n",
        },
    )
    build_project(project, "node_server")
    server = start_server(NODE_BUNDLE, project)
    assert server.request("GET", "/api/secret")[0] == 200
    status, body = server.request("GET", "//attacker.example/api/secret")
    assert status == 404, body


# ---------------------------------------------------------------- task payloads


def test_task_payload_has_no_prototype_keys(tmp_path: Path, start_server):
    project = write_project(tmp_path / "p", {"nitro.config.toml": CONFIG, "tasks/merge.ts": MERGE_TASK})
    build_project(project, "node_server")
    server = start_server(NODE_BUNDLE, project, env={"NITRO_TASKS_TOKEN": TOKEN})
    auth = {"Authorization": f"Bearer {TOKEN}"}
    body = (
        b'{"payload": {"ok": 1, "__proto__": {"polluted": "body"},'
        b' "constructor": {"prototype": {"polluted": "constructor"}},'
        b' "nested": {"__proto__": {"polluted": "nested"}}}}'
    )
    query = "__proto__=q1&__proto__=q2&constructor=c&fine=yes"
    status, result = server.request("POST", f"/_nitro/tasks/merge?{query}", raw=body, headers=auth)
    assert status == 200, result
    assert result == {"keys": ["fine", "ok", "nested"], "polluted": None, "zero": None}
    # A query-only payload (GET) too.
    status, result = server.request("GET", "/_nitro/tasks/merge?__proto__=a&__proto__=b", headers=auth)
    assert (status, result) == (200, {"keys": [], "polluted": None, "zero": None})


# ---------------------------------------------------------------- Redis URL passwords


LOCK_CONFIG = (
    CONFIG
    + """\
[scheduledTasks]
"0 3 * * *" = "mark"

[scheduler.lock]
driver = "redis"
"""
)


@pytest.mark.parametrize(
    "url",
    [
        # Parses (the password is "hunter2@SECRETPART"), so the client would connect with it.
        pytest.param("redis://:hunter2@SECRETPART@127.0.0.1:{port}", id="at-sign"),
        # Does not parse: it used to be logged whole in the "not a valid Redis URL" error.
        pytest.param("redis://default:pass/SECRETPART@127.0.0.1:{port}", id="slash"),
    ],
)
def test_redis_url_password_is_not_logged(tmp_path: Path, start_server, url):
    project = write_project(tmp_path / "p", {"nitro.config.toml": LOCK_CONFIG, "tasks/mark.ts": MARK_TASK})
    build_project(project, "node_server")
    redis_url = url.format(port=free_port())  # nothing listens there: the outage is logged with the URL
    server = start_server(NODE_BUNDLE, project, env={"NITRO_SCHEDULER_REDIS_URL": redis_url})
    server.wait_for("scheduler lock: Redis at")
    assert "***@127.0.0.1" in server.output
    assert "SECRETPART" not in server.output


def test_redis_url_password_is_not_in_build_errors(tmp_path: Path):
    config = LOCK_CONFIG + 'url = "redis://default:pass/SECRETPART@127.0.0.1:6379"\n'
    project = write_project(tmp_path / "p", {"nitro.config.toml": config, "tasks/mark.ts": MARK_TASK})
    # The user info runs to the last '@' (as in the runtime's parser), so this URL is valid; the
    # build warns that a password in the config is written into the bundle, and never prints it.
    proc = run_cli("build", "--preset", "node_server", "--dir", str(project))
    assert proc.returncode == 0, proc.stderr
    assert "scheduler.lock.url" in proc.stderr + proc.stdout
    assert "SECRETPART" not in proc.stderr + proc.stdout
    strict = run_cli("build", "--strict", "--preset", "node_server", "--dir", str(project))
    assert strict.returncode == 1
    assert "scheduler.lock.url" in strict.stderr and "SECRETPART" not in strict.stderr + strict.stdout
