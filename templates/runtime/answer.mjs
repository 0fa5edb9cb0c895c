// What a route handler sees and gives: the h3-style event around a request, and its result as
// an answer. Shared by app.mjs (every preset) and read by the Node adapter (node.mjs), which
// writes a plain answer without building a Response.
import { JSON_TYPE } from "./http.mjs";

/**
 * Nitro v3 / h3 v2 style event (h3 2's utilities read `req`, `url`, `context.params`, `res`), plus
 * h3 1's `headers`, which Nitro 2 handlers read. `res` lets a handler set the status and headers
 * of a returned value.
 */
export function createEvent(request, url, params, ctx) {
  return new RouteEvent(request, url, params, ctx);
}

/**
 * A class, not an object literal with getters: V8 gives every such literal its own hidden class,
 * which made each request's event survive into the old generation (long scavenges, p99 latency).
 */
class RouteEvent {
  #request;
  constructor(request, url, params, ctx) {
    this.#request = request;
    this.url = url;
    this.method = request.method;
    this.path = url.pathname + url.search;
    this.params = params;
    this.context = { ...ctx, params };
    this.waitUntil = (promise) => ctx.waitUntil?.(promise);
    this.res = new EventResponse();
  }
  // Getters: a lazy request (Node adapters) becomes a web Request only if the handler reads it.
  get req() {
    const request = this.#request;
    return request instanceof Request ? request : request.request;
  }
  get headers() {
    return this.#request.headers;
  }
}

/** `event.res`: the status and headers a handler sets for the value it returns. */
class EventResponse {
  status = undefined;
  statusText = undefined;
  #headers = undefined;
  get headers() {
    return (this.#headers ??= new Headers());
  }
  set headers(value) {
    this.#headers = value;
  }
  /** The headers if the handler touched them, else undefined (no Headers built per request). */
  get headersIfSet() {
    return this.#headers;
  }
}

/**
 * A handler's result that needs no Response: `{ status, statusText, headers, body }`, with
 * `headers` a plain object or a Headers, `body` a string, bytes or null. A class, so the Node
 * adapter tells it from a Response without reading the global `Response`: Node loads undici
 * (about 12 MiB and 20 ms) the first time `Response`, `Request` or `Headers` is read.
 */
export class PlainAnswer {
  constructor(status, statusText, headers, body) {
    this.status = status;
    this.statusText = statusText;
    this.headers = headers;
    this.body = body;
  }
}

/**
 * A handler's result as a Response, or as a PlainAnswer for null/undefined (204), a string
 * (text), bytes and anything else (JSON): webResponse turns it into a Response, the Node adapter
 * writes it as is. Streams and Blobs become Responses.
 */
export function toAnswer(value, res = {}) {
  if (value === null || value === undefined) return plain(res, 204, null);
  if (typeof value === "string") return plain(res, 200, value, "text/plain; charset=utf-8");
  // A plain object or array is JSON, whatever it holds: checked before the instanceof tests below
  // so that answering JSON reads none of the web globals.
  if (isPlainData(value)) return jsonAnswer(res, value);
  if (value instanceof Response) return value;
  // h3 v2's HTTPResponse (redirect(), noContent(), html(), v1's sendRedirect): its own status and headers.
  if (value[Symbol.for("h3.HTTPResponse")]) {
    const headers = new Headers(res.headersIfSet);
    for (const [key, item] of value.headers) headers.set(key, item);
    return new Response(value.body ?? null, { status: value.status ?? 200, statusText: value.statusText, headers });
  }
  if (value instanceof ReadableStream || value instanceof Blob) return new Response(value, plain(res, 200, value));
  if (value instanceof ArrayBuffer) return plain(res, 200, new Uint8Array(value));
  if (ArrayBuffer.isView(value)) return plain(res, 200, new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  return jsonAnswer(res, value);
}

const jsonAnswer = (res, value) => plain(res, 200, JSON.stringify(value), JSON_TYPE);

/** An object literal, `Object.create(null)` or an array (none of them a Response, stream or bytes). */
function isPlainData(value) {
  if (typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null || Array.isArray(value);
}

/** The answer for `body`, with the status and headers the handler set on `event.res`. */
function plain(res, status, body, type) {
  const set = res.headersIfSet;
  let headers = type ? { "content-type": type } : {};
  if (set !== undefined) {
    // The handler is done with `res`: its headers are the answer's (no copy per request).
    headers = set instanceof Headers ? set : new Headers(set);
    if (type && !headers.has("content-type")) headers.set("content-type", type);
  }
  return new PlainAnswer(res.status ?? status, res.statusText, headers, body);
}

/** A Response for what `answer` gave. */
export function webResponse(answer) {
  return answer instanceof PlainAnswer ? new Response(answer.body, answer) : answer;
}

