// Deno adapter for the deno_server preset: Deno.serve (https://docs.deno.com/api/deno/~/Deno.serve)
// answering with the app. The task CLI, the schedules and the bounded shutdown come from server.mjs:
// Deno implements node:process (https://docs.deno.com/runtime/fundamentals/node/).
import { listenAddress } from "./env.mjs";
import { listenUrl, startServer } from "./server.mjs";

/** Entry point of the generated deno_server bundle: `startDeno(registry)`. */
export function startDeno(registry) {
  return startServer(registry, listenDeno);
}

/** Deno.serve answering with `app`; resolves to what shutdown closes. Shared with deno_deploy.mjs. */
export function listenDeno(app, pending) {
  const { port, host } = listenAddress();
  const server = Deno.serve(
    {
      port,
      hostname: host,
      onListen: ({ hostname, port }) => console.log(`Listening on ${listenUrl({ address: hostname, port })}`),
    },
    (request, info) => app.fetch(request, { waitUntil: pending.add, remoteAddress: info.remoteAddr?.hostname }),
  );
  // https://docs.deno.com/api/deno/~/Deno.HttpServer.shutdown: in-flight requests finish first.
  return { close: (done) => server.shutdown().then(done, done), closeIdleConnections: () => {} };
}
