"""dev: the node_server build `nitro dev` runs, in `.nitro/dev/`, serving /_nitro/tasks to loopback.

https://nitro.build/guide/tasks#run-tasks-with-dev-server
"""

from dataclasses import replace

from ..model import Project
from .base import Entry
from .node_server import NodeServer

DEV_DIR = ".nitro/dev"


class Dev(NodeServer):
    name = "dev"
    dev = True  # registry.options.dev: the app serves /_nitro/tasks without a token, loopback only
    # meta.json lists every file the bundle was built from, so nitro dev also rebuilds when a
    # helper module outside tasks/, api/ and routes/ changes.
    # Not minified: a dev bundle is read while debugging, and nitro dev bundles a changed task alone.
    node_stack_maps = False  # nitro dev runs Node with --enable-source-maps (compiler/dev/process.py)
    bundle_options = replace(
        NodeServer.bundle_options, metafile=True, splitting=False, dev_modules=True, minify=False
    )
    # node_server's, plus the channel on which nitro dev swaps in a changed task (runtime/dev.mjs).
    entry = Entry(
        "dev.mjs",
        "startDev",
        (
            "`node index.mjs` serves HTTP and runs the schedules; nitro dev swaps changed tasks in;",
            "`node index.mjs task list|run NAME` runs one task without a server.",
        ),
    )

    def output_dir(self, project: Project) -> str:
        # Always .nitro/dev: `output.dir` is where deployable builds go, not the dev server.
        return DEV_DIR

    def outputs(self, project: Project) -> list[str]:
        # Not the whole folder: nitro.dev.json, written by the running `nitro dev`, must survive rebuilds.
        return [f"{DEV_DIR}/server", f"{DEV_DIR}/nitro.json"]

    def commands(self, project: Project) -> dict[str, str]:
        return {"dev": "nitro dev"}


preset = Dev()
