// Run history: every task run (schedule, HTTP, runTask, bundle CLI) as one record, kept per task,
// the last RUNS_PER_TASK of each. task.mjs `execute` (the one place a run starts and ends, where
// the task:start / task:end hooks fire) calls beginRun. Records live in memory, or in a shared
// store (setRunStore: Redis with scheduler.lock, see run_store.mjs) so every replica lists the
// same history. Plain web-standard JavaScript: it runs on every preset.
//
// A record: { id, task, trigger: "schedule" | "http" | "runTask" | "cli", cron? (schedule only),
// startedAt (ISO 8601), duration (ms), outcome: "success" | "error", payloadKeys,
// result? (the task's value) | error?: { message, stack } , truncated? }.
// Bounds: a result whose JSON text is longer than TEXT_LIMIT characters is kept as that text cut
// to TEXT_LIMIT, with `truncated: true`; an error's message and stack are cut to TEXT_LIMIT each;
// at most KEYS_LIMIT payload keys of at most 100 characters. Memory: RUNS_PER_TASK records per
// registered task (a run of an unknown task fails before it starts, so it is never recorded).

export const RUNS_PER_TASK = 50;
export const TEXT_LIMIT = 2000;
const KEYS_LIMIT = 50;
export const TRIGGERS = ["schedule", "http", "runTask", "cli"];

const memory = new Map(); // task name -> records, oldest first, at most RUNS_PER_TASK
let store = null;
let counter = 0;

/**
 * Replaces where records are kept: `{ add(record): Promise, list(): Promise<record[]> }` (null:
 * back to memory). A store that fails is logged, never fails the run it records.
 */
export function setRunStore(shared) {
  store = shared;
}

/** Starts a record; returns `end({ result } | { error })`, which completes and keeps it. */
export function beginRun(name, payload, trigger) {
  const startedAt = Date.now();
  const type = TRIGGERS.includes(trigger?.type) ? trigger.type : "runTask";
  const record = {
    id: `${startedAt.toString(36)}-${(counter++).toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
    task: name,
    trigger: type,
    ...(type === "schedule" && trigger.cron ? { cron: String(trigger.cron) } : {}),
    startedAt: new Date(startedAt).toISOString(),
    payloadKeys: payloadKeys(payload),
  };
  return (outcome) => keepRun({ ...record, duration: Date.now() - startedAt, ...settle(outcome) });
}

/** `{ task: [records, newest first] }` for the tasks that ran, from the shared store if any. */
export async function listRuns() {
  // A build that can have no store defines import.meta._runStore false (presets/base.py): esbuild
  // then leaves the store's code out (here, keepRun, storeFailed).
  const shared = import.meta._runStore !== false && store ? await store.list().then(storeUp, storeFailed) : undefined;
  const records = shared ?? allMemory();
  const byTask = {};
  // Records come oldest first; reversed, the stable sort keeps runs of the same millisecond newest first.
  for (const record of records.reverse().sort((a, b) => b.startedAt.localeCompare(a.startedAt))) {
    (byTask[record.task] ??= []).push(record);
  }
  return byTask;
}

function allMemory() {
  return [...memory.values()].flat();
}

/** The records kept in this process's memory, oldest first within each task (run_cluster.mjs). */
export const runRecords = allMemory;

/** Keeps a finished record (in memory, and in the shared store if any). */
export function keepRun(record) {
  const list = memory.get(record.task) ?? [];
  // Records come one at a time: at most one is over the bound.
  if (list.push(record) > RUNS_PER_TASK) list.shift();
  memory.set(record.task, list);
  return import.meta._runStore !== false && store ? store.add(record).then(storeUp, storeFailed) : undefined;
}

// Said once per outage, not once per run: a per-second schedule would flood the log.
let storeDown = false;

function storeFailed(error) {
  if (!storeDown) console.error("[nitro] run history store failed (runs are kept in memory meanwhile):", error?.message ?? error);
  storeDown = true;
  return undefined;
}

const storeUp = (value) => {
  storeDown = false;
  return value;
};

/** The outcome fields of a record, from task.mjs execute's `{ result }` or `{ error }`. */
function settle({ result, error }) {
  if (error === undefined) return { outcome: "success", ...kept(result) };
  const message = cut(String(error?.message ?? error));
  const stack = typeof error?.stack === "string" && cut(error.stack); // kept unless "" or absent
  return { outcome: "error", error: { message, ...(stack ? { stack } : {}) } };
}

/** `{ result, truncated? }`: the result as its JSON text gives it back, cut past TEXT_LIMIT. */
function kept(result) {
  let text;
  try {
    text = JSON.stringify(result);
  } catch (failure) {
    return { result: cut(`[unserializable result: ${failure?.message}]`), truncated: true };
  }
  if (text === undefined) return { result: null };
  return text.length > TEXT_LIMIT ? { result: cut(text), truncated: true } : { result: JSON.parse(text) };
}

function payloadKeys(payload) {
  if (typeof payload !== "object" || payload === null) return [];
  return Object.keys(payload).slice(0, KEYS_LIMIT).map((key) => key.slice(0, 100));
}

const cut = (text) => text.slice(0, TEXT_LIMIT);
