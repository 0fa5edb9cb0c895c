"""The start-up caches (issue 14): a repeated `check` or build reads the validated config
(compiler/config_store.py) and the rendered sources (compiler/render.py) back from the user's cache
folder (compiler/user_cache.py) instead of importing pydantic and Jinja.

What must hold: the results are exactly what the models and Jinja give (every preset's dry-run
artifacts and warnings), every input change is seen (config, a task file, the tool's version,
its code, a template), errors are reported every time and never cached, and a corrupt, foreign
or concurrently written cache never breaks a build.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nitro_build.config_models
import pytest
from conftest import BIN, TASK, TASKS_ON, cli_env, run_cli, write_project
from nitro_build import CompilerError, build, render, user_cache
from nitro_build.config import load_config
from nitro_build.config_store import ConfigView
from nitro_build.presets import PRESETS

MISSING_ESBUILD = "/nonexistent/esbuild"
# Every section of the schema, models inside dicts (tasks, storage), extra keys (a storage
# driver's options), a Nitro key nitro-build sets aside (routeRules: the warning must survive).
RICH = (
    TASKS_ON
    + """
[tasks."db:migrate"]
handler = "jobs/migrate.ts"
description = "Migrate"
overlap = "allow"

[scheduledTasks]
"0 * * * *" = ["db:migrate", "a"]
"CRON_TZ=Europe/Berlin 0 9 * * *" = "a"

[runtimeConfig]
apiBase = "/api"
nested = { list = [1, 2.5, true, "x"], empty = {} }

[storage.data]
driver = "fs"
base = "./data"

[scheduler]
timezone = "UTC"

[scheduler.lock]
driver = "redis"
url = "redis://localhost:6379/0"
prefix = "app"
onLockError = "run"

[cloudflare]
pagesCronWorker = true

[cloudflare.wrangler]
name = "app"
vars = { A = "1" }

[vercel]
cronHandlerRoute = "/_cron"

[kubernetes]
image = "example.com/app:1"
namespace = "jobs"
replicas = 2
resources = { requests = { cpu = "100m" } }
jobResources = { limits = { memory = "256Mi" } }

[routeRules."/api/**"]
cors = true
"""
)
JOB = 'export default defineTask({ meta: { description: "job" }, run() { return { result: 1 } } });\n'

# Runs the CLI in a fresh interpreter, then reports which heavy modules it imported.
PROBE = """
import json, sys
from nitro_build.entry import nitro_build
sys.argv = ["nitro-build", *json.loads(sys.argv[1])]
code = 0
try:
    nitro_build()
except SystemExit as exc:
    code = exc.code
print("\\nPROBE " + json.dumps([code, sorted(m for m in ("pydantic", "jinja2", "tomllib") if m in sys.modules)]))
"""


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache folder of this test's own (XDG_CACHE_HOME, read by every run)."""
    folder = tmp_path / "xdg-cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    return folder / "nitro-build"


@pytest.fixture
def templates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A templates folder of this test's own, for a Jinja environment made for it."""
    folder = tmp_path / "templates"
    folder.mkdir()
    monkeypatch.setattr(render, "TEMPLATES_DIR", folder)
    render.environment.cache_clear()
    yield folder
    render.environment.cache_clear()  # before monkeypatch restores the real folder


