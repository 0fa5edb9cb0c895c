// Vercel adapter: the server function's default export is `{ fetch(request, context) }`, the
// web-standard shape Vercel's Node.js runtime calls (the `launcherType: "Nodejs"` launcher checks the
// default export for `fetch` or GET/POST/... exports before falling back to a `(req, res)` function;
// https://vercel.com/docs/functions/runtimes/node-js, https://github.com/vercel/vercel/pull/12873).
// Besides the app's routes it serves the cron handler: one path per schedule under
// `vercel.cronHandlerRoute`, which Vercel Cron Jobs call with GET (https://vercel.com/docs/cron-jobs).
// It runs on Vercel's Node runtime only, so it may use node: APIs.
import { createApp } from "./app.mjs";
import { readEnv } from "./env.mjs";
import { hasBearer, json, jsonError } from "./http.mjs";
import { runTask } from "./task.mjs";

// Where Vercel's runtime keeps the per-request context (`waitUntil`) that @vercel/functions reads.
const REQUEST_CONTEXT = Symbol.for("@vercel/request-context");
const SECURING_DOCS = "https://vercel.com/docs/cron-jobs/manage-cron-jobs#securing-cron-jobs";

/**
 * Builds the function's default export. `cron`: `{ route, allowUnauthenticated, jobs: [{ path,
 * schedule, cron, tasks }] }` where `schedule` is the Vercel expression and `cron` the config key.
 */
export function createVercelHandler(registry, cron) {
  const app = createApp(registry);
  const jobs = cron.jobs ?? [];
  const owns = (pathname) => jobs.length > 0 && (pathname === cron.route || pathname.startsWith(`${cron.route}/`));
  return {
    async fetch(request, context) {
      const waitUntil = waitUntilOf(context);
      if (owns(new URL(request.url).pathname)) return serveCron(cron, jobs, request, waitUntil);
      return app.fetch(request, { waitUntil, remoteAddress: clientAddress(request) });
    },
  };
}

/** `context.waitUntil` as the launcher passes it, else the runtime's request context, else none. */
function waitUntilOf(context) {
  const owner = typeof context?.waitUntil === "function" ? context : globalThis[REQUEST_CONTEXT]?.get?.();
  return typeof owner?.waitUntil === "function" ? (promise) => owner.waitUntil(promise) : undefined;
}

// https://vercel.com/docs/headers/request-headers#x-forwarded-for
const clientAddress = (request) => request.headers.get("x-forwarded-for")?.split(",")[0]?.trim() || undefined;

// ---------------------------------------------------------------- cron handler

async function serveCron(cron, jobs, request, waitUntil) {
  try {
    const refused = checkCronSecret(request, cron.allowUnauthenticated);
    if (refused) return refused;
    if (request.method !== "GET") return jsonError(405, "The cron handler only answers GET", { allow: "GET" });
    const found = findJobs(cron.route, jobs, new URL(request.url).pathname, request.headers.get("x-vercel-cron-schedule"));
    return found.error ?? (await runJobs(found.jobs, waitUntil));
  } catch (error) {
    console.error("[nitro] cron handler failed:", error);
    return jsonError(500, "Internal Server Error");
  }
}

/** null when the request may run schedules; otherwise the refusal (fail closed without a secret). */
function checkCronSecret(request, allowUnauthenticated) {
  const secret = readEnv("CRON_SECRET");
  if (!secret?.trim()) {
    if (allowUnauthenticated) return null;
    return jsonError(
      500,
      "CRON_SECRET is not set: add a CRON_SECRET environment variable (a random string of at least 16 " +
        `characters) to the Vercel project so that only Vercel Cron Jobs can run scheduled tasks (${SECURING_DOCS})`,
    );
  }
  // Vercel sends `Authorization: Bearer $CRON_SECRET` with every cron invocation.
  if (hasBearer(request, secret)) return null;
  return jsonError(401, "Missing or wrong bearer token for the cron handler", { "www-authenticate": 'Bearer realm="vercel-cron"' });
}

/**
 * `{ jobs }` or `{ error }`. The path names the schedule; `x-vercel-cron-schedule` (sent by Vercel) must
 * agree with it when present, and alone selects schedules on the bare handler route.
 */
function findJobs(route, jobs, pathname, header) {
  const schedule = header ? header.trim().split(/\s+/).join(" ") : null;
  if (pathname === route) {
    const matching = schedule ? jobs.filter((job) => job.schedule === schedule) : [];
    if (matching.length > 0) return { jobs: matching };
    return { error: jsonError(404, schedule ? `No scheduled tasks for cron schedule "${schedule}"` : `Unknown cron schedule path ${pathname}`) };
  }
  const job = jobs.find((candidate) => candidate.path === pathname);
  if (!job) return { error: jsonError(404, `Unknown cron schedule path ${pathname}`) };
  if (schedule && schedule !== job.schedule) {
    const message = `x-vercel-cron-schedule "${schedule}" does not match the schedule of ${pathname} ("${job.schedule}")`;
    return { error: jsonError(400, message) };
  }
  return { jobs: [job] };
}

/** Runs every task of the schedules in parallel; 200 when all succeeded, else 500 naming the failures. */
async function runJobs(jobs, waitUntil) {
  const scheduledTime = Date.now();
  const names = [...new Set(jobs.flatMap((job) => job.tasks))];
  const context = waitUntil ? { waitUntil } : {};
  const trigger = (name) => ({ type: "schedule", cron: jobs.find((job) => job.tasks.includes(name)).cron });
  const runs = names.map((name) => runTask(name, { payload: { scheduledTime }, context, trigger: trigger(name) }));
  const settled = await Promise.allSettled(runs);
  const tasks = Object.fromEntries(settled.map((outcome, i) => [names[i], describeOutcome(names[i], outcome)]));
  const failed = names.filter((name) => tasks[name].status === "error");
  const body = { schedule: jobs[0].schedule, crons: jobs.map((job) => job.cron), scheduledTime, tasks };
  if (failed.length === 0) return json(body);
  const message = `Scheduled task${failed.length > 1 ? "s" : ""} failed: ${failed.join(", ")}`;
  return json({ statusCode: 500, message, ...body }, 500);
}

function describeOutcome(name, outcome) {
  if (outcome.status === "fulfilled") return { status: "success", result: jsonSafe(outcome.value?.result) };
  console.error(`[nitro] scheduled task "${name}" failed:`, outcome.reason);
  return { status: "error", message: String(outcome.reason?.message || outcome.reason) };
}

/** A task result as JSON data; one JSON cannot encode (BigInt, cycles) is reported as text. */
function jsonSafe(value) {
  try {
    return value === undefined ? null : JSON.parse(JSON.stringify(value));
  } catch {
    return String(value);
  }
}
