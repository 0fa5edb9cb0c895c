// The run history's shared store (runs.mjs setRunStore) in the project's own storage
// (https://nitro.build/guide/storage), for server presets that configure `storage` and no
// `scheduler.lock` (the lock's Redis wins then: run_store.mjs). The mount is picked at build time
// (presets/base.py `_runStorage`): `runs` if configured, else `data`, else the first mount. Each run
// is one key, `nitro:runs:<task>:<run id>`, so replicas that share the mount (fs on a shared disk,
// redis, a KV) add runs without overwriting each other's; after each add the task's keys are
// trimmed to the newest RUNS_PER_TASK (run ids start with the start time), so the store stays
// bounded whatever the number of runs. Imported only when that mount exists (run_store.mjs).
import { prefixStorage } from "unstorage";
import { RUNS_PER_TASK } from "./runs.mjs";
import { useStorage } from "./storage.mjs";

/** `{ add, list }` over `<mount>:nitro:runs`. */
export function storageRunStore(mount) {
  const runs = () => prefixStorage(useStorage(), `${mount}:nitro:runs`);
  return {
    async add(record) {
      const storage = runs();
      const task = segment(record.task);
      await storage.setItem(`${task}:${record.id}`, record);
      const keys = newestLast(await storage.getKeys(task));
      await Promise.all(keys.slice(0, -RUNS_PER_TASK).map((key) => storage.removeItem(key)));
    },
    /** Oldest first within each task, as runs.mjs keeps them in memory. */
    async list() {
      const storage = runs();
      const keys = newestLast(await storage.getKeys());
      const items = await storage.getItems(keys);
      return items.map(({ value }) => value).filter((value) => value && typeof value === "object" && value.task);
    },
  };
}

// unstorage reads ":" and "/" as key separators (and the fs driver refuses ".." segments): a task
// name like "db:migrate" is one segment, percent-encoded.
const segment = (name) => encodeURIComponent(name).replace(/[.:]/g, (c) => (c === "." ? "%2E" : "%3A"));

// A run id starts with its start time in base 36 (runs.mjs), fixed-width until 2059.
const lastPart = (key) => key.slice(key.lastIndexOf(":") + 1);
const newestLast = (keys) => keys.sort((a, b) => lastPart(a).localeCompare(lastPart(b)));
