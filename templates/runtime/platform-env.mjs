// Where the runtime reads environment variables: the Worker's `env` bindings on Cloudflare (set by
// the adapter at each request or firing, as Nitro's Cloudflare handlers set `globalThis.__env__`),
// else `process.env` (Node, Bun, Vercel, Deno's node compatibility) or `Deno.env`.
// No imports: every preset's adapter uses it.

/** The Worker's bindings; unstorage's cloudflare-kv-binding driver also reads `globalThis.__env__`. */
export function setPlatformEnv(env) {
  if (env && typeof env === "object") globalThis.__env__ = env;
}

/** One variable as a string, or undefined. Bindings that are not text (KV namespaces) are skipped. */
export function readEnv(key) {
  const bound = globalThis.__env__?.[key];
  if (typeof bound === "string") return bound;
  try {
    return globalThis.process?.env?.[key] ?? globalThis.Deno?.env?.get(key);
  } catch {
    return undefined; // Deno without --allow-env for this name: treat as unset.
  }
}
