// Scheduler guards for the server presets: the per-task overlap policy and, when
// `scheduler.lock` is configured, a Redis lock so each firing runs on exactly one replica.
//
// `scheduleGuards(options, { runTask, claim, log })` returns the same three hooks for
// startScheduler. The given `claim` (always true in one process; the cluster primary's answer
// in node_cluster) is asked first, so the Redis claim is made by whichever process actually
// decided to run the firing, and the overlap check by the replica that won it.
//
// The Redis client is imported only when a lock is configured, and bundled only then: the build
// defines import.meta._schedulerLock (presets/base.py), so esbuild drops the import without a lock
// (about a third of a node_server bundle); unbundled (tests), the import stays.

/** Wraps the scheduler hooks with the overlap policy and the configured lock (registry `options`). */
export function scheduleGuards(options = {}, { runTask, claim = async () => true, log = console } = {}) {
  const overlap = options.taskOverlap ?? {};
  const locking = import.meta._schedulerLock !== false && options.schedulerLock
    ? import("./redis_lock.mjs").then(({ createRedisLock }) => createRedisLock(options.schedulerLock, { log }))
    : null;
  const running = new Set(); // tasks this process runs now for the scheduler (overlap "skip")
  // `${task}@${firingMs}` -> what to release when that run ends. The scheduler calls runTask right
  // after a won claim with payload.scheduledTime = firingMs, which pairs a run with its claim
  // while keeping scheduler.mjs and its claim seam unchanged.
  const leases = new Map();
  const slot = (name, firingMs) => `${name}@${firingMs}`;

  async function guardedClaim(name, firingMs) {
    if (!(await claim(name, firingMs))) return false;
    const lock = await locking;
    // Losing the claim is the normal case on all replicas but one: skip silently.
    if (lock && !(await lock.claimFiring(name, firingMs))) return false;
    if ((overlap[name] ?? "skip") !== "skip") return true;
    if (running.has(name)) return skipOverlap(log, name, firingMs, "its previous run is still running");
    running.add(name); // before any await, so a concurrent firing sees it
    const lease = lock ? await lock.acquireRun(name, firingMs) : null;
    if (typeof lease === "string") {
      running.delete(name);
      if (lease === "held") return skipOverlap(log, name, firingMs, "its previous run is still running on another replica");
      if (lease === "grace") return skipOverlap(log, name, firingMs, lock.graceReason());
      return false; // "unavailable": the outage is logged by the lock
    }
    leases.set(slot(name, firingMs), lease);
    return true;
  }

  // Not async: without a lease it returns runTask's own promise, the run in progress when the task
  // is already running, which is how the scheduler sees that a firing joined it (see `watched`).
  function guardedRunTask(name, opts) {
    const key = slot(name, opts?.payload?.scheduledTime);
    if (!leases.has(key)) return runTask(name, opts);
    const lease = leases.get(key);
    leases.delete(key);
    return leasedRun(() => runTask(name, opts), () => running.delete(name), lease);
  }

  return { runTask: guardedRunTask, claim: guardedClaim, log, close: () => locking?.then((lock) => lock.close()) };
}

async function leasedRun(run, done, lease) {
  try {
    return await run();
  } finally {
    done();
    await lease?.release();
  }
}

function skipOverlap(log, name, firingMs, why) {
  const at = new Date(firingMs).toISOString();
  (log.warn ?? log.error).call(log, `[nitro] scheduled task "${name}" skipped at ${at}: ${why} (overlap = "skip")`);
  return false;
}

