// The task dashboard at /_nitro/ui (app.mjs loads this module on the first request there): one
// page, no build step. Its files, served only in dev or while NITRO_TASKS_TOKEN is set (app.mjs
// decides), ship packed in ui/assets.mjs (minified, gzip, base64: compiler/ui_assets.py) and are
// unpacked on the first request. The page, script, style and cron evaluator are public in
// production (the page must load to ask for the token); every data call (/_nitro/tasks...,
// /_nitro/ui/schedules) passes the same access check as /_nitro/tasks. The browser computes next
// firings with the runtime's own cron.mjs.
import PACKED, { PATHS } from "./ui/assets.mjs";
import { json, jsonError, methodNotAllowed } from "./http.mjs";

const CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "img-src 'self'",
  "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join("; ");
const SECURITY_HEADERS = {
  "content-security-policy": CSP,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};
const TYPES = {
  "/": "text/html; charset=utf-8",
  "/dashboard.mjs": "text/javascript; charset=utf-8",
  "/cron.mjs": "text/javascript; charset=utf-8",
  "/dashboard.css": "text/css; charset=utf-8",
};
let unpacked = null;

/** Served path -> [text, content type]; "" (the page without its slash) is "/". */
async function unpack() {
  const bytes = Uint8Array.from(atob(PACKED), (c) => c.charCodeAt(0));
  // https://developer.mozilla.org/en-US/docs/Web/API/DecompressionStream (Node, Deno, Bun, workerd)
  const text = await new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"))).text();
  const texts = text.split("\0");
  const found = Object.fromEntries(PATHS.map((path, i) => [path, [texts[i], TYPES[path]]]));
  return { ...found, "": found["/"] };
}

/** Answers a request under /_nitro/ui (`rest`: the path after it); `access()` as app.mjs checkAccess. */
export async function serveUi(app, request, rest, access) {
  return secured(await answer(app, request, rest, access));
}

async function answer(app, request, rest, access) {
  if (!["GET", "HEAD"].includes(request.method)) return methodNotAllowed("GET, HEAD");
  // Dev: even the page is loopback-only. Production: the files are public, the data is not.
  const file = Object.hasOwn(TYPES, rest) || rest === "";
  if (app.options.dev || !file) {
    const allowed = await access();
    if (allowed !== "allowed") return allowed ?? jsonError(404, "Not Found");
  }
  if (file) {
    unpacked ??= await unpack();
    const [body, type] = unpacked[rest];
    return new Response(request.method === "HEAD" ? null : body, { headers: { "content-type": type } });
  }
  if (rest === "/schedules") return json(dashboardData(app));
  return jsonError(404, `Cannot find any route matching /_nitro/ui${rest}`);
}

/** Schedules with their compiled cron spec (for cron.mjs in the browser), and dev-only facts. */
function dashboardData(app) {
  const schedules = app.scheduledTasks.map(({ cron, tasks, spec }) => ({ cron, tasks, spec: spec ?? null }));
  const files = app.options.dev ? (app.options.taskFiles ?? {}) : {};
  // Cloudflare and Vercel fire crons in UTC; elsewhere the server's zone decides.
  const utc = /^(cloudflare|vercel)/.test(app.options.preset ?? "");
  const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return { dev: Boolean(app.options.dev), schedules, files, utc, timeZone };
}

function secured(response) {
  const headers = new Headers(response.headers);
  for (const [key, value] of Object.entries(SECURITY_HEADERS)) headers.set(key, value);
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}
