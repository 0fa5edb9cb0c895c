// Node adapter for node_server: an HTTP server (node:http) answering with the app; the task CLI,
// the schedules and the shutdown come from server.mjs. The request/response bridge below is shared
// by the node_cluster and node_middleware adapters.
import { createServer } from "node:http";
import { refuseMethod } from "./app.mjs";
import { listenAddress } from "./env.mjs";
import { jsonError } from "./http.mjs";
import { listenUrl, startServer } from "./server.mjs";

/** Entry point of the generated node_server bundle: `startNode(registry)`. */
export function startNode(registry) {
  return startServer(registry, listenNode);
}

async function listenNode(app, pending) {
  const server = nodeServer(app, pending);
  console.log(`Listening on ${await listen(server)}`);
  return server;
}

/** A node:http server answering with `app`; `pending` is the waitUntil its requests get. */
export function nodeServer(app, pending) {
  const server = createServer((req, res) => respond(app, req, res, { waitUntil: pending.add, server }));
  return refuseTunnels(server);
}

/** Listens on NITRO_PORT/PORT and NITRO_HOST/HOST; resolves to the URL once listening. */
export async function listen(server) {
  const { port, host } = listenAddress();
  await new Promise((resolve, reject) => server.once("error", reject).listen(port, host, resolve));
  return listenUrl(server.address());
}

async function respond(app, req, res, { waitUntil, server }) {
  let response;
  try {
    const request = incoming(req);
    response = request instanceof Response
      ? request
      : await app.fetch(request, { waitUntil, remoteAddress: req.socket.remoteAddress });
  } catch (error) {
    console.error("[nitro]", error);
    response = jsonError(500, "Internal Server Error");
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

