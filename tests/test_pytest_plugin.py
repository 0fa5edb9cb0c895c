"""The pytest plugin users install with nitro-build: a throwaway project with its own test suite
(tests/test_configs.py), run in a fresh pytest process that finds the plugin through its `pytest11`
entry point, with the real syrupy."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import TASK, TASKS_ON, run_cli

pytest_plugins = ["pytester"]

CONFIG = TASKS_ON + '[scheduledTasks]\n"0 9 * * 1" = "report"\n'
TEST_CONFIGS = """
def test_wrangler(nitro_build, snapshot):
    result = nitro_build("cloudflare_module")
    assert result.artifacts["wrangler.toml"] == snapshot
    assert result.artifacts[".wrangler/deploy/config.json"] == snapshot(name="redirect")


def test_vercel(nitro_build, snapshot):
    result = nitro_build("vercel")
    assert result.artifacts[".vercel/output/config.json"] == snapshot
    assert snapshot == result.artifacts[".vc-config.json"]  # either side of ==
"""
SNAPSHOTS = Path("tests/__snapshots__/test_configs")


@pytest.fixture
def user_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A Nitro project whose tests/test_configs.py snapshots its generated platform configs."""
    # The user's own pytest run is not an xdist worker, even when this suite runs under xdist
    # (syrupy leaves its report, with the --snapshot-update hint, to the xdist controller).
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(name, raising=False)
    (pytester.path / "nitro.config.toml").write_text(CONFIG)
    (pytester.path / "tasks").mkdir()
    (pytester.path / "tasks" / "report.ts").write_text(TASK)
    (pytester.path / "tests").mkdir()
    (pytester.path / "tests" / "test_configs.py").write_text(TEST_CONFIGS)
    return pytester


def run(project: pytest.Pytester, *args: str) -> pytest.RunResult:
    # -p no:cacheprovider: no .pytest_cache in the project; NITRO_ESBUILD unset: dry runs need none.
    return project.runpytest_subprocess("tests", "-p", "no:cacheprovider", *args)


def snapshot_files(project: pytest.Pytester) -> dict[str, str]:
    folder = project.path / SNAPSHOTS
    return {p.name: p.read_text() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


def test_first_run_writes_one_file_per_artifact_with_its_extension(user_project: pytest.Pytester) -> None:
    first = run(user_project, "--snapshot-update")
    first.assert_outcomes(passed=2)
    files = snapshot_files(user_project)
    assert not list((user_project.path / "tests/__snapshots__").glob("*.ambr"))
    assert sorted(files) == [
        "test_vercel[vercel-output-config].json",
        "test_vercel[vercel-output-functions-__server-func-vc-config].json",
        "test_wrangler[output-server-wrangler].toml",
        "test_wrangler[redirect].json",
    ]
    # Each file is the artifact's exact text: what a reviewer sees is the generated file. (Through
    # the CLI: pytester restores sys.modules after the test, which would leave a second tomlkit.)
    printed = run_cli(
        "build",
        "--dir",
        str(user_project.path),
        "--preset",
        "cloudflare_module",
        "--dry-run",
        "--print",
        "wrangler.toml",
    )
    assert files["test_wrangler[output-server-wrangler].toml"] == printed.stdout
    assert 'crons = ["0 9 * * MON"]' in files["test_wrangler[output-server-wrangler].toml"]
    run(user_project).assert_outcomes(passed=2)  # and they match on the next run


def test_a_config_change_fails_with_a_readable_diff_and_update_accepts_it(
    user_project: pytest.Pytester,
) -> None:
    run(user_project, "--snapshot-update").assert_outcomes(passed=2)
    (user_project.path / "nitro.config.toml").write_text(CONFIG.replace("0 9 * * 1", "30 6 * * 5"))
    failed = run(user_project)
    failed.assert_outcomes(passed=0, failed=2)
    out = failed.stdout.str()
    assert '- crons = ["0 9 * * MON"]' in out and '+ crons = ["30 6 * * FRI"]' in out
    assert "Re-run pytest with --snapshot-update" in out or "snapshot-update" in out
    run(user_project, "--snapshot-update").assert_outcomes(passed=2)
    toml = snapshot_files(user_project)["test_wrangler[output-server-wrangler].toml"]
    assert 'crons = ["30 6 * * FRI"]' in toml
    run(user_project).assert_outcomes(passed=2)


def test_fixture_options_marker_and_parametrize(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """dry_run=False bundles (esbuild from NITRO_ESBUILD) and the result lists nitro.json; `root`
    points the fixture at another project; a bad config raises the build's own error; the preset
    can come from a marker or an indirect parametrization, with the result read off the fixture."""
    from conftest import BIN

    (pytester.path / "nitro.config.toml").write_text(CONFIG)
    (pytester.path / "tasks").mkdir()
    (pytester.path / "tasks" / "report.ts").write_text(TASK)
    bad = pytester.path / "bad"
    bad.mkdir()
    (bad / "nitro.config.toml").write_text(TASKS_ON + '[scheduledTasks]\n"61 * * * *" = "x"\n')
    pytester.makepyfile(
        test_real="""
import pytest
from nitro_build import CronError

def test_real(nitro_build):
    result = nitro_build(dry_run=False)
    assert result.files[".output/server/index.mjs"]
    assert result.artifacts[".output/nitro.json"].startswith("{")

def test_bad(nitro_build):
    with pytest.raises(CronError, match="minute 61 is out of range"):
        nitro_build(root="bad")

@pytest.mark.nitro_build("cloudflare_module")
def test_marker(nitro_build):
    assert nitro_build.preset == "cloudflare_module" and nitro_build.dry_run
    assert 'crons = ["0 9 * * MON"]' in nitro_build.artifacts["wrangler.toml"]

@pytest.mark.parametrize("nitro_build", ["vercel", {"preset": "bun", "dry_run": False}], indirect=True)
def test_each(nitro_build):
    assert nitro_build.preset in ("vercel", "bun")
    assert nitro_build.dry_run == (nitro_build.preset == "vercel")

def test_configured_preset(nitro_build):
    assert nitro_build.preset == "node_server" and nitro_build.outputs == (".output",)
"""
    )
    monkeypatch.setenv("NITRO_ESBUILD", str(BIN / "esbuild"))
    pytester.runpytest_subprocess("-p", "no:cacheprovider", "--strict-markers").assert_outcomes(passed=6)
