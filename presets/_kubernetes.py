"""The kubernetes preset's manifests: a Deployment and a Service for HTTP, one CronJob per schedule
and task, as dicts (written by presets/_yaml.py).

API references: Deployment https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/deployment-v1/,
Service https://kubernetes.io/docs/reference/kubernetes-api/service-resources/service-v1/,
CronJob https://kubernetes.io/docs/reference/kubernetes-api/workload-resources/cron-job-v1/.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from ..cron import KUBERNETES_DOC, to_kubernetes
from ..errors import ConfigError
from ..model import Project, Schedule
from .base import platform_cron

APP_DIR = "/app"  # the Dockerfile's WORKDIR: the CronJob command is relative to it
# The official image's non-root user (https://github.com/nodejs/docker-node/blob/main/docs/BestPractices.md#non-root-user).
NODE_UID = 1000
DEFAULT_ZONE = "Etc/UTC"  # without a zone CronJobs would follow kube-controller-manager's own zone
# https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#concurrency-policy
CONCURRENCY = {"skip": "Forbid", "allow": "Allow"}


def config(project: Project) -> Any:
    """`kubernetes.*`, with the image required."""
    k8s = project.kubernetes
    if k8s is None or not k8s.image:
        raise ConfigError(
            f"{project.config_name}: kubernetes.image is required by the kubernetes preset: the image "
            "the Deployment and CronJobs run, built from .output/Dockerfile (e.g. "
            '[kubernetes] image = "registry.example.com/my-app:1.0")'
        )
    return k8s


def labels(k8s: Any, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": k8s.name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/managed-by": "nitro-build",
    }


def metadata(
    k8s: Any, name: str, component: str, annotations: dict[str, str] | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if k8s.namespace:
        meta["namespace"] = k8s.namespace
    meta["labels"] = labels(k8s, component)
    if annotations:
        meta["annotations"] = annotations
    return meta


def resources(res: Any) -> dict[str, Any]:
    out = {}
    if res.requests:
        out["requests"] = dict(sorted(res.requests.items()))
    if res.limits:
        out["limits"] = dict(sorted(res.limits.items()))
    return out


def container(k8s: Any, name: str, command: list[str], res: Any) -> dict[str, Any]:
    """A container of the image, never root, with a read-only root filesystem."""
    c: dict[str, Any] = {"name": name, "image": k8s.image, "workingDir": APP_DIR, "command": command}
    if resources(res):
        c["resources"] = resources(res)
    c["securityContext"] = {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "runAsNonRoot": True,
        "runAsUser": NODE_UID,
    }
    return c


def deployment(k8s: Any) -> dict[str, Any]:
    """The HTTP server: `node server/index.mjs` (its in-process scheduler is off: CronJobs fire)."""
    server = container(k8s, "server", ["node", "server/index.mjs"], k8s.resources)
    server["ports"] = [{"name": "http", "containerPort": k8s.port}]
    server["env"] = [{"name": "PORT", "value": str(k8s.port)}, {"name": "HOST", "value": "0.0.0.0"}]
    server["readinessProbe"] = {"tcpSocket": {"port": "http"}}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(k8s, k8s.name, "server"),
        "spec": {
            "replicas": k8s.replicas,
            "selector": {"matchLabels": labels(k8s, "server")},
            "template": {"metadata": {"labels": labels(k8s, "server")}, "spec": {"containers": [server]}},
        },
    }


def service(k8s: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(k8s, k8s.name, "server"),
        "spec": {
            "selector": labels(k8s, "server"),
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
        },
    }


def job_command(schedule: Schedule, task: str) -> list[str]:
    """The task CLI with the firing's time (templates/runtime/scheduled_time.mjs)."""
    return [
        "node",
        "server/index.mjs",
        "task",
        "run",
        "--",
        task,
        "--payload",
        "{}",
        "--schedule",
        schedule.cron,
        "--scheduled-time",
        "now",
    ]


def cronjob_name(k8s: Any, schedule: Schedule, task: str) -> str:
    """`<name>-<task>-<hash>`, at most 52 characters (CronJob's limit), unique per schedule and task."""
    digest = hashlib.sha256(json.dumps([schedule.cron, task]).encode()).hexdigest()[:8]
    slug = re.sub(r"[^a-z0-9]+", "-", task.lower()).strip("-")[: 52 - len(k8s.name) - 10].strip("-")
    return "-".join(p for p in (k8s.name, slug, digest) if p)


def cronjob(project: Project, k8s: Any, schedule: Schedule, task: str, overlap: str | None) -> dict[str, Any]:
    """One CronJob: the schedule in Kubernetes' dialect, in its zone, running one task."""
    expr = platform_cron(project, schedule.cron, "kubernetes", to_kubernetes, f" ({KUBERNETES_DOC})")
    spec: dict[str, Any] = {
        "schedule": expr,
        "timeZone": schedule.zone or DEFAULT_ZONE,
        "concurrencyPolicy": CONCURRENCY[overlap or "skip"],
    }
    if k8s.starting_deadline_seconds is not None:
        spec["startingDeadlineSeconds"] = k8s.starting_deadline_seconds
    spec["successfulJobsHistoryLimit"] = k8s.successful_jobs_history_limit
    spec["failedJobsHistoryLimit"] = k8s.failed_jobs_history_limit
    task_container = container(k8s, "task", job_command(schedule, task), k8s.job_resources or k8s.resources)
    spec["jobTemplate"] = {
        "metadata": {"labels": labels(k8s, "task")},
        "spec": {
            "backoffLimit": k8s.backoff_limit,  # a failed run (exit code 1) is retried in a new pod
            "template": {
                "metadata": {"labels": labels(k8s, "task")},
                "spec": {"restartPolicy": "Never", "containers": [task_container]},
            },
        },
    }
    notes = {"nitro.build/schedule": schedule.cron, "nitro.build/task": task}
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": metadata(k8s, cronjob_name(k8s, schedule, task), "task", notes),
        "spec": spec,
    }


def dockerfile(k8s: Any) -> str:
    return f"""# The image for the kubernetes preset's Deployment and CronJobs (nitro-build).
# Build from the output folder: docker build -t {k8s.image} .output
# Slim official Node image; the bundle needs no node_modules. Runs as the image's non-root `node`
# user (uid {NODE_UID}); the files stay root-owned, so the app cannot modify itself.
FROM node:22-bookworm-slim
ENV NODE_ENV=production
WORKDIR {APP_DIR}
COPY server ./server
USER node
EXPOSE {k8s.port}
CMD ["node", "server/index.mjs"]
"""
