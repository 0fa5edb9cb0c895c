// Scheduler guards for the server presets: the per-task overlap policy and, when
// `scheduler.lock` is configured, a Redis lock so each firing runs on exactly one replica.
//
// `scheduleGuards(options, { runTask, claim, log })` returns the same three hooks for
// startScheduler. The given `claim` (always true in one process; the cluster primary's answer
// in node_cluster) is asked first, so the Redis claim is made by whichever process actually
// decided to run the firing, and the overlap check by the replica that won it.
import { createRedisClient, redactUrl } from "./redis.mjs";

// A firing's claim key (`<prefix>:firing:<firingMs>:<task>`) lives CLAIM_TTL_MS. Every replica
// computes the same firing time from the cron spec, but replicas whose clocks differ by S ms
// try to claim it S ms apart: the key must still exist when the last replica tries, so this
// assumes replica clocks agree within CLAIM_TTL_MS minus the scheduling delay (NTP keeps them
// within milliseconds). A replica whose clock lags by more than this would see the key gone
// and run the firing a second time. Keys are tiny, so a generous TTL costs little (a
// per-second schedule keeps ~60 keys per task).
export const CLAIM_TTL_MS = 60_000;
// A run holds `<prefix>:running:<task>` while it runs (overlap "skip"), renewed every third of
// the TTL; if the process dies the key expires after at most this long.
export const LEASE_TTL_MS = 30_000;

// Compare-and-delete / compare-and-renew: only the run that set the key may touch it.
const RELEASE = 'if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end';
const RENEW = 'if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end';

