// Drives scheduleGuards() from templates/runtime/lock.mjs directly (no bundle), against the real
// redis-server(s) the Python test started, so that the cases a timed multi-replica run cannot
// force (who wins a race, a foreign lease, a wrong password) are checked exactly. Each guard
// stands for one replica. Runs unchanged on Node, Bun and Deno.
// Env: REDIS_URL (plain), AUTH_URL (requirepass server, with password and db), DEAD_URL (nothing
// listens). Prints one JSON object of results.
import { scheduleGuards } from "../../templates/runtime/lock.mjs";
import { CLAIM_TTL_MS, LEASE_TTL_MS } from "../../templates/runtime/redis_lock.mjs";
import { createRedisClient } from "../../templates/runtime/redis_client.mjs";

const env = (key) => globalThis.process?.env?.[key] ?? globalThis.Deno?.env?.get(key);
const prefix = `t${Date.now()}${Math.random().toString(36).slice(2, 8)}`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const results = {};
const opened = [];

/** A replica: guards around a runTask that records its runs; its log lines are kept. */
function replica(lockOptions, { taskOverlap = {}, runMs = 0 } = {}) {
  const lines = [];
  const log = { log: (m) => lines.push(`log ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
  const runs = [];
  const runTask = async (name, { payload }) => {
    runs.push([name, payload.scheduledTime]);
    await sleep(runMs);
    return { result: name };
  };
  const options = { taskOverlap, ...(lockOptions ? { schedulerLock: { driver: "redis", prefix, ...lockOptions } } : {}) };
  const guards = scheduleGuards(options, { runTask, log });
  opened.push(guards);
  return { ...guards, lines, runs };
}

/** What startScheduler's runFiring does for one task: claim, then run if won. */
async function fire(r, name, firingMs) {
  if (!(await r.claim(name, firingMs))) return false;
  await r.runTask(name, { payload: { scheduledTime: firingMs }, context: {} });
  return true;
}

const raw = createRedisClient(env("REDIS_URL"));
const lock = { url: env("REDIS_URL") };
const F = 1_700_000_000_000;

// 1. Three replicas race for the same firings: exactly one wins each.
{
  const replicas = [replica(lock), replica(lock), replica(lock)];
  const wins = [];
  for (let i = 0; i < 5; i++) {
    const won = await Promise.all(replicas.map((r) => fire(r, "tick", F + i * 1000)));
    wins.push(won.filter(Boolean).length);
  }
  results.winners_per_firing = wins;
  // The key outlives clock skew: a replica claiming the same firing much later still loses.
  results.claim_pttl_ok = (await raw.command("PTTL", `${prefix}:firing:${F}:tick`)) > CLAIM_TTL_MS - 5_000;
  results.late_claim = await replicas[0].claim("tick", F);
  results.silent_losers = replicas.every((r) => r.lines.filter((l) => !l.startsWith("log [nitro] scheduler lock: Redis at")).length === 0);
}

// 2. Overlap across replicas: B may not start "slow" while A runs it; after A ends, B may.
{
  const a = replica(lock, { runMs: 400 });
  const b = replica(lock);
  const aRun = fire(a, "slow", F);
  await sleep(100);
  results.lease_pttl_ok = (await raw.command("PTTL", `${prefix}:running:slow`)) > LEASE_TTL_MS - 5_000;
  results.b_during_a = await fire(b, "slow", F + 1000);
  results.b_skip_logged = b.lines.filter((l) => l.includes('scheduled task "slow" skipped') && l.includes("on another replica")).length;
  await aRun;
  results.lease_after_run = await raw.command("GET", `${prefix}:running:slow`);
  results.b_after_a = await fire(b, "slow", F + 2000);
}

// 3. A lease that is no longer ours (expired and taken by another run) is not deleted by us.
{
  const a = replica(lock, { runMs: 200 });
  const aRun = fire(a, "foreign", F);
  await sleep(50);
  await raw.command("SET", `${prefix}:running:foreign`, "someone-else", "PX", 10_000);
  await aRun;
  results.foreign_lease_kept = await raw.command("GET", `${prefix}:running:foreign`);
}

// 3b. A lease held by a run that started over a second after its firing (a fail-over delayed it;
// the lease holds owner@firing@start) is waited for, within the window the next firing gives;
// one held (and renewed) by a run that started on time makes the firing skip at once, as ever.
{
  const b = replica(lock);
  const due = Date.now();
  await raw.command("SET", `${prefix}:running:late`, `other@${due - 5000}@${due - 2000}`, "PX", 700);
  const start = Date.now();
  results.waits_for_delayed_run = await b.claim("late", due, due + 1000);
  results.waited_for_it = Date.now() - start >= 500;
  if (results.waits_for_delayed_run) await b.runTask("late", { payload: { scheduledTime: due }, context: {} });
  await raw.command("SET", `${prefix}:running:ontime`, `other@${due - 1000}@${due - 990}`, "PX", LEASE_TTL_MS);
  const again = Date.now();
  results.on_time_run_skips = await b.claim("ontime", due, due + 1000);
  results.skipped_at_once = Date.now() - again < 500;
  // An on-time run's lease that is no longer renewed (the run ended; its release was lost or has
  // not landed yet) is waited for too, until it goes.
  await raw.command("SET", `${prefix}:running:ended`, `other@${due - 1000}@${due - 990}`, "PX", 700);
  results.waits_for_unrenewed_lease = await b.claim("ended", due, due + 1000);
  if (results.waits_for_unrenewed_lease) await b.runTask("ended", { payload: { scheduledTime: due }, context: {} });
}

// 4. Overlap without a lock, in one process: "skip" refuses and logs, "allow" runs.
{
  const r = replica(null, { runMs: 300, taskOverlap: { free: "allow" } });
  const first = fire(r, "local", F);
  const freeFirst = fire(r, "free", F);
  await sleep(50);
  results.local_second = await r.claim("local", F + 1000);
  results.local_skip_logged = r.lines.filter((l) => l.startsWith('warn [nitro] scheduled task "local" skipped') && !l.includes("another replica")).length;
  results.allow_second = await r.claim("free", F + 1000);
  await Promise.all([first, freeFirst]);
  results.local_after = await fire(r, "local", F + 2000);
}

// 5. Redis unreachable: skipped (or run with onLockError = "run"), logged once, not per firing.
{
  const skip = replica({ url: env("DEAD_URL") });
  const run = replica({ url: env("DEAD_URL"), onLockError: "run" });
  const outcomes = { skip: [], run: [] };
  for (let i = 0; i < 4; i++) {
    outcomes.skip.push(await fire(skip, "tick", F + i * 1000));
    outcomes.run.push(await fire(run, "tick", F + i * 1000));
  }
  results.dead_outcomes = outcomes;
  results.dead_skip_errors = skip.lines.filter((l) => l.startsWith("error ")).length;
  results.dead_run_errors = run.lines.filter((l) => l.startsWith("error ")).length;
  results.dead_skip_message = skip.lines.find((l) => l.startsWith("error ")) ?? null;
  results.dead_run_message = run.lines.find((l) => l.startsWith("error ")) ?? null;
}

// 6. Password and database from the URL; a wrong password is an outage with Redis's message.
{
  const good = replica({ url: env("AUTH_URL") });
  results.auth_claim = await fire(good, "tick", F);
  const authRaw = createRedisClient(env("AUTH_URL"));
  results.auth_key_in_db = await authRaw.command("EXISTS", `${prefix}:firing:${F}:tick`);
  authRaw.close();
  const bad = replica({ url: env("AUTH_URL").replace(/:[^:@/]*@/, ":wrong@") });
  results.bad_auth = [await fire(bad, "tick", F + 1000), await fire(bad, "tick", F + 2000)];
  results.bad_auth_errors = bad.lines.filter((l) => l.startsWith("error ")).map((l) => l.replace(/\d{4,5}/g, "PORT"));
}

// 7. No URL anywhere: one clear error, nothing runs.
{
  const none = replica({ url: null });
  results.no_url = [await fire(none, "tick", F), await fire(none, "tick", F + 1000)];
  results.no_url_errors = none.lines.filter((l) => l.startsWith("error "));
}

for (const guards of opened) guards.close();
raw.close();
console.log(JSON.stringify(results));
