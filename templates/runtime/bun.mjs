// Bun adapter for the bun preset: Bun.serve (https://bun.sh/docs/api/http) plus the scheduler.
// Signals, the `task` CLI and the bounded shutdown come from node.mjs: Bun implements node:process
// (https://bun.sh/docs/runtime/nodejs-apis).
import { createApp } from "./app.mjs";
import { ready } from "./hooks.mjs";
import { scheduleGuards } from "./lock.mjs";
import { onShutdown, runCli, shutdown, startFailed, tracker } from "./node.mjs";
import { startScheduler } from "./scheduler.mjs";
import { runTask } from "./task.mjs";

// Bun closes a connection idle this many seconds, also while a handler is still working on its
// answer (default 10); 255 is the maximum, so a task run over HTTP may take up to ~4 minutes.
// https://bun.sh/reference/bun/Serve/idleTimeout
const IDLE_TIMEOUT_S = 255;

/** Entry point of the generated bun bundle: `startBun(registry)`. */
export function startBun(registry) {
  if (process.argv[2] === "task") return runCli(registry, process.argv.slice(3));
  return serve(registry);
}

async function serve(registry) {
  const app = createApp(registry);
  await Promise.resolve(ready()).catch(startFailed); // plugins, once, before listening and scheduling
  // Bun.serve has no waitUntil of its own (neither Server nor Request has one in Bun 1.4), so the
  // adapter provides one, and shutdown waits for what it was given.
  const pending = tracker();
  process.on("unhandledRejection", (reason) => console.error("[nitro] unhandled rejection:", reason));
  let server;
  try {
    server = Bun.serve({
      port: Number(process.env.NITRO_PORT || process.env.PORT || 3000),
      hostname: process.env.NITRO_HOST || process.env.HOST || undefined,
      idleTimeout: IDLE_TIMEOUT_S,
      fetch: (request, srv) =>
        app.fetch(request, { waitUntil: pending.add, remoteAddress: srv.requestIP(request)?.address }),
      error: (error) => {
        console.error("[nitro]", error);
        return Response.json({ statusCode: 500, message: "Internal Server Error" }, { status: 500 });
      },
    });
  } catch (error) {
    console.error(`[nitro] could not start the server: ${error?.message ?? error}`);
    process.exit(1);
  }
  console.log(`Listening on ${server.url.origin}`);
  const scheduler = startScheduler(registry.scheduledTasks ?? [], scheduleGuards(registry.options, { runTask }));
  onShutdown(() => shutdown(stoppable(server), scheduler, pending));
}

/** The two calls node.mjs's shutdown makes on a server, on Bun's: stop() answers in-flight requests first. */
function stoppable(server) {
  // https://bun.sh/reference/globals/bun/Server/stop: resolves once every connection is closed.
  return { close: (done) => server.stop().then(done, done), closeIdleConnections: () => {} };
}
