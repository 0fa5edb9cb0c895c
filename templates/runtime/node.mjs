// Node adapter for node_server: an HTTP server (node:http) answering with the app; the task CLI,
// the schedules and the shutdown come from server.mjs. The request/response bridge below is shared
// by the node_cluster and node_middleware adapters.
import { createServer } from "node:http";
import { PlainAnswer } from "./answer.mjs";
import { refuseMethod } from "./app.mjs";
import { listenAddress } from "./env.mjs";
import { errorResponse, JSON_TYPE, jsonError } from "./http.mjs";
import { listenUrl, startServer } from "./server.mjs";

/** Entry point of the generated node_server bundle: `startNode(registry)`. */
export function startNode(registry) {
  return startServer(registry, async (app, pending) => {
    const server = nodeServer(app, pending);
    console.log(`Listening on ${await listen(server)}`);
    return server;
  });
}

/** A node:http server answering with `app`; `pending` is the waitUntil its requests get. */
export function nodeServer(app, pending) {
  const server = createServer((req, res) => respond(app, req, res, pending.add, server));
  return server.on("connect", refuseTunnel);
}

/**
 * Listens on NITRO_PORT/PORT and NITRO_HOST/HOST; resolves to the URL once listening. Node reads
 * `listen(port, host)` as `listen({ port, host })` (net.js normalizeArgs), so the address is passed whole.
 */
export async function listen(server) {
  await new Promise((resolve, reject) => server.once("error", reject).listen(listenAddress(), resolve));
  return listenUrl(server.address());
}

// Its own function, not nodeServer's closure: stacks name it (a minifier drops a function
// expression's unused name).
async function respond(app, req, res, waitUntil, server) {
  let answer;
  try {
    const request = lazyIncoming(req);
    answer = refused(request)
      ? request
      : await app.answer(request, { waitUntil, remoteAddress: req.socket.remoteAddress });
  } catch (error) {
    // The app answers its own errors; one thrown here is unexpected (no status of its own): logged
    // and answered 500 as the app does.
    answer = errorResponse(error, { expose: false });
  }
  // Once the server stops listening, keep-alive sockets are closed after their answer.
  await writeAnswer(answer, res, !server.listening);
}

/**
 * A NodeRequest for `req` (the web Request is built only when something reads it), or the answer
 * to a request that cannot become one: 501 for CONNECT, TRACE and TRACK (`new Request` throws on
 * them), 400 for a URL the WHATWG parser refuses. Both are the client's doing, so nothing is
 * logged: a stack per request would let anyone flood the logs.
 */
export function lazyIncoming(req) {
  const refusal = refuseMethod(req.method);
  if (refusal) return refusal;
  const host = req.headers.host;
  const origin = `http://${host && /^[\w.:[\]-]+$/.test(host) ? host : "localhost"}`;
  // Appended, not resolved: `new URL("//x/api", origin)` would read "x" as a host and route "/api".
  // The app refuses (400) an appended URL the WHATWG parser cannot read.
  if (req.url.startsWith("/")) return new NodeRequest(req, origin + req.url);
  try {
    return new NodeRequest(req, new URL(req.url, origin).href);
  } catch {
    return jsonError(400, "Bad Request");
  }
}

/**
 * Whether `incoming` (from lazyIncoming, or a web Request built from it) is lazyIncoming's refusal.
 * A NodeRequest is recognised first: the common case reads no web global (see PlainAnswer).
 */
export const refused = (incoming) => !(incoming instanceof NodeRequest || incoming instanceof Request);

/**
 * What the app reads of a request (method, url, headers, body) without building a web Request:
 * undici's Request, Headers and body stream cost more than the rest of a small answer. `request`
 * is the web Request, built once, on first use (a handler reading `event.req`, headers or body).
 */
