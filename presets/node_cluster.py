"""node_cluster: a Node primary forking one HTTP worker per CPU, `node .output/server/index.mjs`.

Unlike Nitro's node-cluster (where every worker runs the schedule), the primary runs each
scheduled firing on exactly one live worker. https://nitro.build/deploy/runtimes/node#cluster-mode
"""

from .base import Entry, Preset


class NodeCluster(Preset):
    name = "node_cluster"
    runs_in_primary = True  # runtime/run_cluster.mjs
    entry = Entry(
        "cluster.mjs",
        "startCluster",
        (
            "`node index.mjs` starts a primary that forks the HTTP workers and runs each",
            "scheduled firing on one of them; `node index.mjs task list|run NAME` runs one task "
            "without a server.",
        ),
    )


preset = NodeCluster()
