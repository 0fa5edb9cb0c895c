"""The dashboard's precompressed files (templates/runtime/ui/assets.gz and assets.mjs, packed.mjs;
compiler/ui_assets.py): up to date with their sources; read from a file beside the bundle and sent
gzipped as is by the servers that have their files (node_server, Bun, Deno), embedded in the
bundle for a Worker (workerd); and the next firings the dashboard shows, computed by the server."""

from __future__ import annotations

import gzip
import json
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import BIN, NODE, REPO, TASK, build_project, preview_argv, write_project
from nitro_build import ui_assets
from nitro_build.render import RUNTIME_DIR

TOKEN = "tok-assets-1"
FILES = {
    "nitro.config.toml": '[experimental]\ntasks = true\n\n[scheduledTasks]\n"0 3 * * *" = ["a"]\n',
    "tasks/a.ts": TASK,
}
DENO = str(BIN / "deno")


def test_generated_files_are_the_minified_sources(monkeypatch) -> None:
    monkeypatch.setenv("NITRO_ESBUILD", str(BIN / "esbuild"))
    fresh = ui_assets.texts()
    stale = "templates/runtime/ui is stale: run `python -m nitro_build.ui_assets`"
    assert ui_assets.unpack(ui_assets.GZ.read_bytes()) == fresh, stale
    for path, data in ui_assets.render(fresh).items():
        assert path.read_bytes() == data, stale
    # A valid gzip file as a whole: its members, one after the other.
    assert gzip.decompress(ui_assets.GZ.read_bytes()).decode("utf-8") == "".join(fresh)
    assert fresh[0] == (RUNTIME_DIR / "ui" / "index.html").read_text(encoding="utf-8")
    for text, rel in zip(fresh[1:], ("ui/dashboard.mjs", "ui/dashboard.css"), strict=True):
        assert 0 < len(text) < (RUNTIME_DIR / rel).stat().st_size, rel


def get(port: int, path: str, method: str = "GET", **headers: str) -> tuple[int, dict[str, str], bytes]:
    headers.setdefault("Authorization", f"Bearer {TOKEN}")
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


def server_argv(preset: str, root: Path) -> list[str]:
    if preset == "vercel":  # Vercel's Node launcher, as tests/js/vercel_launcher.mjs reproduces it
        return [NODE, str(REPO / "tests/js/vercel_launcher.mjs"), ".vercel/output"]
    if preset == "bun":
        return [str(BIN / "bun"), ".output/server/index.mjs"]
    if preset == "deno_server":
        return [DENO, *preview_argv(root)[1:]]
    return [NODE, ".output/server/index.mjs"]


@pytest.mark.parametrize("preset", ["node_server", "node_cluster", "bun", "deno_server", "vercel"])
def test_a_server_sends_the_file_beside_it_gzipped(tmp_path: Path, start_server, preset: str) -> None:
    root = write_project(tmp_path / "p", FILES)
    assert build_project(root, preset).returncode == 0
    server_dir = root / (".vercel/output/functions/__server.func" if preset == "vercel" else ".output/server")
    assert (server_dir / "chunks/nitro-ui.gz").read_bytes() == ui_assets.GZ.read_bytes()
    # The page is not in the JavaScript: no bundled file holds its base64 or its text.
    packed = ui_assets.PACKED.read_text(encoding="utf-8").split('"')[1]
    for js in server_dir.rglob("*.mjs"):
        text = js.read_text(encoding="utf-8")
        assert packed[:64] not in text and "Token required" not in text, js
    server = start_server(server_argv(preset, root), root, env={"NITRO_TASKS_TOKEN": TOKEN})
    texts = ui_assets.unpack(ui_assets.GZ.read_bytes())
    for path, text in zip(ui_assets.FILES, texts, strict=True):
        status, headers, body = get(server.port, "/_nitro/ui" + path, **{"Accept-Encoding": "br, gzip"})
        assert (status, headers.get("content-encoding")) == (200, "gzip"), path
        assert gzip.decompress(body).decode("utf-8") == text, path
        assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "accept-encoding" in headers["vary"].lower()
        # A client that does not take gzip gets the text.
        for refuse in ("identity", "gzip;q=0, identity"):
            status, headers, body = get(server.port, "/_nitro/ui" + path, **{"Accept-Encoding": refuse})
            assert (status, body.decode("utf-8")) == (200, text), (path, refuse)
            assert "content-encoding" not in headers, (path, refuse)
    assert get(server.port, "/_nitro/ui", **{"Accept-Encoding": "identity"})[2].decode() == texts[0]
    status, headers, body = get(
        server.port, "/_nitro/ui/dashboard.css", "HEAD", **{"Accept-Encoding": "identity"}
    )
    assert (status, body, headers["content-type"]) == (200, b"", "text/css; charset=utf-8")
    # The browser's copy of the cron code is gone: the server computes the firings.
    assert get(server.port, "/_nitro/ui/cron.mjs")[0] == 404


