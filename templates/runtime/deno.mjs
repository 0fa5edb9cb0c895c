// Deno adapter for the deno_server preset: Deno.serve (https://docs.deno.com/api/deno/~/Deno.serve)
// plus the scheduler. Signals, the `task` CLI and the bounded shutdown come from node.mjs: Deno
// implements node:process (https://docs.deno.com/runtime/fundamentals/node/).
import { createApp } from "./app.mjs";
import { ready } from "./hooks.mjs";
import { scheduleGuards } from "./lock.mjs";
import { listenUrl, onShutdown, runCli, shutdown, startFailed, tracker } from "./node.mjs";
import { startScheduler } from "./scheduler.mjs";
import { runTask } from "./task.mjs";

/** Entry point of the generated deno_server bundle: `startDeno(registry)`. */
export function startDeno(registry) {
  if (process.argv[2] === "task") return runCli(registry, process.argv.slice(3));
  return serve(registry);
}

async function serve(registry) {
  const app = createApp(registry);
  await Promise.resolve(ready()).catch(startFailed); // plugins, once, before listening and scheduling
  // Deno.serve has no waitUntil of its own, so the adapter provides one and shutdown waits for it.
  const pending = tracker();
  // Deno ends the process on an unhandled rejection unless it is prevented; Node's adapter logs it.
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    console.error("[nitro] unhandled rejection:", event.reason);
  });
  let server;
  try {
    server = Deno.serve(
      {
        port: Number(env("NITRO_PORT") || env("PORT") || 3000),
        hostname: env("NITRO_HOST") || env("HOST") || undefined,
        onListen: ({ hostname, port }) => console.log(`Listening on ${listenUrl({ address: hostname, port })}`),
      },
      (request, info) => app.fetch(request, { waitUntil: pending.add, remoteAddress: info.remoteAddr?.hostname }),
    );
  } catch (error) {
    console.error(`[nitro] could not start the server: ${error?.message ?? error}`);
    process.exit(1);
  }
  const scheduler = startScheduler(registry.scheduledTasks ?? [], scheduleGuards(registry.options, { runTask }));
  onShutdown(() => shutdown(stoppable(server), scheduler, pending));
}

/** The two calls node.mjs's shutdown makes on a server, on Deno's: shutdown() lets in-flight requests finish. */
function stoppable(server) {
  // https://docs.deno.com/api/deno/~/Deno.HttpServer.shutdown
  return { close: (done) => server.shutdown().then(done, done), closeIdleConnections: () => {} };
}

/** An environment variable; unset when `deno run` was not given --allow-env for it. */
function env(key) {
  try {
    return Deno.env.get(key);
  } catch {
    return undefined;
  }
}
