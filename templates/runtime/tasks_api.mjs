// The /_nitro/tasks endpoints (list, run, run history) and the /_nitro/ui dashboard's access
// check, with their security rules: loopback-only in dev (and no foreign Host, Origin or
// Sec-Fetch-Site), a bearer token in production, a 1 MiB body limit. app.mjs imports this module
// statically and calls it for requests under those paths (app.mjs says why it is not a lazy chunk).
import { TASKS_PATH, TOKEN_ENV, UI_PATH, safeDecode } from "./app.mjs";
import { toAnswer } from "./answer.mjs";
import { readEnv } from "./env.mjs";
import { errorResponse, hasBearer, headerOf, json, jsonError, methodNotAllowed, refuseWrites } from "./http.mjs";
import { listRuns } from "./runs.mjs";
import { HTTPError, listTasks, runTask } from "./task.mjs";
import { serveUi } from "./ui.mjs";

const MAX_TASK_BODY = 1024 * 1024;

export async function serveTasks(app, request, url, ctx) {
  const access = await checkAccess(request, ctx, app.options);
  if (access !== true) return access;
  const name = safeDecode(url.pathname.slice(TASKS_PATH.length + 1));
  if (!name) {
    return refuseWrites(request) ?? json({ tasks: withRuns(await listTasks(), await listRuns()), scheduledTasks: app.schedules });
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
 * The dashboard (ui.mjs; its files are read on first use): in dev, and in production only while
 * NITRO_TASKS_TOKEN is set (null otherwise: the path is an ordinary one).
 */
export function serveDashboard(app, request, url, ctx) {
  if ((import.meta.dev === false || !app.options.dev) && !readEnv(TOKEN_ENV, ctx.env)) return null;
  return serveUi(app, request, url.pathname.slice(UI_PATH.length), () => checkAccess(request, ctx, app.options));
}

/** The listing's tasks (listTasks makes them afresh), each given `runs`: its recorded runs, newest first. */
function withRuns(tasks, runs) {
  for (const name in tasks) tasks[name].runs = runs[name] ?? [];
  return tasks;
}

/** true (allowed), null (hidden: answer as if the endpoint did not exist) or a refusal Response. */
async function checkAccess(request, ctx, options) {
  // A production build defines import.meta.dev false (presets/base.py): the dev checks are left out.
  if (import.meta.dev !== false && options.dev) return devAccess(request, ctx);
  const token = readEnv(TOKEN_ENV, ctx.env);
  if (!token) return null;
  if (hasBearer(request, token)) return true;
  return jsonError(401, "Missing or wrong bearer token", { "www-authenticate": 'Bearer realm="nitro-tasks"' });
}

/** nitro dev: loopback clients only, and no request a web page could have made. */
function devAccess(request, ctx) {
  if (!isLoopback(ctx.remoteAddress)) return jsonError(403, "Tasks are only served to loopback clients in dev");
  // A browser on this machine is a loopback client too: refuse what a web page makes it send
  // (DNS rebinding: a foreign Host; cross-site requests: a foreign Origin or Sec-Fetch-Site).
  const refusal = browserRefusal(request.headers);
  return refusal ? jsonError(403, refusal) : true;
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
  const query = {};
  for (const [key, value] of searchParams) {
    if (key === "__proto__" || key === "constructor") continue;
    query[key] = Object.hasOwn(query, key) ? [].concat(query[key], value) : value;
  }
  return query;
}

/**
 * The task payload a POST body gives, as Nitro's dev-tasks handler: `body.payload ?? body`, and a
 * body that is not JSON counts as {} (Nitro: `req.json().catch(() => ({}))`). A payload that is
 * not a JSON object also counts as {} (Nitro would spread it). 413 over 1 MiB.
 */
async function readBodyPayload(request) {
  if (request.method !== "POST") return {};
  if (Number(headerOf(request, "content-length")) > MAX_TASK_BODY) throw tooLarge();
  // Unreadable (a broken connection) or not UTF-8 (TextDecoder's TypeError): as a body that is
  // not JSON.
  const text = await bodyText(request).catch((error) => {
    if (error?.statusCode === 413) throw error;
    return "";
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

/**
 * The body as UTF-8, at most MAX_TASK_BODY bytes. NodeRequest's own reading (node.mjs) needs no
 * web Request (undici) and no web stream, which Node loads on first use: a first run after start
 * pays for neither (bench/README.md).
 */
async function bodyText(request) {
  const bytes = await request.bodyBytes?.(MAX_TASK_BODY);
  if (bytes === null) throw tooLarge();
  if (bytes) return utf8().decode(bytes);
  return request.body ? readText(request.body, MAX_TASK_BODY) : "";
}

/** Reads a byte stream as UTF-8, giving up (and cancelling it) once it exceeds `limit` bytes. */
async function readText(stream, limit) {
  const reader = stream.getReader();
  const decoder = utf8();
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
    throw error;
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

/** A decoder that throws a TypeError on bytes that are not UTF-8. */
const utf8 = () => new TextDecoder("utf-8", { fatal: true });
const tooLarge = () => new HTTPError(413, `Request body is larger than ${MAX_TASK_BODY} bytes`);
/** A JSON object: not null, not an array (also the task CLI's --payload check). */
export const isPlainObject = (value) => typeof value === "object" && value !== null && !Array.isArray(value);
