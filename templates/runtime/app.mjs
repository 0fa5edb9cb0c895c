// The web-standard request handler every preset serves: user routes plus the /_nitro/tasks
// endpoints. `fetch(request, ctx)` with ctx = { waitUntil?, env?, remoteAddress? }.
import { createEvent, toAnswer, webResponse } from "./answer.mjs";
import { readEnv } from "./env.mjs";
import { callHook, ready, setLocalApp } from "./hooks.mjs";
import { errorResponse, hasBearer, json, jsonError, methodNotAllowed } from "./http.mjs";
import { listRuns } from "./runs.mjs";
import { HTTPError, listTasks, registerTasks, runTask } from "./task.mjs";

const TASKS_PATH = "/_nitro/tasks";
const UI_PATH = "/_nitro/ui";
const MAX_TASK_BODY = 1024 * 1024;
// Methods the Fetch standard forbids in a Request (https://fetch.spec.whatwg.org/#forbidden-method):
// no route can serve them, and Node's `new Request` throws on them. TRACE would echo headers
// (cross-site tracing), CONNECT asks for a tunnel: no resource supports them, hence 501
// (https://www.rfc-editor.org/rfc/rfc9110#name-501-not-implemented), not a logged 500.
const UNSUPPORTED_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);

/** Builds the app from the generated registry `{ tasks, scheduledTasks, routes, options }`. */
export function createApp(registry) {
  registerTasks(registry.tasks ?? {});
  const app = {
    options: registry.options ?? {},
    // Already in match order: the build sorts them (compiler/scan.py route_sort_key).
    routes: registry.routes ?? [],
    schedules: publicSchedules(registry.scheduledTasks),
    scheduledTasks: registry.scheduledTasks ?? [],
  };
  const answer = async (request, ctx = {}) => {
    const refusal = refuseMethod(request.method);
    if (refusal) return refusal;
    const url = parseUrl(request.url);
    if (!url) return jsonError(400, "Bad Request");
    try {
      const booting = ready(); // plugins run before the first request is handled
      if (booting) await booting;
      return await handle(app, request, url, ctx);
    } catch (error) {
      return errorResponse(error, { expose: app.options.dev });
    }
  };
  const served = {
    fetch: async (request, ctx) => webResponse(await answer(request, ctx)),
    /**
     * The Node adapters' fast path: like fetch, but `request` may be a lazy request (`method`,
     * `url`, `headers`, `body`, and `request`, the web Request built on first use), and a
     * string/JSON/bytes/empty result comes back as a plain answer `{ status, statusText, headers,
     * body }` that Node writes with content-length, without building a Response.
     */
    answer,
    /**
     * Whether a route or the served /_nitro/tasks endpoint matches `method` and `url`: a
     * middleware (node_middleware) answers those and passes every other request on.
     */
    matches(method, url, ctx = {}) {
      if (!URL.canParse(url)) return false; // not ours: the host app answers it
      const { pathname } = new URL(url);
      const tasksPath = under(pathname, TASKS_PATH) || under(pathname, UI_PATH);
      if (tasksPath && (app.options.dev || readEnv("NITRO_TASKS_TOKEN", ctx.env))) return true;
      return Boolean(matchRoute(app.routes, pathname, method).route);
    },
  };
  setLocalApp(served);
  return served;
}

/** A 501 answer for a method no route can serve (CONNECT, TRACE, TRACK), else null. Never logged. */
export function refuseMethod(method) {
  if (method === "GET" || method === "POST") return null;
  const verb = String(method).toUpperCase();
  return UNSUPPORTED_METHODS.has(verb) ? jsonError(501, `Method ${verb} is not supported`) : null;
}

/**
 * The request URL, or null (a 400) for one the WHATWG parser refuses (Deno hands such a
 * request-target, e.g. `GET http://[bad/`, to the handler as is). The client's doing: never logged.
 */
