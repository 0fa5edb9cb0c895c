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

// With a lock, a firing's claim and lease keep trying through a fail-over for the schedule's period
// (the time to its next firing), at least RETRY_MIN_MS (a fail-over takes seconds: Sentinel's
// down-after-milliseconds and election, Cluster's cluster-node-timeout) and at most RETRY_MAX_MS
// (well inside the claim key's 60 s, so a late claim still meets the winner's key). A firing that
// waited runs late, once; one whose window ends first is skipped, and the outage logged.
export const RETRY_MIN_MS = 10_000;
export const RETRY_MAX_MS = 30_000;

// A run that started over this long after its firing time was delayed by the lock (a fail-over):
// a firing that comes while it runs waits for it (within its window) instead of being skipped. So
// does a firing whose own claim was won this late: it was itself held up by the fail-over, which
// may also have held up the previous run (its lease, its run history) past this firing's time.
export const DELAYED_MS = 1_000;
// A previous run counts as delayed from half a second on: an on-time run starts within
// milliseconds (under 0.1 s on a loaded CI machine), while a run whose claim was made again on the
// new master after a Sentinel fail-over started 0.93 s late, was still running when the next
// firing of a `* * * * * *` schedule came, and with DELAYED_MS here that firing was skipped as an
// overlap (clean-clone CI, lock trace).
export const LATE_START_MS = 500;

/** Whether a run of the firing at `firingMs`, started at `startedMs`, was not running at `dueMs`
 * or started late (see LATE_START_MS): a firing due at `dueMs` waits for it rather than skip. */
export const waitable = (firingMs, startedMs, dueMs) => startedMs > dueMs || startedMs - firingMs > LATE_START_MS;

/** Until when a firing at `firingMs` keeps trying; 0 (no waiting) when its next firing is unknown. */
export const retryUntil = (firingMs, nextMs) =>
  nextMs > firingMs ? Date.now() + Math.min(Math.max(nextMs - firingMs, RETRY_MIN_MS), RETRY_MAX_MS) : 0;

/** Wraps the scheduler hooks with the overlap policy and the configured lock (registry `options`). */
// Without a lock the build leaves lockedGuards (and its fail-over logic) out of the bundle.
export const scheduleGuards = (options = {}, hooks = {}) =>
  import.meta._schedulerLock !== false && options.schedulerLock
    ? lockedGuards(options, hooks)
    : overlapGuards(options, hooks);

/**
 * One process deciding alone: a firing of an overlap "skip" task is skipped while this process
 * runs the previous one (lockedGuards without a lock, in fewer bytes: nothing to wait out).
 */
function overlapGuards(options, { runTask, claim = async () => true, log = console }) {
  const overlap = options.taskOverlap ?? {};
  const running = new Set(); // tasks this scheduler runs now (overlap "skip")
  const claimed = new Set(); // `${task}@${firingMs}` won, runTask not called yet (see lockedGuards)
  return {
    async claim(name, firingMs) {
      if (!(await claim(name, firingMs))) return false;
      if ((overlap[name] ?? "skip") !== "skip") return true;
      if (running.has(name)) return skipOverlap(log, name, firingMs, "its previous run is still running");
      running.add(name); // right after the check, no await between: a concurrent firing sees it
      claimed.add(`${name}@${firingMs}`);
      return true;
    },
    runTask(name, opts) {
      if (!claimed.delete(`${name}@${opts?.payload?.scheduledTime}`)) return runTask(name, opts);
      return leasedRun(() => runTask(name, opts), () => running.delete(name));
    },
    log,
    close() {},
  };
}

function lockedGuards(options, { runTask, claim = async () => true, log = console }) {
  const overlap = options.taskOverlap ?? {};
  // esbuild keeps a dynamic import of an unused function: the define must fold this one away.
  const locking = import.meta._schedulerLock !== false
    ? import("./redis_lock.mjs").then(({ createRedisLock }) => createRedisLock(options.schedulerLock, { log }))
    : null;
  // Task -> { started, ended, end() } of the firing this process runs (or is getting the lease for)
  // now for the scheduler (overlap "skip").
  const running = new Map();
  // `${task}@${firingMs}` -> what to release when that run ends. The scheduler calls runTask right
  // after a won claim with payload.scheduledTime = firingMs, which pairs a run with its claim
  // while keeping scheduler.mjs and its claim seam unchanged.
  const leases = new Map();
  const slot = (name, firingMs) => `${name}@${firingMs}`;

  // `nextMs`: the schedule's next firing, which bounds how long the lock keeps trying (retryUntil).
  async function guardedClaim(name, firingMs, nextMs) {
    if (!(await claim(name, firingMs))) return false;
    const lock = await locking;
    const until = lock ? retryUntil(firingMs, nextMs) : 0;
    // Losing the claim is the normal case on all replicas but one: skip silently.
    if (lock && !(await lock.claimFiring(name, firingMs, until))) return false;
    if ((overlap[name] ?? "skip") !== "skip") return true;
    const delayed = Boolean(lock) && Date.now() - firingMs > DELAYED_MS; // see DELAYED_MS
    const previous = running.get(name);
    if (previous && !(await previousEnded(previous, name, firingMs, until, delayed))) {
      return skipOverlap(log, name, firingMs, "its previous run is still running");
    }
    const entry = begin(name, firingMs); // right after the check, no await between: a concurrent firing sees it
    const lease = lock ? await lock.acquireRun(name, firingMs, until, delayed) : null;
    if (typeof lease === "string") {
      finish(name, entry);
      if (lease === "held") return skipOverlap(log, name, firingMs, "its previous run is still running on another replica");
      if (lease === "grace") return skipOverlap(log, name, firingMs, lock.graceReason());
      return false; // "unavailable": the outage is logged by the lock
    }
    entry.started = Date.now();
    leases.set(slot(name, firingMs), { lease, entry });
    return true;
  }

  function begin(name, firingMs) {
    const entry = { firingMs, started: 0 }; // when the run started (ms), once it has its lease
    entry.ended = new Promise((resolve) => (entry.end = resolve));
    running.set(name, entry);
    return entry;
  }

  function finish(name, entry) {
    if (running.get(name) === entry) running.delete(name);
    entry.end();
  }

  /**
   * Whether the `previous` firing of `name` in this process has ended. One that has not started
   * yet, started after this firing's time, or started late (`waitable`: its claim or lease waited
   * out a fail-over), or any when this firing is `delayed` itself, is waited for, run and all,
   * until `until`, so that the two run one after the other instead of this one being skipped.
   */
  async function previousEnded(previous, name, firingMs, until, delayed) {
    if (previous.started && !delayed && !waitable(previous.firingMs, previous.started, firingMs)) return false;
    if (Date.now() >= until) return false;
    let timer;
    await new Promise((resolve) => {
      timer = setTimeout(resolve, until - Date.now());
      timer.unref?.(); // the wait never keeps a stopping process alive
      previous.ended.then(resolve);
    });
    clearTimeout(timer);
    return !running.has(name);
  }

  // Not async: without a lease it returns runTask's own promise, the run in progress when the task
  // is already running, which is how the scheduler sees that a firing joined it (see `watched`).
  function guardedRunTask(name, opts) {
    const key = slot(name, opts?.payload?.scheduledTime);
    if (!leases.has(key)) return runTask(name, opts);
    const { lease, entry } = leases.get(key);
    leases.delete(key);
    return leasedRun(() => runTask(name, opts), () => finish(name, entry), lease);
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

