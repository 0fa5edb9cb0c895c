// Task registry and runTask: the lowest runtime layer, shared by every preset.
// Plain web-standard JavaScript, no node: imports (it also runs on workerd and Vercel).
import { callHook, ready } from "./hooks.mjs";
import { beginRun } from "./runs.mjs";
import { plainTasks } from "./task_table.mjs";

/** An error that carries an HTTP status; the app answers it as JSON {statusCode, message}. */
export class HTTPError extends Error {
  // Accepts `new HTTPError(404, "Not found")` or h3's object form `new HTTPError({ status, message })`;
  // no status at all is 500 (below: no default parameter needed).
  constructor(statusOrInit, message) {
    const init = typeof statusOrInit === "object" ? statusOrInit : { statusCode: statusOrInit, message };
    super(init.message ?? "");
    this.name = "HTTPError";
    this.statusCode = init.statusCode ?? init.status ?? 500;
  }
}

// find(name) and all(), over the registry's task groups or a plain table (task_table.mjs).
// Every bundle's registry holds taskGroups (templates/registry.mjs.jinja), registered as its entry
// loads: a plain table only comes from code that drives the runtime unbundled (tests), where
// import.meta.nitro is undefined. So esbuild leaves plainTasks out of every bundle.
let registered = import.meta.nitro ? null : plainTasks({});
// Promise of the run in progress, per task name: concurrent callers share it.
const running = new Map();
// Set by an adapter whose processes share one task namespace (node_cluster): see setCoordinator.
let coordinator = null;

export { defineTask } from "./define_task.mjs";

/**
 * Stores the generated registry's `tasks`: its taskGroups (whose `find` is a function; a plain
 * table's entries are objects), or a plain { name: { meta, load } }.
 */
export function registerTasks(tasks) {
  registered = import.meta.nitro || typeof tasks?.find === "function" ? tasks : plainTasks(tasks ?? {});
}

/**
 * `{ name: { description } }` for every registered task, as Nitro's listing: task_table.mjs's
 * tables each list their own way (describe() says which description wins).
 */
export function listTasks() {
  return registered.all();
}

/**
 * Runs a task, or joins its run in progress; rejects with statusCode 404/501 when it cannot run.
 * `trigger` ({ type: "schedule", cron } | { type: "http" } | { type: "cli" }; default runTask)
 * is what the run history (runs.mjs) records as its cause; the task does not see it.
 */
export function runTask(name, { payload = {}, context = {}, trigger } = {}) {
  const inProgress = running.get(name);
  if (inProgress) return inProgress;
  const start = () => execute(name, payload, context, trigger);
  // Only node_cluster sets a coordinator: every other bundle's import.meta.preset leaves the check
  // out (inline: esbuild folds the condition here, not through a const).
  const run = (
    (import.meta.preset ?? "node-cluster") === "node-cluster" && coordinator ? coordinator(name, start) : start()
  ).finally(() => running.delete(name));
  running.set(name, run);
  return run;
}

/**
 * Keeps one running instance per task name across processes: `coordinate(name, start)` is called
 * for each run this process does not already have, and returns the run's promise, calling
 * `start()` only when this process is the one to run it (otherwise it joins the run elsewhere).
 */
export function setCoordinator(coordinate) {
  coordinator = coordinate;
}

/** Resolves once every task running now (and any joined meanwhile) has settled; never rejects. */
export async function tasksIdle() {
  while (running.size > 0) await Promise.allSettled([...running.values()]);
}

async function execute(name, payload, context, trigger) {
  await ready(); // plugins run before the first task, whichever way it is started
  const task = await resolveTask(name);
  const event = { name, payload, context };
  const record = beginRun(name, payload, trigger);
  await callHook("task:start", event);
  const started = Date.now();
  const end = (outcome) =>
    Promise.all([callHook("task:end", { ...event, duration: Date.now() - started, ...outcome }), record(outcome)]);
  try {
    const result = await task.run(event);
    await end({ result });
    return result;
  } catch (error) {
    await end({ error });
    throw error;
  }
}

async function resolveTask(name) {
  const entry = await registered.find(name);
  if (!entry) throw new HTTPError(404, `Task "${name}" is not available`);
  const task = entry.load ? (await entry.load()).default : undefined;
  if (typeof task?.run !== "function") {
    throw new HTTPError(501, `Task "${name}" has no handler implementation`);
  }
  return task;
}