function parseUrl(url) {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

async function handle(app, request, url, ctx) {
  if (under(url.pathname, TASKS_PATH) || under(url.pathname, UI_PATH)) {
    const serve = under(url.pathname, UI_PATH) ? serveDashboard : serveTasks;
    const answer = await serve(app, request, url, ctx);
    // null: the endpoint is hidden in this deployment, so the path is an ordinary one.
    if (answer) return answer;
  }
  return serveRoute(app, request, url, ctx);
}

// ---------------------------------------------------------------- /_nitro/tasks

async function serveTasks(app, request, url, ctx) {
  const access = await checkAccess(request, ctx, app.options);
  if (access !== "allowed") return access;
  const name = safeDecode(url.pathname.slice(TASKS_PATH.length + 1));
  if (!name) {
    if (!["GET", "HEAD"].includes(request.method)) return methodNotAllowed("GET, HEAD");
    return json({ tasks: withRuns(await listTasks(), await listRuns()), scheduledTasks: app.schedules });
  }
  // The run history (runs.mjs). A task named "runs" still runs with POST.
  if (name === "runs" && request.method === "GET") return json({ runs: await listRuns() });
  if (!["GET", "POST"].includes(request.method)) return methodNotAllowed("GET, POST");
  try {
    const payload = { ...queryObject(url.searchParams), ...(await readBodyPayload(request)) };
    const context = ctx.waitUntil ? { waitUntil: ctx.waitUntil } : {};
    return toAnswer(await runTask(name, { payload, context, trigger: { type: "http" } }));
  } catch (error) {
    // The caller is the operator (loopback in dev, token holder in production): show the message.
    return errorResponse(error, { expose: true });
  }
}

/**
 * The dashboard (ui.mjs, loaded on first use): in dev, and in production only while
 * NITRO_TASKS_TOKEN is set (null otherwise: the path is an ordinary one).
 */
async function serveDashboard(app, request, url, ctx) {
  if (!app.options.dev && !readEnv("NITRO_TASKS_TOKEN", ctx.env)) return null;
  const { serveUi } = await import("./ui.mjs");
  return serveUi(app, request, url.pathname.slice(UI_PATH.length), () => checkAccess(request, ctx, app.options));
}

const under = (pathname, base) => pathname === base || pathname.startsWith(`${base}/`);

/** The listing's tasks, each with `runs`: its recorded runs, newest first. */
function withRuns(tasks, runs) {
  return Object.fromEntries(Object.entries(tasks).map(([name, task]) => [name, { ...task, runs: runs[name] ?? [] }]));
}

/** "allowed", null (hidden: answer as if the endpoint did not exist) or a refusal Response. */
async function checkAccess(request, ctx, options) {
  if (options.dev) {
    if (!isLoopback(ctx.remoteAddress)) return jsonError(403, "Tasks are only served to loopback clients in dev");
    // A browser on this machine is a loopback client too: refuse what a web page makes it send
    // (DNS rebinding: a foreign Host; cross-site requests: a foreign Origin or Sec-Fetch-Site).
    const refusal = browserRefusal(request.headers);
    return refusal ? jsonError(403, refusal) : "allowed";
  }
  const token = readEnv("NITRO_TASKS_TOKEN", ctx.env);
  if (!token) return null;
  if (hasBearer(request, token)) return "allowed";
  return jsonError(401, "Missing or wrong bearer token", { "www-authenticate": 'Bearer realm="nitro-tasks"' });
}

/** 127.0.0.0/8, ::1 and IPv4-mapped 127.x; an unknown address is not loopback (fail closed). */
export function isLoopback(address) {
  if (typeof address !== "string") return false;
  const ipv4 = address.replace(/^::ffff:/i, "");
  return /^127(\.\d{1,3}){3}$/.test(ipv4) || address === "::1" || address === "0:0:0:0:0:0:0:1";
}

/** Why a request that a web page could have made is refused in dev, or null. */
function browserRefusal(headers) {
  const host = headers.get("host");
  if (host !== null && !isLoopbackHost(host)) {
    return `Tasks are only served in dev with a loopback Host header (localhost, 127.0.0.1, [::1]), not "${host}"`;
  }
  const origin = headers.get("origin");
  if (origin !== null && !isLoopbackOrigin(origin)) return "Tasks are not served to cross-origin requests in dev";
  if (headers.get("sec-fetch-site") === "cross-site") return "Tasks are not served to cross-site requests in dev";
  return null;
}

/** `localhost`, `*.localhost`, a loopback IPv4 or IPv6 address, with an optional port. */
function isLoopbackHost(host) {
  const name = host.trim().toLowerCase().replace(/:\d*$/, "").replace(/\.$/, "");
  if (name === "localhost" || name.endsWith(".localhost")) return true;
  return isLoopback(name.replace(/^\[(.*)\]$/, "$1"));
}

function isLoopbackOrigin(origin) {
  try {
    const url = new URL(origin);
    return (url.protocol === "http:" || url.protocol === "https:") && isLoopbackHost(url.host);
  } catch {
    return false; // "null" (sandboxed pages, file:) and anything unparsable
  }
}

/**
 * Query string as an object; a repeated key becomes an array. `__proto__` and `constructor` are
 * dropped (as h3's getQuery does): a task that merges its payload into another object must not
 * be handed a key that reaches Object.prototype.
 */
function queryObject(searchParams) {
  const values = new Map();
  for (const [key, value] of searchParams) {
    if (key === "__proto__" || key === "constructor") continue;
    const seen = values.get(key);
    values.set(key, seen === undefined ? value : [].concat(seen, value));
  }
  return Object.fromEntries(values);
}

/**
 * The task payload a POST body gives, as Nitro's dev-tasks handler: `body.payload ?? body`, and a
 * body that is not JSON counts as {} (Nitro: `req.json().catch(() => ({}))`). A payload that is
 * not a JSON object also counts as {} (Nitro would spread it). 413 over 1 MiB.
 */
async function readBodyPayload(request) {
  if (request.method !== "POST" || !request.body) return {};
  if (Number(request.headers.get("content-length")) > MAX_TASK_BODY) throw tooLarge();
  const text = await readText(request.body, MAX_TASK_BODY).catch((error) => {
    if (error?.statusCode === 413) throw error;
    return ""; // not UTF-8: unparsable
  });
  let body;
  try {
    body = JSON.parse(text, withoutPrototypeKeys);
  } catch {
    return {};
  }
  const payload = isPlainObject(body) ? (body.payload ?? body) : undefined;
  return isPlainObject(payload) ? payload : {};
}

/** Reads a byte stream as UTF-8, giving up (and cancelling it) once it exceeds `limit` bytes. */
async function readText(stream, limit) {
  const reader = stream.getReader();
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let size = 0;
  let text = "";
  try {
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      size += chunk.value.byteLength;
      if (size > limit) throw tooLarge();
      text += decoder.decode(chunk.value, { stream: true });
    }
    return text + decoder.decode();
  } catch (error) {
    reader.cancel().catch(() => {});
    throw error instanceof TypeError ? new HTTPError(400, "Request body is not valid UTF-8") : error;
  }
}

