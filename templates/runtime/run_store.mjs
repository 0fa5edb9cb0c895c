// The run history's shared store (runs.mjs setRunStore) for server presets. One rule: with
// `scheduler.lock`, the lock's Redis (atomic push-and-trim, below); otherwise, with `storage`
// configured, the project's storage (run_storage.mjs); otherwise memory (node_cluster: the
// primary's, run_cluster.mjs). With `scheduler.lock`:
// the lock's Redis holds the last RUNS_PER_TASK runs of each task, so every replica (and the
// bundle CLI) lists the same history. Keys share one hash tag, `{<prefix>:runs}`, so both scripts
// touch one Redis Cluster slot (https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#hash-tags):
// `{p:runs}:tasks` (the set of task names that ran) and `{p:runs}:task:<name>` (a list, newest
// first, trimmed to RUNS_PER_TASK on every push: bounded whatever the number of runs).
import { readEnv } from "./env.mjs";
import { RUNS_PER_TASK, setRunStore } from "./runs.mjs";

const ADD = `redis.call("sadd", KEYS[2], ARGV[3])
redis.call("lpush", KEYS[1], ARGV[1])
redis.call("ltrim", KEYS[1], 0, tonumber(ARGV[2]) - 1)
return 1`;
// Every task's list: keys derived from the index's tag, all in its slot.
const LIST = `local out = {}
for _, name in ipairs(redis.call("smembers", KEYS[1])) do
  local runs = redis.call("lrange", ARGV[1] .. name, 0, -1)
  for i = #runs, 1, -1 do out[#out + 1] = runs[i] end
end
return out`;

/** Keeps the history in a shared store if the project has one; true if it does. */
export function shareRuns(options) {
  // Without a lock the build leaves shareInRedis out (import.meta._schedulerLock, runtime/lock.mjs).
  if (import.meta._schedulerLock !== false) {
    const config = options?.schedulerLock;
    const url = config && (readEnv("NITRO_SCHEDULER_REDIS_URL") || config.url);
    if (url) return shareInRedis(config, url);
  }
  // The storage mount for runs, decided at build time (presets/base.py): false leaves storage out
  // (esbuild resolves a dynamic import after a folded `return`, not in a folded-away branch).
  if (import.meta._runStorage) {
    const loading = import("./run_storage.mjs");
    return shareOnceLoaded(loading.then(({ storageRunStore }) => storageRunStore(import.meta._runStorage)));
  }
  return false;
}

/**
 * Sets the store `loading` resolves to as the run store: each call waits for it, and if it cannot
 * be loaded the history stays in memory (setRunStore(null)).
 */
function shareOnceLoaded(loading) {
  loading.catch((error) => {
    setRunStore(null);
    console.error(`[nitro] run history stays in memory: ${error?.message ?? error}`);
  });
  setRunStore({
    add: (record) => loading.then((store) => store.add(record)),
    list: () => loading.then((store) => store.list()),
  });
  return true;
}

function shareInRedis(config, url) {
  const tag = `{${config.prefix ?? "nitro"}:runs}`;
  const index = `${tag}:tasks`;
  const listKey = (name) => `${tag}:task:${name}`;
  // esbuild keeps a dynamic import of an unused function: the define must fold this one away.
  const connecting = import.meta._schedulerLock !== false
    ? import("./redis_client.mjs").then(({ createRedisClient }) => createRedisClient(url, { clientName: "nitro-runs" }))
    : null;
  return shareOnceLoaded(
    connecting.then((client) => ({
      async add(record) {
        await client.command("EVAL", ADD, 2, listKey(record.task), index, JSON.stringify(record), RUNS_PER_TASK, record.task);
      },
      /** Oldest first within each task, as runs.mjs keeps them in memory. */
      async list() {
        const reply = await client.command("EVAL", LIST, 1, index, `${tag}:task:`);
        return reply.map((text) => JSON.parse(text));
      },
    })),
  );
}
