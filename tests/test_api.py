"""The public Python API (`nitro_build.build`), dry runs, and the CI facts in nitro.json.

A dry run's artifacts are, byte for byte, the files a real build writes, on every preset; the real
builds here run the real esbuild."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import nitro_build
import pytest
from conftest import BIN, FIXTURES, REPO, TASK, TASKS_ON, copy_fixture, run_cli, write_project
from nitro_build import build
from nitro_build.presets import PRESETS
from test_build_errors import tree_digest

MISSING_ESBUILD = "/nonexistent/esbuild"
# Presets on a fixture that exercises their platform files (user wrangler.toml, vercel.json, ...);
# every other preset (a new one too) is checked on fixtures/basic.
CASES = {
    **dict.fromkeys(PRESETS, "basic"),
    "cloudflare_module": "cloudflare-toml",
    "cloudflare_pages": "cloudflare",
    "vercel": "vercel_user_json",
}
# Files a real build writes that are not artifacts: bundles (and their maps), esbuild's inputs.
BUNDLED_SUFFIXES = (
    "index.mjs",
    "index.js",
    "/main.mjs",
    ".map",
)  # main.mjs: the netlify bundle, as Nitro names it
BUNDLED_FOLDER = "/chunks/"  # esbuild's split chunks beside the entry (compiler/lazy_tasks.py)


def project_for(preset: str, dest: Path) -> Path:
    project = copy_fixture(CASES[preset], dest)
    if preset == "cloudflare_pages":  # the companion cron Worker's files are artifacts too
        config = project / "nitro.config.toml"
        config.write_text(config.read_text() + "\n[cloudflare]\npagesCronWorker = true\n")
    if preset == "kubernetes":  # its one required key
        config = project / "nitro.config.toml"
        config.write_text(config.read_text() + '\n[kubernetes]\nimage = "example.com/app:1"\n')
    return project


def written_files(path: Path) -> list[Path]:
    return [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("preset", sorted(CASES))
def test_dry_run_artifacts_are_the_bytes_a_real_build_writes(
    preset: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = project_for(preset, tmp_path)
    monkeypatch.setenv("NITRO_ESBUILD", MISSING_ESBUILD)
    before = tree_digest(project)
    dry = build(project, preset, dry_run=True)
    assert tree_digest(project) == before  # nothing written, no esbuild needed
    assert dry.dry_run and dry.files == {} and dry.preset == preset
    monkeypatch.setenv("NITRO_ESBUILD", str(BIN / "esbuild"))
    real = build(project, preset)
    for rel, text in dry.artifacts.items():
        assert (project / rel).read_bytes() == text.encode("utf-8"), rel
    nitro = f"{real.output_dir}/nitro.json"
    nitro_json = real.artifacts[nitro]
    assert {k: v for k, v in real.artifacts.items() if not k.endswith("/nitro.json")} == dict(dry.artifacts)
    assert (project / real.output_dir / "nitro.json").read_text() == nitro_json
    # Complete: every written output that is not a bundle (or nitro.json) is an artifact of the dry run.
    written = {f.relative_to(project).as_posix() for r in real.outputs for f in written_files(project / r)}
    assert written and {k for k in dry.artifacts if not k.startswith(".nitro/build/")} <= written
    unbundled = {k for k in written if BUNDLED_FOLDER not in k}
    assert {k for k in unbundled if not k.endswith(BUNDLED_SUFFIXES + ("/nitro.json",))} <= set(dry.artifacts)
    assert real.files == ({} if preset == "dev" else {k: sha256(project / k) for k in written - {nitro}})
    assert dry.input_hash == real.input_hash


def test_nitro_json_lists_every_output_file_with_its_sha256_and_json_prints_the_same(tmp_path: Path) -> None:
    project = project_for("cloudflare_module", tmp_path)
    proc = run_cli("build", "--dir", str(project), "--preset", "cloudflare_module", "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    facts = json.loads((project / ".output/nitro.json").read_text())
    assert facts["inputHash"] == summary["inputHash"] and facts["inputHash"].startswith("sha256:")
    assert facts["files"] == summary["files"]
    written = {p.relative_to(project).as_posix() for p in (project / ".output").rglob("*") if p.is_file()}
    written |= {".wrangler/deploy/config.json"}
    assert set(facts["files"]) == written - {".output/nitro.json"}
    for rel, digest in facts["files"].items():
        assert hashlib.sha256((project / rel).read_bytes()).hexdigest() == digest, rel
    dry = json.loads(
        run_cli(
            "build",
            "--dir",
            str(project),
            "--preset",
            "cloudflare_module",
            "--dry-run",
            "--json",
            NITRO_ESBUILD=MISSING_ESBUILD,
        ).stdout
    )
    assert dry["inputHash"] == facts["inputHash"] and dry["files"] == {} and dry["dryRun"] is True


# ---------------------------------------------------------------- the input hash


def hash_of(project: Path, preset: str = "node_server") -> str:
    return build(project, preset, dry_run=True).input_hash


def test_input_hash_ignores_the_folder_and_timestamps(tmp_path: Path) -> None:
    project = copy_fixture("basic", tmp_path / "a")
    first = hash_of(project)
    moved = tmp_path / "elsewhere" / "deeper" / "basic"
    shutil.copytree(project, moved)
    shutil.rmtree(project)
    assert hash_of(moved) == first
    for path in moved.rglob("*"):
        os.utime(path, (1_000_000_000, 1_000_000_000))
    assert hash_of(moved) == first
    # Not inputs: prose, dependencies, VCS state, build outputs.
    write_project(
        moved,
        {
            "README.md": "# docs\n",
            "node_modules/x/index.js": "export default 1;\n",
            ".git/config": "[core]\n",
            ".vercel/output/config.json": "{}\n",
            "dist/_worker.js/index.js": "old bundle\n",
        },
    )
    assert hash_of(moved) == first


def test_input_hash_changes_with_config_task_file_preset_and_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = copy_fixture("basic", tmp_path)
    seen = {hash_of(project)}

    def changed() -> str:
        digest = hash_of(project)
        assert digest not in seen
        seen.add(digest)
        return digest

    config = project / "nitro.config.toml"
    config.write_text(config.read_text() + "\n# a comment is a change of input\n")
    changed()
    task = next((project / "tasks").rglob("*.ts"))
    task.write_text(task.read_text() + "\n// edited\n")
    changed()
    assert build(project, "bun", dry_run=True).input_hash not in seen
    (project / "wrangler.toml").write_text('name = "x"\n')  # a platform config the presets read
    changed()
    write_project(project, {"utils/db.ts": "export const url = 'a';\n"})  # a helper a task imports
    changed()
    (project / "utils/db.ts").write_text("export const url = 'b';\n")
    changed()
    import nitro_build.inputs

    monkeypatch.setattr(nitro_build.inputs, "__version__", "99.0.0")
    changed()


# ---------------------------------------------------------------- CLI: check, --dry-run, --print

BAD_CONFIGS = {
    "cron out of range": TASKS_ON + '[scheduledTasks]\n"61 * * * *" = "a"\n',
    "misspelt key": TASKS_ON + '[scheduledTask]\n"* * * * *" = "a"\n',
    "invalid TOML": TASKS_ON + "[scheduledTasks\n",
    "unknown preset": 'preset = "cloudflare_modul"\n' + TASKS_ON,
    "output over the sources": TASKS_ON + '[output]\ndir = "tasks"\n',
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_check_and_dry_run_give_the_build_s_message_for_a_bad_config(case: str, tmp_path: Path) -> None:
    project = write_project(tmp_path, {"nitro.config.toml": BAD_CONFIGS[case], "tasks/a.ts": TASK})
    built = run_cli("build", "--dir", str(project))
    assert built.returncode == 1 and "\nerror: " in "\n" + built.stderr
    for argv in (["check"], ["build", "--dry-run"]):
        proc = run_cli(*argv, "--dir", str(project), NITRO_ESBUILD=MISSING_ESBUILD)
        assert proc.returncode == 1, proc
        assert proc.stderr == built.stderr and "Traceback" not in proc.stderr


def test_a_preset_specific_cron_error_is_found_by_check_for_that_preset(tmp_path: Path) -> None:
    """Seconds other than 0 are fine on servers, refused by Cloudflare and Vercel."""
    config = TASKS_ON + '[scheduledTasks]\n"*/10 * * * * *" = "a"\n'
    project = write_project(tmp_path, {"nitro.config.toml": config, "tasks/a.ts": TASK})
    ok = run_cli("check", "--dir", str(project), NITRO_ESBUILD=MISSING_ESBUILD)
    assert ok.returncode == 0 and "ok: node_server: 1 tasks, 1 schedules" in ok.stdout
    text = run_cli("check", "--dir", str(project), "--preset", "bun", "--preset", "vercel")
    assert text.returncode == 1
    assert text.stdout.splitlines() == ["ok: bun: 1 tasks, 1 schedules", "failed: vercel"]
    proc = run_cli(
        "check",
        "--dir",
        str(project),
        "--preset",
        "node_server",
        "--preset",
        "vercel",
        "--preset",
        "cloudflare_module",
        "--json",
        NITRO_ESBUILD=MISSING_ESBUILD,
    )
    assert proc.returncode == 1
    results = {r["preset"]: r for r in json.loads(proc.stdout)["results"]}
    assert [results[p]["ok"] for p in ("node_server", "vercel", "cloudflare_module")] == [True, False, False]
    assert not (project / ".output").exists() and not (project / ".nitro").exists()  # check writes nothing
    for preset in ("vercel", "cloudflare_module"):
        built = run_cli("build", "--dir", str(project), "--preset", preset)
        assert built.stderr == f"error: {results[preset]['error']}\n"


def test_check_passes_on_every_fixture_without_esbuild(tmp_path: Path) -> None:
    for name in sorted(set(CASES.values())):
        project = copy_fixture(name, tmp_path)
        proc = run_cli("check", "--dir", str(project), NITRO_ESBUILD=MISSING_ESBUILD)
        assert proc.returncode == 0, (name, proc.stderr)
        assert proc.stdout.startswith("ok: ")


def test_check_and_dry_run_of_a_project_with_storage_drivers_need_no_esbuild(tmp_path: Path) -> None:
    """The unstorage driver table is looked up while planning; without esbuild it is still found
    in the project's node_modules (where `npm install unstorage` puts it; nitro-build's own
    node_modules exist only in a checkout), and the dry run equals a real build."""
    config = TASKS_ON + '[storage.cache]\ndriver = "memory"\n'
    project = write_project(tmp_path, {"nitro.config.toml": config, "tasks/a.ts": TASK})
    (project / "node_modules").mkdir()
    (project / "node_modules" / "unstorage").symlink_to(REPO / "node_modules" / "unstorage")
    for argv in (["check"], ["build", "--dry-run", "--print", "storage.mjs"]):
        proc = run_cli(*argv, "--dir", str(project), NITRO_ESBUILD=MISSING_ESBUILD)
        assert proc.returncode == 0, proc.stderr
    assert "memory" in proc.stdout
    real = run_cli("build", "--dir", str(project))
    assert real.returncode == 0, real.stderr
    assert (project / ".nitro/build/node_server/_virtual/storage.mjs").read_text() == proc.stdout


def test_dry_run_print_shows_one_artifact_exactly(tmp_path: Path) -> None:
    project = copy_fixture("vercel_user_json", tmp_path)
    proc = run_cli(
        "build",
        "--dir",
        str(project),
        "--preset",
        "vercel",
        "--dry-run",
        "--print",
        ".vercel/output/config.json",
        NITRO_ESBUILD=MISSING_ESBUILD,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == build(project, "vercel", dry_run=True).artifacts[".vercel/output/config.json"]
    assert json.loads(proc.stdout)["version"] == 3
    assert not (project / ".vercel").exists()
    missing = run_cli(
        "build",
        "--dir",
        str(project),
        "--preset",
        "vercel",
        "--dry-run",
        "--print",
        "wrangler.toml",
        NITRO_ESBUILD=MISSING_ESBUILD,
    )
    assert missing.returncode == 1 and "no artifact 'wrangler.toml'" in missing.stderr
    assert ".vercel/output/config.json" in missing.stderr  # it lists what there is


# ---------------------------------------------------------------- the public surface


def test_public_names_and_a_cheap_import() -> None:
    for name in nitro_build.__all__:
        assert hasattr(nitro_build, name), name
    assert issubclass(nitro_build.CronError, nitro_build.CompilerError)
    import nitro_build.errors as errors  # every error the CLI can print is exported

    error_types = [v for v in vars(errors).values() if isinstance(v, type)]
    named = {t.__name__ for t in error_types if issubclass(t, errors.CompilerError)}
    assert named <= set(nitro_build.__all__)
    heavy = "('pydantic', 'jinja2', 'click', 'tomlkit')"
    code = f"import sys, nitro_build; print(sorted(m for m in {heavy} if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_artifacts_are_found_by_a_unique_file_name(tmp_path: Path) -> None:
    project = copy_fixture("cloudflare", tmp_path)
    config = project / "nitro.config.toml"
    config.write_text(config.read_text() + "\n[cloudflare]\npagesCronWorker = true\n")
    module = build(project, "cloudflare_module", dry_run=True)
    assert module.artifacts["wrangler.toml"] == module.artifacts[".output/server/wrangler.toml"]
    assert module.artifacts["wrangler.toml"].path == ".output/server/wrangler.toml"
    assert "wrangler.toml" in module.artifacts and "nitro.json" not in module.artifacts
    assert {s.platform_cron for s in module.schedules} >= {"0 9 * * MON", "0 0 * * *"}
    assert all(len(s.next) == 3 and s.next[0].utcoffset() == timedelta(0) for s in module.schedules)
    pages = build(project, "cloudflare_pages", dry_run=True)
    assert pages.artifacts["_cron/wrangler.toml"].startswith("# generated by nitro-build")
    two = nitro_build.Artifacts({"a/config.json": "{}", "b/config.json": "[]"})
    with pytest.raises(KeyError, match="ambiguous: a/config.json, b/config.json"):
        two["config.json"]
    assert two["b/config.json"] == "[]" and "config.json" not in two
    copied = pickle.loads(pickle.dumps(copy.deepcopy(module)))
    assert copied.artifacts["wrangler.toml"].path == ".output/server/wrangler.toml"
    assert dict(copied.artifacts) == dict(module.artifacts)


def test_the_pre_commit_hook_runs_the_check_command(tmp_path: Path) -> None:
    """.pre-commit-hooks.yaml names `nitro-build check`; that console script's function checks."""
    hooks = (REPO / ".pre-commit-hooks.yaml").read_text()
    assert "- id: nitro-build-check\n" in hooks and "entry: nitro-build check\n" in hooks
    assert "pass_filenames: false" in hooks and "language: python" in hooks
    bad = BAD_CONFIGS["cron out of range"]
    project = write_project(tmp_path, {"nitro.config.toml": bad, "tasks/a.ts": TASK})
    script = (
        "import sys; from nitro_build.entry import nitro_build; sys.argv[0] = 'nitro-build'; nitro_build()"
    )
    env = {**os.environ, "NITRO_ESBUILD": MISSING_ESBUILD}
    proc = subprocess.run(
        [sys.executable, "-c", script, "check"], cwd=project, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 1 and "minute 61 is out of range 0-59" in proc.stderr
    (project / "nitro.config.toml").write_text(TASKS_ON + '[scheduledTasks]\n"1 * * * *" = "a"\n')
    proc = subprocess.run(
        [sys.executable, "-c", script, "check", "--json"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0 and json.loads(proc.stdout)["ok"] is True


def test_check_loads_neither_jinja_nor_the_bundler() -> None:
    """What keeps `check` fast enough for a pre-commit hook: no template engine, no esbuild code."""
    project = FIXTURES / "basic"
    script = (
        "import sys\nfrom nitro_build.entry import nitro_build\n"
        f"sys.argv = ['nitro-build', 'check', '--dir', {str(project)!r}]\n"
        "try:\n    nitro_build()\nexcept SystemExit as exc:\n    code = exc.code\n"
        "heavy = ('jinja2', 'nitro_build.bundle', 'nitro_build.emit', 'nitro_build.cli', 'watchfiles')\n"
        "print(code, sorted(m for m in heavy if m in sys.modules))\n"
    )
    env = {**os.environ, "NITRO_ESBUILD": MISSING_ESBUILD}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert proc.stdout.strip().splitlines()[-1] == "0 []", proc
