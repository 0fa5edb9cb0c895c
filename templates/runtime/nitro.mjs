// What user code imports as "nitro" (esbuild alias): handler and error helpers plus the task API.
export { HTTPError, defineTask, runTask } from "./task.mjs";

const HANDLER = Symbol.for("nitro.handler");

/** Marks `fn(event)` as a route handler and returns it; a plain function works as well. */
export function defineHandler(fn) {
  // h3's object form `defineHandler({ handler })` is accepted too.
  const handler = typeof fn === "function" ? fn : fn?.handler;
  if (typeof handler !== "function") throw new TypeError("defineHandler expects a function");
  handler[HANDLER] = true;
  return handler;
}

/** Nitro 3's `definePlugin` (Nitro 2: defineNitroPlugin): returns the plugin unchanged, for typing. */
export const definePlugin = (plugin) => plugin;
