// Cloudflare adapter (workerd): the module Worker's `fetch` and `scheduled` handlers, and the
// Pages deployment's cron endpoint. Web-standard APIs only: no node: imports, no `process`.
import { createApp } from "./app.mjs";
import { readEnv } from "./env.mjs";
import { hasBearer, json, jsonError, methodNotAllowed } from "./http.mjs";
import { runFiring } from "./scheduler.mjs";
import { runTask } from "./task.mjs";

/**
 * The default export of a cloudflare_module Worker. `cronTriggers` maps each cron string written
 * to wrangler.toml (Cloudflare's dialect, exactly as `controller.cron` reports it) to its tasks.
 */
export function createModuleWorker(registry, cronTriggers) {
  const app = createApp(registry);
  return {
    fetch(request, env, ctx) {
      globalThis.__env__ = env; // useRuntimeConfig and unstorage's cloudflare-kv-binding read it
      return app.fetch(request, requestContext(env, ctx));
    },
    // https://developers.cloudflare.com/workers/runtime-apis/handlers/scheduled/
    scheduled(controller, env, ctx) {
      globalThis.__env__ = env; // useRuntimeConfig and unstorage's cloudflare-kv-binding read it
      ctx.waitUntil(runCron(cronTriggers, controller.cron, controller.scheduledTime, env, ctx));
    },
  };
}

/**
 * The default export of a cloudflare_pages `_worker.js`. Pages has no Cron Triggers, so a companion
 * Worker POSTs `{ cron, scheduledTime }` to `cronPath` with `Authorization: Bearer NITRO_CRON_SECRET`.
 */
export function createPagesWorker(registry, cronTriggers, cronPath) {
  const app = createApp(registry);
  return {
    async fetch(request, env, ctx) {
      globalThis.__env__ = env; // useRuntimeConfig and unstorage's cloudflare-kv-binding read it
      if (new URL(request.url).pathname === cronPath) {
        const answer = await serveCron(request, env, ctx, cronTriggers);
        // null: no secret is configured, so the endpoint does not exist (fail closed).
        if (answer) return answer;
      }
      return app.fetch(request, requestContext(env, ctx));
    },
  };
}

function requestContext(env, ctx) {
  return { waitUntil: ctx.waitUntil.bind(ctx), env };
}

/**
 * Runs the tasks of one firing; resolves (never rejects) to their results. A cron string this
 * build does not know (a trigger left over from an older deployment, or one the user added) is logged.
 */
export async function runCron(cronTriggers, cron, scheduledTime, env, ctx) {
  const tasks = Object.hasOwn(cronTriggers, cron) ? cronTriggers[cron] : null;
  if (!tasks) {
    console.warn(`[nitro] cron trigger "${cron}" has no scheduled tasks in this build; nothing to run`);
    return null;
  }
  const context = { cloudflare: { env, ctx }, waitUntil: ctx.waitUntil.bind(ctx) };
  return runFiring(tasks, scheduledTime, { runTask, context, cron });
}

// ---------------------------------------------------------------- Pages cron endpoint

// Said once per isolate: the endpoint is public, and a line per request would let anyone flood the logs.
let saidNoSecret = false;

async function serveCron(request, env, ctx, cronTriggers) {
  const secret = readEnv("NITRO_CRON_SECRET", env);
  if (!secret) {
    if (!saidNoSecret) {
      console.error("[nitro] cron request refused: the NITRO_CRON_SECRET secret is not set on this Pages project");
      saidNoSecret = true;
    }
    return null;
  }
  if (request.method !== "POST") return methodNotAllowed("POST");
  if (!hasBearer(request, secret)) return jsonError(401, "Missing or wrong bearer token");
  const body = await request.json().catch(() => null);
  if (typeof body?.cron !== "string") {
    return jsonError(400, 'Body must be JSON {"cron": string, "scheduledTime": number}');
  }
  const scheduledTime = Number.isFinite(body.scheduledTime) ? body.scheduledTime : Date.now();
  const results = await runCron(cronTriggers, body.cron, scheduledTime, env, ctx);
  // `unknownCron` tells the companion Worker this is version skew, to be logged, not a failure.
  if (!results) return json({ statusCode: 404, message: `No tasks are scheduled for cron "${body.cron}"`, unknownCron: true }, 404);
  const report = results.map(({ name, status, error }) => ({ name, status, ...(error ? { error: String(error?.message ?? error) } : {}) }));
  return json({ cron: body.cron, scheduledTime, results: report });
}
