"""Each preset declares what it supports; the build holds the project against it.

A feature a preset lacks is a warning (dropped, and the message says what the platform does
instead) or an UnsupportedFeatureError; either way the preset never receives the data, so its
output never carries it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import build_project, run_cli, write_project
from nitro_build.errors import Warnings
from nitro_build.features import SERVER, Features, NodeBuiltins, Scheduling, narrow
from nitro_build.pipeline import load_project
from nitro_build.presets import PRESETS, get_preset

SECRET = "S3cretPassw0rd"
LOCKED = f"""
[experimental]
tasks = true

[scheduledTasks]
"0 3 * * *" = "tick"

[tasks.tick]
overlap = "allow"

[scheduler.lock]
driver = "redis"
url = "redis://default:{SECRET}@127.0.0.1:6379/0"
"""
TASK = "export default defineTask({ run: () => ({ result: 'tick' }) });\n"


def locked_project(root: Path) -> Path:
    return write_project(root, {"nitro.config.toml": LOCKED, "tasks/tick.ts": TASK})


def tree_bytes(*folders: Path) -> bytes:
    """Every file under `folders`, concatenated."""
    files = [p for f in folders if f.exists() for p in sorted(f.rglob("*")) if p.is_file()]
    return b"".join(p.read_bytes() for p in files)


@pytest.mark.parametrize(
    ("preset", "outputs"),
    [
        ("vercel", (".vercel/output",)),
        ("cloudflare_module", (".output", ".wrangler")),
        ("cloudflare_pages", ("dist",)),
    ],
)
def test_platform_bundles_carry_no_lock_url_and_say_so(
    tmp_path: Path, preset: str, outputs: tuple[str, ...]
) -> None:
    project = locked_project(tmp_path / "p")
    proc = build_project(project, preset)
    assert SECRET.encode() not in tree_bytes(*(project / o for o in outputs))
    assert SECRET not in (project / ".nitro/build" / preset / "registry.mjs").read_text()  # nor its sources
    assert f"scheduler.lock is not used by the {preset} preset" in proc.stdout + proc.stderr
    assert "its URL is not written into the bundle" in proc.stdout + proc.stderr
    # The password warning is about what a bundle carries: not given where the URL is left out.
    assert "the URL contains a password" not in proc.stdout + proc.stderr


def test_server_bundle_keeps_the_lock_and_warns_about_its_password(tmp_path: Path) -> None:
    project = locked_project(tmp_path / "p")
    proc = build_project(project, "node_server")
    assert SECRET.encode() in tree_bytes(project / ".output")
    assert "scheduler.lock.url: the URL contains a password" in proc.stdout + proc.stderr
    assert "overlap =" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("preset", ["vercel", "cloudflare_module"])
@pytest.mark.parametrize("policy", ["allow", "skip"])
def test_overlap_is_never_silently_ignored(tmp_path: Path, preset: str, policy: str) -> None:
    config = (
        '[experimental]\ntasks = true\n[scheduledTasks]\n"0 3 * * *" = "tick"\n'
        f'[tasks.tick]\noverlap = "{policy}"\n'
    )
    project = write_project(tmp_path / "p", {"nitro.config.toml": config, "tasks/tick.ts": TASK})
    proc = build_project(project, preset)
    expected = f'nitro.config.toml: tasks."tick".overlap = "{policy}" has no effect with the {preset} preset'
    assert expected in proc.stdout + proc.stderr
    assert "can overlap" in proc.stdout + proc.stderr
    assert "taskOverlap" not in (project / ".nitro/build" / preset / "registry.mjs").read_text()
    strict = run_cli("build", "--preset", preset, "--dir", str(project), "--strict")
    assert strict.returncode == 1 and expected in strict.stderr


def test_unset_overlap_is_not_warned_about(tmp_path: Path) -> None:
    config = '[experimental]\ntasks = true\n[scheduledTasks]\n"0 3 * * *" = "tick"\n'
    project = write_project(tmp_path / "p", {"nitro.config.toml": config, "tasks/tick.ts": TASK})
    for preset in ("vercel", "cloudflare_module", "node_server"):
        proc = build_project(project, preset)
        assert "overlap =" not in proc.stdout + proc.stderr, preset


def test_every_preset_declares_its_features() -> None:
    declared = {name: get_preset(name).features for name in PRESETS}
    assert all(isinstance(f, Features) for f in declared.values())
    servers = ("node_server", "node_cluster", "node_middleware", "bun", "dev")
    assert all(declared[name] == SERVER for name in servers)
    assert declared["deno_server"].platform == SERVER.platform | {"deno-kv"}
    assert declared["cloudflare_module"].scheduling is Scheduling.CLOUDFLARE_CRON
    assert declared["vercel"].scheduling is Scheduling.VERCEL_CRON
    assert declared["cloudflare_module"].node_builtins is NodeBuiltins.NODEJS_COMPAT
    for name in ("cloudflare_module", "cloudflare_pages", "vercel"):
        assert not declared[name].scheduler_lock and not declared[name].overlap
        assert declared[name].reason("overlap") and declared[name].reason("scheduler_lock")


def test_narrow_drops_what_the_preset_lacks(tmp_path: Path) -> None:
    project, _ = load_project(locked_project(tmp_path / "p"), Warnings())
    assert project.scheduler.lock is not None and project.tasks[0].overlap == "allow"
    kept = narrow(get_preset("node_server"), project, Warnings())
    assert kept == project and kept.scheduler.lock == project.scheduler.lock
    warnings = Warnings()
    vercel = narrow(get_preset("vercel"), project, warnings)
    assert vercel.scheduler.lock is None and vercel.tasks[0].overlap is None
    assert len(warnings.items) == 2


def test_platform_sections_reach_only_their_presets(tmp_path: Path) -> None:
    config = (
        '[experimental]\ntasks = true\n[cloudflare.wrangler.vars]\nGREETING = "hi"\n'
        '[vercel]\ncronHandlerRoute = "/_cron"\n'
    )
    project, _ = load_project(write_project(tmp_path / "p", {"nitro.config.toml": config}), Warnings())
    wrangler = {"vars": {"GREETING": "hi"}}
    cloudflare = narrow(get_preset("cloudflare_module"), project, Warnings())
    assert cloudflare.cloudflare.wrangler == wrangler
    assert cloudflare.vercel.cron_handler_route == "/_vercel/cron"  # the default: not read there
    vercel = narrow(get_preset("vercel"), project, Warnings())
    assert vercel.vercel.cron_handler_route == "/_cron" and vercel.cloudflare.wrangler == {}
    server = narrow(get_preset("node_server"), project, Warnings())
    assert server.cloudflare.wrangler == {} and server.vercel.cron_handler_route == "/_vercel/cron"


def test_storage_drivers_follow_the_declared_platform(tmp_path: Path) -> None:
    """A storage driver the preset's platform cannot serve is an UnsupportedFeatureError naming both."""
    config = '[experimental]\ntasks = true\n[storage.cache]\ndriver = "fs"\nbase = ".data/cache"\n'
    task = (
        "export default defineTask({ run: async () => ({ result: await useStorage('cache').getKeys() }) });\n"
    )
    project = write_project(tmp_path / "p", {"nitro.config.toml": config, "tasks/keys.ts": task})
    assert "filesystem" not in get_preset("cloudflare_module").features.platform
    proc = run_cli("build", "--preset", "cloudflare_module", "--dir", str(project))
    assert proc.returncode == 1
    assert "storage driver 'fs' (useStorage) is not available on preset cloudflare_module" in proc.stderr
    build_project(project, "node_server")
