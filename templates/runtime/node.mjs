// Node adapter for node_server: the `task` CLI, or an HTTP server plus the scheduler with
// graceful shutdown. The only runtime module that may use node: APIs.
// The exported pieces are shared by the node_cluster, node_middleware, bun and deno_server adapters
// (Bun and Deno implement node:process, so signals and the task CLI work there too).
import { createServer } from "node:http";
import { createApp, jsonError, refuseMethod } from "./app.mjs";
import { callHook, ready } from "./hooks.mjs";
import { scheduleGuards } from "./lock.mjs";
import { startScheduler } from "./scheduler.mjs";
import { listTasks, runTask, tasksIdle } from "./task.mjs";

/** Entry point of the generated node_server bundle: `startNode(registry)`. */
export function startNode(registry) {
  if (process.argv[2] === "task") return runCli(registry, process.argv.slice(3));
  return serve(registry).catch(startFailed);
}

/** A plugin that throws, or EADDRINUSE: without a server there is nothing to keep running. */
export function startFailed(error) {
  console.error(`[nitro] could not start the server: ${error?.message ?? error}`);
  process.exit(1);
}

// ---------------------------------------------------------------- task CLI

const USAGE = "Usage: node index.mjs task list | task run [--] NAME [--payload '{...}']";

export async function runCli(registry, args) {
  createApp(registry); // registers the tasks; $fetch("/api/...") from a task reaches this app
  // stdout carries only the JSON answer (scripts pipe it to jq); task logs go to stderr.
  console.log = console.info = console.debug = console.error;
  const [command, ...rest] = args;
  if (command === "list") {
    const schedules = (registry.scheduledTasks ?? []).map(({ cron, tasks }) => ({ cron, tasks }));
    return finish(0, { tasks: await listTasks(), scheduledTasks: schedules.length > 0 ? schedules : false });
  }
  // `task run -- -name` runs a task whose name starts with a dash (tasks/-name.ts).
  const escaped = rest[0] === "--";
  const name = escaped ? rest[1] : rest[0];
  if (command !== "run" || !name || (!escaped && name.startsWith("-"))) return fail(USAGE);
  const flags = rest.slice(escaped ? 2 : 1);
  const waitUntil = tracker();
  try {
    const result = await runTask(name, { payload: parsePayload(flags), context: { waitUntil: waitUntil.add } });
    await waitUntil.settled();
    return finish(0, result ?? null);
  } catch (error) {
    await waitUntil.settled();
    const message = error?.message || String(error);
    return fail(message.includes(`"${name}"`) ? message : `task "${name}" failed: ${message}`, statusOf(error));
  }
}

/** `--payload JSON` / `--payload=JSON`; a value that is not a JSON object warns and gives {}. */
function parsePayload(flags) {
  const index = flags.findIndex((flag) => flag === "--payload" || flag.startsWith("--payload="));
  if (index === -1) return {};
  const flag = flags[index];
  const text = flag.includes("=") ? flag.slice(flag.indexOf("=") + 1) : flags[index + 1];
  try {
    const value = JSON.parse(text);
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value;
  } catch {}
  process.stderr.write(`warning: --payload is not a JSON object; running the task without a payload\n`);
  return {};
}

const statusOf = (error) => (Number.isInteger(error?.statusCode) ? error.statusCode : 500);

function finish(code, value) {
  // exit() rather than waiting for the event loop: a task may leave handles (sockets, timers) open.
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`, () => process.exit(code));
}

/** The error style of every nitro-build command: one sentence on stderr, exit code 1. */
function fail(message, statusCode) {
  const status = statusCode === undefined ? "" : ` (${statusCode})`;
  process.stderr.write(`error: ${message}${status}\n`, () => process.exit(1));
}

// ---------------------------------------------------------------- server

async function serve(registry) {
  const app = createApp(registry);
  await ready(); // plugins, once, before listening and scheduling
  const pending = tracker();
  const server = refuseTunnels(createServer((req, res) => respond(app, req, res, { waitUntil: pending.add, server })));
  process.on("unhandledRejection", (reason) => console.error("[nitro] unhandled rejection:", reason));
  const port = Number(process.env.NITRO_PORT || process.env.PORT || 3000);
  const host = process.env.NITRO_HOST || process.env.HOST || undefined;
  await new Promise((resolve, reject) => server.once("error", reject).listen(port, host, resolve));
  console.log(`Listening on ${listenUrl(server.address())}`);
  const scheduler = startScheduler(registry.scheduledTasks ?? [], scheduleGuards(registry.options, { runTask }));
  onShutdown(() => shutdown(server, scheduler, pending));
}

export function listenUrl({ address, port }) {
  return `http://${address.includes(":") ? `[${address}]` : address}:${port}`;
}

export async function respond(app, req, res, { waitUntil, server }) {
  let response;
  try {
    const request = incoming(req);
    response = request instanceof Response
      ? request
      : await app.fetch(request, { waitUntil, remoteAddress: req.socket.remoteAddress });
  } catch (error) {
    console.error("[nitro]", error);
    response = Response.json({ statusCode: 500, message: "Internal Server Error" }, { status: 500 });
  }
  // Once the server stops listening, keep-alive sockets are closed after their answer.
  await writeResponse(response, res, { close: !server.listening });
}

