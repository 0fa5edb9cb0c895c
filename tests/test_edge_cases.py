"""Edge-case inputs a user could plausibly have, each proven through the real CLI and the bundle
run by real Node: odd route file names, config encodings, schedules spelled twice, projects
outside the usual layout, concurrent builds, a moved project, esbuild settings."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import (
    BIN,
    NODE,
    NODE_BUNDLE,
    build_project,
    copy_fixture,
    last_json_line,
    log_lines,
    run_cli,
    run_task_cli,
    wait_for_lines,
    wait_until,
    write_project,
)
from test_build_errors import fail, tree_digest

TASKS_ON = "[experimental]\ntasks = true\n"
TASK = 'export default defineTask({ run() { return { result: "ok" } } });\n'


def handler(label: str) -> str:
    """A route module answering which file served the request, with the params it got."""
    body = f"({{ file: {json.dumps(label)}, params: event.params }})"
    return f"export default defineHandler((event) => {body});\n"


# ---------------------------------------------------------------- routes


def test_anonymous_catch_all_and_dashed_param_names_route_like_nitro(tmp_path: Path, start_server) -> None:
    """`routes/[...].ts` is Nitro's catch-all and `[user-id]` a param; both used to be static text."""
    project = write_project(tmp_path, {
        "routes/index.get.ts": handler("index.get"),
        "routes/[...].ts": handler("catch-all"),
        "routes/users/[user-id].get.ts": handler("user-id.get"),
        "routes/users/[id].ts": handler("id"),
    })
    build_project(project)
    server = start_server(NODE_BUNDLE, project)
    assert server.request("GET", "/")[1] == {"file": "index.get", "params": {}}
    caught = {"file": "catch-all", "params": {"_": "no/such/page"}}
    assert server.request("GET", "/no/such/page") == (200, caught)
    assert server.request("GET", "/users/5")[1] == {"file": "user-id.get", "params": {"user-id": "5"}}
    assert server.request("POST", "/users/7")[1] == {"file": "id", "params": {"id": "7"}}


ROUTE_ERRORS = {
    "same place, other param name": (
        {"routes/users/[id].ts": handler("a"), "routes/users/[name].ts": handler("b")},
        ["routes/users/[id].ts and routes/users/[name].ts both handle ANY METHOD"],
    ),
    "catch-all before another segment": (
        {"routes/[...slug]/edit.ts": handler("edit")},
        ["routes/[...slug]/edit.ts: a catch-all [...name] must be the last part"],
    ),
    "param mixed with text": (
        {"api/[id].json.ts": handler("json")},
        ["api/[id].json.ts: path segment '[id].json' mixes [param] brackets", "rename the file"],
    ),
}


@pytest.mark.parametrize("case", sorted(ROUTE_ERRORS))
def test_route_files_that_would_match_the_wrong_requests_are_errors(tmp_path: Path, case: str) -> None:
    files, expected = ROUTE_ERRORS[case]
    stderr = fail(write_project(tmp_path, files))
    for fragment in expected:
        assert fragment in stderr, stderr


# ---------------------------------------------------------------- config files


@pytest.mark.parametrize("name, text", [
    ("nitro.config.json", '{"experimental": {"tasks": true}, "scheduledTasks": {"0 3 * * *": "a"}}'),
    ("nitro.config.toml", TASKS_ON + '[scheduledTasks]\n"0 3 * * *" = "a"\n'),
])
def test_config_saved_with_a_byte_order_mark_is_read(tmp_path: Path, name: str, text: str) -> None:
    project = tmp_path / "p"
    write_project(project, {"tasks/a.ts": TASK})
    (project / name).write_bytes("\ufeff".encode() + text.encode())
    build_project(project)
    listed = json.loads(run_task_cli(NODE_BUNDLE, project, "list").stdout)
    assert listed["scheduledTasks"] == [{"cron": "0 3 * * *", "tasks": ["a"]}]