def probe(*argv: str, **env: str) -> tuple[int, list[str], str]:
    """(exit code, heavy modules imported, output) of one CLI run in a fresh interpreter."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv)],
        capture_output=True,
        text=True,
        env=cli_env(**env),
        timeout=120,
    )
    code, heavy = json.loads(proc.stdout.rsplit("PROBE ", 1)[1])
    return code, heavy, proc.stdout.rsplit("\nPROBE ", 1)[0] + proc.stderr


def entries(cache: Path, kind: str) -> list[Path]:
    return sorted((cache / kind).glob("*.json")) if (cache / kind).is_dir() else []


def outputs(project: Path) -> dict[str, bytes]:
    found = {}
    for top in (".output", ".nitro/build"):
        for path in sorted((project / top).rglob("*")):
            if path.is_file():
                found[path.relative_to(project).as_posix()] = path.read_bytes()
    return found


def small_project(root: Path, config: str = "") -> Path:
    schedules = '[scheduledTasks]\n"*/5 * * * *" = ["a", "b"]\n'
    return write_project(
        root, {"nitro.config.toml": TASKS_ON + config + schedules, "tasks/a.ts": TASK, "tasks/b.ts": TASK}
    )


def test_a_repeated_check_and_build_import_neither_pydantic_nor_jinja(cache: Path, tmp_path: Path) -> None:
    project = small_project(tmp_path / "p")
    check = ("check", "--dir", str(project))
    code, heavy, cold = probe(*check, NITRO_ESBUILD=MISSING_ESBUILD)
    assert (code, heavy) == (0, ["pydantic", "tomllib"]), cold
    code, heavy, warm = probe(*check, NITRO_ESBUILD=MISSING_ESBUILD)
    assert (code, heavy, warm) == (0, [], cold)
    assert "ok: node_server: 2 tasks, 1 schedules" in warm
    assert not (project / ".nitro").exists()  # the caches are the user's, not the project's
    code, heavy, first = probe("--dir", str(project))
    assert (code, heavy) == (0, ["jinja2"]), first  # the config: read back, not parsed
    built = outputs(project)
    code, heavy, second = probe("--dir", str(project))
    assert (code, heavy) == (0, []), second
    assert outputs(project) == built


def dry_runs(project: Path) -> dict[str, Any]:
    """Every preset's dry run: its artifacts, warnings, tasks and schedules, or its error."""
    found: dict[str, Any] = {}
    for preset in sorted(PRESETS):
        try:
            r = build(project, preset, dry_run=True)
        except CompilerError as exc:
            found[preset] = ("error", type(exc).__name__, str(exc))
            continue
        schedules = [(s.cron, s.platform_cron, s.tasks, s.zone) for s in r.schedules]
        found[preset] = (dict(r.artifacts), r.warnings, r.tasks, schedules, r.input_hash)
    return found


