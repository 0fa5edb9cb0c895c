// The task dashboard at /_nitro/ui (tasks_api.mjs serves it; its files are read on the first request there):
// one page, no build step, served only in dev or while NITRO_TASKS_TOKEN is set. Its files are
// precompressed by compiler/ui_assets.py, one gzip member each. A server with files beside it
// (import.meta._uiFile, set by the build: compiler/bundle.py) reads them from that file on the
// first request and sends a member as is, `Content-Encoding: gzip`, to a client that accepts gzip;
// elsewhere (Cloudflare, Deno Deploy, Netlify) they ship base64 in ui/packed.mjs. The page, script
// and style are public in production (the page must load to ask for the token); every data call
// (/_nitro/tasks..., /_nitro/ui/schedules) passes the same access check as /_nitro/tasks. The next
// firings are computed here, with the scheduler's own cron.mjs.
import { nextFiring, nextFiringUTC } from "./cron.mjs";
import { headerOf, json, jsonError, refuseWrites } from "./http.mjs";
import { PATHS, SIZES } from "./ui/assets.mjs";

const FIRINGS = 5;
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};
// gzip or x-gzip in an Accept-Encoding list, without q=0 (https://www.rfc-editor.org/rfc/rfc9110#name-accept-encoding).
const ACCEPTS_GZIP = /(?:^|,)\s*(?:x-)?gzip\s*(?:;\s*q=(?!0(?:\.0*)?\s*(?:,|$))[\d.]+\s*)?(?:,|$)/i;
// Each sent with "; charset=utf-8" (serveFile).
const TYPES = {
  "/": "text/html",
  "/dashboard.mjs": "text/javascript",
  "/dashboard.css": "text/css",
};
let assets = null;

/** Served path -> { gz: its gzip member, text: filled on first need }. */
async function load() {
  const data = import.meta._uiFile
    ? await readUiFile((await import("node:fs/promises")).readFile) // esbuild drops an import() only in a dead branch
    : Uint8Array.from(atob((await import("./ui/packed.mjs")).default), (c) => c.charCodeAt(0));
  let start = 0;
  return Object.fromEntries(PATHS.map((path, i) => [path, { gz: data.subarray(start, (start += SIZES[i])) }]));
}

// An esbuild chunk (--chunk-names=chunks/[name]-[hash], compiler/bundle.py) sits one folder below
// the server folder that import.meta._uiFile is relative to; the entry sits in it.
const IN_CHUNK = /\/chunks\/[^/]+-[A-Z0-9]{8}\.[cm]?js$/;

async function readUiFile(readFile) {
  const url = new URL((IN_CHUNK.test(import.meta.url) ? "../" : "./") + import.meta._uiFile, import.meta.url);
  try {
    return new Uint8Array(await readFile(url));
  } catch (error) {
    throw new Error(`the dashboard's file ${url.pathname} cannot be read (deploy the whole server folder): ${error?.message}`);
  }
}

// https://developer.mozilla.org/en-US/docs/Web/API/DecompressionStream (Node, Deno, Bun, workerd)
const gunzip = (bytes) => new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"))).text();

/** Answers a request under /_nitro/ui (`rest`: the path after it); `access()` as tasks_api.mjs checkAccess. */
export async function serveUi(app, request, rest, access) {
  const response = await answer(app, request, rest, access);
  // Every answer here is a Response this module or http.mjs just made: its headers are mutable.
  for (const [key, value] of Object.entries(SECURITY_HEADERS)) response.headers.set(key, value);
  return response;
}

async function answer(app, request, rest, access) {
  const refusal = refuseWrites(request);
  if (refusal) return refusal;
  // Dev: even the page is loopback-only. Production: the files are public, the data is not.
  const path = rest || "/"; // "" (no slash) is "/"
  const isFile = Object.hasOwn(TYPES, path);
  // A production build defines import.meta.dev false (presets/base.py): esbuild drops dev code.
  if ((import.meta.dev !== false && app.options.dev) || !isFile) {
    const allowed = await access();
    if (allowed !== true) return allowed ?? jsonError(404, "Not Found");
  }
  if (isFile) return serveFile(request, path);
  if (rest === "/schedules") return json(dashboardData(app));
  return jsonError(404, `Cannot find any route matching /_nitro/ui${rest}`);
}

async function serveFile(request, path) {
  assets ??= await load();
  const file = assets[path];
  const headers = { "content-type": `${TYPES[path]}; charset=utf-8`, vary: "accept-encoding" };
  // A Worker's runtime would encode a body again; only a server with the file sends it as is.
  const gzip = Boolean(import.meta._uiFile) && ACCEPTS_GZIP.test(headerOf(request, "accept-encoding") ?? "");
  if (gzip) headers["content-encoding"] = "gzip";
  const body = gzip ? file.gz : (file.text ??= await gunzip(file.gz));
  return new Response(request.method === "HEAD" ? null : body, { headers });
}

/** Schedules with their next firings (epoch ms), and dev-only facts. */
function dashboardData(app) {
  const dev = import.meta.dev !== false && Boolean(app.options.dev);
  const files = dev ? (app.options.taskFiles ?? {}) : {};
  // Cloudflare and Vercel fire crons in UTC; elsewhere the server's zone decides.
  const utc = /^(cloudflare|vercel)/.test(app.options.preset ?? "");
  const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const schedules = app.scheduledTasks.map(({ cron, tasks, spec }) => ({
    cron,
    tasks,
    timeZone: spec?.timeZone ?? null,
    firings: spec ? firings(spec, utc ? null : timeZone) : [],
  }));
  return { dev, schedules, files, utc, timeZone };
}

/** The next FIRINGS firings of `spec` as the deployment computes them (zone: the server's, null = UTC). */
function firings(spec, zone) {
  // The schedule's own zone, else the server's, else UTC.
  const zoned = spec.timeZone || !zone ? spec : { ...spec, timeZone: zone };
  const next = zoned.timeZone ? nextFiring : nextFiringUTC;
  const found = [];
  for (let at = next(zoned, Date.now()); at != null && found.length < FIRINGS; at = next(zoned, at)) found.push(at);
  return found;
}
