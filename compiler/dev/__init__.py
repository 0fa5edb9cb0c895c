"""`nitro dev`: build the dev preset, run it with Node, rebuild and restart on every change.

The loop: build -> start `node .nitro/dev/server/index.mjs` -> wait for a change to the config,
tasks/, api/ or routes/ -> rebuild -> only when that succeeded, stop the old server (it must free
the port first) and start the new one. A failed build prints the error and the old server keeps
answering. `.nitro/dev/nitro.dev.json` names this process and the address while it runs.

Modules: `info` (nitro.dev.json: this session's pid and address, read by `nitro task`), `process`
(the Node server child), `watch` (what triggers a rebuild), `loop` (the session and the command).
"""

from .info import info_path, pid_alive, read_info
from .loop import DevServer, dev_command

__all__ = ["DevServer", "dev_command", "info_path", "pid_alive", "read_info"]