def test_every_preset_builds_the_same_from_the_cached_config_as_from_the_models(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NITRO_ESBUILD", str(BIN / "esbuild"))
    project = write_project(
        tmp_path / "p", {"nitro.config.toml": RICH, "tasks/a.ts": TASK, "jobs/migrate.ts": JOB}
    )
    cold = dry_runs(project)
    assert len(entries(cache, "config")) == 1
    assert isinstance(load_config(project)[0], ConfigView)

    def no_validation(*args: object) -> None:
        raise AssertionError("validated again: the cached config was not used")

    monkeypatch.setattr(nitro_build.config_models, "validate", no_validation)
    warm = dry_runs(project)
    assert warm == cold
    assert [p for p, r in cold.items() if r[0] == "error"] != sorted(PRESETS)  # mostly builds
    assert any("routeRules" in w for r in warm.values() if r[0] != "error" for w in r[1])


def test_a_changed_config_or_tool_version_or_code_is_validated_again(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = small_project(tmp_path / "p")
    assert not isinstance(load_config(project)[0], ConfigView)
    assert isinstance(load_config(project)[0], ConfigView)
    config = project / "nitro.config.toml"
    config.write_text(config.read_text() + '[tasks.a]\ndescription = "changed"\n')
    fresh = load_config(project)[0]
    assert not isinstance(fresh, ConfigView) and fresh.tasks["a"].description == "changed"
    warm = load_config(project)[0]
    assert isinstance(warm, ConfigView) and warm.tasks["a"].description == "changed"
    assert warm.tasks["a"].model_fields_set == {"description"}

    monkeypatch.setattr(user_cache, "__version__", "99.0.0")
    user_cache.code_fingerprint.cache_clear()
    assert not isinstance(load_config(project)[0], ConfigView)
    assert isinstance(load_config(project)[0], ConfigView)

    real_stamp = user_cache._library_stamp
    monkeypatch.setattr(user_cache, "_library_stamp", lambda name, file: real_stamp(name, file) + "-upgraded")
    user_cache.code_fingerprint.cache_clear()  # pydantic or Jinja upgraded
    assert not isinstance(load_config(project)[0], ConfigView)
    assert isinstance(load_config(project)[0], ConfigView)

    code = tmp_path / "code"
    write_project(code, {"module.py": "x = 1\n"})
    monkeypatch.setattr(user_cache, "CODE_DIRS", (code,))
    user_cache.code_fingerprint.cache_clear()
    assert not isinstance(load_config(project)[0], ConfigView)
    (code / "module.py").write_text("x = 22\n")  # another size: an edited checkout
    user_cache.code_fingerprint.cache_clear()
    assert not isinstance(load_config(project)[0], ConfigView)
    user_cache.code_fingerprint.cache_clear()


def test_a_changed_task_file_is_seen_by_a_repeated_check_and_build(cache: Path, tmp_path: Path) -> None:
    project = small_project(tmp_path / "p")
    for _ in range(2):
        proc = run_cli("check", "--dir", str(project))
        assert "ok: node_server: 2 tasks, 1 schedules" in proc.stdout, proc.stderr
    (project / "tasks/c.ts").write_text(TASK)
    assert "ok: node_server: 3 tasks, 1 schedules" in run_cli("check", "--dir", str(project)).stdout
    first = run_cli("build", "--dir", str(project), "--json")
    assert first.returncode == 0, first.stderr
    assert not any('"job"' in text for text in generated(project).values())
    (project / "tasks/c.ts").write_text(JOB)  # now with a description: the registry changes
    second = run_cli("build", "--dir", str(project), "--json")
    tasks = {t["name"]: t["description"] for t in json.loads(second.stdout)["tasks"]}
    assert tasks == {"a": None, "b": None, "c": "job"}
    assert any('"job"' in text for text in generated(project).values())  # the task table's text


def generated(project: Path) -> dict[str, str]:
    """The generated sources of a node_server build (not the runtime copy)."""
    sources = project / ".nitro/build/node_server"
    return {
        p.relative_to(sources).as_posix(): p.read_text()
        for p in sources.rglob("*.mjs")
        if "runtime" not in p.relative_to(sources).parts
    }


BROKEN = {
    "truncated": lambda text: text[: len(text) // 2],
    "not JSON": lambda text: "\x00garbage",
    "another key": lambda text: text.replace('"key": "', '"key": "0', 1),
    "wrong node": lambda text: json.dumps({"key": json.loads(text)["key"], "value": {"m": [1]}}),
    "a list": lambda text: json.dumps({"key": json.loads(text)["key"], "value": [1, 2]}),
    "deeply nested": lambda text: (
        json.dumps({"key": json.loads(text)["key"]})[:-1] + ', "value": ' + "[" * 100000 + "]" * 100000 + "}"
    ),
}


@pytest.mark.parametrize("damage", sorted(BROKEN))
def test_a_corrupt_cache_entry_is_ignored_and_replaced(cache: Path, tmp_path: Path, damage: str) -> None:
    project = small_project(tmp_path / "p", '[tasks.a]\ndescription = "A"\n')
    expected = load_config(project)[0]
    (entry,) = entries(cache, "config")
    entry.write_text(BROKEN[damage](entry.read_text()))
    again = load_config(project)[0]
    assert not isinstance(again, ConfigView) and again == expected
    warm = load_config(project)[0]  # the entry was written again, whole
    assert isinstance(warm, ConfigView) and warm.tasks["a"].description == "A"


def test_an_invalid_config_is_reported_every_time_and_never_cached(cache: Path, tmp_path: Path) -> None:
    project = small_project(tmp_path / "p")
    config = project / "nitro.config.toml"
    good = config.read_text()
    assert run_cli("check", "--dir", str(project)).returncode == 0
    config.write_text(good + "[tasks.a]\noverlap = 3\n")
    messages = set()
    for _ in range(3):
        proc = run_cli("check", "--dir", str(project))
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        messages.add(proc.stderr)
    (message,) = messages
    assert "nitro.config.toml: tasks.a.overlap: " in message
    assert len(entries(cache, "config")) == 1  # the good config's only
    config.write_text(good)
    assert run_cli("check", "--dir", str(project)).returncode == 0


def test_concurrent_first_runs_share_one_whole_entry(cache: Path, tmp_path: Path) -> None:
    project = small_project(tmp_path / "p")
    argv = [sys.executable, "-m", "nitro_build", "check", "--dir", str(project), "--json"]
    procs = [
        subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env())
        for _ in range(6)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 6, results
    assert len({out for out, _ in results}) == 1
    assert len(entries(cache, "config")) == 1
    assert not [p for p in (cache / "config").iterdir() if p.name.startswith(".tmp-")]
    assert isinstance(load_config(project)[0], ConfigView)


def test_a_cache_folder_others_can_write_is_not_used(cache: Path, tmp_path: Path) -> None:
    project = small_project(tmp_path / "p")
    load_config(project)
    (cache / "config").chmod(0o777)
    assert not isinstance(load_config(project)[0], ConfigView)
    (cache / "config").chmod(0o700)
    assert isinstance(load_config(project)[0], ConfigView)


@pytest.mark.parametrize("value", ["0", "off"])
def test_nitro_build_cache_off_writes_no_cache_and_validates_every_time(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    project = small_project(tmp_path / "p")
    monkeypatch.setenv("NITRO_BUILD_CACHE", value)
    for _ in range(2):
        assert not isinstance(load_config(project)[0], ConfigView)
    assert not cache.exists()
    code, heavy, out = probe("check", "--dir", str(project), NITRO_BUILD_CACHE=value)
    assert (code, heavy) == (0, ["pydantic", "tomllib"]), out
    assert not cache.exists()


def test_a_config_that_is_not_plain_json_is_validated_every_time(cache: Path, tmp_path: Path) -> None:
    """A TOML date in runtimeConfig: JSON would give it back as a string."""
    project = small_project(tmp_path / "p", "[runtimeConfig]\nsince = 2024-01-02\n")
    for _ in range(2):
        config = load_config(project)[0]
        assert not isinstance(config, ConfigView)
        assert config.runtime_config["since"].isoformat() == "2024-01-02"
    assert entries(cache, "config") == []


def test_no_config_file_is_cached_too(cache: Path, tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", {"tasks/a.ts": TASK})
    cold, path = load_config(project)
    assert path is None and not isinstance(cold, ConfigView)
    warm = load_config(project)[0]
    assert isinstance(warm, ConfigView) and warm.model_dump() == cold.model_dump()


# ------------------------------------------------------------------------------------ render cache


def test_a_rendering_is_reused_only_for_the_same_template_text_and_context(
    cache: Path, templates: Path
) -> None:
    (templates / "t.mjs.jinja").write_text("a {{ x }} {{ y }}")
    assert render.render("t.mjs.jinja", x=1, y=[1, 2]) == "a 1 [1, 2]"
    assert render.render("t.mjs.jinja", x=1, y=(1, 2)) == "a 1 (1, 2)"  # a tuple renders otherwise
    assert render.render("t.mjs.jinja", x=True, y=[1, 2]) == "a True [1, 2]"  # True == 1 in Python
    assert len(entries(cache, "render")) == 3
    (templates / "t.mjs.jinja").write_text("b {{ x }} {{ y }}")
    assert render.render("t.mjs.jinja", x=1, y=[1, 2]) == "b 1 [1, 2]"


def test_a_context_holding_an_object_is_rendered_every_time(cache: Path, templates: Path) -> None:
    class Thing:
        def __init__(self, value: str) -> None:
            self.value = value

    (templates / "t.jinja").write_text("{{ x.value }}")
    assert [render.render("t.jinja", x=Thing(v)) for v in ("1", "2")] == ["1", "2"]
    assert entries(cache, "render") == []


def test_the_render_cache_gives_the_sources_jinja_gives(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real templates on every preset, rendered by Jinja and then read back: the same bytes
    (the snapshot tests pin what Jinja renders)."""
    monkeypatch.setenv("NITRO_ESBUILD", str(BIN / "esbuild"))
    project = write_project(
        tmp_path / "p", {"nitro.config.toml": RICH, "tasks/a.ts": TASK, "jobs/migrate.ts": JOB}
    )
    cold = dry_runs(project)
    assert entries(cache, "render")

    def no_jinja() -> None:
        raise AssertionError("rendered again: the render cache was not used")

    monkeypatch.setattr(render, "environment", no_jinja)
    assert dry_runs(project) == cold


def test_the_cache_keeps_its_newest_entries_and_drops_what_killed_writers_left(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(user_cache, "MAX_ENTRIES", 3)
    monkeypatch.setattr(user_cache, "PRUNE_EVERY", 1)
    user_cache.write("test", "first", 0)
    left = cache / "test" / ".tmp-99999999-0.json"  # a write killed before its rename, long ago
    left.write_text("{")
    os.utime(left, (1, 1))
    fresh = cache / "test" / ".tmp-99999999-1.json"  # one still being written by another build
    fresh.write_text("{")
    for n in range(1, 6):
        user_cache.write("test", f"k{n}", n)
        assert user_cache.read("test", f"k{n}") == n
        time.sleep(0.01)  # distinct modification times
    kept = sorted(p.name for p in entries(cache, "test") if not p.name.startswith(".tmp-"))
    assert kept == ["k3.json", "k4.json", "k5.json"]
    assert not left.exists() and fresh.exists()
    assert user_cache.read("test", "k1") is None
