// Node middleware adapter for node_middleware: `middleware(req, res, next)` for Express/Connect
// answers the app's routes and task endpoints and calls next() for everything else; `handler` is
// the same app as a web fetch function. The scheduler starts when the bundle is imported, once.
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { appMatches, createApp } from "./app.mjs";
import { ready } from "./hooks.mjs";
import { lazyIncoming, refused, writeAnswer } from "./node.mjs";
import { shareRuns } from "./run_store.mjs";
import { NO_SERVER, onShutdown, runCli, shutdown, startSchedules } from "./server.mjs";
import { tracker } from "./waituntil.mjs";

// The host application owns the HTTP server; there is nothing of ours to close at shutdown.
/** Builds the exports of the generated node_middleware bundle from its registry. */
export function createMiddleware(registry) {
  shareRuns(registry.options); // the run history in the lock's Redis (run_store.mjs)
  // `node .output/server/index.mjs task run NAME` runs one task, as every Node bundle does; only
  // when this bundle is the script Node was started with, never when a host app imports it.
  if (process.argv[2] === "task" && isMainScript()) {
    runCli(registry, process.argv.slice(3));
    const unused = () => {
      throw new Error("the node_middleware bundle is running a task command, not serving");
    };
    return { middleware: unused, handler: unused };
  }
  const app = createApp(registry);
  const pending = tracker();
  // Plugins start when the host imports the bundle; app.fetch and runTask wait for them.
  Promise.resolve(ready()).catch((error) => console.error(`[nitro] ${error?.message ?? error}`));
  startOnce(registry, pending);
  return {
    middleware(req, res, next) {
      const ctx = { waitUntil: pending.add, remoteAddress: req.socket?.remoteAddress };
      if (!appMatches(app, req.method, `http://localhost${req.url}`, ctx)) return next();
      // Tracked like waitUntil work, so a shutdown lets answers in progress finish first.
      pending.add(answer(app, req, res, ctx).catch(next));
    },
    handler: (request, ctx = {}) => app.fetch(request, { waitUntil: pending.add, ...ctx }),
  };
}

async function answer(app, req, res, ctx) {
  const request = hostRequest(req);
  const result = refused(request) ? request : await app.answer(request, ctx);
  // Once the host's server stops listening, keep-alive sockets are closed after their answer.
  await writeAnswer(result, res, req.socket?.server?.listening === false);
}

/**
 * Starts the scheduler and the SIGTERM/SIGINT handling, once per process even when the bundle is
 * imported more than once (two URLs of the same file are two module instances). Keyed by the
 * bundle's file too: another app's bundle with the same schedules (two apps in one host) has
 * tasks of its own, and its schedules must run as well.
 */
function startOnce(registry, pending) {
  const schedules = (registry.scheduledTasks ?? []).map(({ cron, tasks }) => ({ cron, tasks }));
  const file = import.meta.url.replace(/[?#].*$/, "");
  const key = Symbol.for(`nitro-build.middleware.scheduler ${file} ${JSON.stringify(schedules)}`);
  if (globalThis[key]) return;
  globalThis[key] = true;
  const scheduler = startSchedules(registry);
  // Stop scheduling, wait (bounded) for running tasks and waitUntil work, then exit 0.
  onShutdown(() => shutdown(NO_SERVER, scheduler, pending));
}

/**
 * The web Request for `req`. A body parser mounted before the middleware (express.json(),
 * express.text(), express.raw()) has already read the stream: the app gets what it parsed.
 */
function hostRequest(req) {
  const lazy = lazyIncoming(req);
  // Refused (TRACE, a bad URL): answered as is. A body still unread streams from `req`.
  if (refused(lazy) || !req.readableEnded) return lazy;
  const request = lazy.request;
  if (request.body === null) return request;
  request.body.cancel().catch(() => {});
  const parsed = req.body;
  const raw = typeof parsed === "string" || parsed instanceof Uint8Array;
  const body = raw ? parsed : parsed == null ? "" : JSON.stringify(parsed);
  return new Request(request, { body, duplex: "half" });
}

/** True when this bundle is the file `node` was asked to run (not a module a host imported). */
function isMainScript() {
  try {
    return realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}
