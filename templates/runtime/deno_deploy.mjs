// Deno Deploy adapter for the deno_deploy preset: HTTP through Deno.serve (deno.mjs; Deno Deploy
// routes requests to it whatever port it names), and one handler per Deno.cron job. The entry
// registers those jobs at its top level, the only place Deno Deploy finds them
// (https://docs.deno.com/runtime/fundamentals/cron/). No in-process scheduler, no task CLI.
import { createApp } from "./app.mjs";
import { listenDeno } from "./deno.mjs";
import { ready } from "./hooks.mjs";
import { runFiring } from "./scheduler.mjs";
import { logUnhandledRejections } from "./server.mjs";
import { runTask } from "./task.mjs";
import { tracker } from "./waituntil.mjs";

const MINUTE_MS = 60_000;

/** Entry point of the generated deno_deploy bundle: `startDenoDeploy(registry)`. */
export async function startDenoDeploy(registry) {
  const app = createApp(registry);
  logUnhandledRejections();
  try {
    await ready(); // plugins, once, before listening
  } catch (error) {
    console.error(`[nitro] could not start the server: ${error?.message ?? error}`);
    throw error;
  }
  return listenDeno(app, tracker());
}

/**
 * The handler of one Deno.cron job: runs its tasks with `payload.scheduledTime`. Deno calls the
 * handler with no arguments at the job's minute (Deno.cron has no seconds field), so the firing
 * instant is the start of the current UTC minute. A failed task is logged (runFiring) and not
 * rethrown: a rethrow would make Deno retry the whole job, re-running the tasks that succeeded.
 */
export function denoCronHandler(taskNames) {
  return async () => {
    const scheduledTime = Math.floor(Date.now() / MINUTE_MS) * MINUTE_MS;
    await ready();
    await runFiring(taskNames, scheduledTime, { runTask });
  };
}
