// What user code imports as "h3" or "nitro/h3": h3 v2 itself (#nitro-h3 is the installed h3 2.x
// package, compiler/libs.py). h3 v2 keeps most v1 names (defineEventHandler, eventHandler, getQuery,
// readBody, getRouterParam, setResponseStatus, createError, getHeader, setHeader, sendRedirect, ...);
// its utilities read `event.req`, `event.url`, `event.context.params` and `event.res`, which our
// route events carry (app.mjs createEvent). The v1 names h3 v2 dropped are adapted below.
import { createEvent, toAnswer, webResponse } from "./answer.mjs";
import { errorResponse } from "./http.mjs";
import { HTTPError } from "./task.mjs";

export * from "#nitro-h3";

/** v1 `send(event, data, type?)`: sets the content type and answers `data`. */
export function send(event, data, type) {
  if (type && !event.res.headers.has("content-type")) event.res.headers.set("content-type", type);
  return data ?? null;
}

/** v1 `sendError(event, error)`: v2 answers an error by throwing it. */
export function sendError(_event, error) {
  throw error;
}

/** v1 `toWebRequest(event)`: v2 events carry the web Request as `event.req`. */
export const toWebRequest = (event) => event.req;

/** v1 `defineRequestMiddleware` / `defineResponseMiddleware`: typing helpers returning their argument. */
export const defineRequestMiddleware = (fn) => fn;
export const defineResponseMiddleware = (fn) => fn;

/**
 * h3's `defineHandler` (and its aliases `defineEventHandler`, `eventHandler`), without h3: h3's
 * modules read the web globals as they load (`class extends Headers`, `globalThis.Response`),
 * which makes Node load undici (about 12 MiB and 20 ms), so a route that only defines a handler
 * and returns data would pay that on its first request. Same results as h3 2's: the handler with
 * a `fetch(request)`, or for the object form `{ handler, middleware, fetch, ...meta }` the
 * composed handler carrying the object's properties.
 */
export function defineHandler(input) {
  if (typeof input === "function") return withFetch(input);
  const handler = input.handler ?? (input.fetch ? (event) => input.fetch(event.req) : notFound);
  const composed = input.middleware?.length && composeMiddleware(input.middleware, handler);
  const eventHandler = withFetch(composed || handler);
  return Object.assign(eventHandler, input, composed && { fetch: eventHandler.fetch });
}
export const defineEventHandler = defineHandler;
export const eventHandler = defineHandler;

const notFound = () => {
  throw new HTTPError(404, "Not Found");
};

function withFetch(handler) {
  if (!("fetch" in handler)) handler.fetch = (request) => fetchAnswer(handler, request);
  return handler;
}

/** `handler.fetch(request)`: the handler's answer to a Request, URL or URL string, as a Response. */
async function fetchAnswer(handler, input) {
  const request = input instanceof Request ? input : new Request(new URL(input, "http://_"));
  const event = createEvent(request, new URL(request.url), {}, {});
  try {
    return webResponse(toAnswer(await handler(event), event.res));
  } catch (error) {
    return errorResponse(error, { expose: false });
  }
}

/** h3's middleware chain: each `(event, next)`; one that returns nothing passes on to `next()`. */
function composeMiddleware(middleware, handler) {
  return middleware.reduceRight((inner, fn) => (event) => callLayer(fn, event, () => inner(event)), handler);
}

function callLayer(fn, event, inner) {
  let called = false;
  let result;
  const next = () => (called ? result : ((called = true), (result = inner())));
  const value = fn(event, next);
  if (typeof value?.then === "function") return value.then((resolved) => (resolved === undefined ? next() : resolved));
  return value === undefined ? next() : value;
}