/**
 * JSON.parse reviver dropping `__proto__`, and `constructor` holding a `prototype`, at any depth
 * (as h3's readBody does through destr): the payload reaches user code that may merge it.
 */
function withoutPrototypeKeys(key, value) {
  if (key === "__proto__") return undefined;
  if (key === "constructor" && isPlainObject(value) && Object.hasOwn(value, "prototype")) return undefined;
  return value;
}

const tooLarge = () => new HTTPError(413, `Request body is larger than ${MAX_TASK_BODY} bytes`);
const isPlainObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);

export function publicSchedules(scheduledTasks) {
  const list = (scheduledTasks ?? []).map(({ cron, tasks }) => ({ cron, tasks }));
  return list.length > 0 ? list : false;
}

// ---------------------------------------------------------------- routes

async function serveRoute(app, request, url, ctx) {
  const match = matchRoute(app.routes, url.pathname, request.method);
  if (match.allow) return methodNotAllowed(match.allow);
  if (!match.route) throw new HTTPError(404, `Cannot find any route matching ${url.pathname}`);
  const handler = routeHandler(loaded.get(match.route) ?? (await loadRoute(match.route)), match.route.route);
  const event = createEvent(request, url, match.params, ctx);
  const hooked = callHook("request", event);
  if (hooked) await hooked;
  try {
    return toAnswer(await handler(event), event.res);
  } catch (error) {
    await callHook("error", error, { event, tags: ["request"] });
    throw error;
  }
}

// Route modules once loaded: a request for a loaded route awaits nothing to find its handler.
const loaded = new WeakMap();

async function loadRoute(route) {
  const exported = (await route.load()).default;
  loaded.set(route, exported);
  return exported;
}

/** `{ route, params }`, `{ allow }` when only other methods match, or `{}`. */
function matchRoute(routes, pathname, method) {
  const parts = pathname.split("/").filter(Boolean).map(safeDecode);
  const verb = method.toLowerCase();
  let allowed;
  for (const route of routes) {
    const params = matchSegments(route.segments, parts);
    if (!params) continue;
    if (!route.method || route.method === verb || (verb === "head" && route.method === "get")) return { route, params };
    (allowed ??= new Set()).add(route.method.toUpperCase());
  }
  return allowed ? { allow: [...allowed].join(", ") } : {};
}

function matchSegments(segments, parts) {
  const params = {};
  for (const [i, segment] of segments.entries()) {
    // A catch-all takes the rest of the path, possibly empty (as Nitro's `[...slug]`).
    if ("catchall" in segment) return { ...params, [segment.catchall]: parts.slice(i).join("/") };
    if (i >= parts.length) return null;
    if ("static" in segment && segment.static !== parts[i]) return null;
    if ("param" in segment) params[segment.param] = parts[i];
  }
  return parts.length === segments.length ? params : null;
}

function routeHandler(exported, route) {
  const handler = typeof exported === "function" ? exported : exported?.handler;
  if (typeof handler !== "function") throw new Error(`Route ${route} has no default export handler`);
  return handler;
}

function safeDecode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
