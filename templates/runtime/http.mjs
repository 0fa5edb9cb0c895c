// The runtime's one home for HTTP answers and bearer-token checks: JSON responses, the
// `{ statusCode, message }` error shape, and the only secret comparison. Web-standard APIs only,
// so every preset (Node, Bun, Deno, workerd, Vercel) imports the same functions.

export const JSON_TYPE = "application/json; charset=utf-8";
const utf8 = new TextEncoder();

/** A JSON Response. */
export function json(value, status = 200, headers) {
  return new Response(JSON.stringify(value), { status, headers: { "content-type": JSON_TYPE, ...headers } });
}

/** The shape of every error answer: JSON `{ statusCode, message }`. */
export function jsonError(status, message, headers) {
  return json({ statusCode: status, message }, status, headers);
}

/** JSON `{statusCode, message}`. Errors without a status are logged, and their message shown only when `expose`. */
export function errorResponse(error, { expose }) {
  const code = error?.statusCode ?? error?.status;
  const deliberate = Number.isInteger(code) && code >= 400 && code <= 599;
  const status = deliberate ? code : 500;
  if (!deliberate) console.error("[nitro]", error);
  const message = deliberate || expose ? String(error?.message || defaultMessage(status)) : defaultMessage(500);
  return jsonError(status, message);
}

const defaultMessage = (status) => ({ 404: "Not Found", 500: "Internal Server Error" })[status] ?? "Error";

export function methodNotAllowed(allow) {
  return jsonError(405, "Method Not Allowed", { allow });
}

/** A 405 for a method other than GET and HEAD, else null: the dashboard's rule and the task listing's. */
export const refuseWrites = (request) => (["GET", "HEAD"].includes(request.method) ? null : methodNotAllowed("GET, HEAD"));

/** The token of an `Authorization: Bearer TOKEN` header, trimmed; undefined without one. */
export function bearerToken(request) {
  return /^Bearer\s+(.+)$/i.exec(headerOf(request, "authorization") ?? "")?.[1].trim();
}

/**
 * `request.headers.get(name)`, through node.mjs's NodeRequest.header when there is one: on Node,
 * reading `headers` builds a web Request and the first one loads undici.
 */
export function headerOf(request, name) {
  return request.header ? request.header(name) : request.headers.get(name);
}

/** Whether `request` carries `Authorization: Bearer <secret>` (compared in constant time). */
export function hasBearer(request, secret) {
  const given = bearerToken(request);
  return given !== undefined && sameSecret(given, secret);
}

/**
 * Constant-time equality of two strings: every byte of `expected` is visited whatever `given`
 * holds, so the time taken never depends on where the two differ. Synchronous and boolean on
 * purpose: it is the runtime's only secret comparison, so no caller can test a Promise (always
 * truthy, an always-passing check) by importing another one.
 */
export function sameSecret(given, expected) {
  if (typeof given !== "string" || typeof expected !== "string") {
    throw new TypeError("sameSecret compares two strings");
  }
  const a = utf8.encode(given);
  const b = utf8.encode(expected);
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a.length > 0 ? a[i % a.length] : 0) ^ b[i];
  return diff === 0;
}
