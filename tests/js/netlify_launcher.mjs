// Test harness: runs a `.netlify/functions-internal` folder under Node the way Netlify runs our
// output, so tests call the built functions for real.
//   node tests/js/netlify_launcher.mjs .netlify/functions-internal        (PORT, HOST; "Listening on ...")
//   node tests/js/netlify_launcher.mjs .netlify/functions-internal --list (functions and configs as JSON)
//
// Discovery follows Netlify's rules for a functions folder: `<name>.mjs`, or a folder `<name>/` whose
// entry is `<name>.mjs` or `index.mjs` (https://docs.netlify.com/build/functions/get-started/).
// `config` must be an object literal (Netlify reads it statically): it is read from the source as
// JSON, never by running the module. Functions v2 (https://docs.netlify.com/build/functions/api/):
// the default export is called as `fn(request, context)` and returns a Response; a function with
// `config.path` serves those paths (`/*`: every path); a scheduled function (`config.schedule`) has
// no public path: POST /.netlify/functions/<name> invokes it as Netlify's scheduler does, with a
// POST whose JSON body is `{ "next_run": <ISO time of the following run> }`
// (https://docs.netlify.com/build/functions/scheduled-functions/), next_run computed by croner in UTC.
import { createServer } from "node:http";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { Readable } from "node:stream";
import { pathToFileURL } from "node:url";
import { Cron } from "croner";

const dir = resolve(process.argv[2] ?? ".netlify/functions-internal");
const functions = discover(dir);

function discover(root) {
  const found = [];
  for (const entry of readdirSync(root).sort()) {
    const full = join(root, entry);
    let file = null;
    if (statSync(full).isDirectory()) {
      file = [join(full, `${entry}.mjs`), join(full, "index.mjs")].find((f) => existsSync(f)) ?? null;
    } else if (entry.endsWith(".mjs")) {
      file = full;
    }
    if (file) found.push({ name: entry.replace(/\.mjs$/, ""), file, config: staticConfig(file) });
  }
  return found;
}

function staticConfig(file) {
  const match = readFileSync(file, "utf8").match(/^export const config = ([\s\S]*?);\n/m);
  if (!match) throw new Error(`${file}: no statically readable \`export const config\``);
  return JSON.parse(match[1]);
}

function matches(pattern, pathname) {
  if (pattern === "/*") return true;
  return pattern.endsWith("/*") ? pathname.startsWith(pattern.slice(0, -1)) : pathname === pattern;
}

async function call(fn, request) {
  const mod = await import(pathToFileURL(fn.file).href);
  const pending = [];
  const context = { ip: "127.0.0.1", params: {}, requestId: "test", waitUntil: (p) => pending.push(p) };
  const response = await mod.default(request, context);
  if (!(response instanceof Response)) throw new Error(`${fn.name}: the default export did not return a Response`);
  await Promise.allSettled(pending);
  return response;
}

function route(method, pathname) {
  const invoke = pathname.match(/^\/\.netlify\/functions\/([^/]+)$/);
  if (invoke && method === "POST") {
    const fn = functions.find((f) => f.name === invoke[1] && f.config.schedule);
    if (fn) return { fn, scheduled: true };
  }
  const fn = functions.find((f) => !f.config.schedule && [f.config.path ?? []].flat().some((p) => matches(p, pathname)));
  return fn ? { fn, scheduled: false } : null;
}

async function serve(req, res) {
  const url = new URL(req.url, `http://${req.headers.host}`);
  const found = route(req.method, url.pathname);
  let response;
  if (!found) {
    response = new Response("Not Found", { status: 404 });
  } else if (found.scheduled) {
    const nextRun = new Cron(found.fn.config.schedule, { timezone: "UTC" }).nextRun().toISOString();
    const body = JSON.stringify({ next_run: nextRun });
    response = await call(found.fn, new Request(url, { method: "POST", body, headers: { "content-type": "application/json" } }));
  } else {
    const body = ["GET", "HEAD"].includes(req.method) ? undefined : Readable.toWeb(req);
    const headers = Object.entries(req.headers).filter(([, v]) => typeof v === "string");
    response = await call(found.fn, new Request(url, { method: req.method, headers, body, duplex: "half" }));
  }
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(Buffer.from(await response.arrayBuffer()));
}

if (process.argv.includes("--list")) {
  console.log(JSON.stringify(functions.map(({ name, config }) => ({ name, config }))));
} else {
  const server = createServer((req, res) =>
    serve(req, res).catch((error) => {
      console.error("[harness] function failed:", error);
      res.writeHead(502).end("function crashed");
    }),
  );
  const port = Number(process.env.PORT ?? 3000);
  server.listen(port, process.env.HOST ?? "127.0.0.1", () => console.log(`Listening on http://127.0.0.1:${port}`));
}
