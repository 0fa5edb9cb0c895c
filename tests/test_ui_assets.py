"""The dashboard's packed files (templates/runtime/ui/assets.mjs, compiler/ui_assets.py): up to date
with their sources, and served unpacked by a real node_server bundle, where the minified cron.mjs
the browser imports gives the runtime's own next firings."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path

from conftest import BIN, NODE, NODE_BUNDLE, TASK, build_project, write_project
from nitro_build import ui_assets
from nitro_build.render import RUNTIME_DIR

TOKEN = "tok-assets-1"


def test_packed_files_are_the_minified_sources(monkeypatch) -> None:
    monkeypatch.setenv("NITRO_ESBUILD", str(BIN / "esbuild"))
    packed = ui_assets.unpack(ui_assets.TARGET.read_text(encoding="utf-8"))
    fresh = ui_assets.texts()
    assert packed == fresh, "templates/runtime/ui/assets.mjs is stale: run `python -m nitro_build.ui_assets`"
    assert fresh[0] == (RUNTIME_DIR / "ui" / "index.html").read_text(encoding="utf-8")
    for text, rel in zip(fresh[1:], ("ui/dashboard.mjs", "cron.mjs", "ui/dashboard.css"), strict=True):
        assert 0 < len(text) < (RUNTIME_DIR / rel).stat().st_size, rel
    assert ui_assets.render(packed) == ui_assets.TARGET.read_text(encoding="utf-8")


def get(port: int, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()


def test_node_server_serves_the_unpacked_files(tmp_path: Path, start_server) -> None:
    root = write_project(
        tmp_path / "p", {"nitro.config.toml": "[experimental]\ntasks = true\n", "tasks/a.ts": TASK}
    )
    assert build_project(root).returncode == 0
    server = start_server(NODE_BUNDLE, root, env={"NITRO_TASKS_TOKEN": TOKEN})
    texts = ui_assets.unpack(ui_assets.TARGET.read_text(encoding="utf-8"))
    served = {}
    for path, text in zip(ui_assets.FILES, texts, strict=True):
        status, headers, body = get(server.port, "/_nitro/ui" + path)
        assert (status, body.decode("utf-8")) == (200, text), path
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
        served[path] = body
    assert get(server.port, "/_nitro/ui")[2] == served["/"]
    status, headers, body = get(server.port, "/_nitro/ui/dashboard.css", "HEAD")
    assert (status, body, headers["content-type"]) == (200, b"", "text/css; charset=utf-8")
    # The served (minified) cron evaluator and the runtime's own agree.
    (tmp_path / "served_cron.mjs").write_bytes(served["/cron.mjs"])
    script = (
        f"import * as a from {json.dumps(str(tmp_path / 'served_cron.mjs'))};"
        f"import * as b from {json.dumps(str(RUNTIME_DIR / 'cron.mjs'))};"
        "const spec = { minutes: [0, 30], hours: [3], days: [...Array(31).keys()].map((d) => d + 1),"
        " months: [...Array(12).keys()].map((m) => m + 1), weekdays: [1, 2, 3, 4, 5], seconds: [0],"
        " domRestricted: false, dowRestricted: true, domAndDow: false, lastDay: false, lastWeekday: false,"
        " lastWeekdays: [], nthWeekdays: [], nearestWeekdays: [], fixedTime: false };"
        "const at = Date.UTC(2026, 0, 1);"
        "console.log(JSON.stringify([a.nextFiringUTC(spec, at), b.nextFiringUTC(spec, at),"
        " a.nextFiring({ ...spec, timeZone: 'Asia/Tokyo' }, at), b.nextFiring({ ...spec, timeZone: 'Asia/Tokyo' }, at)]));"
    )
    out = subprocess.run(
        [NODE, "--input-type=module", "-e", script], capture_output=True, text=True, check=True
    )
    first_utc, own_utc, first_tokyo, own_tokyo = json.loads(out.stdout)
    assert first_utc == own_utc and first_tokyo == own_tokyo and first_utc is not None