/** Wraps the scheduler hooks with the overlap policy and the configured lock (registry `options`). */
export function scheduleGuards(options = {}, { runTask, claim = async () => true, log = console } = {}) {
  const overlap = options.taskOverlap ?? {};
  const lock = options.schedulerLock ? createRedisLock(options.schedulerLock, { log }) : null;
  const running = new Set(); // tasks this process runs now for the scheduler (overlap "skip")
  // `${task}@${firingMs}` -> what to release when that run ends. The scheduler calls runTask right
  // after a won claim with payload.scheduledTime = firingMs, which pairs a run with its claim
  // while keeping scheduler.mjs and its claim seam unchanged.
  const leases = new Map();
  const slot = (name, firingMs) => `${name}@${firingMs}`;

  async function guardedClaim(name, firingMs) {
    if (!(await claim(name, firingMs))) return false;
    // Losing the claim is the normal case on all replicas but one: skip silently.
    if (lock && !(await lock.claimFiring(name, firingMs))) return false;
    if ((overlap[name] ?? "skip") !== "skip") return true;
    if (running.has(name)) return skipOverlap(log, name, firingMs, "");
    running.add(name); // before any await, so a concurrent firing sees it
    const lease = lock ? await lock.acquireRun(name, firingMs) : null;
    if (lease === "held" || lease === "unavailable") {
      running.delete(name);
      return lease === "held" ? skipOverlap(log, name, firingMs, " on another replica") : false;
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

  return { runTask: guardedRunTask, claim: guardedClaim, log, close: () => lock?.close() };
}

async function leasedRun(run, done, lease) {
  try {
    return await run();
  } finally {
    done();
    await lease?.release();
  }
}

function skipOverlap(log, name, firingMs, where) {
  const at = new Date(firingMs).toISOString();
  (log.warn ?? log.error).call(log, `[nitro] scheduled task "${name}" skipped at ${at}: its previous run is still running${where} (overlap = "skip")`);
  return false;
}

/**
 * The Redis side: `claimFiring` (true = this replica runs the firing), `acquireRun` (a lease,
 * "held" when a run is in progress elsewhere, "unavailable" when Redis is down and
 * onLockError = "skip", null when it is down and onLockError = "run").
 *
 * Redis down: with onLockError = "skip" (default) the firing is skipped: at-most-once, a
 * firing during an outage never runs twice but may not run at all. With "run" every replica
 * that cannot reach Redis runs it: at-least-once. Either way the outage is logged once, when
 * it starts, and once more when Redis answers again.
 */
export function createRedisLock(config, { log = console } = {}) {
  // The run-time variable wins so the secret can stay out of the bundle.
  const url = runtimeEnv("NITRO_SCHEDULER_REDIS_URL") || config.url;
  const prefix = config.prefix ?? "nitro";
  const policy = config.onLockError === "run" ? "run" : "skip";
  const owner = `${globalThis.process?.pid ?? 0}-${crypto.randomUUID()}`;
  const health = outageLog(log, redactUrl(url ?? "(none)"), policy);
  let client = null;
  let setupError = null;
  try {
    if (!url) throw new Error("no URL: set NITRO_SCHEDULER_REDIS_URL at run time, or scheduler.lock.url in the config");
    client = createRedisClient(url);
  } catch (error) {
    setupError = error;
    health.failed(error);
  }

  async function call(...args) {
    if (setupError) throw setupError;
    const reply = await client.command(...args);
    health.ok();
    return reply;
  }

  async function claimFiring(name, firingMs) {
    try {
      return (await call("SET", `${prefix}:firing:${firingMs}:${name}`, owner, "NX", "PX", CLAIM_TTL_MS)) === "OK";
    } catch (error) {
      health.failed(error);
      return policy === "run";
    }
  }

  async function acquireRun(name, firingMs) {
    const key = `${prefix}:running:${name}`;
    const token = `${owner}@${firingMs}`;
    try {
      const reply = await call("SET", key, token, "NX", "PX", LEASE_TTL_MS);
      return reply === "OK" ? holdLease(key, token) : "held";
    } catch (error) {
      health.failed(error);
      return policy === "run" ? null : "unavailable";
    }
  }

  /** Renews the lease while the run lasts; `release()` deletes it if it is still ours. */
  function holdLease(key, token) {
    const renew = () =>
      call("EVAL", RENEW, 1, key, token, LEASE_TTL_MS)
        .then((kept) => kept === 0 && log.error(`[nitro] scheduler lock: lease ${key} expired while its run was still going`))
        .catch((error) => health.failed(error));
    const timer = setInterval(renew, LEASE_TTL_MS / 3);
    timer.unref?.();
    return {
      release: () => {
        clearInterval(timer);
        // If Redis is down now, the lease simply expires after LEASE_TTL_MS.
        return call("EVAL", RELEASE, 1, key, token).catch((error) => health.failed(error));
      },
    };
  }

  // Early feedback at startup: an unreachable Redis is reported before the first firing.
  if (client) call("PING").then(() => log.log?.(`[nitro] scheduler lock: Redis at ${redactUrl(url)} (prefix "${prefix}")`), health.failed);
  return { claimFiring, acquireRun, close: () => client?.close() };
}

/** Logs the start of an outage once (not once per firing) and its end once. */
function outageLog(log, where, policy) {
  let down = false;
  const effect =
    policy === "run"
      ? 'running scheduled tasks without the lock (onLockError = "run": a firing may run on more than one replica)'
      : 'skipping scheduled firings until it is back (set scheduler.lock.onLockError = "run" to run them anyway)';
  return {
    failed(error) {
      if (down) return;
      down = true;
      log.error(`[nitro] scheduler lock: Redis at ${where} is unavailable (${error?.message ?? error}); ${effect}`);
    },
    ok() {
      if (!down) return;
      down = false;
      (log.log ?? log.error).call(log, `[nitro] scheduler lock: Redis at ${where} is reachable again; scheduled firings resume`);
    },
  };
}

function runtimeEnv(key) {
  try {
    return globalThis.process?.env?.[key] ?? globalThis.Deno?.env?.get(key);
  } catch {
    return undefined; // Deno without --allow-env
  }
}