def test_the_file_is_found_from_a_shared_chunk_too(tmp_path: Path, start_server) -> None:
    """The dashboard's code sits in the entry, except when a task's imports share it: then it is
    in a chunk under chunks/, one folder below the file it reads (runtime/ui.mjs IN_CHUNK)."""
    files = {**FILES, "tasks/b.ts": 'import { UI_PATH } from "#nitro-runtime/app.mjs";\n' + TASK}
    files["tasks/b.ts"] = files["tasks/b.ts"].replace("return {", "void UI_PATH; return {", 1)
    root = write_project(tmp_path / "p", files)
    assert build_project(root, "node_server").returncode == 0
    holders = [p for p in (root / ".output/server").rglob("*.mjs") if "nitro-ui.gz" in p.read_text("utf-8")]
    assert [p.parent.name for p in holders] == ["chunks"], holders
    server = start_server([NODE, ".output/server/index.mjs"], root, env={"NITRO_TASKS_TOKEN": TOKEN})
    status, _, body = get(server.port, "/_nitro/ui/dashboard.css", **{"Accept-Encoding": "identity"})
    assert (status, body.decode("utf-8")) == (200, ui_assets.unpack(ui_assets.GZ.read_bytes())[2])


def test_a_worker_serves_the_embedded_files_in_workerd(tmp_path: Path) -> None:
    from test_cloudflare import run_workers, toml, worker

    root = write_project(tmp_path / "p", FILES)
    assert build_project(root, "cloudflare_module").returncode == 0
    server = root / ".output/server"
    assert not list(server.rglob("*.gz"))
    config = toml(server / "wrangler.toml")
    texts = ui_assets.unpack(ui_assets.GZ.read_bytes())
    auth = {"authorization": f"Bearer {TOKEN}", "accept-encoding": "gzip"}
    actions = [
        {"type": "fetch", "url": f"http://worker.test/_nitro/ui{p}", "headers": auth} for p in ui_assets.FILES
    ]
    actions.append({"type": "fetch", "url": "http://worker.test/_nitro/ui/schedules", "headers": auth})
    out = run_workers(
        [worker("w", server / "index.mjs", config, bindings={"NITRO_TASKS_TOKEN": TOKEN})], actions
    )
    for result, text in zip(out["results"], texts, strict=False):
        assert (result["status"], result["body"]) == (200, text)
        assert result["headers"]["x-content-type-options"] == "nosniff"
    data = json.loads(out["results"][-1]["body"])
    assert data["utc"] is True
    assert_daily_firings(data["schedules"][0]["firings"], hour_utc=3)


def assert_daily_firings(firings: list[int], hour_utc: int) -> None:
    """Five firings, a day apart, at hour_utc:00 UTC, the first within a day from now."""
    stamps = [datetime.fromtimestamp(ms / 1000, UTC) for ms in firings]
    assert len(stamps) == 5
    assert all((s.hour, s.minute, s.second) == (hour_utc, 0, 0) for s in stamps), stamps
    assert all(b - a == timedelta(days=1) for a, b in zip(stamps, stamps[1:], strict=False)), stamps
    assert timedelta(0) < stamps[0] - datetime.now(UTC) <= timedelta(days=1)


def test_the_server_computes_next_firings_in_its_zone(tmp_path: Path, start_server) -> None:
    root = write_project(tmp_path / "p", FILES)
    assert build_project(root).returncode == 0
    env = {"NITRO_TASKS_TOKEN": TOKEN, "TZ": "Asia/Tokyo"}
    server = start_server([NODE, ".output/server/index.mjs"], root, env=env)
    status, _, body = get(server.port, "/_nitro/ui/schedules")
    data = json.loads(body)
    assert status == 200 and data["timeZone"] == "Asia/Tokyo" and data["utc"] is False
    (schedule,) = data["schedules"]
    assert (schedule["cron"], schedule["tasks"], schedule["timeZone"]) == ("0 3 * * *", ["a"], None)
    assert_daily_firings(schedule["firings"], hour_utc=18)  # 03:00 in Tokyo (UTC+9)
    assert get(server.port, "/_nitro/ui/schedules", Authorization="Bearer wrong")[0] == 401


def test_a_missing_dashboard_file_is_a_logged_500_naming_it(tmp_path: Path, start_server) -> None:
    root = write_project(tmp_path / "p", FILES)
    assert build_project(root).returncode == 0
    (root / ".output/server/chunks/nitro-ui.gz").unlink()
    server = start_server([NODE, ".output/server/index.mjs"], root, env={"NITRO_TASKS_TOKEN": TOKEN})
    assert get(server.port, "/_nitro/ui")[0] == 500
    server.wait_for("chunks/nitro-ui.gz cannot be read (deploy the whole server folder)")
    assert get(server.port, "/_nitro/tasks/a", "POST")[0] == 200  # the rest still serves
