// The web-standard request handler every preset serves: user routes plus the /_nitro/tasks
// endpoints (tasks_api.mjs). `fetch(request, ctx)` with ctx = { waitUntil?, env?, remoteAddress? }.
import { createEvent, toAnswer, webResponse } from "./answer.mjs";
import { readEnv } from "./env.mjs";
import { callHook, ready, setLocalApp } from "./hooks.mjs";
import { errorResponse, jsonError, methodNotAllowed } from "./http.mjs";
import { HTTPError, registerTasks } from "./task.mjs";
// Static, with the dashboard and the task CLI (server.mjs): as lazy chunks they cost a Node
// bundle 2.6 kB of esbuild's chunk imports and exports, more than their code saves at start
// (bench/README.md, issue 14). tasks_api.mjs imports constants back from here, read only in calls.
import { serveDashboard, serveTasks } from "./tasks_api.mjs";

export const TASKS_PATH = "/_nitro/tasks";
export const UI_PATH = "/_nitro/ui";
// The variable holding production's bearer token for both (one string in the bundle, not one a use).
export const TOKEN_ENV = "NITRO_TASKS_TOKEN";
// Methods the Fetch standard forbids in a Request (https://fetch.spec.whatwg.org/#forbidden-method):
// no route can serve them, and Node's `new Request` throws on them. TRACE would echo headers
// (cross-site tracing), CONNECT asks for a tunnel: no resource supports them, hence 501
// (https://www.rfc-editor.org/rfc/rfc9110#name-501-not-implemented), not a logged 500.
const UNSUPPORTED_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);

/** Builds the app from the generated registry `{ tasks, scheduledTasks, routes, options }`. */
export function createApp(registry) {
  registerTasks(registry.tasks); // none: a plain table of none (task.mjs)
  let schedules;
  const app = {
    options: registry.options ?? {},
    // Already in match order: the build sorts them (compiler/scan.py route_sort_key).
    routes: registry.routes ?? [],
    // Made on the first listing, not at start: the schedules' task lists are parsed when first
    // read (runtime/schedule_table.mjs).
    get schedules() {
      return (schedules ??= publicSchedules(registry.scheduledTasks));
    },
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
      return errorResponse(error, { expose: import.meta.dev !== false && app.options.dev });
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
    app, // for appMatches (node_middleware)
  };
  setLocalApp(served);
  return served;
}

/**
 * Whether a route or the served /_nitro/tasks endpoint of `served` (createApp's) matches `method`
 * and `url`: a middleware (node_middleware) answers those and passes every other request on.
 */
export function appMatches({ app }, method, url, ctx = {}) {
  if (!URL.canParse(url)) return false; // not ours: the host app answers it
  const { pathname } = new URL(url);
  const tasksPath = under(pathname, TASKS_PATH) || under(pathname, UI_PATH);
  if (tasksPath && (app.options.dev || readEnv(TOKEN_ENV, ctx.env))) return true;
  return Boolean(matchRoute(app.routes, pathname, method).route);
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
  const serve = under(url.pathname, TASKS_PATH) ? serveTasks : under(url.pathname, UI_PATH) ? serveDashboard : null;
  // null: the endpoint is hidden in this deployment, so the path is an ordinary one.
  const answer = serve && (await serve(app, request, url, ctx));
  if (answer) return answer;
  // A build without routes defines import.meta._routes false (presets/base.py): no route code ships.
  if (import.meta._routes !== false) return serveRoute(app, request, url, ctx);
  throw notFound(url);
}

const notFound = (url) => new HTTPError(404, `Cannot find any route matching ${url.pathname}`);

const under = (pathname, base) => pathname === base || pathname.startsWith(`${base}/`);

export function publicSchedules(scheduledTasks) {
  const list = (scheduledTasks ?? []).map(({ cron, tasks }) => ({ cron, tasks }));
  return list.length > 0 ? list : false;
}

// ---------------------------------------------------------------- routes

async function serveRoute(app, request, url, ctx) {
  const match = matchRoute(app.routes, url.pathname, request.method);
  if (match.allow) return methodNotAllowed(match.allow);
  if (!match.route) throw notFound(url);
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

export function safeDecode(text) {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