class NodeRequest {
  #req;
  #request;
  constructor(req, url) {
    this.#req = req;
    this.method = req.method;
    this.url = url;
  }
  get request() {
    return (this.#request ??= toRequest(this.#req, this.url));
  }
  get headers() {
    return this.request.headers;
  }
  get body() {
    return this.request.body;
  }
  /**
   * One header's value as `headers.get(name)` gives it (repeats joined with ", "), or null, read
   * from the raw headers: the tasks endpoint reads its token and body length this way, so a task's
   * first run does not load undici (about 15 ms at the first run after start, bench_startup.py).
   */
  header(name) {
    const raw = this.#req.rawHeaders;
    const key = name.toLowerCase();
    const values = [];
    for (let i = 0; i < raw.length; i += 2) if (raw[i].toLowerCase() === key) values.push(raw[i + 1]);
    return values.length ? values.join(", ") : null;
  }
  /**
   * The whole body from Node's request, or null past `limit` bytes (the rest is discarded);
   * undefined once a web Request holds it. No web stream: Node loads its web streams on their
   * first use, about 3 ms of CPU in the tasks endpoint's first run (bench/README.md).
   */
  bodyBytes(limit) {
    return this.#request ? undefined : readLimited(this.#req, limit);
  }
}

function readLimited(req, limit) {
  return new Promise((resolve, reject) => {
    if (req.readableEnded) return resolve(new Uint8Array()); // read by something else already
    const chunks = [];
    let size = 0;
    const take = (chunk) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      req.off("data", take).resume(); // flowing with no reader: Node discards the rest
      resolve(null);
    };
    req
      .on("data", take)
      .once("end", () => resolve(Buffer.concat(chunks)))
      .once("error", reject);
  });
}

/**
 * CONNECT never reaches the request handler: Node emits "connect" and, with no listener, drops the
 * connection. Answer it with the same 501 as TRACE (app.mjs refuseMethod's), then close.
 */
async function refuseTunnel(req, socket) {
  socket.on("error", () => {});
  const body = await refuseMethod(req.method).text();
  socket.end(
    // The body is ASCII: its length is its byte count.
    `HTTP/1.1 501 Not Implemented\r\ncontent-type: ${JSON_TYPE}\r\ncontent-length: ${body.length}\r\n` +
      `connection: close\r\n\r\n${body}`,
  );
}

/** IncomingMessage -> web Request for `url`; the body streams lazily so unread bytes are never buffered. */
function toRequest(req, url) {
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    try {
      headers.append(raw[i], raw[i + 1]);
    } catch {} // a header value fetch rejects (e.g. control characters) is dropped, not fatal
  }
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  return new Request(url, { method: req.method, headers, body: hasBody ? bodyStream(req) : null, duplex: "half" });
}

/** A pull-based ReadableStream over `req`: the socket is read only as fast as the consumer reads. */
function bodyStream(req) {
  let done = false;
  return new ReadableStream(
    {
      start(controller) {
        req
          .on("data", (chunk) => {
            if (done) return;
            controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
            if (controller.desiredSize <= 0) req.pause();
          })
          .once("end", () => !done && ((done = true), controller.close()))
          .once("error", (error) => !done && ((done = true), controller.error(error)))
          .pause();
      },
      pull() {
        req.resume();
      },
      cancel() {
        done = true;
        req.resume(); // let Node discard the rest so the response can still be sent
      },
    },
    { highWaterMark: 65_536 /* 64 KiB */, size: (chunk) => chunk.byteLength },
  );
}

/**
 * The app's answer -> ServerResponse: a plain answer (string or bytes) is written at once with its
 * content-length, a Response through writeResponse. `close`: ask the client to close the connection.
 */
export function writeAnswer(answer, res, close) {
  if (!(answer instanceof PlainAnswer)) return writeResponse(answer, res, close);
  const { body } = answer;
  const headers = nodeHeaders(answer.headers, close);
  // Buffer.byteLength counts a string's UTF-8 bytes and returns a Uint8Array's byteLength.
  if (body !== null) headers["content-length"] = Buffer.byteLength(body);
  writeHead(res, answer, headers);
  res.end(body); // null ends without a body, as undefined does; Node sends none for HEAD, 204 and 304
}

/** Web Response -> ServerResponse, honouring backpressure and client disconnects. */
async function writeResponse(response, res, close) {
  writeHead(res, response, nodeHeaders(response.headers, close));
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


/**
 * Node's headers for a Headers, or a plain answer's own object (fresh per request, its keys the
 * runtime's own, such as content-type). A Headers is recognised by its getSetCookie: `instanceof
 * Headers` would load undici (see PlainAnswer).
 */
function nodeHeaders(from, close) {
  let headers = from;
  if (from.getSetCookie) {
    headers = {};
    // A Headers yields each set-cookie apart (https://fetch.spec.whatwg.org/#concept-header-list-sort-and-combine):
    // the last one written here is replaced by the whole list.
    for (const [key, value] of from) headers[key] = value;
    const cookies = from.getSetCookie();
    if (cookies.length) headers["set-cookie"] = cookies;
  }
  if (close) headers.connection = "close";
  return headers;
}

function writeHead(res, { status, statusText }, headers) {
  if (statusText) res.writeHead(status, statusText, headers);
  else res.writeHead(status, headers);
}
