"""node_middleware: `.output/server/index.mjs` exporting `middleware(req, res, next)` and `handler`.

Mounted by the user's Express/Connect app; there is no server of ours to start.
https://nitro.build/deploy/runtimes/node#middleware
"""

from __future__ import annotations

from ..model import Project
from .base import Entry, Preset


class NodeMiddleware(Preset):
    name = "node_middleware"
    entry = Entry(
        "middleware.mjs",
        "createMiddleware",
        (
            "`app.use(middleware)` in an Express/Connect app serves the routes and task",
            "endpoints (other requests go to next()); `handler(request)` is the same app as a fetch function.",
            "Importing this module starts the schedules, once per process.",
        ),
        export="{ middleware, handler }",
    )

    def commands(self, project: Project) -> dict[str, str]:
        """No preview command: the bundle is imported by the host application."""
        return {"mount": f'app.use((await import("./{self.server_dir(project)}/index.mjs")).middleware)'}


preset = NodeMiddleware()