CONFIG_ERRORS = {
    "not utf-8": (
        {"nitro.config.toml": 'preset = "caf\xe9"\n'}, "latin-1",
        ["nitro.config.toml: not UTF-8 text", "save the file as UTF-8"],
    ),
    "json comment": (
        {"nitro.config.json": '{\n  // nightly jobs\n  "experimental": {"tasks": true}\n}\n'}, "utf-8",
        ["nitro.config.json: invalid JSON at line 2 column 3", "JSON allows no comments"],
    ),
    "empty task name": (
        {"nitro.config.toml": TASKS_ON + '[tasks.""]\ndescription = "nameless"\n'}, "utf-8",
        ['nitro.config.toml: tasks."": a task needs a name'],
    ),
    "task given as a path": (
        {"nitro.config.toml": TASKS_ON + '[tasks]\n"db:migrate" = "tasks/db/migrate.ts"\n'}, "utf-8",
        ['nitro.config.toml: tasks."db:migrate": must be a table of settings',
         'set its handler key to "tasks/db/migrate.ts"'],
    ),
    "serverDir is a file": (
        {"nitro.config.toml": 'serverDir = "server.ts"\n', "server.ts": ""}, "utf-8",
        ["nitro.config.toml: serverDir: 'server.ts' is a file, not a folder", "point it at the folder"],
    ),
    "handler is a folder": (
        {"nitro.config.toml": TASKS_ON + '[tasks.a]\nhandler = "jobs"\n', "jobs/a.ts": TASK}, "utf-8",
        ['nitro.config.toml: tasks."a".handler: handler file \'jobs\' for task \'a\' is a folder'],
    ),
}


@pytest.mark.parametrize("case", sorted(CONFIG_ERRORS))
def test_bad_config_is_a_clear_error(tmp_path: Path, case: str) -> None:
    files, encoding, expected = CONFIG_ERRORS[case]
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(text.encode(encoding))
    stderr = fail(tmp_path)
    for fragment in expected:
        assert fragment in stderr, stderr


@pytest.mark.parametrize("files, where", [
    ({"tasks/__proto__.ts": TASK}, "tasks/__proto__.ts"),
    ({"nitro.config.toml": TASKS_ON + '[tasks."__proto__"]\ndescription = "x"\n'}, 'tasks."__proto__"'),
])
def test_a_task_named_proto_is_an_error_not_a_task_that_vanishes(tmp_path: Path, files, where) -> None:
    """`{"__proto__": ...}` in the generated registry set its prototype: the task was not listed
    and answered 404."""
    project = write_project(tmp_path, {"nitro.config.toml": TASKS_ON, **files})
    assert f"{where}: '__proto__' cannot name a task" in fail(project)


# ---------------------------------------------------------------- schedules


def test_one_schedule_spelt_several_ways_runs_its_task_once_per_firing(tmp_path: Path, start_server) -> None:
    """Whitespace and case make distinct config keys, not distinct schedules."""
    config = TASKS_ON + (
        '[scheduledTasks]\n"*/2 * * * * *" = "a"\n"*/2  * * * * *" = "a"\n"*/2 * * * * * " = ["a", "a"]\n'
    )
    task = (
        'import { appendFileSync } from "node:fs";\n'
        "export default defineTask({ run({ payload }) {\n"
        "  appendFileSync(process.env.RUNS_LOG, `${payload.scheduledTime}\\n`); return 1 } });\n"
    )
    project = write_project(tmp_path, {"nitro.config.toml": config, "tasks/a.ts": task})
    proc = build_project(project)
    runs = tmp_path / "runs.log"
    start_server(NODE_BUNDLE, project, env={"RUNS_LOG": str(runs)})
    first = wait_for_lines(runs, 1, timeout=10)[0]
    wait_until(lambda: set(log_lines(runs)) - {first}, 10, "a second firing")  # the first is complete
    assert log_lines(runs).count(first) == 1, log_lines(runs)
    assert 'fires at the same times as "*/2 * * * * *", which already runs' in proc.stderr


