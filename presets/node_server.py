"""node_server: a standalone Node HTTP server, `node .output/server/index.mjs`.

https://nitro.build/deploy/runtimes/node
"""

from .base import Preset


class NodeServer(Preset):
    name = "node_server"


preset = NodeServer()
