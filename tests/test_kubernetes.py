"""The kubernetes preset: manifests validated offline against Kubernetes 1.37's schemas
(kubernetes-validate from PyPI, which ships the JSON schemas), snapshots of every generated file,
the CronJobs' commands run as written against the built bundle under real Node, and bad input."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest
import yaml  # type: ignore[import-untyped]
from conftest import NODE, REPO, TASKS_ON, build_project, run_cli, write_project
from nitro_build import build
from test_build_errors import tree_digest

K8S_VERSION = "1.37.0"  # the newest schema kubernetes-validate 1.37 ships
CLOCK_PRELOAD = REPO / "tests" / "js" / "clock_step_preload.mjs"
CONFIG = f"""{TASKS_ON}
[kubernetes]
image = "registry.example.com/shop:1.4.2"
namespace = "shop"
startingDeadlineSeconds = 120
successfulJobsHistoryLimit = 2
failedJobsHistoryLimit = 5
backoffLimit = 3
resources = {{ requests = {{ cpu = "100m", memory = "128Mi" }}, limits = {{ memory = "256Mi" }} }}

[tasks.report]
overlap = "allow"

[scheduledTasks]
"CRON_TZ=Europe/Berlin 0 9 * * MON-FRI" = "report"
"* * * * *" = ["report", "db:clean"]
"@daily" = "fail"
"""
TASKS = {
    "tasks/report.ts": 'export default defineTask({ meta: { description: "Daily report" },\n'
    "  run({ payload }) { return { result: payload.scheduledTime }; } });\n",
    "tasks/db/clean.ts": "export default defineTask({ run() { console.log('cleaned'); return { result: 'cleaned' }; } });\n",
    "tasks/fail.ts": 'export default defineTask({ run() { throw new Error("disk full"); } });\n',
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    project = write_project(tmp_path_factory.mktemp("k8s") / "shop", {"nitro.config.toml": CONFIG, **TASKS})
    build_project(project, "kubernetes")
    return project


def manifests(project: Path) -> dict[str, dict[str, Any]]:
    folder = project / ".output/deploy/kubernetes"
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted(folder.glob("*.yaml"))}


def cronjobs(project: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """(schedule key, task) -> CronJob."""
    return {
        (
            d["metadata"]["annotations"]["nitro.build/schedule"],
            d["metadata"]["annotations"]["nitro.build/task"],
        ): d
        for d in manifests(project).values()
        if d["kind"] == "CronJob"
    }


def test_every_manifest_validates_against_the_kubernetes_schema(built: Path) -> None:
    docs = manifests(built)
    assert sorted(d["kind"] for d in docs.values()) == ["CronJob"] * 4 + ["Deployment", "Service"]
    for doc in docs.values():
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)  # raises ValidationError
    broken = {**docs["deployment.yaml"], "spec": {**docs["deployment.yaml"]["spec"], "replicas": "2"}}
    with pytest.raises(kubernetes_validate.ValidationError):  # the validator does refuse
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_cronjobs_follow_the_schedules_and_config(built: Path) -> None:
    jobs = cronjobs(built)
    assert set(jobs) == {
        ("CRON_TZ=Europe/Berlin 0 9 * * MON-FRI", "report"),
        ("* * * * *", "report"),
        ("* * * * *", "db:clean"),
        ("@daily", "fail"),
    }
    berlin = jobs[("CRON_TZ=Europe/Berlin 0 9 * * MON-FRI", "report")]["spec"]
    assert (berlin["schedule"], berlin["timeZone"], berlin["concurrencyPolicy"]) == (
        "0 9 * * 1-5",
        "Europe/Berlin",
        "Allow",
    )
    daily = jobs[("@daily", "fail")]["spec"]
    assert (daily["schedule"], daily["timeZone"], daily["concurrencyPolicy"]) == (
        "0 0 * * *",
        "Etc/UTC",
        "Forbid",
    )
    assert (
        daily["startingDeadlineSeconds"],
        daily["successfulJobsHistoryLimit"],
        daily["failedJobsHistoryLimit"],
        daily["jobTemplate"]["spec"]["backoffLimit"],
    ) == (120, 2, 5, 3)
    pod = daily["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    assert pod["containers"][0]["image"] == "registry.example.com/shop:1.4.2"
    assert pod["containers"][0]["resources"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"memory": "256Mi"},
    }
    assert pod["containers"][0]["securityContext"]["runAsNonRoot"] is True
    dockerfile = (built / ".output/Dockerfile").read_text()
    assert re.search(r"^FROM node:\d+-bookworm-slim$", dockerfile, re.M) and "\nUSER node\n" in dockerfile


def test_generated_files_snapshots(built: Path, snapshot_file: Any) -> None:
    out = built / ".output"
    files = sorted([*(out / "deploy/kubernetes").glob("*.yaml"), out / "Dockerfile"])
    for path in files:
        assert path.read_text() == snapshot_file(name=path.relative_to(out).as_posix().replace("/", "__"))
    dry = build(built, "kubernetes", dry_run=True)
    for path in files:  # a dry run plans the same bytes
        assert dry.artifacts[path.relative_to(built).as_posix()] == path.read_text()


def app_dir(project: Path) -> Path:
    """The folder the Dockerfile's WORKDIR holds: its `COPY server ./server` is .output/server."""
    dockerfile = (project / ".output/Dockerfile").read_text()
    assert "WORKDIR /app\nCOPY server ./server\n" in dockerfile
    return project / ".output"