def test_equivalent_schedules_give_a_task_one_vercel_cron_job(tmp_path: Path) -> None:
    schedules = '"0 9 * * mon" = "a"\n"0 9 * * MON" = "a"\n"0 9 * * 1" = ["a", "b"]\n'
    config = TASKS_ON + "[scheduledTasks]\n" + schedules
    project = write_project(tmp_path, {"nitro.config.toml": config, "tasks/a.ts": TASK, "tasks/b.ts": TASK})
    proc = build_project(project, "vercel")
    crons = json.loads((project / ".vercel/output/config.json").read_text())["crons"]
    assert [c["schedule"] for c in crons] == ["0 9 * * 1"]
    listed = json.loads(run_cli("build", "--dir", str(project), "--json").stdout)["schedules"]
    assert [(s["cron"], s["tasks"]) for s in listed] == [("0 9 * * 1", ["a", "b"])]
    warning = 'scheduledTasks."0 9 * * MON" fires at the same times as "0 9 * * 1", which already runs'
    assert warning in proc.stderr


# ---------------------------------------------------------------- project layout


def test_server_dir_outside_the_project_builds_summarises_and_runs(tmp_path: Path) -> None:
    project = write_project(tmp_path / "app", {"nitro.config.toml": 'serverDir = "../shared"\n' + TASKS_ON})
    write_project(tmp_path / "shared", {"tasks/ext.ts": TASK})
    proc = build_project(project)
    assert "../shared/tasks/ext.ts [scan]" in proc.stdout
    data = json.loads(run_cli("build", "--dir", str(project), "--json").stdout)
    assert data["tasks"][0]["handler"] == "../shared/tasks/ext.ts"
    assert json.loads(run_task_cli(NODE_BUNDLE, project, "run", "ext").stdout) == {"result": "ok"}


def test_symlinked_folder_under_tasks_is_scanned_once_even_with_a_link_cycle(tmp_path: Path) -> None:
    shared = write_project(tmp_path / "shared", {"reports/daily.ts": TASK})
    (shared / "reports" / "again").symlink_to("..", target_is_directory=True)  # a cycle
    project = write_project(tmp_path / "app", {"nitro.config.toml": TASKS_ON, "tasks/a.ts": TASK})
    (project / "tasks" / "shared").symlink_to(shared / "reports", target_is_directory=True)
    build_project(project)
    assert json.loads(run_task_cli(NODE_BUNDLE, project, "run", "shared:daily").stdout) == {"result": "ok"}
    names = json.loads(run_task_cli(NODE_BUNDLE, project, "list").stdout)["tasks"]
    assert sorted(names) == ["a", "shared:daily"]


def test_dangling_symlink_in_tasks_is_a_clear_error(tmp_path: Path) -> None:
    project = write_project(tmp_path, {"nitro.config.toml": TASKS_ON})
    (project / "tasks").mkdir()
    (project / "tasks" / "gone.ts").symlink_to(tmp_path / "missing.ts")
    assert "tasks/gone.ts: cannot be read (No such file or directory)" in fail(project)


def test_bundle_is_byte_identical_when_the_project_moves_to_another_depth(tmp_path: Path) -> None:
    """Runtime modules used to be named in the bundle by their path from the project to nitro-build."""
    near = copy_fixture("basic", tmp_path / "one")
    far = copy_fixture("basic", tmp_path / "a" / "b" / "c")
    build_project(near)
    build_project(far)
    assert tree_digest(far / ".output") == tree_digest(near / ".output")
    assert "templates/runtime" not in (near / ".output/server/index.mjs").read_text()


# ---------------------------------------------------------------- builds and esbuild


