// The Redis side of the scheduler lock (lock.mjs): claims of firings and leases of runs.
import { readEnv } from "./env.mjs";
import { createRedisClient } from "./redis_client.mjs";
import { waitable } from "./lock.mjs";
import { redactUrl } from "./redis_url.mjs";

// A firing's claim key (`<prefix>:firing:<firingMs>:<task>`) lives CLAIM_TTL_MS. Every replica
// computes the same firing time from the cron spec, but replicas whose clocks differ by S ms
// try to claim it S ms apart: the key must still exist when the last replica tries, so this
// assumes replica clocks agree within CLAIM_TTL_MS minus the scheduling delay (NTP keeps them
// within milliseconds). A replica whose clock lags by more than this would see the key gone
// and run the firing a second time. Keys are tiny, so a generous TTL costs little (a
// per-second schedule keeps ~60 keys per task).
export const CLAIM_TTL_MS = 60_000;
// A run holds `<prefix>:running:<task>` while it runs (overlap "skip"); if the process dies the
// key expires after at most this long.
export const LEASE_TTL_MS = 30_000;
// The holder renews its lease this often, and sets it again (re-asserts it) if it is gone: Redis
// restarted without persistence, or a fail-over promoted a replica that had not received it.
export const RENEW_MS = 1_000;
// After a restart (redis_client.mjs onChange) this replica starts no overlap-"skip" run for
// GRACE_MS, so that runs in progress elsewhere re-assert their leases first. A restart closes
// every client connection, so the holder's next renewal (within RENEW_MS)
// reconnects at once; the rest is margin for a slow answer. A holder that cannot reach Redis for
// longer than that (a network partition at the same time) may not re-assert in time.
export const GRACE_MS = RENEW_MS + 2_000;
// How long after a topology change a held lease is waited for rather than skipped: the second
// release a run sends (RENEW_MS after the first), and a moment for it to land.
export const CHANGE_WINDOW_MS = 2 * RENEW_MS + 1_000;
// A release keeps trying this long through a fail-over (a lease left behind holds back the task's
// next firings until it expires).
const RELEASE_RETRY_MS = 5_000;

// A lease's value and remaining time, in one round trip.
const HOLDER = 'return {redis.call("get", KEYS[1]), redis.call("pttl", KEYS[1])}';
// Compare-and-delete: only the run that set the key may delete it.
const RELEASE = 'if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end';
// Renew our lease (1), set it again if Redis lost it (2), or report another holder (0).
const RENEW = `local held = redis.call("get", KEYS[1])
if held == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) end
if not held then redis.call("set", KEYS[1], ARGV[1], "PX", ARGV[2]) return 2 end
return 0`;

/**
 * `claimFiring` (true = this replica runs the firing), `acquireRun` (a lease; "held" when a run is
 * in progress elsewhere; "grace" just after Redis may have lost leases; "unavailable" when Redis
 * is down and onLockError = "skip"; null when it is down and onLockError = "run").
 *
 * Redis down: with onLockError = "skip" (default) the firing is skipped: at-most-once, a
 * firing during an outage never runs twice but may not run at all. With "run" every replica
 * that cannot reach Redis runs it: at-least-once. Either way the outage is logged once, when
 * it starts, and once more when Redis answers again.
 */
