// Runs the compiled schedules on timers. Firing times come from cron.mjs (never by adding
// intervals), so there is no drift; `claim` lets a cluster primary or a lock pick one runner.
import { nextFiring } from "./cron.mjs";

// setTimeout's delay is a signed 32-bit int; longer waits are chunked.
const MAX_DELAY = 2 ** 31 - 1;
// Timers run on the monotonic clock, firing times on the wall clock: when the wall clock steps
// (an NTP step, a VM or laptop resumed from suspend) a pending timer no longer ends at its firing
// time. Every CLOCK_CHECK_MS the pending waits are measured again against the wall clock, so a
// firing is at most this late after a forward step (croner re-checks every 30 s for the same reason).
const CLOCK_CHECK_MS = 30_000;
// Arming is a cron search per schedule (cron.mjs): for 100 schedules about 2.5 ms of Bun's cold
// interpreter and JIT, on top of the process's first local-time lookup (Bun: 5 ms, ICU's zone).
// It runs in slices of about ARM_SLICE_MS, the first at once and the others ARM_GAP_MS apart, so
// a request that comes right after listening is answered between slices instead of after all of
// them (back to back, slices still ran between the awaits of that first request: issue 18).
// Every first firing is computed from the instant the scheduler started, so a schedule armed a
// few ms later fires at the same instant, or at once if that has passed.
const ARM_SLICE_MS = 1;
const ARM_GAP_MS = 4;

/**
 * Starts one timer per schedule (in slices: ARM_SLICE_MS). Returns `{ stop(), idle() }`: stop clears the timers,
 * idle resolves once the task runs started by this scheduler have settled. `claim` has no default
 * here: runFiring's applies.
 */
export function startScheduler(scheduledTasks, { runTask, claim, log = console, now = Date.now } = {}) {
  const timers = new Map(); // pending timer -> its wait started again (clockCheck)
  const inFlight = new Set();
  // Task name -> the firing (ms) it last ran for: a task in several schedules that fire at the same
  // instant runs once for it, as the Redis claim (keyed by firing and task) and Cloudflare's shared
  // trigger do. Without this it ran twice when its first run ended before the second timer's
  // callback, and was skipped as "still running" (overlap) when it did not.
  const lastFiring = new Map();
  // Run promises this scheduler already waits for. A firing whose runTask joins one of them (overlap
  // "allow", a run longer than the interval: runTask returns the run in progress) does not wait
  // again, so a run that never ends costs one waiter, not one per firing (it leaked ~1.5 KiB each).
  const watched = new Set();
  let stopped = false;

  function wait(at, fire) {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (stopped) return;
      // A timer may wake early (clock steps, chunked waits): wait again for the rest.
      if (now() < at) wait(at, fire);
      else fire();
    }, Math.min(Math.max(at - now(), 0), MAX_DELAY));
    timers.set(timer, () => wait(at, fire));
  }

  // See CLOCK_CHECK_MS. Unref'd: the waits themselves keep the process alive, not this check.
  const clockCheck = setInterval(() => {
    for (const [timer, waitAgain] of [...timers]) {
      clearTimeout(timer);
      timers.delete(timer);
      waitAgain();
    }
  }, CLOCK_CHECK_MS);
  // Node's and Bun's timers are objects whose unref() returns the timer; Deno's are numbers.
  clockCheck.unref?.() ?? globalThis.Deno?.unrefTimer?.(clockCheck);

  function arm(schedule, afterMs) {
    let at;
    try {
      at = nextFiring(schedule.spec, afterMs);
    } catch (error) {
      log.error(`[nitro] schedule "${schedule.cron}" cannot be computed: ${error?.message ?? error}`);
      return;
    }
    if (at == null) return; // the schedule never fires again
    // A firing not after `afterMs` would re-fire at once, forever: refuse it loudly.
    if (!(at > afterMs)) return log.error(`[nitro] schedule "${schedule.cron}" gave a firing time not after ${afterMs}`);
    wait(at, () => fire(schedule, at));
    return at;
  }

  function fire(schedule, at) {
    // Next firing after this one, or after now when the process was stalled: missed firings are skipped, not replayed.
    const nextMs = arm(schedule, Math.max(at, now()));
    const tasks = schedule.tasks.filter((name) => lastFiring.get(name) !== at);
    if (!tasks.length) return;
    for (const name of tasks) lastFiring.set(name, at);
    const run = runFiring(tasks, at, { runTask, claim, log, watched, cron: schedule.cron, nextMs });
    inFlight.add(run);
    run.finally(() => inFlight.delete(run));
  }

  // See ARM_SLICE_MS. performance.now(): a monotonic clock on every runtime, never the injected `now`.
  const from = now();
  const queue = [...(scheduledTasks ?? [])];
  let armed = 0;
  let slice = null;
  (function armSlice() {
    slice = null;
    const end = performance.now() + ARM_SLICE_MS;
    while (armed < queue.length && !stopped) {
      arm(queue[armed++], from);
      if (performance.now() >= end) break;
    }
    if (armed < queue.length && !stopped) slice = setTimeout(armSlice, ARM_GAP_MS);
  })();

  return {
    stop() {
      stopped = true;
      clearTimeout(slice);
      clearInterval(clockCheck);
      for (const timer of timers.keys()) clearTimeout(timer);
      timers.clear();
    },
    async idle() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    /**
     * How many firings and distinct runs are being waited for (bounded by the number of tasks). A
     * probe for the tests, which import this file unbundled: nothing in a bundle reads it, and a
     * production build (import.meta.dev defined false, presets/base.py) leaves it out.
     */
    pending: import.meta.dev !== false ? () => ({ firings: inFlight.size, runs: watched.size, timers: timers.size }) : undefined,
  };
}

/**
 * Runs one firing's tasks in parallel, each with `payload.scheduledTime = firingMs`, and resolves
 * (never rejects) to `[{ name, status: "success" | "skipped" | "error" | "joined", error? }]`. Presets
 * whose platform fires the cron (Cloudflare, Vercel) call this directly. With `watched` (a Set of
 * run promises the caller already waits for), a task whose runTask returns one of them is
 * "joined": that run's end is reported by the firing that started waiting for it.
 */
export function runFiring(taskNames, firingMs, { runTask, claim = async () => true, log = console, context = {}, watched, cron, nextMs }) {
  const trigger = { type: "schedule", cron };
  // One closure per firing, not a helper taking these seven values as an options object each call.
  const each = async (name) => {
    try {
      // nextMs (the schedule's next firing, when known) tells a lock how long it may keep trying.
      if (!(await claim(name, firingMs, nextMs))) return { name, status: "skipped" };
      const run = runTask(name, { payload: { scheduledTime: firingMs }, context: { ...context }, trigger });
      if (watched?.has(run)) return { name, status: "joined" };
      await waitFor(run, watched);
      return { name, status: "success" };
    } catch (error) {
      log.error(`[nitro] scheduled task "${name}" failed: ${error?.message ?? error}`);
      return { name, status: "error", error };
    }
  };
  return Promise.all(taskNames.map(each));
}

async function waitFor(run, watched) {
  watched?.add(run);
  try {
    await run;
  } finally {
    watched?.delete(run);
  }
}
