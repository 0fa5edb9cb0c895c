// What a route handler sees and gives: the h3-style event around a request, and its result as
// an answer. Shared by app.mjs (every preset) and read by the Node adapter (node.mjs), which
// writes a plain answer without building a Response.

/**
 * Nitro v3 / h3 v2 style event (h3 2's utilities read `req`, `url`, `context.params`, `res`), plus
 * h3 1's `headers`, which Nitro 2 handlers read. `res` lets a handler set the status and headers
 * of a returned value.
 */
export function createEvent(request, url, params, ctx) {
  return {
    // Getters: a lazy request (Node adapters) becomes a web Request only if the handler reads it.
    get req() {
      return request instanceof Request ? request : request.request;
    },
    url,
    method: request.method,
    path: url.pathname + url.search,
    get headers() {
      return request.headers;
    },
    params,
    context: { ...ctx, params },
    waitUntil: (promise) => ctx.waitUntil?.(promise),
    res: new EventResponse(),
  };
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
 * A handler's result as a Response, or as a plain answer `{ status, statusText, headers, body }`
 * for null/undefined (204), a string (text), bytes and anything else (JSON): webResponse turns it
 * into a Response, the Node adapter writes it as is. Streams and Blobs become Responses.
 */
export function toAnswer(value, res = {}) {
  if (value instanceof Response) return value;
  // h3 v2's HTTPResponse (redirect(), noContent(), html(), v1's sendRedirect): its own status and headers.
  if (value?.[Symbol.for("h3.HTTPResponse")]) {
    const headers = new Headers(res.headersIfSet);
    for (const [key, item] of value.headers) headers.set(key, item);
    return new Response(value.body ?? null, { status: value.status ?? 200, statusText: value.statusText, headers });
  }
  const init = (status, body, type) => {
    const set = res.headersIfSet;
    const plain = type ? { "content-type": type } : {};
    if (set === undefined) return { status: res.status ?? status, statusText: res.statusText, headers: plain, body };
    // The handler is done with `res`: its headers are the answer's (no copy per request).
    const headers = set instanceof Headers ? set : new Headers(set);
    if (type && !headers.has("content-type")) headers.set("content-type", type);
    return { status: res.status ?? status, statusText: res.statusText, headers, body };
  };
  if (value === null || value === undefined) return init(204, null);
  if (typeof value === "string") return init(200, value, "text/plain; charset=utf-8");
  if (value instanceof ReadableStream || value instanceof Blob) return new Response(value, init(200, value));
  if (value instanceof ArrayBuffer) return init(200, new Uint8Array(value));
  if (ArrayBuffer.isView(value)) return init(200, new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  return init(200, JSON.stringify(value), "application/json; charset=utf-8");
}

/** A Response for what `answer` gave. */
export function webResponse(answer) {
  return answer instanceof Response ? answer : new Response(answer.body, answer);
}

