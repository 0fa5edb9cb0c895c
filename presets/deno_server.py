"""deno_server: a Deno.serve server, run with `deno run` and only the permissions it needs.

https://nitro.build/deploy/runtimes/deno, https://docs.deno.com/runtime/fundamentals/security/
"""

from __future__ import annotations

from dataclasses import replace

from ..model import Project
from ..nitro_apis import deno_permissions
from .base import Entry, Preset

# Variables the runtime reads (server address, task token, shutdown bound). Anything a task reads
# itself must be added to the --allow-env list by the user.
RUNTIME_ENV = ("HOST", "NITRO_HOST", "NITRO_PORT", "NITRO_SHUTDOWN_TIMEOUT", "NITRO_TASKS_TOKEN", "PORT")
LOCK_ENV = "NITRO_SCHEDULER_REDIS_URL"


class DenoServer(Preset):
    name = "deno_server"
    features = replace(Preset.features, platform=frozenset({"filesystem", "tcp", "deno-kv"}))
    entry = Entry(
        "deno.mjs",
        "startDeno",
        (
            "`deno run <permissions> index.mjs` (the command is in nitro.json) serves HTTP",
            "with Deno.serve and runs the schedules; `... index.mjs task list|run NAME` runs one task.",
        ),
    )
    # `npm:` and `jsr:` specifiers are Deno's to resolve at run time (from the project's
    # node_modules when it has a package.json, else from the registry); `node:` built-ins are
    # external on the node platform already. "deno" export conditions win, as in Nitro's preset.
    bundle_options = replace(
        Preset.bundle_options, target="esnext", conditions=("deno",), external=("npm:*", "jsr:*")
    )
    node_stack_maps = False  # Deno applies the .map files itself

    def permissions(self, project: Project) -> list[str]:
        """The narrowest `deno run` flags that work: network (listen, fetch) and named env vars."""
        names = [*RUNTIME_ENV, LOCK_ENV] if "schedulerLock" in self.runtime_options(project) else RUNTIME_ENV
        # useRuntimeConfig's override variables and useStorage's fs folders (compiler/nitro_apis.py).
        config_env, folders = deno_permissions(project)
        # Deno reads every dynamic import it can see into its module graph at start: at 10,000
        # tasks 200 task-group chunks, +6 MiB and +40 ms (bench/bench_startup.py). With
        # --unstable-lazy-dynamic-imports it reads a chunk on its first import, which then needs
        # read access to the chunks folder (node_modules packages still load without it).
        chunks = f"{self.server_dir(project)}/chunks"
        files = [f"--allow-read={','.join([chunks, *folders])}"]
        files += [f"--allow-write={','.join(folders)}"] if folders else []
        env = f"--allow-env={','.join(sorted({*names, *config_env}))}"
        return ["--unstable-lazy-dynamic-imports", "--allow-net", env, *files]

    def commands(self, project: Project) -> dict[str, str]:
        flags = " ".join(self.permissions(project))
        return {"preview": f"deno run {flags} {self.server_dir(project)}/index.mjs"}


preset = DenoServer()
