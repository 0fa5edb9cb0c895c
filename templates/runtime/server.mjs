// The lifecycle every server preset shares (node_server, bun, deno_server; pieces of it in
// node_cluster and node_middleware): the task CLI instead of a server, the schedules beside the
// server, and a bounded graceful shutdown on SIGTERM/SIGINT. Bun and Deno implement node:process
// (https://bun.sh/docs/runtime/nodejs-apis, https://docs.deno.com/runtime/fundamentals/node/).
import { createApp } from "./app.mjs";
import { runCli } from "./cli.mjs";
import { shutdownTimeoutMs } from "./env.mjs";
import { callHook, ready } from "./hooks.mjs";
import { scheduleGuards } from "./lock.mjs";
import { shareRuns } from "./run_store.mjs";
import { startScheduler } from "./scheduler.mjs";
import { runTask, tasksIdle } from "./task.mjs";
import { tracker } from "./waituntil.mjs";

/**
 * Entry point of a server preset. `index.mjs task ...` runs the task CLI; otherwise
 * `listen(app, pending)` starts the platform's server and resolves to what shutdown closes
 * (`{ close(done), closeIdleConnections?() }`), the schedules start, and a signal stops both.
 */
export async function startServer(registry, listen) {
  shareRuns(registry.options); // the run history in the lock's Redis, for the CLI and the server
  const [, , command, ...args] = process.argv; // node index.mjs [task ...]
  if (command === "task") return runCli(registry, args);
  const app = createApp(registry);
  // The platform's waitUntil (none of Node, Bun or Deno has one): shutdown waits for what it was given.
  const pending = tracker();
  logUnhandledRejections();
  // The signal handlers go in before listening: a SIGTERM that comes as soon as the server
  // answers (an orchestrator's quick stop) would otherwise find none while the schedules are
  // armed and end the process without the graceful shutdown and the plugins' close hooks.
  let server = NO_SERVER;
  let scheduler = NO_SCHEDULER;
  onShutdown(() => shutdown(server, scheduler, pending));
  try {
    await ready(); // plugins, once, before listening and scheduling
    server = await listen(app, pending);
  } catch (error) {
    // A plugin that throws, or EADDRINUSE: without a server there is nothing to keep running.
    console.error(`[nitro] could not start the server: ${error?.message ?? error}`);
    process.exit(1);
  }
  scheduler = startSchedules(registry);
}

/** What shutdown closes before a server listens (and for node_middleware, whose host owns it). */
export const NO_SERVER = { close: (done) => done() };
const NO_SCHEDULER = { stop() {}, idle() {} };

/**
 * The task CLI (cli.mjs) for `index.mjs task ...`, a static import like the tasks endpoints
 * (app.mjs says why). (The scheduler stays a static import too: Node 20 scans every module it
 * loads after source maps are enabled, character by character (lineLengths), and loading the
 * scheduler's modules that way at start made V8 optimise that scan: more CPU and 3.5 MiB more
 * RSS at the first answer.)
 */
export { runCli };

/** The registry's schedules on timers, guarded by the configured lock; `run` defaults to runTask.
 * Off where the platform fires them (kubernetes: a CronJob per schedule runs the task CLI). The
 * generated registry always exports `options` and `scheduledTasks` ([] without schedules). */
export function startSchedules(registry, run = runTask) {
  // A build without schedules defines import.meta._schedules false (presets/base.py): the
  // scheduler and its guards are left out.
  if (import.meta._schedules !== false && registry.options.inProcessScheduler !== false) {
    return startScheduler(registry.scheduledTasks, scheduleGuards(registry.options, { runTask: run }));
  }
  return NO_SCHEDULER;
}

/**
 * Logs an unhandled rejection instead of dying of it. Deno ends the process on one unless it is
 * prevented, which its node:process does for a process with an "unhandledRejection" listener
 * (https://docs.deno.com/api/node/process/), and Bun follows Node.
 */
export function logUnhandledRejections() {
  process.on("unhandledRejection", (reason) => console.error("[nitro] unhandled rejection:", reason));
}

export function listenUrl({ address, port }) {
  return `http://${address.includes(":") ? `[${address}]` : address}:${port}`;
}

export function onShutdown(shutdown) {
  let started = false;
  const handle = (signal) => {
    // A second signal while shutting down means "now".
    if (started) process.exit(1);
    started = true;
    console.log(`[nitro] ${signal} received, shutting down`);
    shutdown().then(() => process.exit(0));
  };
  process.on("SIGTERM", handle).on("SIGINT", handle);
}

/** Stops scheduling and accepting connections, then waits (bounded) for tasks and waitUntil work. */
export async function shutdown(server, scheduler, pending) {
  scheduler.stop();
  // Resolves once in-flight requests have been answered (idle keep-alive sockets are closed now).
  const closed = new Promise((resolve) => server.close(resolve));
  server.closeIdleConnections?.();
  const timeoutMs = shutdownTimeoutMs();
  let timer;
  const timeout = new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)));
  const work = Promise.all([scheduler.idle(), tasksIdle(), pending.settled(), closed]);
  // The work resolves to an array, the timeout to undefined.
  if (!(await Promise.race([work, timeout]))) {
    console.error(`[nitro] shutdown: tasks still running after ${timeoutMs} ms, exiting anyway`);
  }
  clearTimeout(timer);
  await callHook("close"); // plugins' close hooks (Nitro's nitroApp.hooks "close"), awaited
}
