// Bun adapter for the bun preset: Bun.serve (https://bun.sh/docs/api/http) answering with the app.
// The task CLI, the schedules and the bounded shutdown come from server.mjs: Bun implements
// node:process (https://bun.sh/docs/runtime/nodejs-apis).
import { listenAddress } from "./env.mjs";
import { jsonError } from "./http.mjs";
import { startServer } from "./server.mjs";

// Bun closes a connection idle this many seconds, also while a handler is still working on its
// answer (default 10); 255 is the maximum, so a task run over HTTP may take up to ~4 minutes.
// https://bun.sh/reference/bun/Serve/idleTimeout
const IDLE_TIMEOUT_S = 255;

/** Entry point of the generated bun bundle: `startBun(registry)`. */
export function startBun(registry) {
  return startServer(registry, listenBun);
}

function listenBun(app, pending) {
  const { port, host } = listenAddress();
  const server = Bun.serve({
    port,
    hostname: host,
    idleTimeout: IDLE_TIMEOUT_S,
    fetch: (request, srv) => app.fetch(request, { waitUntil: pending.add, remoteAddress: srv.requestIP(request)?.address }),
    error: (error) => {
      console.error("[nitro]", error);
      return jsonError(500, "Internal Server Error");
    },
  });
  console.log(`Listening on ${server.url.origin}`);
  // https://bun.sh/reference/globals/bun/Server/stop: resolves once every connection is closed
  // (in-flight requests are answered first).
  return { close: (done) => server.stop().then(done, done), closeIdleConnections: () => {} };
}
