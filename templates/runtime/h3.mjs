// What user code imports as "nitro/h3" or "h3" (esbuild aliases, compiler/provided.py): the h3
// names our runtime implements on its own event `{ req, url, params, context, res }`.
export { HTTPError } from "./task.mjs";
export { defineHandler } from "./nitro.mjs";
import { defineHandler } from "./nitro.mjs";
import { queryObject } from "./app.mjs";

/** h3 v1 names for defineHandler (Nitro 2 projects). */
export const defineEventHandler = defineHandler;
export const eventHandler = defineHandler;

/** The request's query string as an object; a repeated key gives an array (as h3's getQuery). */
export function getQuery(event) {
  return queryObject(event.url.searchParams);
}
