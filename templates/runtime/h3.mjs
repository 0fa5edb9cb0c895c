// What user code imports as "h3" or "nitro/h3": h3 v2 itself (#nitro-h3 is the installed h3 2.x
// package, compiler/libs.py). h3 v2 keeps most v1 names (defineEventHandler, eventHandler, getQuery,
// readBody, getRouterParam, setResponseStatus, createError, getHeader, setHeader, sendRedirect, ...);
// its utilities read `event.req`, `event.url`, `event.context.params` and `event.res`, which our
// route events carry (app.mjs createEvent). The v1 names h3 v2 dropped are adapted below.
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
