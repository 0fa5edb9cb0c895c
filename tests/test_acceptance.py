"""Regressions found by acceptance testing the README on a fresh clone."""
from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path

from conftest import Server, build_project, cli_env, free_port, run_cli, write_project

TASK = 'export default defineTask({ run() { return { result: "ok" }; } });\n'


def test_vercel_ignores_output_dir_because_vercel_deploy_prebuilt_reads_vercel_output(tmp_path: Path) -> None:
    project = write_project(tmp_path, {
        "nitro.config.toml": (
            '[output]\ndir = "build-out"\n[experimental]\ntasks = true\n'
            '[scheduledTasks]\n"0 3 * * *" = "a"\n'
        ),
        "tasks/a.ts": TASK,
    })
    proc = build_project(project, "vercel", "--json")
    assert json.loads(proc.stdout)["output"] == ".vercel/output"
    assert (project / ".vercel/output/config.json").is_file()
    assert (project / ".vercel/output/functions/__server.func/index.mjs").is_file()
    assert not (project / "build-out").exists()
    # Server presets still honour output.dir.
    build_project(project, "node_server")
    assert (project / "build-out/server/index.mjs").is_file()


def test_unknown_preset_in_config_names_the_key_and_suggests_a_preset(tmp_path: Path) -> None:
    project = write_project(tmp_path, {"nitro.config.toml": 'preset = "nodeserver"\n'})
    proc = run_cli("build", "--dir", str(project))
    assert proc.returncode == 1
    expected = "nitro.config.toml: preset: unknown preset 'nodeserver'; did you mean 'node_server'?"
    assert expected in proc.stderr
    # From the command line there is no config key to name.
    proc = run_cli("build", "--dir", str(project), "--preset", "cloudflare_modul")
    assert proc.returncode == 1
    assert "error: unknown preset 'cloudflare_modul'; did you mean 'cloudflare_module'?" in proc.stderr


def test_a_nitro_config_ts_is_not_silently_ignored(tmp_path: Path) -> None:
    project = write_project(tmp_path, {
        "nitro.config.ts": 'export default defineConfig({ experimental: { tasks: true } });\n',
        "tasks/a.ts": TASK,
    })
    proc = build_project(project)
    expected = "warning: nitro.config.ts is not read: nitro-build takes its config from nitro.config.toml"
    assert expected in proc.stderr
    proc = run_cli("build", "--dir", str(project), "--strict")
    assert proc.returncode == 1 and "nitro.config.ts is not read" in proc.stderr


def test_nitro_dev_with_a_server_dir_builds_and_starts_once(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", {
        "nitro.config.toml": 'serverDir = "server"\n[experimental]\ntasks = true\n',
        "server/tasks/a.ts": TASK,
    })
    port = free_port()
    argv = [sys.executable, "-m", "nitro_build", "dev", "--dir", str(project), "--port", str(port)]
    run = Server(argv, tmp_path, cli_env(), port)
    try:
        run.wait_for("[nitro dev] ready:", timeout=30)
        time.sleep(2)  # several watch ticks: nothing changed, so nothing is rebuilt
        assert run.output.count("[nitro dev] ready:") == 1, run.output
        assert "rebuilding" not in run.output, run.output
    finally:
        assert run.stop(signal.SIGTERM) == 0, run.output
