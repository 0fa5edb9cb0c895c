"""bun: a Bun.serve server, `bun .output/server/index.mjs`.

https://nitro.build/deploy/runtimes/bun, https://bun.sh/docs/api/http
"""

from __future__ import annotations

from dataclasses import replace

from ..model import Project
from .base import Entry, Preset


class Bun(Preset):
    name = "bun"
    entry = Entry(
        "bun.mjs",
        "startBun",
        (
            "`bun index.mjs` serves HTTP with Bun.serve and runs the schedules;",
            "`bun index.mjs task list|run NAME` runs one task without a server.",
        ),
    )
    # Packages' "bun" export conditions win, as in Nitro's bun preset. Not minified: Bun (1.4)
    # does not apply the .map beside a bundle to its stack traces, so they would name minified code.
    bundle_options = replace(Preset.bundle_options, target="esnext", conditions=("bun",), minify=False)
    node_stack_maps = False

    def commands(self, project: Project) -> dict[str, str]:
        return {"preview": f"bun {self.server_dir(project)}/index.mjs"}


preset = Bun()
