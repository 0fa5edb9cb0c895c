// Netlify adapter (Functions v2, https://docs.netlify.com/build/functions/api/): the server function
// answers every request with `(request, context) => Response`; each scheduled function calls
// `scheduled(request, context, tasks, cron)`. Netlify invokes a scheduled function with a POST whose
// JSON body is `{ next_run }` (the following invocation), in UTC, for at most 30 s
// (https://docs.netlify.com/build/functions/scheduled-functions/). Runs on Netlify's Node runtime.
import { createApp } from "./app.mjs";
import { json } from "./http.mjs";
import { runFiring } from "./scheduler.mjs";
import { runTask } from "./task.mjs";

const MINUTE_MS = 60_000;

/** `{ handler, scheduled }` for the bundle's exports (server.mjs and the cron functions import them). */
export function createNetlifyHandler(registry) {
  const app = createApp(registry);
  return {
    handler: (request, context) => app.fetch(request, { waitUntil: waitUntilOf(context), remoteAddress: context?.ip }),
    scheduled: (request, context, tasks, cron) => runScheduled(request, context, tasks, cron),
  };
}

const waitUntilOf = (context) => (typeof context?.waitUntil === "function" ? (p) => context.waitUntil(p) : undefined);

/**
 * Runs one schedule's tasks. Netlify sends the next run, not this one, so `payload.scheduledTime`
 * is the start of the UTC minute the invocation arrived in (a cron fires on whole minutes).
 * 200 with each task's status, or 500 naming the failed tasks.
 */
async function runScheduled(request, context, tasks, cron) {
  const body = await request.json().catch(() => ({}));
  const scheduledTime = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS;
  const waitUntil = waitUntilOf(context);
  const results = await runFiring(tasks, scheduledTime, { runTask, context: waitUntil ? { waitUntil } : {} });
  const failed = results.filter((r) => r.status === "error").map((r) => r.name);
  const report = {
    cron,
    scheduledTime,
    nextRun: body?.next_run ?? null,
    tasks: Object.fromEntries(results.map((r) => [r.name, r.error ? { status: r.status, message: String(r.error?.message ?? r.error) } : { status: r.status }])),
  };
  if (failed.length === 0) return json(report);
  return json({ statusCode: 500, message: `Scheduled task${failed.length > 1 ? "s" : ""} failed: ${failed.join(", ")}`, ...report }, 500);
}
