// The runtime's one home for environment variables and the server address defaults.

// Nitro's default port (https://nitro.build/deploy/runtimes/node#environment-variables).
export const DEFAULT_PORT = 3000;

/**
 * An environment variable: from `env` (a Worker's bindings; those that are not text, such as KV
 * namespaces, are skipped) first, else process.env (Node, Bun, Vercel, Deno), else Deno.env;
 * undefined when unset or unreadable (Deno without --allow-env for it).
 */
export function readEnv(key, env) {
  const bound = env?.[key];
  if (typeof bound === "string") return bound;
  try {
    return globalThis.process?.env?.[key] ?? globalThis.Deno?.env?.get(key);
  } catch {} // undefined
}

/** How long a shutdown waits for running tasks: NITRO_SHUTDOWN_TIMEOUT ms, as in Nitro (default 10 s). */
export function shutdownTimeoutMs() {
  return Number(readEnv("NITRO_SHUTDOWN_TIMEOUT")) || 10_000;
}

/** `{ port, host }` to listen on: NITRO_PORT or PORT (else 3000), NITRO_HOST or HOST (else all). */
export function listenAddress() {
  return {
    port: Number(readEnv("NITRO_PORT") || readEnv("PORT") || DEFAULT_PORT),
    host: readEnv("NITRO_HOST") || readEnv("HOST") || undefined,
  };
}
