"""node_cluster: a Node primary forking one HTTP worker per CPU, `node .output/server/index.mjs`.

Unlike Nitro's node-cluster (where every worker runs the schedule), the primary runs each
scheduled firing on exactly one live worker. https://nitro.build/deploy/runtimes/node#cluster-mode
"""
from .base import Preset


class NodeCluster(Preset):
    name = "node_cluster"
    entry_template = "entries/node_cluster.mjs.jinja"


preset = NodeCluster()