/**
 * The web Request for `req`, or the answer to a request that cannot become one: 501 for CONNECT,
 * TRACE and TRACK (`new Request` throws on them), 400 for a URL the WHATWG parser refuses. Both
 * are the client's doing, so nothing is logged: a stack per request would let anyone flood the logs.
 */
export function incoming(req) {
  const refusal = refuseMethod(req.method);
  if (refusal) return refusal;
  try {
    return toRequest(req);
  } catch {
    return jsonError(400, "Bad Request");
  }
}

/**
 * CONNECT never reaches the request handler: Node emits "connect" and, with no listener, drops the
 * connection. Answer it with the same 501 as TRACE, then close.
 */
export function refuseTunnels(server) {
  server.on("connect", (req, socket) => {
    const body = JSON.stringify({ statusCode: 501, message: "Method CONNECT is not supported" });
    socket.on("error", () => {});
    socket.end(
      "HTTP/1.1 501 Not Implemented\r\ncontent-type: application/json; charset=utf-8\r\n" +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  });
  return server;
}

/** IncomingMessage -> web Request; the body streams lazily so unread bytes are never buffered. */
export function toRequest(req) {
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    try {
      headers.append(req.rawHeaders[i], req.rawHeaders[i + 1]);
    } catch {} // a header value fetch rejects (e.g. control characters) is dropped, not fatal
  }
  const origin = `http://${/^[\w.:[\]-]+$/.test(req.headers.host ?? "") ? req.headers.host : "localhost"}`;
  // Appended, not resolved: `new URL("//x/api", origin)` would read "x" as a host and route "/api".
  const url = req.url.startsWith("/") ? new URL(origin + req.url) : new URL(req.url, origin);
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  return new Request(url, { method: req.method, headers, body: hasBody ? bodyStream(req) : null, duplex: "half" });
}

/** A pull-based ReadableStream over `req`: the socket is read only as fast as the consumer reads. */
function bodyStream(req) {
  let done = false;
  return new ReadableStream(
    {
      start(controller) {
        req.on("data", (chunk) => {
          if (done) return;
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
          if (controller.desiredSize <= 0) req.pause();
        });
        req.once("end", () => !done && ((done = true), controller.close()));
        req.once("error", (error) => !done && ((done = true), controller.error(error)));
        req.pause();
      },
      pull() {
        req.resume();
      },
      cancel() {
        done = true;
        req.resume(); // let Node discard the rest so the response can still be sent
      },
    },
    { highWaterMark: 64 * 1024, size: (chunk) => chunk.byteLength },
  );
}

/** Web Response -> ServerResponse, honouring backpressure and client disconnects. */
export async function writeResponse(response, res, { close }) {
  const headers = {};
  for (const [key, value] of response.headers) if (key !== "set-cookie") headers[key] = value;
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers["set-cookie"] = cookies;
  if (close) headers.connection = "close";
  if (response.statusText) res.writeHead(response.status, response.statusText, headers);
  else res.writeHead(response.status, headers);
  if (!response.body) return res.end();
  const reader = response.body.getReader();
  res.once("close", () => reader.cancel().catch(() => {}));
  try {
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      if (!res.write(chunk.value)) await drainedOrClosed(res);
    }
  } catch (error) {
    console.error("[nitro] response stream failed:", error);
  }
  res.end();
}

function drainedOrClosed(res) {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done).off("close", done);
      resolve();
    };
    res.on("drain", done).on("close", done);
  });
}

// ---------------------------------------------------------------- shutdown

/** A waitUntil that remembers its promises; `settled()` resolves when all have settled. */
export function tracker() {
  const promises = new Set();
  const add = (promise) => {
    const tracked = Promise.resolve(promise)
      .catch((error) => console.error("[nitro] waitUntil promise rejected:", error))
      .finally(() => promises.delete(tracked));
    promises.add(tracked);
  };
  const settled = async () => {
    while (promises.size > 0) await Promise.allSettled([...promises]);
  };
  return { add, settled };
}

export function onShutdown(shutdown) {
  let started = false;
  const handle = (signal) => {
    // A second signal while shutting down means "now".
    if (started) process.exit(1);
    started = true;
    console.log(`[nitro] ${signal} received, shutting down`);
    shutdown().then(() => process.exit(0));
  };
  process.on("SIGTERM", handle);
  process.on("SIGINT", handle);
}

/** Stops scheduling and accepting connections, then waits (bounded) for tasks and waitUntil work. */
export async function shutdown(server, scheduler, pending) {
  scheduler.stop();
  // Resolves once in-flight requests have been answered (idle keep-alive sockets are closed now).
  const closed = new Promise((resolve) => server.close(resolve));
  server.closeIdleConnections();
  const timeoutMs = Number(process.env.NITRO_SHUTDOWN_TIMEOUT) || 10_000;
  let timer;
  const timeout = new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs, "timeout")));
  const work = Promise.all([scheduler.idle(), tasksIdle(), pending.settled(), closed]);
  if ((await Promise.race([work, timeout])) === "timeout") {
    console.error(`[nitro] shutdown: tasks still running after ${timeoutMs} ms, exiting anyway`);
  }
  clearTimeout(timer);
  await callHook("close"); // plugins' close hooks (Nitro's nitroApp.hooks "close"), awaited
}
