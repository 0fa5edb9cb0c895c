// defineTask alone: the auto-import of a task file that only defines a task (compiler/provided.py
// LEAVES), so that such a file, which the task groups require(), pulls in nothing else of the
// runtime (esbuild wraps every module a require() reaches: bytes, and work at the first run).

/** Returns the task definition unchanged; it exists for typing and for symmetry with Nitro. */
export function defineTask(def) {
  return def;
}