def test_a_second_build_waits_for_the_first_so_outputs_stay_consistent(tmp_path: Path) -> None:
    """Builds used to share .nitro/build/<preset> unguarded: a second build started while the first
    was in esbuild replaced its sources, so the first shipped the second's Worker with its own
    wrangler.toml crons (a trigger the Worker no longer knows runs nothing)."""
    marker = tmp_path / "first-build-in-esbuild"
    slow = tmp_path / "slow-esbuild"
    slow.write_text(f'#!/bin/sh\ntouch "{marker}"\nsleep 2\nexec "{BIN / "esbuild"}" "$@"\n')
    slow.chmod(0o755)
    config = TASKS_ON + '[scheduledTasks]\n"{}" = "a"\n'
    files = {"nitro.config.toml": config.format("0 3 * * *"), "tasks/a.ts": TASK}
    project = write_project(tmp_path / "p", files)
    argv = [sys.executable, "-m", "nitro_build", "build", "--preset", "cloudflare_module",
            "--dir", str(project)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    first = subprocess.Popen(argv, env={**env, "NITRO_ESBUILD": str(slow)}, **pipes)
    wait_until(marker.exists, 30, "the first build to reach esbuild")
    (project / "nitro.config.toml").write_text(config.format("0 4 * * *"))  # the user saves a change
    second = subprocess.Popen(argv, env={**env, "NITRO_ESBUILD": str(BIN / "esbuild")}, **pipes)
    results = [(p.wait(timeout=60), *p.communicate()) for p in (first, second)]
    assert [r[0] for r in results] == [0, 0], results
    wrangler = (project / ".output/server/wrangler.toml").read_text()
    worker = (project / ".output/server/index.mjs").read_text()
    assert 'crons = ["0 4 * * *"]' in wrangler
    assert '"0 4 * * *": ["a"]' in worker and "0 3 * * *" not in worker
    assert "waiting for another build" in results[1][2]
    assert not list((project / ".nitro").glob("staging-*"))


def test_nitro_esbuild_may_be_a_command_name_and_a_folder_is_explained(tmp_path: Path) -> None:
    project = write_project(tmp_path, {"nitro.config.toml": ""})
    path = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    proc = run_cli("build", "--dir", str(project), NITRO_ESBUILD="esbuild", PATH=path)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("build", "--dir", str(project), NITRO_ESBUILD=str(BIN))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"NITRO_ESBUILD={BIN} is a folder" in proc.stderr
    assert f"set it to {BIN / 'esbuild'}" in proc.stderr
    assert shutil.which("esbuild", path=str(BIN))  # the case above really had a binary inside


def test_more_cron_jobs_than_vercel_allows_is_a_build_error(tmp_path: Path) -> None:
    """Vercel refuses a deployment with more than 100 cron jobs; the build said nothing."""
    crons = "".join(f'"{i % 60} {i // 60} * * *" = "a"\n' for i in range(101))
    project = write_project(tmp_path, {"nitro.config.toml": TASKS_ON + "[scheduledTasks]\n" + crons,
                                       "tasks/a.ts": TASK})
    assert "make 101 cron jobs, but Vercel allows 100 per project" in fail(project, "--preset", "vercel")
    build_project(project)  # server presets have no such limit


def test_interrupt_between_the_swap_renames_puts_the_previous_output_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C after the old output was moved aside but before the new one moved in used to leave no
    output at all (the old one stranded in .nitro/staging-*.old). In-process: the window is two
    renames wide, too narrow to hit with a real signal."""
    import nitro_build.emit as emit
    from nitro_build.build import build

    project = copy_fixture("basic", tmp_path)
    build_project(project)
    before = tree_digest(project / ".output")
    monkeypatch.setenv("NITRO_ESBUILD", str(BIN / "esbuild"))
    real, calls = os.replace, []

    def interrupted_second_rename(src: str, dst: str) -> None:
        calls.append(src)
        if len(calls) == 2:  # the first moved .output aside; the second would move the new one in
            raise KeyboardInterrupt
        real(src, dst)

    monkeypatch.setattr(emit.os, "replace", interrupted_second_rename)
    with pytest.raises(KeyboardInterrupt):
        build(project)
    assert tree_digest(project / ".output") == before
    assert not list((project / ".nitro").glob("staging-*"))


def test_a_key_repeated_in_a_json_config_is_an_error(tmp_path: Path) -> None:
    """json.loads keeps the last of two equal keys, so task a was silently left unscheduled."""
    config = '{"experimental": {"tasks": true}, "scheduledTasks": {"* * * * *": "a", "* * * * *": "b"}}'
    project = write_project(tmp_path, {"nitro.config.json": config, "tasks/a.ts": TASK, "tasks/b.ts": TASK})
    assert 'nitro.config.json: scheduledTasks."* * * * *": this key appears twice' in fail(project)


def test_project_under_a_folder_with_an_equals_sign_builds(tmp_path: Path) -> None:
    """esbuild reads an entry point argument `a=b/...` as `outname=path`, so the build failed."""
    project = copy_fixture("basic", tmp_path / "date=2026-11-28")
    build_project(project)
    assert json.loads(run_task_cli(NODE_BUNDLE, project, "run", "db:migrate").stdout) == {"result": "Success"}


def test_task_module_without_a_default_export_is_warned_about(tmp_path: Path) -> None:
    """Such a module is registered but answers 501; the build said nothing (a helper in tasks/,
    an empty file, `export function run`)."""
    project = write_project(tmp_path, {
        "nitro.config.toml": TASKS_ON,
        "tasks/empty.ts": "",
        "tasks/named.ts": "export function run() { return 1 }\n",
        "tasks/ok.ts": TASK,
        "tasks/reexported.ts": 'export { default } from "./ok";\n',
        "tasks/aliased.ts": "const task = defineTask({ run: () => 2 });\nexport { task as default };\n",
        "tasks/common.cjs": "module.exports = { run: () => 3 };\n",
    })
    stderr = build_project(project).stderr
    warned = sorted(line.split(":")[1].strip() for line in stderr.splitlines() if "no default export" in line)
    assert warned == ["tasks/empty.ts", "tasks/named.ts"], stderr
    failed = run_task_cli(NODE_BUNDLE, project, "run", "named")
    assert failed.returncode == 1 and last_json_line(failed.stderr)["statusCode"] == 501
    assert json.loads(run_task_cli(NODE_BUNDLE, project, "run", "aliased").stdout) == 2


@pytest.mark.parametrize("name, text", [
    ("wrangler.toml", 'name = "bom-worker"\n'),
    ("wrangler.json", '{"name": "bom-worker"}'),
])
def test_wrangler_config_with_a_byte_order_mark_is_read_as_wrangler_does(
        tmp_path: Path, name: str, text: str) -> None:
    """wrangler strips a UTF-8 BOM (removeBOMAndValidate); the build called the file invalid."""
    project = write_project(tmp_path, {"nitro.config.toml": TASKS_ON, "tasks/a.ts": TASK})
    (project / name).write_bytes("\ufeff".encode() + text.encode())
    build_project(project, "cloudflare_module")
    assert 'name = "bom-worker"' in (project / ".output/server/wrangler.toml").read_text()


def test_wrangler_config_that_is_not_utf8_is_a_clear_error(tmp_path: Path) -> None:
    project = write_project(tmp_path, {"nitro.config.toml": TASKS_ON, "tasks/a.ts": TASK})
    (project / "wrangler.toml").write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    assert "wrangler.toml: not UTF-8 text" in fail(project, "--preset", "cloudflare_module")


def test_task_cli_runs_a_task_whose_name_starts_with_a_dash(tmp_path: Path) -> None:
    """`task run -- -lead` (a bare `-lead` reads as a flag, so it prints the usage)."""
    project = write_project(tmp_path, {
        "nitro.config.toml": "[experimental]\ntasks = true\n",
        "tasks/-lead.ts": 'export default defineTask({ run({ payload }) { return { result: payload } } });\n',
    })
    build_project(project)
    argv = [NODE, ".output/server/index.mjs", "task", "run", "--", "-lead", "--payload", '{"x": 1}']
    run = subprocess.run(argv, cwd=project, capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout) == {"result": {"x": 1}}
    bare = subprocess.run([NODE, ".output/server/index.mjs", "task", "run", "-lead"],
                   cwd=project, capture_output=True, text=True, timeout=30)
    assert bare.returncode == 1 and "task run [--] NAME" in bare.stderr