def run_job(project: Path, job: dict[str, Any], *preload: str, **env: str) -> subprocess.CompletedProcess:
    """The CronJob's container command, as written, from the image's working directory."""
    container = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert container["workingDir"] == "/app"
    command = container["command"]
    assert command[0] == "node"
    return subprocess.run(
        [NODE, *preload, *command[1:]],
        cwd=app_dir(project),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


def test_cronjob_command_runs_the_task_with_the_firings_time(built: Path) -> None:
    before = int(time.time() * 1000)
    proc = run_job(built, cronjobs(built)[("* * * * *", "report")])
    after = int(time.time() * 1000)
    assert proc.returncode == 0, proc.stderr
    scheduled = json.loads(proc.stdout)["result"]
    assert scheduled % 60_000 == 0 and before - 60_000 < scheduled <= after  # this minute's firing
    assert run_job(built, cronjobs(built)[("* * * * *", "db:clean")]).returncode == 0


def test_a_late_pod_still_gets_the_firings_instant(built: Path) -> None:
    # 2030-01-07 (a Monday) 09:00 in Berlin is 08:00 UTC; the pod starts 42 s late.
    firing = int(datetime(2030, 1, 7, 8, 0, tzinfo=UTC).timestamp() * 1000)
    offset = str(firing + 42_000 - int(time.time() * 1000))
    proc = run_job(
        built,
        cronjobs(built)[("CRON_TZ=Europe/Berlin 0 9 * * MON-FRI", "report")],
        "--import",
        CLOCK_PRELOAD.as_uri(),
        CLOCK_OFFSET_MS=offset,
        TZ="America/Los_Angeles",
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["result"] == firing


def test_failing_task_exits_non_zero_so_the_job_retries(built: Path) -> None:
    proc = run_job(built, cronjobs(built)[("@daily", "fail")])
    assert proc.returncode == 1
    assert 'error: task "fail" failed: disk full' in proc.stderr


def test_deployment_serves_http_without_firing_schedules(built: Path, start_server: Any) -> None:
    deployment = manifests(built)["deployment.yaml"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    # 3 s before a minute: `* * * * *` would fire in the in-process scheduler.
    offset = str(60_000 - int(time.time() * 1000) % 60_000 - 3_000)
    server = start_server(
        [NODE, "--import", CLOCK_PRELOAD.as_uri(), *container["command"][1:]],
        app_dir(built),
        {"CLOCK_OFFSET_MS": offset, "NITRO_TASKS_TOKEN": "t0k"},
    )
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("POST", "/_nitro/tasks/report", body="{}", headers={"Authorization": "Bearer t0k"})
    assert conn.getresponse().status == 200
    time.sleep(5)  # the minute has turned on the server's clock: `* * * * *` would have run db:clean
    assert "cleaned" not in server.output


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (
            CONFIG.replace('image = "registry.example.com/shop:1.4.2"\n', ""),
            "nitro.config.toml: kubernetes.image is required by the kubernetes preset",
        ),
        (
            CONFIG.replace('"@daily" = "fail"', '"0 0 L * *" = "fail"'),
            'nitro.config.toml: scheduledTasks."0 0 L * *": the kubernetes preset cannot use this schedule: '
            "Kubernetes CronJobs do not support L or W in day-of-month (got 'L')",
        ),
        (
            CONFIG.replace('"@daily" = "fail"', '"*/10 * * * * *" = "fail"'),
            "Kubernetes CronJobs have no seconds field; only a seconds field of 0 can be dropped",
        ),
        (
            CONFIG.replace('"@daily" = "fail"', '"0 0 * * FRI#2" = "fail"'),
            "Kubernetes CronJobs do not support L or # in day-of-week (got 'FRI#2')",
        ),
        (
            CONFIG.replace("CRON_TZ=Europe/Berlin", "CRON_TZ=Europe/Berlim"),
            "unknown time zone 'Europe/Berlim'; did you mean 'Europe/Berlin'?",
        ),
        (CONFIG.replace("backoffLimit = 3", 'backoffLimit = "3"'), "kubernetes.backoffLimit"),
    ],
)
def test_bad_input_is_refused_and_leaves_the_output(
    built: Path, tmp_path: Path, config: str, message: str
) -> None:
    project = write_project(tmp_path / "shop", {"nitro.config.toml": CONFIG, **TASKS})
    build_project(project, "kubernetes")
    before = tree_digest(project / ".output")
    (project / "nitro.config.toml").write_text(config)
    proc = run_cli("build", "--preset", "kubernetes", "--dir", str(project))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert message in proc.stderr
    assert tree_digest(project / ".output") == before
