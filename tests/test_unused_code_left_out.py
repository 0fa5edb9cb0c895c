"""What the build knows a project does not use stays out of its bundle (issue #14: the bundle's
size): the route code without routes, the scheduler without schedules, the lock's fail-over
guards and Redis without scheduler.lock, nitro dev's loopback checks in production. Names are
found in the source maps' `names` (the original name of every identifier the minifier renamed)
and, where esbuild's --keep-names is on, in the bundle's `__name` calls; each bundle still answers
as before, on node_server."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from conftest import NODE_BUNDLE, TASK, build_project, write_project

TOKEN = "tok-unused-3"
ROUTE = "export default defineHandler(() => ({ hello: 'route' }));\n"


def bundle_text(root: Path) -> str:
    """The bundle's code, and the names its maps list as quoted strings (`"startScheduler"`)."""
    server = root / ".output" / "server"
    code = "".join(p.read_text(encoding="utf-8") for p in sorted(server.rglob("*.mjs")))
    maps = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(server.rglob("*.map"))]
    assert maps, "no source maps"
    return code + json.dumps([name for m in maps for name in m.get("names", [])])


def get(port: int, path: str) -> tuple[int, dict]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_a_project_without_routes_or_schedules_ships_neither(tmp_path: Path, start_server) -> None:
    root = write_project(
        tmp_path / "p", {"nitro.config.toml": "[experimental]\ntasks = true\n", "tasks/a.ts": TASK}
    )
    assert build_project(root).returncode == 0
    text = bundle_text(root)
    for name in (
        "RouteEvent",
        "matchSegments",
        "startScheduler",
        "lockedGuards",
        "shareInRedis",
        "shareOnceLoaded",
        "devAccess",
    ):
        assert f'"{name}"' not in text, name
    # Nor the shared run history's code (no lock, no storage: runtime/run_store.mjs).
    for literal in ("NITRO_SCHEDULER_REDIS_URL", "run history stays in memory"):
        assert literal not in text, literal
    server = start_server(NODE_BUNDLE, root, env={"NITRO_TASKS_TOKEN": TOKEN})
    assert get(server.port, "/api/nothing") == (
        404,
        {"statusCode": 404, "message": "Cannot find any route matching /api/nothing"},
    )
    assert get(server.port, "/_nitro/tasks/a") == (200, {"result": "ok"})


def test_a_project_with_routes_and_schedules_ships_both(tmp_path: Path, start_server) -> None:
    files = {
        "nitro.config.toml": '[experimental]\ntasks = true\n\n[scheduledTasks]\n"0 3 * * *" = ["a"]\n',
        "tasks/a.ts": TASK,
        "routes/hello.ts": ROUTE,
    }
    root = write_project(tmp_path / "p", files)
    assert build_project(root).returncode == 0
    text = bundle_text(root)
    for name in ("RouteEvent", "matchSegments", "startScheduler", "overlapGuards"):
        assert f'"{name}"' in text, name
    for name in ("lockedGuards", "shareInRedis", "devAccess"):  # no lock; production
        assert f'"{name}"' not in text, name
    server = start_server(NODE_BUNDLE, root, env={"NITRO_TASKS_TOKEN": TOKEN})
    assert get(server.port, "/hello") == (200, {"hello": "route"})
    assert get(server.port, "/nothing")[0] == 404


def test_a_worker_gets_nitros_import_meta_flags_and_no_dev_checks(tmp_path: Path) -> None:
    """cloudflare_module defines import.meta as the other presets do (Nitro's flags in user code),
    so its bundle also drops what production does not use; it still answers in workerd."""
    from test_cloudflare import run_workers, toml, worker

    route = (
        "export default defineHandler(() => [import.meta._tasks, import.meta.dev, import.meta.preset,"
        " import.meta.server, import.meta.client]);\n"
    )
    files = {
        "nitro.config.toml": "[experimental]\ntasks = true\n",
        "tasks/a.ts": TASK,
        "routes/meta.ts": route,
    }
    root = write_project(tmp_path / "p", files)
    assert build_project(root, "cloudflare_module").returncode == 0
    server = root / ".output" / "server"
    assert '"devAccess"' not in bundle_text(root)
    actions = [{"type": "fetch", "url": "http://worker.test/meta"}]
    out = run_workers([worker("w", server / "index.mjs", toml(server / "wrangler.toml"))], actions)
    (result,) = out["results"]
    assert (result["status"], json.loads(result["body"])) == (
        200,
        [True, False, "cloudflare-module", True, False],
    )
