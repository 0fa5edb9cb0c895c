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
export function shareRuns(options = {}) {
  const config = options.schedulerLock;
  // Without a lock the build leaves shareInRedis out (import.meta._schedulerLock, runtime/lock.mjs).
  const url = config && (readEnv("NITRO_SCHEDULER_REDIS_URL") || config.url);
  if (import.meta._schedulerLock !== false && url) return shareInRedis(config, url);
  // The storage mount for runs, decided at build time (presets/base.py): false leaves storage out.
  const loading = import.meta._runStorage
    ? import("./run_storage.mjs").then(({ storageRunStore }) => storageRunStore(import.meta._runStorage))
    : null;
  if (!loading) return false;
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
  // esbuild keeps a dynamic import of an unused function: the define must fold this one away.
  const connecting = import.meta._schedulerLock !== false
    ? import("./redis_client.mjs").then(({ createRedisClient }) => createRedisClient(url, { clientName: "nitro-runs" }))
    : null;
  connecting.catch((error) => {
    setRunStore(null);
    console.error(`[nitro] run history stays in memory: ${error?.message ?? error}`);
  });
  const tag = `{${config.prefix ?? "nitro"}:runs}`;
  const index = `${tag}:tasks`;
  const listKey = (name) => `${tag}:task:${name}`;
  setRunStore({
    async add(record) {
      const client = await connecting;
      await client.command("EVAL", ADD, 2, listKey(record.task), index, JSON.stringify(record), RUNS_PER_TASK, record.task);
    },
    /** Oldest first within each task, as runs.mjs keeps them in memory. */
    async list() {
      const client = await connecting;
      const reply = await client.command("EVAL", LIST, 1, index, `${tag}:task:`);
      return reply.map((text) => JSON.parse(text));
    },
  });
  return true;
}
