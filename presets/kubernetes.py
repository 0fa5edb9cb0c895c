"""kubernetes: the Node server bundle plus manifests, `.output/deploy/kubernetes/`: a Deployment
and a Service for HTTP and one CronJob per schedule and task, and `.output/Dockerfile`.

The platform fires the schedules (the in-process scheduler is off): each CronJob runs the bundle's
task CLI, `node server/index.mjs task run NAME ... --schedule CRON --scheduled-time now`, which
passes the firing's instant as payload.scheduledTime and exits non-zero when the task fails, so
the Job retries per backoffLimit. https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from ..features import SERVER, Features, Scheduling
from ..model import Project
from ..plan import Plan
from . import _kubernetes as k8s_files
from ._yaml import dump
from .base import Preset

FEATURES = replace(
    SERVER,
    scheduling=Scheduling.KUBERNETES_CRON,
    scheduler_lock=False,
    sections=frozenset({"kubernetes"}),
    why_not=(("scheduler_lock", "each CronJob creates one Job per firing, so no lock is needed"),),
)


class Kubernetes(Preset):
    name = "kubernetes"
    utc_schedules = True  # CronJobs get timeZone Etc/UTC unless a zone is set (the summary's next:)
    features: ClassVar[Features] = FEATURES

    def deploy_dir(self, project: Project) -> str:
        return f"{self.output_dir(project)}/deploy/kubernetes"

    def plan(self, project: Project, plan: Plan) -> None:
        k8s = k8s_files.config(project)
        out = self.deploy_dir(project)
        overlap = {t.name: t.overlap for t in project.tasks}
        files = {"deployment.yaml": k8s_files.deployment(k8s), "service.yaml": k8s_files.service(k8s)}
        for schedule in project.schedules:
            for task in schedule.tasks:
                job = k8s_files.cronjob(project, k8s, schedule, task, overlap.get(task))
                files[f"cronjob-{job['metadata']['name']}.yaml"] = job
        for name, doc in files.items():
            plan.add_text(f"{out}/{name}", dump(doc))
        plan.add_text(f"{self.output_dir(project)}/Dockerfile", k8s_files.dockerfile(k8s))
        super().plan(project, plan)

    def registry_context(self, project: Project, plan: Plan) -> dict[str, Any]:
        """The schedules' specs in the CronJobs' zones, for `--scheduled-time now`."""
        context = super().registry_context(project, plan)
        for s in context["schedules"]:
            s["spec"] = {**s["spec"], "timeZone": s["spec"].get("timeZone", k8s_files.DEFAULT_ZONE)}
        return context

    def runtime_options(self, project: Project) -> dict[str, Any]:
        return {**super().runtime_options(project), "inProcessScheduler": False}

    def platform_cron(self, cron: str) -> str | None:
        from ..cron import to_kubernetes

        return to_kubernetes(cron)

    def commands(self, project: Project) -> dict[str, str]:
        out, image = self.output_dir(project), project.kubernetes.image
        return {
            "preview": f"node {self.server_dir(project)}/index.mjs",
            "deploy": f"docker build -t {image} {out} && docker push {image} && "
            f"kubectl apply -f {self.deploy_dir(project)}/",
        }


preset = Kubernetes()
