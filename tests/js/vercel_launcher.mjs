// Test harness: serves a Build Output API v3 folder (`.vercel/output`) over HTTP the way Vercel does
// for our output, so tests can call the built function for real under Node.
//   node tests/js/vercel_launcher.mjs .vercel/output      (PORT, HOST; prints "Listening on ...")
//
// Routing: config.json `routes` are tried in order; a `src` regex (anchored, as Vercel anchors it) with
// a `dest` naming a function (`functions/<dest>.func`) invokes it with the original URL. `handle` phase
// markers are skipped (this output has no static files).
// Invocation follows Vercel's Node launcher for `launcherType: "Nodejs"` (.vc-config.json): import
// `handler`, unwrap `default` up to 5 times; a module with `fetch` or GET/POST/... exports is a web
// handler, called as `fn(request, context)` with a Request built from x-forwarded-proto/-host and a
// context carrying `waitUntil`; otherwise a plain function is called as `(req, res)`.
// Sources: https://vercel.com/docs/build-output-api/primitives#serverless-function-configuration,
// vercel/vercel packages/node/src/serverless-functions/serverless-handler.mts and helpers-web.ts.
import { createServer } from "node:http";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pathToFileURL } from "node:url";

const HTTP_METHODS = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE", "PATCH"];
const outputDir = resolve(process.argv[2] ?? ".vercel/output");
const config = readJson(join(outputDir, "config.json"));
if (config.version !== 3) throw new Error(`config.json: version must be 3, got ${config.version}`);
const functions = new Map();

function readJson(path) {
  return JSON.parse(readFileSync(path, "utf8"));
}

/** The function directory a request path is routed to, or null. */
function route(pathname) {
  for (const r of config.routes ?? []) {
    if (r.handle || r.src === undefined || r.dest === undefined) continue;
    if (new RegExp(`^(?:${r.src})$`).test(pathname)) return join(outputDir, "functions", `${r.dest.split("?")[0]}.func`);
  }
  return null;
}

/** Loads a function once, as the Node launcher does, and returns a (req, res) handler. */
async function loadFunction(dir) {
  if (functions.has(dir)) return functions.get(dir);
  const vc = readJson(join(dir, ".vc-config.json"));
  if (vc.launcherType !== "Nodejs" || !/^nodejs\d+\.x$/.test(vc.runtime)) {
    throw new Error(`${dir}/.vc-config.json: expected a Node.js function, got ${JSON.stringify(vc)}`);
  }
  Object.assign(process.env, vc.environment ?? {});
  process.chdir(dir); // a Lambda runs in its function's root folder
  let listener = await import(pathToFileURL(join(dir, vc.handler)).href);
  for (let i = 0; i < 5 && listener.default; i++) listener = listener.default;
  const isWeb = HTTP_METHODS.some((m) => typeof listener[m] === "function") || typeof listener.fetch === "function";
  if (!isWeb && typeof listener !== "function") throw new Error(`${vc.handler}: no fetch, method exports or (req, res) function`);
  const handler = isWeb ? webHandler(listener) : listener;
  functions.set(dir, handler);
  return handler;
}

function webHandler(listener) {
  return async (req, res) => {
    const fn = typeof listener[req.method] === "function" ? listener[req.method] : listener.fetch;
    if (typeof fn !== "function") return void res.writeHead(405).end();
    const url = new URL(req.url, `${req.headers["x-forwarded-proto"]}://${req.headers["x-forwarded-host"]}`);
    const body = ["GET", "HEAD"].includes(req.method) ? undefined : Readable.toWeb(req);
    const request = new Request(url, { method: req.method, headers: req.headers, body, duplex: "half" });
    const pending = [];
    // Called unbound, as Vercel's launcher maps every method to `listener.fetch` and calls it bare.
    const response = await fn(request, { waitUntil: (promise) => pending.push(promise) });
    res.statusCode = response.status;
    for (const [key, value] of response.headers) res.appendHeader(key, value);
    if (response.body) for await (const chunk of response.body) res.write(chunk);
    res.end();
    if (pending.length > 0) {
      const settled = await Promise.allSettled(pending);
      console.log(`[harness] waitUntil: ${settled.length} promise(s) settled`);
    }
  };
}

const server = createServer(async (req, res) => {
  // Vercel's proxy adds these before the function sees the request.
  req.headers["x-forwarded-proto"] = "http";
  req.headers["x-forwarded-host"] = req.headers.host;
  req.headers["x-forwarded-for"] = req.socket.remoteAddress;
  try {
    const dir = route(new URL(req.url, "http://localhost").pathname);
    if (!dir) return void res.writeHead(404, { "content-type": "text/plain" }).end("NOT_FOUND");
    await (await loadFunction(dir))(req, res);
  } catch (error) {
    console.error("[harness] FUNCTION_INVOCATION_FAILED", error);
    if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
    res.end("FUNCTION_INVOCATION_FAILED");
  }
});

const port = Number(process.env.PORT || 3000);
server.listen(port, process.env.HOST || "127.0.0.1", () => console.log(`Listening on http://127.0.0.1:${port}`));
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