export function createRedisLock(config, { log = console } = {}) {
  // The run-time variable wins so the secret can stay out of the bundle.
  const url = readEnv("NITRO_SCHEDULER_REDIS_URL") || config.url;
  const prefix = config.prefix ?? "nitro";
  const policy = config.onLockError === "run" ? "run" : "skip";
  const owner = `${globalThis.process?.pid ?? 0}-${crypto.randomUUID()}`;
  const health = outageLog(log, redactUrl(url ?? "(none)"), policy);
  const held = new Set(); // renew() of each lease this replica holds now
  let grace = { until: 0, reason: "" };
  let client = null;
  let setupError = null;
  try {
    if (!url) throw new Error("no URL: set NITRO_SCHEDULER_REDIS_URL at run time, or scheduler.lock.url in the config");
    client = createRedisClient(url, { onChange, clientName: "nitro-lock" });
  } catch (error) {
    setupError = error;
    health.failed(error);
  }

  function onChange(reason) {
    grace = { until: Date.now() + GRACE_MS, reason };
    (log.warn ?? log.error).call(log, `[nitro] scheduler lock: ${reason}; it may have lost the leases of runs in progress, which re-assert them; no overlap = "skip" run starts here for ${GRACE_MS / 1000} s`);
    for (const renew of held) renew();
  }

  /** `method` of the client, or of its view that keeps trying until `until` (when given). */
  async function call(method, args, until = 0) {
    if (setupError) throw setupError;
    const reply = await (until ? client.until(until) : client)[method](...args);
    health.ok();
    return reply;
  }

  /** SET key value NX PX ttl: `{ owned, waited }`, owned if the key is ours (see client `send`). */
  async function setOwned(key, value, ttl, until) {
    const { reply, retried, waited } = await call("send", ["SET", key, value, "NX", "PX", ttl], until);
    // Nil after a retry: taken, possibly by our first attempt, which may have landed before its
    // connection died. The key says whose it is.
    const owned = reply === "OK" || (retried && (await call("command", ["GET", key], until)) === value);
    return { owned, waited };
  }

  /** `until`: how long the claim keeps trying through a fail-over (lock.mjs retryUntil; 0: no time). */
  async function claimFiring(name, firingMs, until = 0) {
    try {
      return (await setOwned(`${prefix}:firing:${firingMs}:${name}`, owner, CLAIM_TTL_MS, until)).owned;
    } catch (error) {
      health.failed(error);
      return policy === "run";
    }
  }

  /**
   * The run's lease (its value: owner, firing and start time). Found held, it is asked for again
   * until `until` unless its holder is a run that started on time and still renews it
   * (`worthWaiting`), or when this firing was `delayed`, this request waited out a fail-over or
   * this client saw the topology change moments ago (`changedLately`): the holder's run may have
   * ended long ago, its release waiting behind the same fail-over.
   * A lease is never taken over: at worst the firing is skipped at the end of its window.
   */
  async function acquireRun(name, firingMs, until = 0, delayed = false) {
    if (Date.now() < grace.until) return "grace";
    const key = `${prefix}:running:${name}`;
    const token = `${owner}@${firingMs}@${Date.now()}`;
    try {
      for (let pause = 100, disturbed = delayed; ; pause = Math.min(pause * 2, 1_000)) {
        const { owned, waited } = await setOwned(key, token, LEASE_TTL_MS, until);
        if (owned) return holdLease(key, token);
        disturbed ||= waited || changedLately();
        if (Date.now() + pause > until) return "held";
        if (!disturbed && !(await worthWaiting(key, firingMs, until))) return "held";
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    } catch (error) {
      health.failed(error);
      return policy === "run" ? null : "unavailable";
    }
  }

  /**
   * Whether this client saw the topology change in the last CHANGE_WINDOW_MS: a run that ended in
   * that moment may have sent its release to a master that was being replaced, and that release is
   * sent again RENEW_MS later (holdLease). Seen in CI: under Sentinel, a firing right after the
   * fail-over found the previous firing's lease, renewed on time, and was skipped as an overlap.
   */
  const changedLately = () => Boolean(client) && Date.now() - client.changedAt() < CHANGE_WINDOW_MS;

  /**
   * Whether the lease at `key` is free now, held by a delayed run (lock.mjs `waitable`), or no
   * longer renewed (its run ended and the release has not landed, as behind a fail-over; or its
   * holder is cut off from Redis): not a run that started on time and is still going.
   */
  async function worthWaiting(key, dueMs, until) {
    const [token, ttl] = await call("command", ["EVAL", HOLDER, 1, key], until);
    if (token === null) return true;
    const [, firing, started] = String(token).split("@").map(Number);
    return waitable(firing, started, dueMs) || ttl < LEASE_TTL_MS - 2 * RENEW_MS - 500;
  }

  /** Renews (or re-asserts) the lease while the run lasts; `release()` deletes it if still ours. */
  function holdLease(key, token) {
    const renew = () =>
      call("command", ["EVAL", RENEW, 1, key, token, LEASE_TTL_MS])
        .then((kept) => {
          if (kept === 0) log.error(`[nitro] scheduler lock: lease ${key} was taken by another run while this one was still going`);
          if (kept === 2) (log.warn ?? log.error).call(log, `[nitro] scheduler lock: lease ${key} was gone (Redis lost it) and is set again`);
        })
        .catch((error) => health.failed(error));
    const timer = setInterval(renew, RENEW_MS);
    timer.unref?.();
    held.add(renew);
    return {
      release: () => {
        clearInterval(timer);
        held.delete(renew);
        // A release that fails holds back the task's next firings until the lease expires, so it
        // keeps trying through a fail-over; if Redis stays down, the lease expires after LEASE_TTL_MS.
        const release = () =>
          call("command", ["EVAL", RELEASE, 1, key, token], Date.now() + RELEASE_RETRY_MS).catch((error) => health.failed(error));
        // And once more a second later (compare-and-delete: harmless once done): during a Sentinel
        // fail-over the replica is promoted a moment before the sentinels name it, and a release
        // sent to the old master in that moment never reaches the new one, where the replicated
        // lease would hold back the task's next firings until it expires.
        globalThis.setTimeout(release, RENEW_MS)?.unref?.();
        return release();
      },
    };
  }

  // Early feedback at startup: an unreachable Redis is reported before the first firing.
  if (client) call("command", ["PING"]).then(() => log.log?.(`[nitro] scheduler lock: Redis at ${redactUrl(url)} (prefix "${prefix}")`), health.failed);
  const graceReason = () => `${grace.reason}; runs in progress may re-assert their leases until ${new Date(grace.until).toISOString()}`;
  return { claimFiring, acquireRun, graceReason, close: () => client?.close() };
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
